"""Demo tracked items (列管): a few of each kind, some with the months they already reported.

Each item is registered, planned and approved through the services; the months before the
last are written as the history an item brings from the commission's previous system (the
source's "持續列管" items carried over from last year), so the agenda and the counts have
something to show. The history runs to the last whole period, so each item's next round opens on
the first of the coming month (or quarter), as a running item's would.
"""
from __future__ import annotations

from dataclasses import dataclass

from engine.accounts.identity import SYSTEM
from engine.cases import tracking
from engine.store import tracked

from .tracked_items import RegisterTrackedItem, ReviewPlan, SubmitPlan, register_tracked_item, review_plan, submit_plan


@dataclass(frozen=True)
class DemoItem:
    kind: str
    title: str
    agency: str
    budget: int | None = None
    policy: str | None = None
    lag: tuple = ()  # percentage points behind the plan in each month already reported, oldest first


#: The demo's tracked items: names after the source's examples.
DEMO_ITEMS = (
    DemoItem("major_project", "中壢火車站前廣場改善工程", "public_works", 480_000_000, lag=(0, -1, 0, -2)),
    DemoItem("major_project", "龜山區文化一路拓寬工程", "public_works", 150_000_000, lag=(2, 5, 8, 12)),
    DemoItem("major_project", "大園區污水下水道系統第二期工程", "water", 900_000_000, lag=(5, 12, 21, 24)),
    DemoItem("major_project", "八德區霄裡溪排水改善工程", "water", 60_000_000, lag=(0, 3, 4, 6)),
    DemoItem("mayor_policy", "公共托育中心每區一處", "social", policy="幸福城市", lag=(0, 0, 2, 0)),
    DemoItem("mayor_policy", "市區公車路網重整", "transport", policy="便捷交通", lag=(3, 6, 10, 11)),
    DemoItem("county_meeting", "颱風期間道路巡查機制", "transport", lag=(0, 0, 0, 0)),
    DemoItem("county_meeting", "市有閒置土地活化方案", "land", lag=(1, 1, 3, 4)),
    DemoItem("project_manager", "捷運綠線沿線土地開發", "land", lag=(0, 2, 4, 9)),
    DemoItem("project_manager", "智慧路燈汰換計畫", "public_works", lag=(0, -3, -2, 0)),
    DemoItem("township_support", "龍潭區三坑老街排水改善", "district_longtan", 8_000_000, lag=(0, 4, 8, 15)),
    DemoItem("township_support", "大溪區老城區人行步道", "district_daxi", 5_000_000, lag=(0, 0, 1, 0)),
    DemoItem("commissioned_study", "公共運輸發展策略委託研究", "transport", 1_200_000, lag=(0,)),
    DemoItem("commissioned_study", "都市更新推動策略委託研究", "land", 900_000, lag=(5,)),
    DemoItem("low_use_building", "原楊梅國中報廢宿舍A棟", "district_yangmei", lag=(0,)),
    DemoItem("low_use_building", "大園濱海遊客服務中心", "district_dayuan", lag=(2,)),
)

#: Months planned before and after the current one.
_BEFORE, _AFTER = 6, 12


@dataclass(frozen=True)
class SeedTrackedItems:
    """Register the demo's tracked items whose agencies exist."""

    agency_codes: frozenset


def seed_tracked_items(cmd: SeedTrackedItems, uow) -> int:
    """Register the demo items whose agencies exist; returns how many."""
    today = uow.clock.now().astimezone(uow.zone).date()
    month = tracking.first_of_month(today)
    start, end = tracking.add_months(month, -_BEFORE), tracking.add_months(month, _AFTER)
    count = tracking.months_between(start, end)
    plan = [round(100 * (i + 1) / count, 2) for i in range(count)]
    seeded = 0
    for demo in DEMO_ITEMS:
        if demo.agency not in cmd.agency_codes:
            continue
        item = register_tracked_item(RegisterTrackedItem(
            demo.kind, demo.title, demo.agency, start, end, SYSTEM, budget=demo.budget, policy=demo.policy), uow)
        _history(uow, item.case_id, start, plan, demo.lag, tracking.first_period(demo.kind, start, today))
        submit_plan(SubmitPlan(item.case_id, tuple(plan), SYSTEM, note="依契約期程訂定"), uow)
        review_plan(ReviewPlan(item.case_id, True, SYSTEM, comment="核定"), uow)
        seeded += 1
    return seeded


def _history(uow, case_id, start, plan, lag, last) -> None:
    """The reports of the periods up to the last whole one (lag: points behind the plan each period)."""
    row = tracked.item_of_case(uow.conn, case_id)
    step = 3 if row.cadence == "quarterly" else 1
    now = uow.clock.now()
    streak = 0
    for i, behind in enumerate(lag):
        period = tracking.add_months(last, -step * (len(lag) - 1 - i))
        planned = tracking.to_bp(plan[tracking.months_between(start, period) - 1])
        actual = max(0, planned - tracking.to_bp(behind))
        gap = planned - actual
        streak = streak + 1 if gap >= tracking.SPECIAL_REPORT_GAP_BP else 0
        tracked.insert_progress(uow.conn, {"tracked_item_id": row.id, "period": period, "planned_bp": planned,
                                           "actual_bp": actual, "gap_bp": gap, "note": "(前系統轉入)",
                                           "reported_by": None, "reported_at": now})
        tracked.update_item(uow.conn, row.id, latest_period=period, latest_planned_bp=planned,
                            latest_actual_bp=actual, latest_gap_bp=gap, behind_20_streak=streak)

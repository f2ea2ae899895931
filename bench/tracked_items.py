"""Tracked items (列管): what a monthly report round costs, and what the counts and the agenda cost, on SQLite.

    python bench/tracked_items.py [--items 100] [--rows 20000] [--repeats 7]

1. `--items` major projects are registered, planned and approved through the services; then, for
   each of three months, every item's round is opened (the timer fired: schedule, restart the
   deadline, open the report task) and reported (the report written to tracked_progress against
   the plan, the next round scheduled): the median time per round and per report.
2. `--rows` more tracked items are written as rows (a case each, a latest report with a gap drawn
   from the source's mix) and the counts (by kind and agency) and the meeting's agenda are read
   `--repeats` times: the medians.

Only ratios within this run are meaningful on the shared machine.
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

#: Thursday 2026-11-26 09:00 in Taipei.
START = datetime(2026, 11, 26, 1, 0, tzinfo=timezone.utc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=100)
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()

    from sqlalchemy import insert, select

    from engine.accounts.identity import SYSTEM
    from engine.bootstrap import connect
    from engine.clock import FixedClock
    from engine.queries.tracked_items import meeting_agenda, tracked_item_counts
    from engine.services.calendar_admin import (
        LoadDeadlineRules,
        LoadPublicHolidays,
        load_deadline_rules,
        load_public_holidays,
    )
    from engine.services.deployment import DeployBundle, deploy_bundle
    from engine.services.steps import RunInstance, run_instance
    from engine.services.tracked_items import (
        RegisterTrackedItem,
        ReportProgress,
        ReviewPlan,
        SubmitPlan,
        register_tracked_item,
        report_progress,
        review_plan,
        submit_plan,
    )
    from engine.settings import Settings
    from engine.store import migrate
    from engine.store.schema import agencies, cases, tracked_items, workflow_instances

    folder = Path(tempfile.mkdtemp(prefix="petiflow-bench-tracked-"))
    clock = FixedClock(START)
    runtime = connect(Settings(database_url=f"sqlite:///{folder / 'bench.sqlite3'}", var_dir=folder,
                               secret_key="bench"), clock=clock)
    migrate.upgrade(runtime.db)
    codes = ["public_works", "transport", "water", "land", "social"]
    with runtime.uow() as uow:
        agency_ids = [uow.conn.execute(insert(agencies).returning(agencies.c.id),
                                       {"code": c, "name": c, "kind": "bureau"}).scalar_one() for c in codes]
        for year in (2026, 2027):
            load_public_holidays(LoadPublicHolidays(year), uow)
        load_deadline_rules(LoadDeadlineRules(), uow)
        source = (ROOT / "workflows" / "tracked_item.bpmn").read_text(encoding="utf-8")
        deploy_bundle(DeployBundle({"tracked_item.bpmn": source}), uow)
        uow.commit()

    def call(service, cmd):
        with runtime.uow() as uow:
            result = service(cmd, uow)
            uow.commit()
        return result

    case_ids = []
    for n in range(args.items):
        item = call(register_tracked_item, RegisterTrackedItem(
            "major_project", f"重大工程 {n}", codes[n % len(codes)], date(2026, 11, 1), date(2028, 10, 1), SYSTEM,
            budget=50_000_000))
        call(submit_plan, SubmitPlan(item.case_id, tuple(round(100 * (i + 1) / 24, 2) for i in range(24)), SYSTEM))
        call(review_plan, ReviewPlan(item.case_id, True, SYSTEM))
        case_ids.append(item.case_id)
    with runtime.db.connect() as conn:
        instances = dict(conn.execute(select(workflow_instances.c.case_id, workflow_instances.c.id)).all())
    opening, reporting = [], []
    # The rounds open at 08:30 Taipei on the first of December, January and February.
    for month, opens in enumerate((datetime(2026, 12, 1, 0, 31, tzinfo=timezone.utc),
                                   datetime(2027, 1, 1, 0, 31, tzinfo=timezone.utc),
                                   datetime(2027, 2, 1, 0, 31, tzinfo=timezone.utc))):
        clock.set(opens)
        for case_id in case_ids:
            began = time.perf_counter()
            call(run_instance, RunInstance(instances[case_id], reason="timer"))
            opening.append(time.perf_counter() - began)
        for n, case_id in enumerate(case_ids):
            began = time.perf_counter()
            call(report_progress, ReportProgress(case_id, max(0.0, 4.0 * (month + 1) - n % 12), SYSTEM))
            reporting.append(time.perf_counter() - began)
    print(f"{args.items} items x 3 monthly rounds: opening a round {statistics.median(opening) * 1000:.1f} ms, "
          f"a report {statistics.median(reporting) * 1000:.1f} ms (medians, each its own unit of work)")

    rng = random.Random(7)
    now = clock.now()
    with runtime.uow() as uow:
        first = uow.conn.execute(select(cases.c.id).order_by(cases.c.id.desc()).limit(1)).scalar_one() + 1
        case_rows, item_rows = [], []
        for i in range(args.rows):
            case_id = first + i
            status = rng.choices(("tracking", "released", "cancelled"), (142, 29, 4))[0]
            gap = rng.choice((-500, 0, 0, 300, 700, 1200, 2500))
            case_rows.append({"id": case_id, "case_no": f"B{case_id:012d}", "case_type": "tracked_item",
                              "status": "open" if status == "tracking" else "closed", "received_at": now,
                              "agency_id": agency_ids[i % len(agency_ids)], "created_at": now, "updated_at": now})
            item_rows.append({"case_id": case_id, "kind": rng.choice(("major_project", "mayor_policy",
                                                                      "township_support")),
                              "agency_id": agency_ids[i % len(agency_ids)], "title": f"列管 {i}", "cadence": "monthly",
                              "start_month": date(2026, 1, 1), "end_month": date(2027, 12, 1), "status": status,
                              "plan_status": "approved", "latest_period": date(2026, 10, 1),
                              "latest_planned_bp": 5000, "latest_actual_bp": 5000 - gap, "latest_gap_bp": gap,
                              "behind_20_streak": 2 if gap >= 2000 else 0, "registered_at": now - timedelta(days=30),
                              "closed_at": now - timedelta(days=1) if status != "tracking" else None})
        uow.conn.execute(insert(cases), case_rows)
        uow.conn.execute(insert(tracked_items), item_rows)
        uow.commit()

    def timed(query, **kw):
        runs = []
        for _ in range(args.repeats):
            with runtime.uow(read_only=True) as uow:
                began = time.perf_counter()
                result = query(uow, SYSTEM, **kw)
                runs.append(time.perf_counter() - began)
        return statistics.median(runs), result

    counting, counts = timed(tracked_item_counts)
    listing, agenda = timed(meeting_agenda)
    print(f"{counts.total.tracked} tracked items: the counts by kind and agency {counting * 1000:.1f} ms, "
          f"the agenda ({len(agenda)} items) {listing * 1000:.1f} ms (medians of {args.repeats})")
    runtime.close()


if __name__ == "__main__":
    main()

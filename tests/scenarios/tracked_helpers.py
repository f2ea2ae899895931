"""Helpers of the tracked-item scenarios: register, plan, run report rounds, through the services."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from engine.services.calendar_admin import LoadPublicHolidays, load_public_holidays
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
from engine.store.schema import timers

TAIPEI = ZoneInfo("Asia/Taipei")


def at(text: str) -> datetime:
    """A local Taipei time: at("2026-12-01 08:30")."""
    return datetime.fromisoformat(text).replace(tzinfo=TAIPEI)


class Tracking:
    """The library with the commission's reviewer and an agency's caseworker, one unit per call."""

    def __init__(self, library, clock, agency="public_works"):
        self.library, self.clock, self.agency = library, clock, agency
        self.reviewer = library.staff("rdec.reviewer", "reviewer", None)
        self.caseworker = library.staff(f"cw.{agency}", "caseworker", agency)
        with library.runtime.uow() as uow:
            load_public_holidays(LoadPublicHolidays(2027), uow)
            uow.commit()

    def call(self, service, cmd):
        with self.library.runtime.uow() as uow:
            result = service(cmd, uow)
            uow.commit()
        return result

    def register(self, kind="major_project", *, start=date(2026, 11, 1), end=date(2027, 4, 1), budget=50_000_000,
                 title="中壢火車站前廣場改善工程", agency=None, **kw):
        return self.call(register_tracked_item, RegisterTrackedItem(
            kind, title, agency or self.agency, start, end, self.reviewer, budget=budget, **kw))

    def plan(self, case_id, percents, approve=True):
        self.call(submit_plan, SubmitPlan(case_id, tuple(percents), self.caseworker))
        return self.call(review_plan, ReviewPlan(case_id, approve, self.reviewer, comment="" if approve else "請修正"))

    def next_round_at(self, case_id) -> datetime:
        """When the item's pending BPMN timer (the next round, or a follow-up) is due."""
        with self.library.runtime.db.connect() as conn:
            return conn.execute(select(timers.c.due_at).where(
                timers.c.case_id == case_id, timers.c.status == "pending", timers.c.kind == "bpmn_timer")
                .order_by(timers.c.due_at)).scalars().first()

    def open_round(self, case_id) -> datetime:
        """Move the clock to the next round's opening and fire it (what the scheduler does)."""
        due = self.next_round_at(case_id)
        assert due is not None, "no round is waiting"
        self.clock.set(due + timedelta(minutes=1))  # SpiffWorkflow fires a timer once its moment has passed
        self.library.run(self.library.instance(case_id).id)
        return due

    def report(self, case_id, percent, **kw):
        return self.call(report_progress, ReportProgress(case_id, percent, self.caseworker, **kw))

    def round_and_report(self, case_id, percent, **kw):
        self.open_round(case_id)
        return self.report(case_id, percent, **kw)

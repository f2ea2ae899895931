"""Deadlines per task and a fresh deadline after a return, through the shipped workflows and rules,
on the real 2026 calendar: the item's own due time, its own reminders and ladder, art. 48's Monday noon."""
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import select

from engine.services.calendar_admin import LoadPublicHolidays, load_public_holidays
from engine.services.timers import ClaimDueTimers, FireTimer, claim_due_timers, fire_timer
from engine.store.schema import case_events, outbox, timers
from tests.scenarios.test_council_item import ACCEPT, register, reply_all, review_all
from tests.scenarios.test_petition import SUBMIT, _send_back, open_pothole_petition

TAIPEI = ZoneInfo("Asia/Taipei")


def taipei(y, m, d, h=10, mi=0) -> datetime:
    return datetime(y, m, d, h, mi, tzinfo=TAIPEI).astimezone(timezone.utc)


def ladder(library, item_id) -> list[tuple]:
    with library.runtime.db.connect() as conn:
        rows = conn.execute(select(timers.c.kind, timers.c.due_at, timers.c.payload).where(
            timers.c.work_item_id == item_id, timers.c.status == "pending").order_by(timers.c.due_at)).all()
    return [(r.kind, r.due_at, (r.payload or {}).get("level"), (r.payload or {}).get("rule")) for r in rows]


def fire_due(library, at) -> None:
    """What the scheduler and the workers do at `at`: claim the due timers, fire each in its own unit of work."""
    library.runtime.clock.set(at)
    with library.runtime.uow() as uow:
        ids = claim_due_timers(ClaimDueTimers("test"), uow)
        uow.commit()
    for timer_id in ids:
        with library.runtime.uow() as uow:
            fire_timer(FireTimer(timer_id), uow)
            uow.commit()


def test_the_dispatcher_confirms_a_routing_within_four_office_hours(library, clock):
    clock.set(taipei(2026, 12, 11, 16, 30))  # Friday afternoon
    started = library.start("petition", channel="mail", category="noise", district="中壢")
    confirm = library.item(started.case_id, "confirm_routing")
    assert confirm.due_at == taipei(2026, 12, 14, 11, 30)  # one hour Friday, three Monday morning
    assert confirm.deadline_mode == "task"
    assert library.case(started.case_id).due_at == taipei(2026, 12, 21, 17, 30)  # the case keeps its 6 working days
    rule = "petition.task.confirm_routing"
    assert ladder(library, confirm.id) == [
        ("reminder", taipei(2026, 12, 14, 10, 30), None, rule),
        ("escalation", taipei(2026, 12, 14, 11, 30), 1, rule),
        ("escalation", taipei(2026, 12, 14, 15, 30), 2, rule)]
    ready = [e for e in library.events(started.case_id, "task_ready") if e["task"] == "confirm_routing"]
    assert ready[0]["rule"] == rule and ready[0]["due_at"] == confirm.due_at.isoformat()

    library.complete(confirm.id, {"routing_decision": "route", "agency_code": "environment", "unit_code": "noise"})
    draft = library.item(started.case_id, "draft_reply")
    assert (draft.due_at, draft.deadline_mode) == (library.case(started.case_id).due_at, "case")


def test_a_misrouted_case_is_re_routed_by_the_next_working_day_and_climbs_its_own_ladder(library, clock):
    started = open_pothole_petition(library)  # Thursday 2026-11-26 09:00
    case_due = library.case(started.case_id).due_at
    library.complete(library.item(started.case_id, "draft_reply").id, {
        "draft_action": "request_transfer", "transfer_reason": "號誌桿位於國道，非本局權責"})
    confirm = library.item(started.case_id, "confirm_transfer")
    assert confirm.due_at == taipei(2026, 11, 27, 17, 30)  # Friday, the next working day
    assert library.case(started.case_id).due_at == case_due

    fire_due(library, taipei(2026, 11, 27, 18, 0))
    with library.runtime.db.connect() as conn:
        fired = conn.execute(select(case_events.c.kind, case_events.c.work_item_id, case_events.c.data).where(
            case_events.c.case_id == started.case_id, case_events.c.kind.in_(("reminder_sent", "escalated")))
            .order_by(case_events.c.id)).all()
    assert [(e.kind, e.work_item_id, e.data["rule"], e.data.get("level")) for e in fired] == [
        ("reminder_sent", confirm.id, "petition.task.confirm_transfer", None),
        ("escalated", confirm.id, "petition.task.confirm_transfer", 1)]
    with library.runtime.db.connect() as conn:
        notices = [r.payload for r in conn.execute(select(outbox.c.payload).where(outbox.c.topic == "in_app"))]
    chief = [n for n in notices if n["kind"] == "escalation"]
    # Central work: the section chief of the commission, where the dispatchers work.
    assert [(n["role"], n["agency_id"], n["work_item_id"]) for n in chief] == [
        ("supervisor", library.agency_id("rdec"), confirm.id)]


def test_the_section_chief_reviews_a_reply_within_two_working_days_each_time_it_is_submitted(library, clock):
    with library.runtime.uow() as uow:
        load_public_holidays(LoadPublicHolidays(2027), uow)
        uow.commit()
    clock.set(taipei(2026, 12, 24, 10))  # Thursday; Friday 12-25 is 行憲紀念日
    started = open_pothole_petition(library)
    case_due = library.case(started.case_id).due_at
    library.complete(library.item(started.case_id, "draft_reply").id, SUBMIT)
    approve = library.item(started.case_id, "approve_reply")
    assert approve.due_at == taipei(2026, 12, 29, 17, 30) and library.case(started.case_id).due_at == case_due
    clock.set(taipei(2026, 12, 29, 16))
    library.complete(approve.id, {"approval_decision": "return", "approval_comment": "請補充修補日期"})
    redraft = library.item(started.case_id, "draft_reply")
    assert redraft.due_at == case_due  # drafting keeps the case's due time
    clock.set(taipei(2026, 12, 30, 9))
    library.complete(redraft.id, SUBMIT)
    # Submitted again Wednesday 12-30: Thursday 12-31 and Monday 2027-01-04 (01-01 is 元旦).
    again = library.item(started.case_id, "approve_reply")
    assert again.due_at == taipei(2027, 1, 4, 17, 30)


def test_a_reply_sent_back_by_the_reviewer_gets_its_due_time_from_the_rule_recorded_with_it(library, clock):
    started = open_pothole_petition(library)
    redraft = _send_back(library, clock, started.case_id)  # Sunday 2026-12-06
    (restarted,) = library.events(started.case_id, "deadline_restarted")
    assert (restarted["rule"], restarted["limit"], restarted["unit"]) == ("petition.default", 6, "working_days")
    assert restarted["rule_id"] is not None
    assert redraft.due_at == taipei(2026, 12, 15, 17, 30) == datetime.fromisoformat(restarted["due_at"])


def test_a_council_question_delivered_on_a_saturday_is_due_the_monday_noon_a_week_on(library, clock):
    clock.set(taipei(2026, 12, 5, 10))  # Saturday: day 1 is Sunday 12-06, day 7 Saturday 12-12
    started = register(library)
    for item in library.items(started.case_id, "reply_bureau"):
        assert item.due_at == taipei(2026, 12, 14, 12, 0)
    assert library.case(started.case_id).due_at == taipei(2026, 12, 14, 12, 0)


def test_a_council_reply_sent_back_on_a_saturday_gets_a_round_ending_monday_noon(library, clock):
    started = register(library)
    reply_all(library, started.case_id)
    clock.set(taipei(2026, 12, 12, 11))  # Saturday: the new round counts Sunday 12-13 to Saturday 12-19
    review_all(library, started.case_id, {
        "transport": ACCEPT,
        "public_works": {**ACCEPT, "review_decision": "send_back", "comment": "未說明完工期程"}})
    (again,) = library.items(started.case_id, "reply_bureau")
    assert again.due_at == library.case(started.case_id).due_at == taipei(2026, 12, 21, 12, 0)
    (restarted,) = library.events(started.case_id, "deadline_restarted")
    assert (restarted["rule"], restarted["unit"], restarted["limit"]) == ("council_item.default", "calendar_days", 7)

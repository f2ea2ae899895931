"""Reminders and the escalation ladder of work items, and the supervisors' escalation queue."""
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, select

from engine.accounts.identity import SYSTEM
from engine.queries.escalation import escalation_queue as scoped_queue
from engine.services.calendar_admin import (
    LoadDeadlineRules,
    LoadPublicHolidays,
    load_deadline_rules,
    load_public_holidays,
)
from engine.services.cases import StartCase, start_case
from engine.services.deployment import DeployBundle, deploy_bundle
from engine.services.timers import ClaimDueTimers, FireTimer, claim_due_timers, fire_timer
from engine.services.work import CompleteWorkItem, complete_work_item
from engine.store.schema import agencies, case_events, outbox, timers, work_items
from tests.conftest import bundle

TAIPEI = ZoneInfo("Asia/Taipei")


@pytest.fixture
def case(runtime, clock):
    """A petition received Thursday 2026-11-26 09:00: due Friday 2026-12-04 17:30."""
    return runtime, open_petition(runtime, clock)


def open_petition(runtime, clock, process="simple", **data):
    """A petition of `process` at public_works received Thursday 2026-11-26 09:00 (due 12-04 17:30), with `data`."""
    clock.set(datetime(2026, 11, 26, 9, 0, tzinfo=TAIPEI))
    with runtime.uow() as uow:
        uow.conn.execute(insert(agencies), {"code": "public_works", "name": "工務局", "kind": "bureau"})
        load_public_holidays(LoadPublicHolidays(2026), uow)
        load_deadline_rules(LoadDeadlineRules(), uow)
        deploy_bundle(DeployBundle(bundle(f"{process}.bpmn")), uow)
        started = start_case(StartCase("petition", process_key=process, channel="web",
                                       agency_code="public_works", data=data), uow)
        uow.commit()
    return started


def ladder(runtime):
    with runtime.db.connect() as conn:
        return [(r.kind, r.due_at.astimezone(TAIPEI).strftime("%m-%d %H:%M"), (r.payload or {}).get("level"), r.status)
                for r in conn.execute(select(timers).where(timers.c.kind != "bpmn_timer").order_by(timers.c.due_at))]


def run_due(runtime, at):
    """Fire every due timer as of `at`, each in its own unit of work, as the workers do."""
    runtime.clock.set(at)
    with runtime.uow() as uow:
        ids = claim_due_timers(ClaimDueTimers("test"), uow)
        uow.commit()
    for timer_id in ids:
        with runtime.uow() as uow:
            fire_timer(FireTimer(timer_id), uow)
            uow.commit()
    return ids


def test_new_work_gets_a_reminder_and_the_three_rungs_of_the_ladder(case):
    runtime, _ = case
    assert ladder(runtime) == [
        ("reminder", "12-03 17:30", None, "pending"),
        ("escalation", "12-04 17:30", 1, "pending"),   # overdue: the section chief
        ("escalation", "12-08 17:30", 2, "pending"),   # two working days later: the agency head
        ("escalation", "12-11 17:30", 3, "pending"),   # five working days later: the commission
    ]


def test_climbing_the_ladder_is_recorded_notified_once_and_shown_in_the_queue(case):
    runtime, started = case
    run_due(runtime, datetime(2026, 12, 3, 18, 0, tzinfo=TAIPEI))
    run_due(runtime, datetime(2026, 12, 8, 18, 0, tzinfo=TAIPEI))
    with runtime.db.connect() as conn:
        kinds = [(e.kind, (e.data or {}).get("level"), (e.data or {}).get("rule"))
                 for e in conn.execute(select(case_events).where(case_events.c.kind.in_(("reminder_sent", "escalated")))
                                       .order_by(case_events.c.id))]
        level = conn.execute(select(work_items.c.escalation_level)).scalar_one()
        notices = conn.execute(select(outbox.c.dedup_key, outbox.c.payload)).all()
    assert kinds == [("reminder_sent", None, "petition.default"), ("escalated", 1, "petition.default"),
                     ("escalated", 2, "petition.default")]
    assert level == 2
    assert sorted(n.payload["role"] for n in notices) == ["agency_head", "caseworker", "supervisor"]
    with runtime.uow(read_only=True) as uow:
        items, counts = escalation_queue(uow)
    (item,) = items
    assert (item.case_no, item.state, item.escalation_level, item.working_days_late) == (
        started.case_no, "overdue", 2, 2)
    assert counts == {("工務局", 2, "overdue"): 1}


def escalation_queue(uow, **kw):
    """The whole city's queue (what the commission sees), its counts by (agency name, level, state)."""
    queue = scoped_queue(uow, SYSTEM, **kw)
    return queue.items, {(c.agency_name, c.level, c.state): c.count for c in queue.counts}


def test_firing_a_rung_twice_does_nothing_more(case):
    runtime, _ = case
    (reminder,) = run_due(runtime, datetime(2026, 12, 3, 18, 0, tzinfo=TAIPEI))
    with runtime.uow() as uow:
        assert fire_timer(FireTimer(reminder), uow) is False
    with runtime.db.connect() as conn:
        assert len(conn.execute(select(outbox)).all()) == 1


def test_completing_the_work_cancels_its_reminder_and_ladder(case):
    runtime, started = case
    with runtime.uow() as uow:
        complete_work_item(CompleteWorkItem(started.work_item_ids[0], {}, SYSTEM), uow)
        uow.commit()
    assert {status for *_, status in ladder(runtime)} == {"cancelled"}
    assert run_due(runtime, datetime(2026, 12, 20, 9, 0, tzinfo=TAIPEI)) == []


def test_work_due_tomorrow_is_at_risk_in_the_queue(case):
    runtime, _ = case
    runtime.clock.set(datetime(2026, 12, 3, 10, 0, tzinfo=TAIPEI))
    with runtime.uow(read_only=True) as uow:
        (item,), _ = escalation_queue(uow)
    assert (item.state, item.working_days_late) == ("at_risk", 0)
    runtime.clock.set(datetime(2026, 11, 27, 10, 0, tzinfo=TAIPEI))
    with runtime.uow(read_only=True) as uow:
        assert escalation_queue(uow)[0] == ()


def test_work_opened_late_escalates_once_to_where_the_case_stands_not_through_every_rung(runtime, clock):
    started = open_petition(runtime, clock, process="approval")
    with runtime.uow() as uow:
        (draft,) = complete_work_item(CompleteWorkItem(started.work_item_ids[0], {}, SYSTEM), uow).opened
        uow.commit()
    clock.set(datetime(2026, 12, 14, 10, 0, tzinfo=TAIPEI))  # the draft is done six working days late
    with runtime.uow() as uow:
        (approve,) = complete_work_item(CompleteWorkItem(draft, {}, SYSTEM), uow).opened
        uow.commit()
    with runtime.db.connect() as conn:
        planned = [(r.kind, (r.payload or {}).get("level")) for r in conn.execute(
            select(timers).where(timers.c.work_item_id == approve).order_by(timers.c.due_at))]
    assert planned == [("escalation", 3)]  # no reminder of 12-03, no rungs 1 and 2 as well
    run_due(runtime, datetime(2026, 12, 14, 10, 0, 1, tzinfo=TAIPEI))
    with runtime.db.connect() as conn:
        levels = [e.data["level"] for e in conn.execute(select(case_events).where(
            case_events.c.kind == "escalated", case_events.c.work_item_id == approve))]
    assert levels == [3]


def test_the_queue_counts_every_late_item_even_beyond_the_items_it_lists(case):
    runtime, _ = case
    with runtime.uow() as uow:  # four more petitions of the same agency, as late as the first
        for _ in range(4):
            start_case(StartCase("petition", process_key="simple", channel="web", agency_code="public_works"), uow)
        uow.commit()
    runtime.clock.set(datetime(2026, 12, 7, 10, 0, tzinfo=TAIPEI))
    with runtime.uow(read_only=True) as uow:
        items, counts = escalation_queue(uow, limit=2)
    assert len(items) == 2
    assert counts == {("工務局", 0, "overdue"): 5}


def test_late_central_work_escalates_to_the_commissions_own_chiefs(runtime, clock):
    """The dispatcher's routing (no agency: central work) goes up the commission's ladder."""
    started = open_petition(runtime, clock, process="approval")  # confirm: lane Dispatcher
    with runtime.uow() as uow:
        rdec = uow.conn.execute(insert(agencies).returning(agencies.c.id),
                                {"code": "rdec", "name": "研究發展考核委員會", "kind": "commission"}).scalar_one()
        uow.commit()
    run_due(runtime, datetime(2026, 12, 8, 18, 0, tzinfo=TAIPEI))  # past rungs 1 (12-04) and 2 (12-08)
    with runtime.db.connect() as conn:
        sent = [(n.payload["role"], n.payload["agency_id"]) for n in conn.execute(select(outbox))
                if n.payload.get("kind") == "escalation" and n.payload["work_item_id"] == started.work_item_ids[0]]
    assert sorted(sent) == [("agency_head", rdec), ("supervisor", rdec)]

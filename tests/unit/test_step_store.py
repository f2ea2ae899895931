"""The one store: a step's changes, built in memory while it runs, are written together or not at all."""
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, insert, select, update

from engine.accounts.identity import SYSTEM
from engine.errors import Conflict
from engine.services.calendar_admin import (
    LoadDeadlineRules,
    LoadPublicHolidays,
    load_deadline_rules,
    load_public_holidays,
)
from engine.services.cases import StartCase, start_case
from engine.services.deployment import DeployBundle, deploy_bundle
from engine.services.work import CompleteWorkItem, complete_work_item
from engine.store.changes import DueMove, InstanceWrite, StepChanges
from engine.store.schema import agencies, case_events, cases, outbox, timers, users, work_items, workflow_instances
from engine.store.steps import write_step
from tests.conftest import bundle

TAIPEI = ZoneInfo("Asia/Taipei")


def local(day, hour=17, minute=30):
    return datetime(2026, 12, day, hour, minute, tzinfo=TAIPEI)


def open_transfer_case(runtime, *, escalation_level: int = 0):
    """A petition received at the runtime clock's time at public works, with two items open:
    triage, and a survey a caseworker has taken (at the escalation level given)."""
    with runtime.uow() as uow:
        uow.conn.execute(insert(agencies), [{"code": "public_works", "name": "工務局", "kind": "bureau"},
                                            {"code": "transport", "name": "交通局", "kind": "bureau"}])
        user = uow.conn.execute(insert(users).returning(users.c.id), {
            "username": "cw.works", "display_name": "林承辦", "created_at": runtime.clock.now()}).scalar_one()
        load_public_holidays(LoadPublicHolidays(2026), uow)
        load_deadline_rules(LoadDeadlineRules(), uow)
        deploy_bundle(DeployBundle(bundle("transfer_and_extend.bpmn")), uow)
        started = start_case(StartCase("petition", process_key="transfer_and_extend", channel="web",
                                       agency_code="public_works",
                                       petitioner={"name": "王小明", "email": "ming@example.tw"}), uow)
        uow.conn.execute(update(work_items).where(work_items.c.task_spec == "survey")
                         .values(assignee_id=user, escalation_level=escalation_level))
        uow.commit()
    return started


@pytest.fixture
def case(runtime, clock):
    """The transfer case received Thursday 2026-11-26 09:00 (due 12-04 17:30)."""
    clock.set(datetime(2026, 11, 26, 9, 0, tzinfo=TAIPEI))
    return runtime, open_transfer_case(runtime)


def items(conn):
    return {r.task_spec: r for r in conn.execute(
        select(work_items, agencies.c.code.label("agency")).join(agencies, agencies.c.id == work_items.c.agency_id))}


def ladder(conn, item_id, status="pending"):
    return sorted(conn.execute(select(timers.c.due_at).where(
        timers.c.work_item_id == item_id, timers.c.status == status)).scalars().all())


def test_one_step_that_transfers_and_extends_moves_the_open_work_and_opens_new_work_there(case, clock):
    runtime, started = case
    with runtime.db.connect() as conn:
        before = items(conn)
        old_ladder = ladder(conn, before["survey"].id)
    assert before["survey"].due_at == local(4) and old_ladder
    clock.set(datetime(2026, 11, 27, 10, 0, tzinfo=TAIPEI))
    with runtime.uow() as uow:
        complete_work_item(CompleteWorkItem(before["triage"].id, {
            "transfer_to": "transport", "transfer_reason": "號誌屬交通局",
            "extension_days": 3, "extension_reason": "需會同地政局會勘"}, SYSTEM), uow)
        uow.commit()
    with runtime.db.connect() as conn:
        case_row = conn.execute(select(cases.c.due_at, agencies.c.code).join(
            agencies, agencies.c.id == cases.c.agency_id)).one()
        after = items(conn)
        kinds = conn.execute(select(case_events.c.kind).where(case_events.c.at == clock.now())
                             .order_by(case_events.c.id)).scalars().all()
        mails = conn.execute(select(outbox.c.payload).where(outbox.c.topic == "email")).scalars().all()
        survey_ladder, reply_ladder = ladder(conn, after["survey"].id), ladder(conn, after["reply"].id)
        cancelled = ladder(conn, after["survey"].id, "cancelled")
        triage_ladder = ladder(conn, after["triage"].id)
    assert tuple(case_row) == (local(9), "transport")
    survey, reply = after["survey"], after["reply"]
    assert (survey.agency, survey.due_at, survey.assignee_id, survey.status) == ("transport", local(9), None, "open")
    assert (reply.agency, reply.due_at, reply.status) == ("transport", local(9), "open")
    # Both keep the case's new agency: neither is another agency's work on the case (co-handling).
    assert (survey.case_agency_id, reply.case_agency_id) == (survey.agency_id, survey.agency_id)
    assert after["triage"].status == "completed" and triage_ladder == []
    # The survey's old reminders and rungs are cancelled; it has the same new ones as the new work.
    assert cancelled == old_ladder and survey_ladder == reply_ladder and survey_ladder
    assert min(survey_ladder) > local(4)
    assert kinds == ["task_completed", "case_transferred", "citizen_notified", "deadline_extended", "task_ready"]
    assert len(mails) == 1 and "需會同地政局會勘" in mails[0]["body"] and mails[0]["to"] == "ming@example.tw"


def test_a_step_whose_instance_moved_on_writes_nothing_of_what_it_changed(case, clock):
    runtime, started = case
    with runtime.db.connect() as conn:
        instance = conn.execute(select(workflow_instances)).one()
        transport = conn.execute(select(agencies.c.id).where(agencies.c.code == "transport")).scalar_one()
        counts = {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
                  for t in (case_events, outbox, timers, work_items)}
    changes = StepChanges(started.case_id, clock.now(), instance=InstanceWrite(
        instance.id, instance.definition_id, instance.version - 1, instance.state, "waiting", None))
    changes.move_case(transport)
    changes.move_due(DueMove(local(20), reset_level=True))
    changes.events.append({"case_id": started.case_id, "at": clock.now(), "kind": "note", "actor_id": None,
                           "work_item_id": None, "data": None})
    changes.queue("email", {"to": "ming@example.tw", "subject": "s", "body": "b"}, "stale-step-mail")
    with runtime.uow() as uow:
        with pytest.raises(Conflict):
            write_step(uow, changes)
        uow.commit()  # whatever the failed write left would be kept now
    with runtime.db.connect() as conn:
        assert conn.execute(select(cases.c.due_at, cases.c.agency_id)).one() != (local(20), transport)
        assert {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
                for t in (case_events, outbox, timers, work_items)} == counts
        assert conn.execute(select(work_items.c.agency_id).distinct()).scalars().all() != [transport]


def test_a_later_due_move_in_the_same_step_wins_and_keeps_an_earlier_reset_of_the_ladder():
    changes = StepChanges(1, local(1))
    changes.move_due(DueMove(None, reset_level=True))  # the clock paused...
    changes.move_due(DueMove(local(1), reset_level=False, ladder=(("reminder", local(1), {}),)))  # ...and resumed
    assert changes.due == DueMove(local(1), reset_level=True, ladder=(("reminder", local(1), {}),))


def test_a_message_with_an_unknown_topic_is_refused_when_queued():
    from engine.errors import InvalidInput
    with pytest.raises(InvalidInput, match="unknown outbox topic"):
        StepChanges(1, local(1)).queue("pigeon", {}, "k")


def test_a_case_that_opens_another_in_its_first_step_shares_its_citizen_with_it(runtime, clock):
    from engine.store.schema import petitioners
    with runtime.uow() as uow:
        deploy_bundle(DeployBundle(bundle("simple.bpmn", "opener.bpmn")), uow)
        uow.commit()
    with runtime.uow(one_step=True) as uow:
        opener = start_case(StartCase("hotline", process_key="opener", channel="1999",
                                      petitioner={"name": "王小明", "email": "ming@example.tw"}), uow)
        uow.commit()
    with runtime.db.connect() as conn:
        rows = {r.id: r for r in conn.execute(select(cases.c.id, cases.c.case_type, cases.c.petitioner_id))}
        citizens = conn.execute(select(petitioners.c.name)).scalars().all()
        linked = conn.execute(select(case_events.c.data).where(case_events.c.kind == "linked_case_opened")).scalar_one()
    assert len(rows) == 2 and citizens == ["王小明"]
    (other,) = [r for case_id, r in rows.items() if case_id != opener.case_id]
    assert other.petitioner_id == rows[opener.case_id].petitioner_id
    assert linked["case_type"] == "simple"


def test_a_step_that_cancels_an_item_deletes_its_drafts_and_raises_its_version(case, clock):
    from engine.store.schema import work_item_drafts
    runtime, started = case
    with runtime.db.begin() as conn:
        before = items(conn)
        instance = conn.execute(select(workflow_instances)).one()
        user = conn.execute(select(users.c.id)).scalar_one()
        conn.execute(insert(work_item_drafts), [{"work_item_id": before[name].id, "user_id": user,
                                                 "data": {"note": name}, "saved_at": clock.now()}
                                                for name in ("survey", "triage")])
    changes = StepChanges(started.case_id, clock.now(), cancelled_tasks=[before["survey"].task_id],
                          instance=InstanceWrite(instance.id, instance.definition_id, instance.version,
                                                 instance.state, "waiting", None))
    with runtime.uow() as uow:
        assert write_step(uow, changes).cancelled == [before["survey"].id]
        uow.commit()
    with runtime.db.connect() as conn:
        after = items(conn)
        kept = conn.execute(select(work_item_drafts.c.data)).scalars().all()
    assert kept == [{"note": "triage"}]
    assert (after["survey"].status, after["survey"].version) == ("cancelled", before["survey"].version + 1)
    assert after["triage"].version == before["triage"].version

"""Incidents: opened once per failed row, retried back to pending, resolved by hand, in the case history."""
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from engine.errors import Conflict, InvalidInput, NotFound
from engine.queries.incidents import get_incident, open_incidents
from engine.services.cases import StartCase, start_case
from engine.services.deployment import DeployBundle, deploy_bundle
from engine.services.incidents import (
    FailTimer,
    OpenIncident,
    ResolveIncident,
    RetryIncident,
    fail_timer,
    open_incident,
    resolve_incident,
    retry_incident,
)
from engine.services.notifications import FailDelivery, fail_delivery
from engine.store.outbox import queue_message, set_publisher
from engine.store.schema import case_events, outbox, timers
from tests.conftest import bundle


@pytest.fixture
def case(runtime):
    """A running case waiting on a BPMN timer six days away: (case id, timer id)."""
    with runtime.uow() as uow:
        deploy_bundle(DeployBundle(bundle("deadline.bpmn")), uow)
        due = uow.clock.now() + timedelta(days=6)
        started = start_case(StartCase("petition", process_key="deadline", data={"reply_due": due.isoformat()}),
                             uow)
        uow.commit()
    with runtime.db.connect() as conn:
        timer_id = conn.execute(select(timers.c.id).where(timers.c.case_id == started.case_id)).scalar_one()
    return started.case_id, timer_id


def failed_message(rt, case_id=None, key="reminder:1"):
    """An outbox row whose delivery was given up, with its incident: (outbox id, incident id)."""
    with rt.uow() as uow:
        outbox_id = queue_message(uow, "email", {"to": "a@b.tw", "case_id": case_id}, key)
        uow.conn.execute(update(outbox).values(last_error="SMTP 451: mailbox busy"))
        incident_id = fail_delivery(FailDelivery(outbox_id), uow)
        uow.commit()
    return outbox_id, incident_id


def history(rt, case_id):
    with rt.db.connect() as conn:
        return [r.kind for r in conn.execute(select(case_events.c.kind).where(case_events.c.case_id == case_id)
                                             .order_by(case_events.c.id))]


def test_a_failure_reported_twice_leaves_one_open_incident(runtime):
    with runtime.uow() as uow:
        first = open_incident(OpenIncident(kind="timer_failed", subject_table="timers", subject_id=7, message="boom",
                              attempts=3), uow)
        again = open_incident(OpenIncident(kind="timer_failed", subject_table="timers", subject_id=7, message="boom!",
                              attempts=4), uow)
        [incident] = open_incidents(uow)
    assert first == again == incident.id
    assert (incident.message, incident.attempts, incident.status) == ("boom!", 4, "open")


def test_giving_a_message_up_twice_opens_one_incident(runtime):
    outbox_id, incident_id = failed_message(runtime)
    with runtime.uow() as uow:
        assert fail_delivery(FailDelivery(outbox_id), uow) is None
        incident = get_incident(uow, incident_id)
    assert (incident.kind, incident.subject_table, incident.subject_id) == ("notification_failed", "outbox",
                                                                            outbox_id)
    assert incident.message == "email: SMTP 451: mailbox busy"


def test_retrying_a_notification_incident_sends_the_message_again_after_commit(runtime):
    outbox_id, incident_id = failed_message(runtime)
    sent = []
    set_publisher(runtime.db, sent.append)
    with runtime.uow() as uow:
        retried = retry_incident(RetryIncident(incident_id, by="admin"), uow)
        assert sent == []
        uow.commit()
    assert sent == [outbox_id]
    assert (retried.status, retried.resolved_by, retried.resolved_at) == ("retried", "admin", runtime.clock.now())
    with runtime.db.connect() as conn:
        row = conn.execute(select(outbox)).one()
    assert (row.status, row.attempts, row.lease_owner) == ("pending", 0, None)
    with runtime.uow() as uow:
        assert open_incidents(uow) == []


def test_an_incident_that_is_no_longer_open_cannot_be_retried_or_resolved(runtime):
    _, incident_id = failed_message(runtime)
    with runtime.uow() as uow:
        resolve_incident(ResolveIncident(incident_id, by="admin", resolution="phoned the petitioner"), uow)
        uow.commit()
    with runtime.uow() as uow:
        with pytest.raises(Conflict):
            retry_incident(RetryIncident(incident_id, by="admin"), uow)
        with pytest.raises(Conflict):
            resolve_incident(ResolveIncident(incident_id, by="admin"), uow)
        with pytest.raises(NotFound):
            resolve_incident(ResolveIncident(incident_id + 100, by="admin"), uow)


def test_retrying_an_incident_whose_row_was_fixed_meanwhile_is_a_conflict(runtime):
    outbox_id, incident_id = failed_message(runtime)
    with runtime.uow() as uow:
        uow.conn.execute(update(outbox).values(status="sent"))
        with pytest.raises(Conflict):
            retry_incident(RetryIncident(incident_id, by="admin"), uow)


def test_an_incident_on_a_row_nobody_knows_how_to_retry_can_only_be_resolved(runtime):
    with runtime.uow() as uow:
        incident_id = open_incident(OpenIncident(kind="import_failed", subject_table="imports", subject_id=1, message="x"), uow)
        with pytest.raises(InvalidInput):
            retry_incident(RetryIncident(incident_id, by="admin"), uow)
        assert resolve_incident(ResolveIncident(incident_id, by="admin"), uow).status == "resolved"


def test_a_timer_that_kept_failing_is_failed_with_an_incident_and_a_retry_makes_it_due_again(runtime, case):
    case_id, timer_id = case
    with runtime.uow() as uow:
        incident_id = fail_timer(FailTimer(timer_id, "WorkflowFailed: gateway had no route", attempts=11), uow)
        assert fail_timer(FailTimer(timer_id, "again"), uow) is None  # already failed: reported once
        uow.commit()
    with runtime.uow() as uow:
        [incident] = open_incidents(uow, kind="timer_failed", case_id=case_id)
        assert (incident.id, incident.subject_table, incident.subject_id, incident.attempts) == (
            incident_id, "timers", timer_id, 11)
        retry_incident(RetryIncident(incident_id, by="admin"), uow)
        uow.commit()
    with runtime.db.connect() as conn:
        row = conn.execute(select(timers).where(timers.c.id == timer_id)).one()
    assert (row.status, row.attempts, row.lease_owner, row.last_error) == (
        "pending", 0, None, "WorkflowFailed: gateway had no route")


def test_incidents_of_a_case_are_part_of_its_history(runtime, case):
    case_id, _ = case
    _, first = failed_message(runtime, case_id, key="a")
    _, second = failed_message(runtime, case_id, key="b")
    with runtime.uow() as uow:
        retry_incident(RetryIncident(first, by="admin"), uow)
        resolve_incident(ResolveIncident(second, by="reviewer", resolution="petitioner reached by phone"), uow)
        uow.commit()
    assert history(runtime, case_id)[-4:] == ["incident_opened", "incident_opened", "incident_retried",
                                              "incident_resolved"]

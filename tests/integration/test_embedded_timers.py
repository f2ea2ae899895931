"""Timers in embedded mode: the scheduler claims due rows, the in-process worker fires them."""
import time
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from engine.bootstrap import bootstrap
from engine.clock import RunningClock
from engine.services.cases import StartCase, start_case
from engine.services.deployment import DeployBundle, deploy_bundle
from engine.services.timers import ClaimDueTimers, FireTimer, claim_due_timers, fire_timer
from engine.store.schema import timers, work_items
from tests.conftest import TEST_NOW, bundle


@pytest.fixture
def live(settings):
    """A runtime on a clock running in real time from TEST_NOW: the scheduler thread, the worker
    and SpiffWorkflow see timers fall due as the seconds pass."""
    rt = bootstrap(settings, clock=RunningClock(TEST_NOW))
    from tests.conftest import _truncate_all
    if not settings.is_sqlite:
        _truncate_all(rt.db)
    with rt.uow() as uow:
        deploy_bundle(DeployBundle(bundle("deadline.bpmn")), uow)
        uow.commit()
    yield rt
    rt.close()


def start(rt, due: datetime):
    with rt.uow() as uow:
        started = start_case(StartCase("petition", process_key="deadline",
                                       data={"reply_due": due.isoformat()}), uow)
        uow.commit()
    return started


def items(rt):
    with rt.db.connect() as conn:
        return {r.task_spec: r.status for r in conn.execute(select(work_items))}


def test_a_timer_already_due_at_start_fires_at_once(live):
    start(live, live.clock.now() - timedelta(seconds=1))
    assert items(live) == {"take_over": "open"}  # the reply task never reached an inbox


def test_a_timer_not_yet_due_is_not_claimed(live):
    start(live, live.clock.now() + timedelta(days=6))
    with live.uow() as uow:
        assert claim_due_timers(ClaimDueTimers("test"), uow) == []


def test_two_claims_never_share_a_timer_and_firing_twice_does_nothing(live):
    due = live.clock.now() + timedelta(seconds=0.5)
    start(live, due)
    time.sleep(max(0.0, (due - live.clock.now()).total_seconds()) + 0.05)
    with live.uow() as uow:
        first = claim_due_timers(ClaimDueTimers("a"), uow)
        uow.commit()
    with live.uow() as uow:
        assert claim_due_timers(ClaimDueTimers("b"), uow) == []
    with live.uow() as uow:
        assert fire_timer(FireTimer(first[0]), uow) is True
        uow.commit()
    with live.uow() as uow:
        assert fire_timer(FireTimer(first[0]), uow) is False
    assert items(live) == {"reply": "cancelled", "take_over": "open"}


def test_embedded_background_fires_a_due_timer_without_help(live):
    from api.embedded import Background
    start(live, live.clock.now() + timedelta(seconds=1))
    background = Background(live)
    background.start()
    try:
        deadline = time.monotonic() + 20
        while items(live).get("take_over") != "open" and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        background.stop()
    assert items(live) == {"reply": "cancelled", "take_over": "open"}
    with live.db.connect() as conn:
        assert [r.status for r in conn.execute(select(timers))] == ["done"]


def test_a_timer_whose_path_fails_opens_an_incident_instead_of_retrying(settings):
    from engine.store.schema import incidents
    from handlers import actors
    from handlers.runtime import set_runtime
    xml = bundle("deadline.bpmn")["deadline.bpmn"].replace(
        '<bpmn:userTask id="take_over" name="Take over the late reply">\n'
        '      <bpmn:incoming>f3</bpmn:incoming>\n      <bpmn:outgoing>f4</bpmn:outgoing>\n    </bpmn:userTask>',
        '<bpmn:scriptTask id="take_over" name="Take over the late reply">\n'
        '      <bpmn:incoming>f3</bpmn:incoming>\n      <bpmn:outgoing>f4</bpmn:outgoing>\n'
        '      <bpmn:script>x = 1 / 0</bpmn:script>\n    </bpmn:scriptTask>')
    assert "scriptTask" in xml
    rt = bootstrap(settings, clock=RunningClock(TEST_NOW))
    from tests.conftest import _truncate_all
    if not settings.is_sqlite:
        _truncate_all(rt.db)
    with rt.uow() as uow:
        deploy_bundle(DeployBundle({"deadline.bpmn": xml}), uow)
        uow.commit()
    due = rt.clock.now() + timedelta(seconds=0.3)
    start(rt, due)
    time.sleep(0.4)
    with rt.uow() as uow:
        (timer_id,) = claim_due_timers(ClaimDueTimers("test"), uow)
        uow.commit()
    set_runtime(rt)
    try:
        actors.fire_timer.fn(timer_id)  # the actor's body, as a worker thread runs it
    finally:
        set_runtime(None)
    with rt.db.connect() as conn:
        timer = conn.execute(select(timers)).one()
        incident = conn.execute(select(incidents)).one()
    assert timer.status == "failed" and "division by zero" in timer.last_error
    assert (incident.kind, incident.subject_id, incident.status) == ("timer_failed", timer_id, "open")
    assert items(rt) == {"reply": "open"}  # the reply is still waiting; nothing half-done was kept
    rt.close()


def _claimed_timer_of_a_damaged_case(live) -> int:
    """A due timer, claimed, whose case's stored state no longer loads (a fault no retry mends)."""
    from sqlalchemy import update

    from engine.store.schema import workflow_instances
    start(live, live.clock.now() + timedelta(seconds=0.3))
    time.sleep(0.4)
    with live.uow() as uow:
        (timer_id,) = claim_due_timers(ClaimDueTimers("test"), uow)
        uow.conn.execute(update(workflow_instances).values(state="{damaged"))
        uow.commit()
    return timer_id


def test_a_firing_that_fails_unexpectedly_keeps_its_error_on_the_timer_for_the_retry(live):
    """A fault the worker cannot classify is retried by Dramatiq; the timer row says why it is late."""
    from handlers import actors
    from handlers.runtime import set_runtime
    timer_id = _claimed_timer_of_a_damaged_case(live)
    set_runtime(live)
    try:
        with pytest.raises(ValueError):
            actors.fire_timer.fn(timer_id)
    finally:
        set_runtime(None)
    with live.db.connect() as conn:
        timer = conn.execute(select(timers)).one()
    assert timer.status == "pending" and timer.last_error.startswith("JSONDecodeError")


def test_a_firing_that_keeps_failing_is_given_up_after_its_retries_with_an_incident(live, monkeypatch):
    """Through a real worker: every retry fails, then the retries-exhausted hook fails the timer."""
    import dramatiq
    from dramatiq.brokers.stub import StubBroker

    from engine.store.schema import incidents
    from handlers import actors
    from handlers.runtime import set_runtime
    timer_id = _claimed_timer_of_a_damaged_case(live)
    broker = StubBroker()
    dramatiq.set_broker(broker)
    actors.bind_to(broker)
    # Retries in milliseconds rather than minutes, so the whole ladder runs within the test.
    for option, value in (("max_retries", 2), ("min_backoff", 10), ("max_backoff", 40)):
        monkeypatch.setitem(actors.fire_timer.options, option, value)
    set_runtime(live)
    worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=50)
    worker.start()
    try:
        actors.fire_timer.send(timer_id)
        broker.join("timers", fail_fast=False, timeout=20_000)
    finally:
        worker.stop()
        set_runtime(None)
        broker.close()
    with live.db.connect() as conn:
        timer = conn.execute(select(timers)).one()
        incident = conn.execute(select(incidents)).one()
    assert timer.status == "failed"
    assert timer.last_error.startswith("json.decoder.JSONDecodeError: ")
    assert timer.last_error.endswith("(gave up after 3 attempts)") and incident.message == timer.last_error
    assert (incident.kind, incident.subject_id, incident.status) == ("timer_failed", timer_id, "open")

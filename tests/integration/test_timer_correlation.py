"""A timer keeps the id of the request that set it, and fires under it: its log lines and notifications carry it."""
from __future__ import annotations

import logging
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from api.app import create_app
from api.request_context import HEADER
from engine import correlation
from engine.store.outbox import CORRELATION_KEY
from engine.store.schema import notifications, outbox, timers, work_items
from tests.api.conftest import ApiCity
from tests.conftest import bundle
from tests.unit.queries_city import build_city, taipei
from tests.unit.test_escalation import open_petition as open_escalating_petition

TAIPEI = ZoneInfo("Asia/Taipei")
REPLY = {"data": {"draft_action": "submit_reply", "reply_text": "已修復"}}


def timer_ids(rt, **where) -> dict[int, str | None]:
    """Timers rows (id -> correlation id), of a work item or a kind when named."""
    query = select(timers.c.id, timers.c.correlation_id).order_by(timers.c.id)
    for name, value in where.items():
        query = query.where(timers.c[name] == value)
    with rt.db.connect() as conn:
        return dict(conn.execute(query).all())


def test_the_reminder_and_rungs_a_request_sets_keep_its_request_id(runtime, clock):
    city = build_city(runtime, clock, bundle("form_reply.bpmn"))
    api = ApiCity(city.runtime, city.clock, app=create_app(runtime=runtime))
    (draft,) = api.open_case(taipei(24), process="form_reply").work_item_ids
    assert set(timer_ids(runtime, work_item_id=draft).values()) == {None}  # opened with no request in hand
    done = api.as_("cw.roads").post(f"/api/v1/work-items/{draft}/complete", json=REPLY,
                                    headers={HEADER: "req-complete-0001"})
    assert done.status_code == 200 and done.headers[HEADER] == "req-complete-0001"
    (approve,) = done.get_json()["opened"]
    kept = timer_ids(runtime, work_item_id=approve)
    assert len(kept) == 4 and set(kept.values()) == {"req-complete-0001"}  # its reminder and three rungs


def open_petition(runtime, clock, process: str, **data):
    """A petition of `process` at 工務局 received Thursday 2026-11-26 09:00 (due 12-04 17:30), opened while the
    request req-open-0001 is in hand."""
    with correlation.bound("req-open-0001"):
        return open_escalating_petition(runtime, clock, process, **data)


def test_the_timers_a_firing_sets_keep_the_id_of_the_request_behind_it_when_run_by_hand(runtime, clock):
    """`petiflow timers run-due` has no id of its own: the BPMN timer's firing runs under the one it kept."""
    from api.cli_timers import run_due_timers
    open_petition(runtime, clock, "deadline", reply_due="2026-11-27T09:00:00+08:00")
    (bpmn_timer,) = timer_ids(runtime, kind="bpmn_timer")
    clock.set(datetime(2026, 11, 27, 10, 0, tzinfo=TAIPEI))
    assert run_due_timers(runtime).fired == [bpmn_timer]
    with runtime.db.connect() as conn:
        take_over = conn.execute(select(work_items.c.id).where(work_items.c.task_spec == "take_over")).scalar_one()
    kept = timer_ids(runtime, work_item_id=take_over)
    assert kept and set(kept.values()) == {"req-open-0001"}  # the late reply's own reminder and rungs
    assert correlation.current() is None


@pytest.fixture
def background(runtime):
    """The embedded scheduler thread and in-process worker on the runtime (its clock set by the test)."""
    from api.embedded import Background
    from handlers.runtime import set_runtime
    running = Background(runtime)
    yield running
    running.stop()
    runtime.set_publisher(None)
    set_runtime(None)


def wait_for(predicate, seconds: float = 20):
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_the_scheduler_and_worker_fire_a_reminder_under_the_id_of_the_request_that_set_it(
        runtime, clock, background, caplog):
    caplog.set_level(logging.INFO)
    started = open_petition(runtime, clock, "simple")
    ladder = timer_ids(runtime, work_item_id=started.work_item_ids[0])
    assert len(ladder) == 4 and set(ladder.values()) == {"req-open-0001"}
    clock.set(datetime(2026, 12, 3, 18, 0, tzinfo=TAIPEI))  # the reminder (12-03 17:30) is due, no rung yet
    background.start()

    def reminded():
        with runtime.db.connect() as conn:
            return conn.execute(select(notifications.c.kind)).scalars().all() == ["reminder"]
    wait_for(reminded)
    with runtime.db.connect() as conn:
        (payload,) = conn.execute(select(outbox.c.payload)).scalars()
    assert payload[CORRELATION_KEY] == "req-open-0001"  # the notification the firing queued keeps it
    # The firing's lines, in the worker's threads, and the delivery of its notification, carry the request's id.
    [fired] = [r for r in caplog.records if r.getMessage().startswith("firing timer ")]
    [delivered] = [r for r in caplog.records if r.getMessage().endswith("delivered (in_app)")]
    for line in (fired, delivered):
        assert line.threadName != "MainThread" and line.request_id == "req-open-0001"

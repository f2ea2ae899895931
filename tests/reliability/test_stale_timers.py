"""Timers whose work was done, or whose case was closed, between the claim and the firing."""
import threading
from datetime import timedelta

from sqlalchemy import func, select, text, update

from engine.accounts.identity import SYSTEM
from engine.services.timers import FireTimer, fire_timer
from engine.services.work import CompleteWorkItem, complete_work_item
from engine.store.schema import cases, timers, work_items, workflow_instances
from handlers.scheduler import sweep
from tests.reliability.conftest import WORKER_TIER, start_overdue_cases, wait_until

pytestmark = WORKER_TIER


def statuses_by_case(rt) -> dict[int, str]:
    with rt.db.connect() as conn:
        return dict(conn.execute(select(timers.c.case_id, timers.c.status)).all())


def items_by_case(rt, case_id) -> dict[str, str]:
    with rt.db.connect() as conn:
        return dict(conn.execute(select(work_items.c.task_spec, work_items.c.status)
                                 .where(work_items.c.case_id == case_id)).all())


def reply_item(rt, case_id) -> int:
    with rt.db.connect() as conn:
        return conn.execute(select(work_items.c.id).where(work_items.c.case_id == case_id,
                                                          work_items.c.task_spec == "reply")).scalar_one()


def test_timers_whose_work_was_done_or_case_closed_after_they_were_sent_do_nothing_when_they_arrive(
        live, namespace, sender, workers):
    replied, closed, abandoned, late = start_overdue_cases(live, 4)
    assert sweep(live, sender, lease=timedelta(minutes=5)) == 4  # sent; no worker is running yet

    # Meanwhile the caseworker replies on one case (that cancels its timer in the same transaction)...
    with live.uow() as uow:
        complete_work_item(CompleteWorkItem(reply_item(live, replied), {"reply": "fixed"}, SYSTEM), uow)
        uow.commit()
    # ...a dispatcher closes another as a duplicate (case closed, workflow cancelled)...
    with live.db.begin() as conn:
        conn.execute(update(cases).where(cases.c.id == closed).values(status="closed"))
        conn.execute(update(workflow_instances).where(workflow_instances.c.case_id == closed)
                     .values(status="cancelled"))
        # ...and a third case is closed by a path that left its workflow waiting.
        conn.execute(update(cases).where(cases.c.id == abandoned).values(status="closed"))

    worker = workers(live.settings.database_url)
    wait_until(lambda: "pending" not in statuses_by_case(live).values(), 20, 0.1, "every message to be handled")
    wait_until(lambda: namespace.queued() == 0, 5, 0.1, "the queue to empty")

    assert statuses_by_case(live) == {replied: "cancelled", closed: "cancelled", abandoned: "cancelled", late: "done"}
    assert items_by_case(live, replied) == {"reply": "completed"}
    assert items_by_case(live, closed) == {"reply": "open"}
    assert items_by_case(live, abandoned) == {"reply": "open"}
    assert items_by_case(live, late) == {"reply": "cancelled", "take_over": "open"}
    assert worker.errors() == []
    assert namespace.dead_letters() == 0


def _lock_waits(live) -> int:
    """Backends of this database waiting for a lock, read in a fresh transaction each time
    (pg_stat_activity is a snapshot taken once per transaction)."""
    with live.db.connect() as conn:
        return conn.execute(text("select count(*) from pg_stat_activity where datname = current_database()"
                                 " and wait_event_type = 'Lock'")).scalar_one()


def test_a_timer_firing_while_its_work_item_is_being_completed_waits_for_it_then_does_nothing(live):
    """Firing locks the case's instance before the timer row, in the order completing a work
    item takes them, so the two cannot deadlock: the firing waits and finds the timer cancelled."""
    (case_id,) = start_overdue_cases(live, 1)
    with live.db.connect() as conn:
        timer_id = conn.execute(select(timers.c.id)).scalar_one()
    outcome = {}

    def fire():
        with live.uow() as uow:
            outcome["fired"] = fire_timer(FireTimer(timer_id), uow)
            uow.commit()

    with live.uow() as completing:
        # The caseworker's transaction has read and locked the case, as completing does first.
        completing.conn.execute(select(workflow_instances.c.id).where(workflow_instances.c.case_id == case_id)
                                .with_for_update())
        firing = threading.Thread(target=fire)
        firing.start()
        wait_until(lambda: _lock_waits(live) == 1, 10, 0.02, "the firing to wait for the lock")
        complete_work_item(CompleteWorkItem(reply_item(live, case_id), {"reply": "done"}, SYSTEM), completing)
        completing.commit()
    firing.join(10)

    assert outcome == {"fired": False}
    assert statuses_by_case(live) == {case_id: "cancelled"}
    assert items_by_case(live, case_id) == {"reply": "completed"}
    with live.db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(work_items)).scalar_one() == 1

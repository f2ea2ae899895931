"""Firing one timer: never marked done while its workflow still waits on it."""
from datetime import timedelta

from sqlalchemy import select

from engine.bootstrap import bootstrap
from engine.clock import FixedClock
from engine.services.cases import StartCase, start_case
from engine.services.timers import ClaimDueTimers, FireTimer, claim_due_timers, fire_timer
from engine.store.schema import timers, work_items


def test_a_worker_whose_clock_is_behind_the_claimers_leaves_the_timer_pending_for_a_later_claim(rt, clock):
    with rt.uow() as uow:
        case = start_case(StartCase("petition", process_key="deadline",
                                    data={"reply_due": (clock.now() + timedelta(minutes=1)).isoformat()}), uow)
        uow.commit()
    clock.advance(minutes=2)  # the scheduler's clock: the timer is due
    with rt.uow() as uow:
        (timer_id,) = claim_due_timers(ClaimDueTimers("scheduler"), uow)
        uow.commit()

    behind = bootstrap(rt.settings, clock=FixedClock(clock.now() - timedelta(minutes=1, seconds=30)), db=rt.db)
    with behind.uow() as uow:  # a worker whose clock says the timer is 30 s from due
        assert fire_timer(FireTimer(timer_id), uow) is False
        uow.commit()
    with rt.db.connect() as conn:
        row = conn.execute(select(timers)).one()
        assert (row.status, row.lease_owner, row.lease_expires_at) == ("pending", None, None)
        assert conn.execute(select(work_items.c.task_spec).where(
            work_items.c.case_id == case.case_id)).scalars().all() == ["reply"]

    with rt.uow() as uow:  # claimed again on the next sweep, and fired by an on-time worker
        assert claim_due_timers(ClaimDueTimers("scheduler"), uow) == [timer_id]
        assert fire_timer(FireTimer(timer_id), uow) is True
        uow.commit()
    with rt.db.connect() as conn:
        assert conn.execute(select(timers.c.status)).scalar_one() == "done"
        assert sorted(conn.execute(select(work_items.c.task_spec)).scalars()) == ["reply", "take_over"]

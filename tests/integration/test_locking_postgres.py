"""Optimistic locking on PostgreSQL with two real connections completing one work item."""
import threading
import time

import pytest
from sqlalchemy import func, select, text

from engine.accounts.identity import SYSTEM
from engine.errors import Conflict
from engine.services.cases import StartCase, start_case
from engine.services.deployment import DeployBundle, deploy_bundle
from engine.services.work import CompleteWorkItem, complete_work_item
from engine.store.schema import case_events, process_definitions, work_items, workflow_instances
from tests.conftest import bundle, start_parallel_case

pytestmark = pytest.mark.postgres


def test_two_simultaneous_completions_of_one_item_give_one_success_and_one_conflict(pg_runtime):
    rt = pg_runtime
    with rt.uow() as uow:
        deploy_bundle(DeployBundle(bundle("approval.bpmn")), uow)
        started = start_case(StartCase("petition", process_key="approval"), uow)
        uow.commit()
    item_id = started.work_item_ids[0]
    both_loaded = threading.Barrier(2, timeout=10)
    outcomes = []

    def attempt(label):
        with rt.uow() as uow:
            # Both transactions are open on their own connections before either writes.
            uow.conn.execute(select(1))
            both_loaded.wait()
            try:
                complete_work_item(CompleteWorkItem(item_id, {"who": label}, SYSTEM), uow)
                uow.commit()
                outcomes.append(("ok", label))
            except Conflict as exc:
                outcomes.append(("conflict", str(exc)))

    threads = [threading.Thread(target=attempt, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert sorted(o[0] for o in outcomes) == ["conflict", "ok"]
    with rt.db.connect() as conn:
        assert conn.execute(select(workflow_instances.c.version)).scalar_one() == 2
        assert conn.execute(select(func.count()).select_from(work_items)
                            .where(work_items.c.task_spec == "draft")).scalar_one() == 1
        assert conn.execute(select(func.count()).select_from(case_events)
                            .where(case_events.c.kind == "task_completed")).scalar_one() == 1


def test_two_completions_that_both_read_the_open_item_are_decided_by_the_version_check(pg_runtime, monkeypatch):
    """Both load the item while it is open and run the step; only then does either save."""
    import engine.services.work as work
    rt = pg_runtime
    with rt.uow() as uow:
        deploy_bundle(DeployBundle(bundle("approval.bpmn")), uow)
        started = start_case(StartCase("petition", process_key="approval"), uow)
        uow.commit()
    both_ran = threading.Barrier(2, timeout=10)
    saves = []
    real_finish = work.finish_step

    def persist_after_both_ran(uow, ref, *args, **kwargs):
        saves.append(ref.version)
        if len(saves) <= 2:
            both_ran.wait()
        return real_finish(uow, ref, *args, **kwargs)

    monkeypatch.setattr(work, "finish_step", persist_after_both_ran)
    outcomes = []

    def attempt(label):
        try:
            with rt.uow(one_step=True) as uow:
                complete_work_item(CompleteWorkItem(started.work_item_ids[0], {"who": label}, SYSTEM), uow)
                uow.commit()
            outcomes.append("ok")
        except Conflict as exc:
            outcomes.append(str(exc))

    threads = [threading.Thread(target=attempt, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    # Both saved from version 1: the version check let one through; the other ran again, found
    # the item done, and did not save.
    assert saves == [1, 1]
    assert sorted(outcomes) == ["ok", f"work item {started.work_item_ids[0]} is already completed"]
    with rt.db.connect() as conn:
        assert conn.execute(select(workflow_instances.c.version)).scalar_one() == 2
        assert conn.execute(select(func.count()).select_from(case_events)
                            .where(case_events.c.kind == "task_completed")).scalar_one() == 1


def test_a_save_from_a_stale_read_is_refused_not_overwritten(pg_runtime):
    """Even without the row lock, the version check refuses a write based on an old read."""
    from engine.cases.steps import InstanceRef, finish_step
    from engine.store.changes import StepChanges
    from engine.workflow import state
    rt = pg_runtime
    with rt.uow() as uow:
        deploy_bundle(DeployBundle(bundle("approval.bpmn")), uow)
        started = start_case(StartCase("petition", process_key="approval"), uow)
        uow.commit()
    with rt.uow() as uow:
        row = uow.conn.execute(select(workflow_instances)).one()
        definition = uow.specs.get(uow.conn, row.definition_id)
        workflow = state.load(row.state, definition.spec, definition.subprocess_specs, uow.script_engine)
    with rt.uow() as uow:
        complete_work_item(CompleteWorkItem(started.work_item_ids[0], {}, SYSTEM), uow)
        uow.commit()
    with rt.uow() as uow:
        ref = InstanceRef(row.id, row.case_id, row.definition_id, row.version, None)
        with pytest.raises(Conflict):
            finish_step(uow, ref, workflow, StepChanges(row.case_id, uow.clock.now()))


def _waiting_for_a_lock(rt) -> bool:
    with rt.db.connect() as conn:  # a fresh transaction each time: pg_stat_activity is a snapshot
        return bool(conn.execute(text("select count(*) from pg_stat_activity where "
                                      "datname = current_database() and wait_event_type = 'Lock'")).scalar())


def test_two_deployments_racing_for_one_version_give_one_and_a_conflict(pg_runtime):
    """The second reads no version before the first commits; its insert is refused, not a 500."""
    rt = pg_runtime
    sources = bundle("simple.bpmn")
    changed = {"simple.bpmn": sources["simple.bpmn"].replace("Draft the reply", "Write the reply")}
    outcome = []

    def second():
        with rt.uow() as uow:
            try:
                deploy_bundle(DeployBundle(changed), uow)  # waits on the unique index, then fails
                uow.commit()
                outcome.append("deployed")
            except Conflict as exc:
                outcome.append(str(exc))

    with rt.uow() as first:
        deploy_bundle(DeployBundle(sources), first)  # version 1, not yet committed
        racer = threading.Thread(target=second)
        racer.start()
        deadline = time.monotonic() + 10
        while not _waiting_for_a_lock(rt) and time.monotonic() < deadline:
            time.sleep(0.02)  # until the second read "no version yet" and blocks on its insert
        first.commit()
    racer.join(10)
    assert len(outcome) == 1 and "deploy again" in outcome[0]
    with rt.db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(process_definitions)).scalar_one() == 1


def test_a_caseworker_completing_work_while_a_worker_fires_its_reminder_waits_instead_of_deadlocking(pg_runtime, clock):
    """The reminder of the item is due at 17:30; the caseworker submits the item the same moment."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from engine.services import timers as timer_service
    from engine.services.timers import ClaimDueTimers, FireTimer, claim_due_timers, fire_timer
    from engine.store.schema import timers
    from tests.unit.test_escalation import open_petition
    taipei = ZoneInfo("Asia/Taipei")
    rt = pg_runtime
    started = open_petition(rt, clock)
    clock.set(datetime(2026, 12, 3, 18, 0, tzinfo=taipei))  # the reminder (12-03 17:30) is due
    with rt.uow() as uow:
        (reminder,) = claim_due_timers(ClaimDueTimers("test"), uow)
        uow.commit()
    outcomes = []

    def caseworker():
        try:
            with rt.uow() as uow:
                complete_work_item(CompleteWorkItem(started.work_item_ids[0], {}, SYSTEM), uow)
                uow.commit()
            outcomes.append("completed")
        except Exception as exc:  # noqa: BLE001 - the test reports what went wrong
            outcomes.append(f"complete failed: {type(exc).__name__}: {exc}")

    with rt.uow() as uow:
        instance_id = uow.conn.execute(select(timers.c.instance_id).where(timers.c.id == reminder)).scalar_one()
        uow.conn.execute(timer_service._lock_instance, {"b_instance": instance_id}).one()  # the worker's first lock
        thread = threading.Thread(target=caseworker)
        thread.start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not _waiting_on_locks(rt):
            time.sleep(0.02)
        try:
            fired = fire_timer(FireTimer(reminder), uow)
            uow.commit()
            outcomes.append(f"fired: {fired}")
        except Exception as exc:  # noqa: BLE001
            outcomes.append(f"fire failed: {type(exc).__name__}: {exc}")
    thread.join(20)
    assert sorted(outcomes) == ["completed", "fired: True"]
    with rt.db.connect() as conn:
        assert conn.execute(select(work_items.c.status)).scalar_one() == "completed"


def _waiting_on_locks(rt) -> int:
    with rt.db.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                 "AND wait_event_type = 'Lock'")).scalar()


def _parallel_case(rt, clock):
    """A case waiting on two tasks at once (a and b), with a timer on b."""
    started = start_parallel_case(rt, clock)
    with rt.db.connect() as conn:
        items = dict(conn.execute(select(work_items.c.task_spec, work_items.c.id)).all())
    return started, items


def _after_the_item_is_loaded(rt, action):
    """Run `action` once, right after the next completion has loaded its work item and case.

    It then runs against the state loaded before `action` saved its own step.
    """
    from sqlalchemy import event
    fired = []

    def hook(conn, cursor, statement, parameters, context, executemany):
        if statement.startswith("SELECT work_items.id") and not fired:
            fired.append(True)
            action()
    event.listen(rt.db, "after_cursor_execute", hook)
    return lambda: event.remove(rt.db, "after_cursor_execute", hook)


@pytest.mark.parametrize("one_step", [False, True], ids=["in-a-transaction", "one-step"])
def test_a_completion_that_another_step_beat_to_the_save_runs_again_on_the_new_state(pg_runtime, clock, one_step):
    """Task b is completed by a colleague between our load of the case and our save of task a."""
    rt = pg_runtime
    _, items = _parallel_case(rt, clock)
    colleague = []

    def complete_b():
        with rt.uow() as other:
            colleague.append(complete_work_item(CompleteWorkItem(items["b"], {"by": "colleague"}, SYSTEM), other))
            other.commit()

    undo = _after_the_item_is_loaded(rt, complete_b)
    try:
        with rt.uow(one_step=one_step) as uow:
            done = complete_work_item(CompleteWorkItem(items["a"], {"by": "us"}, SYSTEM), uow)
            uow.commit()
    finally:
        undo()
    assert colleague[0].status == "waiting" and done.status == "completed"  # ours ran after theirs
    assert done.version == 3
    with rt.db.connect() as conn:
        completed = conn.execute(select(case_events.c.work_item_id).where(case_events.c.kind == "task_completed")
                                 .order_by(case_events.c.id)).scalars().all()
        statuses = dict(conn.execute(select(work_items.c.task_spec, work_items.c.status)).all())
        timer_states = conn.execute(text("SELECT status FROM timers")).scalars().all()
    assert completed == [items["b"], items["a"]]  # each once, in the order they were saved
    assert statuses == {"a": "completed", "b": "completed"}
    assert timer_states == ["cancelled"]  # b's timer went with b


def test_a_completion_pinned_to_the_version_it_saw_is_refused_when_another_step_came_first(pg_runtime, clock):
    rt = pg_runtime
    _, items = _parallel_case(rt, clock)

    def complete_b():
        with rt.uow() as other:
            complete_work_item(CompleteWorkItem(items["b"], {}, SYSTEM), other)
            other.commit()

    undo = _after_the_item_is_loaded(rt, complete_b)
    try:
        with rt.uow() as uow, pytest.raises(Conflict, match="changed by someone else"):
            complete_work_item(CompleteWorkItem(items["a"], {}, SYSTEM, expected_version=1), uow)
    finally:
        undo()
    with rt.db.connect() as conn:
        statuses = dict(conn.execute(select(work_items.c.task_spec, work_items.c.status)).all())
        version = conn.execute(select(workflow_instances.c.version)).scalar_one()
    assert statuses == {"a": "open", "b": "completed"} and version == 2  # nothing of ours was written


def test_units_of_work_begin_their_transaction_at_the_first_write_and_stay_atomic(pg_runtime):
    """Reads go without BEGIN; from the first write on, everything commits or rolls back together."""
    from engine.store.schema import agencies
    rt = pg_runtime
    with rt.uow(read_only=True) as uow:
        uow.conn.execute(select(func.count()).select_from(agencies)).scalar_one()
        assert not uow.writing
    with rt.uow() as uow:
        uow.conn.execute(select(1))
        assert not uow.writing
        uow.conn.execute(agencies.insert(), {"code": "a1", "name": "甲"})
        assert uow.writing
        uow.conn.execute(agencies.insert(), {"code": "a2", "name": "乙"})
        # left without commit: both rows go
    with rt.uow() as uow:
        uow.conn.execute(agencies.insert(), {"code": "a3", "name": "丙"})
        uow.commit()
    with rt.db.connect() as conn:
        assert conn.execute(select(agencies.c.code)).scalars().all() == ["a3"]


def test_a_with_query_that_only_reads_opens_no_transaction_and_one_that_writes_does(pg_runtime):
    """The search and the inbox read through WITH queries: plain reads, as a SELECT is."""
    from engine.store.schema import agencies
    rt = pg_runtime
    with rt.uow() as uow:
        uow.conn.execute(text("WITH a AS (SELECT id FROM agencies) SELECT count(*) FROM a")).scalar_one()
        assert not uow.writing
        uow.conn.execute(text("WITH a AS (SELECT 1) SELECT id FROM agencies FOR UPDATE")).all()
        assert uow.writing  # a locking read holds its rows until the unit ends
    with rt.uow() as uow:
        uow.conn.execute(text("WITH made AS (INSERT INTO agencies (code, name) VALUES ('w1', '甲') RETURNING id) "
                              "SELECT id FROM made")).scalar_one()
        assert uow.writing
        # left without commit: the row goes
    with rt.db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(agencies)).scalar_one() == 0


def _prepared(uow) -> int:
    return uow.conn.execute(text("SELECT count(*) FROM pg_prepared_statements")).scalar_one()


def test_a_read_only_unit_keeps_the_connections_prepared_statements_and_refuses_to_write(pg_runtime):
    """psycopg forgets a connection's prepared statements at every ROLLBACK, so a read-only unit that
    opened a transaction ends it with COMMIT: the inbox's statements stay planned across requests.
    Its transaction is READ ONLY, so a write in it fails instead of being committed."""
    from sqlalchemy.exc import InternalError

    from engine.store.schema import agencies
    rt = pg_runtime
    query = select(func.count()).select_from(agencies).where(agencies.c.code != "x")
    with rt.uow(read_only=True) as uow:
        for _ in range(6):  # psycopg prepares a statement at its fifth run on a connection
            uow.conn.execute(query).scalar_one()
        prepared = _prepared(uow)
    assert prepared >= 1
    with rt.uow(read_only=True) as uow:
        uow.begin()  # what a locking read or a WITH query that writes would open
        assert uow.writing
    with rt.uow(read_only=True) as uow:
        assert _prepared(uow) == prepared  # the same pooled connection, its statements kept
        uow.begin()
        with pytest.raises(InternalError, match="read-only transaction"):
            uow.conn.execute(agencies.insert(), {"code": "r1", "name": "甲"})
    with rt.db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(agencies)).scalar_one() == 0


def test_a_new_case_is_written_by_one_statement_and_a_failed_first_step_leaves_no_trace(pg_runtime):
    """The case number is drawn first; the case, its petitioner and workflow go in together, or not at all."""
    from engine.errors import WorkflowFailed
    from engine.store.schema import cases, petitioners
    rt = pg_runtime
    with rt.uow() as uow:
        deploy_bundle(DeployBundle(bundle("simple.bpmn", "failing.bpmn")), uow)
        uow.commit()
    with rt.uow() as uow:  # the process, its rules and calendar are read once and kept
        first = start_case(StartCase("petition", process_key="simple"), uow)
        uow.commit()
    statements = []
    from sqlalchemy import event

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement.split(None, 1)[0])
    event.listen(rt.db, "before_cursor_execute", count)
    try:
        with rt.uow(one_step=True) as uow:
            started = start_case(StartCase("petition", process_key="simple", petitioner={"name": "王小明"}), uow)
            uow.commit()
        assert statements == ["SELECT", "WITH"]  # the case number, then everything else
        with rt.uow() as uow, pytest.raises(WorkflowFailed):
            start_case(StartCase("petition", process_key="failing", petitioner={"name": "李大華"}), uow)
    finally:
        event.remove(rt.db, "before_cursor_execute", count)
    with rt.db.connect() as conn:
        assert conn.execute(select(cases.c.case_no, petitioners.c.name).join(
            petitioners, petitioners.c.id == cases.c.petitioner_id)).all() == [(started.case_no, "王小明")]
        assert conn.execute(select(func.count()).select_from(cases)).scalar_one() == 2
        assert conn.execute(select(func.count()).select_from(workflow_instances)).scalar_one() == 2
    assert started.case_no.endswith(f"{first.case_id + 1:06d}")


def test_a_step_that_writes_before_its_save_holds_its_case_like_every_other_step(pg_runtime, clock):
    """An engine action writing mid-step takes the instance's row lock first: no opposite lock orders."""
    from sqlalchemy.exc import OperationalError

    from engine.store.schema import agencies
    rt = pg_runtime
    started, _ = _parallel_case(rt, clock)
    with rt.uow() as uow:
        uow.step_instance = started.instance_id
        uow.conn.execute(select(1))
        with rt.db.connect() as other:
            other.execute(text("SELECT 1 FROM workflow_instances WHERE id = :id FOR UPDATE NOWAIT"),
                          {"id": started.instance_id})  # free while the step only reads
            other.rollback()
            uow.conn.execute(agencies.insert(), {"code": "a1", "name": "甲"})  # the step's first write
            with pytest.raises(OperationalError, match="could not obtain lock"):
                other.execute(text("SELECT 1 FROM workflow_instances WHERE id = :id FOR UPDATE NOWAIT"),
                              {"id": started.instance_id})


def test_a_one_step_unit_is_committed_by_its_step_and_refuses_to_write_after_it(pg_runtime):
    """Opening a case as an API call does: the step's statement commits it; a later write would be
    outside any rollback, so it is refused. A unit that is not one-step keeps everything together."""
    from engine.store.schema import agencies, cases
    rt = pg_runtime
    with rt.uow() as uow:
        deploy_bundle(DeployBundle(bundle("simple.bpmn")), uow)
        uow.commit()
    with rt.uow(one_step=True) as uow:
        start_case(StartCase("petition", process_key="simple"), uow)
        assert uow.conn.execute(select(func.count()).select_from(cases)).scalar_one() == 1  # reads are fine
        with pytest.raises(RuntimeError, match="cannot write after it"):
            uow.conn.execute(agencies.insert(), {"code": "a1", "name": "甲"})
        # left without commit(): the step was durable already
    with rt.uow() as uow:
        start_case(StartCase("petition", process_key="simple"), uow)
        uow.conn.execute(agencies.insert(), {"code": "a2", "name": "乙"})
        # left without commit(): the case and the agency both go
    with rt.db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(cases)).scalar_one() == 1
        assert conn.execute(select(func.count()).select_from(agencies)).scalar_one() == 0


def test_maintenance_that_postgres_runs_only_outside_a_transaction_still_runs(pg_runtime):
    """VACUUM gets no BEGIN; a connection that asked for AUTOCOMMIT keeps each write on its own."""
    from engine.store.schema import agencies
    rt = pg_runtime
    with rt.db.connect() as conn:
        conn.exec_driver_sql("VACUUM ANALYZE timers")
    with rt.db.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(agencies.insert(), {"code": "a1", "name": "甲"})
        conn.rollback()  # nothing to roll back: the insert committed by itself
    with rt.db.connect() as conn:
        assert conn.execute(select(agencies.c.code)).scalars().all() == ["a1"]


def test_a_completion_that_waits_for_another_step_sees_the_timers_that_step_recorded(pg_runtime, clock):
    """A timer worker re-records b's timer (a no-op run) while our completion of a waits on the case."""
    from datetime import timedelta

    from engine.store.schema import timers
    rt = pg_runtime
    started, items = _parallel_case(rt, clock)
    with rt.db.begin() as conn:  # the row was recorded for another instant than the workflow's own
        timer = conn.execute(select(timers)).one()
        conn.execute(timers.update().values(due_at=timer.due_at - timedelta(hours=1)))
    outcome = []

    def complete_a():
        try:
            with rt.uow() as uow:
                outcome.append(complete_work_item(CompleteWorkItem(items["a"], {}, SYSTEM), uow).status)
                uow.commit()
        except Exception as exc:  # noqa: BLE001 - the test reports what went wrong
            outcome.append(f"{type(exc).__name__}: {exc}")

    with rt.db.connect() as worker:
        worker.execute(text("SELECT 1 FROM workflow_instances WHERE id = :id FOR UPDATE"),
                       {"id": started.instance_id})
        thread = threading.Thread(target=complete_a)
        thread.start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not _waiting_on_locks(rt):
            time.sleep(0.02)
        worker.execute(timers.update().values(status="done"))
        worker.execute(timers.insert().values(
            kind="bpmn_timer", instance_id=started.instance_id, case_id=started.case_id, task_id=timer.task_id,
            due_at=timer.due_at, status="pending", payload=timer.payload, created_at=clock.now()))
        worker.commit()
    thread.join(20)
    assert outcome == ["waiting"]
    with rt.db.connect() as conn:
        pending = conn.execute(select(timers.c.task_id, timers.c.due_at).where(timers.c.status == "pending")).all()
    assert pending == [(timer.task_id, timer.due_at)]  # the worker's row, not a second one beside it

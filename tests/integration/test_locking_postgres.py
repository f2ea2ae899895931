"""Optimistic locking on PostgreSQL with two real connections completing one work item."""
import threading

import pytest
from sqlalchemy import func, select

from engine.errors import Conflict
from engine.identity import SYSTEM
from engine.schema import case_events, work_items, workflow_instances
from engine.services.cases import StartCase, start_case
from engine.services.deployment import DeployBundle, deploy_bundle
from engine.services.work import CompleteWorkItem, complete_work_item
from tests.conftest import bundle

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


def test_a_save_from_a_stale_read_is_refused_not_overwritten(pg_runtime):
    """Even without the row lock, the version check refuses a write based on an old read."""
    from engine import state
    from engine.instances import InstanceRef, persist_step
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
            persist_step(uow, ref, workflow, [])

"""Engine services through units of work: start a case, complete its work, refuse bad requests."""
import pytest
from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.exc import DBAPIError

from engine.accounts.identity import SYSTEM, Principal
from engine.errors import Conflict, Forbidden, InvalidInput, NotFound, WorkflowFailed
from engine.services.cases import StartCase, case_number, start_case
from engine.services.deployment import DeployBundle, deploy_bundle
from engine.services.work import CompleteWorkItem, complete_work_item
from engine.store.schema import case_events, cases, timers, work_items, workflow_instances
from tests.conftest import bundle


@pytest.fixture
def deployed(runtime):
    with runtime.uow() as uow:
        deploy_bundle(DeployBundle(bundle("simple.bpmn", "approval.bpmn")), uow)
        uow.commit()
    return runtime


def start(runtime, process_key="approval", **kw):
    with runtime.uow() as uow:
        started = start_case(StartCase("petition", process_key=process_key, channel="web", **kw), uow)
        uow.commit()
    return started


def complete(runtime, item_id, data=None, principal=SYSTEM, **kw):
    with runtime.uow() as uow:
        done = complete_work_item(CompleteWorkItem(item_id, {} if data is None else data, principal, **kw), uow)
        uow.commit()
    return done


def rows(runtime, table, *where):
    with runtime.db.connect() as conn:
        return conn.execute(select(table).where(*where).order_by(table.c.id)).all()


def count(runtime, table):
    with runtime.db.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar()


def test_started_case_gets_a_number_an_instance_and_an_inbox_item(deployed):
    started = start(deployed, petitioner={"name": "王小明", "phone": "0912345678"})
    assert started.case_no == f"P20261126{started.case_id:06d}"
    (item,) = rows(deployed, work_items)
    assert (item.task_spec, item.role, item.status, item.agency_id) == ("confirm", "dispatcher", "open", None)
    assert [e.kind for e in rows(deployed, case_events)] == ["case_received", "task_ready"]


@pytest.mark.parametrize("statement", [
    update(case_events).values(kind="case_closed"),
    update(case_events).values(data=None),
    delete(case_events),
], ids=["rewrite kind", "erase data", "delete"])
def test_the_case_history_cannot_be_changed_or_deleted(deployed, statement):
    start(deployed, petitioner={"name": "王小明"})
    before = rows(deployed, case_events)
    with pytest.raises(DBAPIError, match="case_events is append-only"):
        with deployed.db.begin() as conn:
            conn.execute(statement)
    assert rows(deployed, case_events) == before


def test_case_numbers_follow_the_ids_and_grow_past_six_digits(deployed):
    first, second = start(deployed), start(deployed)
    assert second.case_id == first.case_id + 1
    with deployed.db.begin() as conn:  # a city some years in: the millionth case has been taken
        conn.execute(insert(cases).values(
            id=1_234_566, case_no="P20200101999999", case_type="petition", status="closed",
            received_at=deployed.clock.now(), created_at=deployed.clock.now(), updated_at=deployed.clock.now()))
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT setval('cases_id_seq', 1234566)"))
    later = start(deployed)
    assert (later.case_id, later.case_no) == (1_234_567, "P202611261234567")
    stored = {r.id: r.case_no for r in rows(deployed, cases)}
    assert stored[first.case_id] == case_number("petition", deployed.clock.now(), first.case_id, deployed.zone)
    assert stored[later.case_id] == later.case_no
    with deployed.db.connect() as conn:  # the workflow sees the same number as the row
        (state,) = conn.execute(select(workflow_instances.c.state).where(
            workflow_instances.c.case_id == later.case_id)).one()
    assert '"case_no":"P202611261234567"' in state.replace(" ", "")


def test_start_data_reaches_the_workflow(deployed):
    with deployed.uow() as uow:
        deploy_bundle(DeployBundle(bundle("failing.bpmn")), uow)
        uow.commit()
    started = start(deployed, process_key="failing", data={"total": 10, "count": 4})
    assert started.status == "waiting" and len(started.work_item_ids) == 1


def test_a_case_runs_to_the_end_through_the_return_loop(deployed):
    started = start(deployed)
    step = complete(deployed, started.work_item_ids[0], {"agency": "工務局"})
    for decision in ["return", "approve"]:
        step = complete(deployed, step.opened[0], {"reply": "draft"})
        step = complete(deployed, step.opened[0], {"decision": decision})
    assert step.status == "completed"
    (case,) = rows(deployed, cases)
    assert case.status == "closed" and case.closed_at is not None
    kinds = [e.kind for e in rows(deployed, case_events)]
    assert kinds.count("task_completed") == 5 and kinds[-1] == "case_closed"
    assert all(i.status == "completed" for i in rows(deployed, work_items))


def test_waiting_timer_is_recorded_and_cancelled_when_its_task_completes(deployed):
    started = start(deployed)
    step = complete(deployed, started.work_item_ids[0])
    (timer,) = rows(deployed, timers)
    (instance,) = rows(deployed, workflow_instances)
    assert timer.status == "pending" and instance.next_timer_at == timer.due_at
    complete(deployed, step.opened[0])
    assert rows(deployed, timers)[0].status == "cancelled"
    assert rows(deployed, workflow_instances)[0].next_timer_at is None


def test_completing_an_item_twice_is_a_conflict_that_changes_nothing(deployed):
    started = start(deployed)
    complete(deployed, started.work_item_ids[0])
    before = (count(deployed, case_events), rows(deployed, workflow_instances)[0].version)
    with pytest.raises(Conflict):
        complete(deployed, started.work_item_ids[0])
    assert (count(deployed, case_events), rows(deployed, workflow_instances)[0].version) == before


def test_stale_expected_version_is_a_conflict(deployed):
    started = start(deployed)
    with pytest.raises(Conflict):
        complete(deployed, started.work_item_ids[0], expected_version=7)
    assert rows(deployed, work_items)[0].status == "open"


def test_only_holders_of_the_lane_role_may_complete(deployed):
    started = start(deployed)
    caseworker = Principal(user_id=None, username="cw", roles=frozenset({("caseworker", None)}))
    with pytest.raises(Forbidden):
        complete(deployed, started.work_item_ids[0], principal=caseworker)
    dispatcher = Principal(user_id=None, username="d", roles=frozenset({("dispatcher", None)}))
    assert complete(deployed, started.work_item_ids[0], principal=dispatcher).opened


def test_unknown_work_item_is_not_found(deployed):
    with pytest.raises(NotFound):
        complete(deployed, 999)


def test_case_of_an_undeployed_process_is_not_found_and_leaves_no_case(deployed):
    with pytest.raises(NotFound):
        start(deployed, process_key="nothing_here")
    assert count(deployed, cases) == 0


def test_failing_workflow_start_leaves_no_trace(deployed):
    with deployed.uow() as uow:
        deploy_bundle(DeployBundle(bundle("failing.bpmn")), uow)
        uow.commit()
    with pytest.raises(WorkflowFailed) as caught:
        start(deployed, process_key="failing", data={"total": 10, "count": 0})
    assert "Prepare" in caught.value.message
    assert (count(deployed, cases), count(deployed, workflow_instances)) == (0, 0)


@pytest.mark.parametrize("data", [{"bad key": 1}, {"_x": 1}, []])
def test_bad_task_data_is_refused_and_changes_nothing(deployed, data):
    started = start(deployed)
    with pytest.raises(InvalidInput):
        complete(deployed, started.work_item_ids[0], data)
    assert rows(deployed, work_items)[0].status == "open"


def _nested(levels):
    value = "bottom"
    for _ in range(levels):
        value = [value]
    return value


@pytest.mark.parametrize("data, field, problem", [
    ({"agency": {"typename": "datetime", "value": "2026-01-01"}}, "agency", "'typename' key"),
    ({"notes": [{"x": {"typename": "BpmnWorkflow"}}]}, "notes", "at notes[0]['x']"),
    ({"notes": _nested(150)}, "notes", "nested more than 100 levels"),
], ids=["typename inside a value", "typename deep in a list", "nested too deep"])
def test_task_data_a_workflow_could_not_store_is_refused_with_its_path(deployed, data, field, problem):
    started = start(deployed)
    with pytest.raises(InvalidInput) as refused:
        complete(deployed, started.work_item_ids[0], data)
    assert problem in refused.value.details["fields"][field][0]
    with pytest.raises(InvalidInput):
        start(deployed, data=data)
    assert [i.status for i in rows(deployed, work_items)] == ["open"] and count(deployed, cases) == 1


def test_unknown_agency_is_refused(deployed):
    with pytest.raises(InvalidInput):
        start(deployed, agency_code="no-such-agency")
    assert count(deployed, cases) == 0


def test_a_petitioner_given_with_the_case_is_its_petitioner_even_beside_an_existing_id(deployed):
    """The same on both databases, whether the case row goes in alone or with the step."""
    from engine.store.schema import petitioners
    first = start(deployed, petitioner={"name": "王小明"})
    first_petitioner = rows(deployed, cases)[0].petitioner_id
    second = start(deployed, petitioner={"name": "李大華"}, petitioner_id=first_petitioner)
    with deployed.db.connect() as conn:
        names = dict(conn.execute(select(cases.c.id, petitioners.c.name)
                                  .join(petitioners, petitioners.c.id == cases.c.petitioner_id)).all())
    assert names == {first.case_id: "王小明", second.case_id: "李大華"}


def test_a_receipt_time_without_its_utc_offset_is_refused_and_changes_nothing(deployed):
    from datetime import datetime
    with pytest.raises(InvalidInput) as refused:
        start(deployed, received_at=datetime(2026, 11, 26, 9, 0))
    assert refused.value.details["fields"] == {"received_at": ["must be a date and time with its UTC offset"]}
    assert count(deployed, cases) == 0 and count(deployed, workflow_instances) == 0

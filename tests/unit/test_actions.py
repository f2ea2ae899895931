"""Engine actions called from service tasks: they change the case inside the step's transaction."""
import pytest
from sqlalchemy import insert, select

from engine.accounts.identity import SYSTEM
from engine.errors import WorkflowFailed
from engine.services.cases import StartCase, start_case
from engine.services.deployment import DeployBundle, deploy_bundle
from engine.services.work import CompleteWorkItem, complete_work_item
from engine.store.schema import agencies, case_events, cases, work_items
from tests.conftest import bundle


@pytest.fixture
def org(runtime):
    with runtime.uow() as uow:
        uow.conn.execute(insert(agencies), [{"code": "public_works", "name": "工務局", "kind": "bureau"},
                                            {"code": "transport", "name": "交通局", "kind": "bureau"}])
        deploy_bundle(DeployBundle(bundle("transfer.bpmn")), uow)
        started = start_case(StartCase("petition", process_key="transfer", agency_code="public_works",
                                       data={"transfer_to": None}), uow)
        uow.commit()
    return runtime, started


def complete(runtime, item_id, data):
    with runtime.uow() as uow:
        done = complete_work_item(CompleteWorkItem(item_id, data, SYSTEM), uow)
        uow.commit()
    return done


def agency_of(runtime, table, where):
    with runtime.db.connect() as conn:
        return conn.execute(select(agencies.c.code).join(table, table.c.agency_id == agencies.c.id)
                            .where(where)).scalar_one()


def test_transfer_moves_the_case_and_its_new_work_to_the_other_agency(org):
    runtime, started = org
    step = complete(runtime, started.work_item_ids[0], {"transfer_to": "transport", "transfer_reason": "號誌屬交通局"})
    assert agency_of(runtime, cases, cases.c.id == started.case_id) == "transport"
    assert agency_of(runtime, work_items, work_items.c.id == step.opened[0]) == "transport"
    with runtime.db.connect() as conn:
        moved = conn.execute(select(case_events.c.data).where(case_events.c.kind == "case_transferred")).scalar_one()
    assert moved["reason"] == "號誌屬交通局" and moved["to_agency"] == "交通局"


def test_transfer_to_an_unknown_agency_fails_the_step_and_changes_nothing(org):
    runtime, started = org
    with pytest.raises(WorkflowFailed) as caught:
        complete(runtime, started.work_item_ids[0], {"transfer_to": "nowhere", "transfer_reason": "x"})
    assert "nowhere" in caught.value.message
    assert agency_of(runtime, cases, cases.c.id == started.case_id) == "public_works"
    with runtime.db.connect() as conn:
        assert conn.execute(select(work_items.c.status)).scalars().all() == ["open"]


def test_transfer_without_a_reason_is_refused(org):
    runtime, started = org
    with pytest.raises(WorkflowFailed) as caught:
        complete(runtime, started.work_item_ids[0], {"transfer_to": "transport", "transfer_reason": " "})
    assert "reason" in caught.value.message


def test_a_service_task_naming_no_action_is_refused_at_deployment(runtime):
    from engine.errors import InvalidDefinition
    xml = bundle("transfer.bpmn")["transfer.bpmn"].replace('id="transfer_case"', 'id="no_such_action"')
    with runtime.uow() as uow:
        with pytest.raises(InvalidDefinition) as caught:
            deploy_bundle(DeployBundle({"transfer.bpmn": xml}), uow)
    err = caught.value
    assert (err.file, err.line, err.element_id) == ("transfer.bpmn", 26, "move")
    assert "no_such_action" in err.message and "transfer_case" in err.message


def test_a_version_deployed_before_naming_no_action_fails_the_step_clearly(runtime):
    from sqlalchemy import update

    from engine.store.schema import process_definitions
    with runtime.uow() as uow:
        deploy_bundle(DeployBundle(bundle("transfer.bpmn")), uow)
        # As stored by a release that did not check actions at deployment.
        xml = bundle("transfer.bpmn")["transfer.bpmn"].replace('id="transfer_case"', 'id="no_such_action"')
        uow.conn.execute(update(process_definitions).where(process_definitions.c.process_key == "transfer")
                         .values(sources={"transfer.bpmn": xml}))
        uow.commit()
    with runtime.uow() as uow:
        started = start_case(StartCase("petition", process_key="transfer", data={"transfer_to": None}), uow)
        uow.commit()
    with pytest.raises(WorkflowFailed) as caught:
        complete(runtime, started.work_item_ids[0], {"transfer_to": "transport", "transfer_reason": "r"})
    assert "no_such_action" in caught.value.message


@pytest.mark.parametrize("params", [{"kind": "reply", "body": "  "}, {"body": "答復"}, {}])
def test_a_notice_to_the_citizen_without_a_kind_or_a_text_is_refused(org, params):
    from engine.actions.citizen_notices import notify_citizen
    from engine.errors import InvalidInput
    from engine.store.changes import StepChanges
    from engine.workflow.service_tasks import StepContext
    runtime, started = org
    with runtime.uow() as uow:
        context = StepContext(uow, StepChanges(started.case_id, uow.clock.now()), None)
        with pytest.raises(InvalidInput, match="kind and a text"):
            notify_citizen(context, params)
    assert context.events == []


def test_an_event_recorded_with_a_date_and_time_keeps_it_as_iso_text(org):
    from datetime import datetime, timezone

    from engine.actions.case_actions import record_event
    from engine.store.changes import StepChanges
    from engine.store.steps import write_step
    from engine.workflow.service_tasks import StepContext
    runtime, started = org
    at = datetime(2026, 12, 1, 9, 30, tzinfo=timezone.utc)
    with runtime.uow() as uow:
        context = StepContext(uow, StepChanges(started.case_id, uow.clock.now()), None)
        record_event(context, {"kind": "site_visit", "at": at, "note": "路燈", "actor_id": 99})
        write_step(uow, context.changes)
        uow.commit()
    with runtime.db.connect() as conn:
        recorded = conn.execute(select(case_events.c.actor_id, case_events.c.data)
                                .where(case_events.c.kind == "site_visit")).one()
    assert recorded.data == {"at": "2026-12-01T09:30:00+00:00", "note": "路燈", "actor_id": 99}
    assert recorded.actor_id is None  # the diagram's data names no one: the step was the system's

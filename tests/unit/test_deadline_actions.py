"""Extending a case's deadline and pausing its clock from the diagram, through the services."""
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from engine.accounts.identity import SYSTEM
from engine.errors import WorkflowFailed
from engine.services.calendar_admin import (
    LoadDeadlineRules,
    LoadPublicHolidays,
    load_deadline_rules,
    load_public_holidays,
)
from engine.services.cases import StartCase, start_case
from engine.services.deployment import DeployBundle, deploy_bundle
from engine.services.work import CompleteWorkItem, complete_work_item
from engine.store.schema import case_events, cases, timers, work_items
from tests.conftest import bundle

TAIPEI = ZoneInfo("Asia/Taipei")


def open_case(runtime, clock, *, sources=None, petitioner=None):
    """A petition of the extension process received Thursday 2026-11-26 09:00 (due 12-04 17:30)."""
    clock.set(datetime(2026, 11, 26, 9, 0, tzinfo=TAIPEI))
    with runtime.uow() as uow:
        load_public_holidays(LoadPublicHolidays(2026), uow)
        load_deadline_rules(LoadDeadlineRules(), uow)
        deploy_bundle(DeployBundle(sources or bundle("extension.bpmn")), uow)
        started = start_case(StartCase("petition", process_key="extension", channel="web",
                                       petitioner=petitioner), uow)
        uow.commit()
    return started


@pytest.fixture
def case(runtime, clock):
    return runtime, open_case(runtime, clock)


def complete(runtime, item_id, **data):
    with runtime.uow() as uow:
        done = complete_work_item(CompleteWorkItem(item_id, data, SYSTEM), uow)
        uow.commit()
    return done


def case_due(runtime):
    with runtime.db.connect() as conn:
        return conn.execute(select(cases.c.due_at)).scalar_one()


def local(day, hour=17, minute=30):
    return datetime(2026, 12, day, hour, minute, tzinfo=TAIPEI)


def extend(runtime, item_id, days=3):
    step = complete(runtime, item_id, action="extend")
    return complete(runtime, step.opened[0], extension_days=days, extension_reason="需會同地政局會勘")


def test_an_approved_extension_moves_the_case_its_work_and_its_timer(case):
    runtime, started = case
    assert case_due(runtime) == local(4)
    step = extend(runtime, started.work_item_ids[0])
    assert case_due(runtime) == local(9)
    with runtime.db.connect() as conn:
        assert conn.execute(select(work_items.c.due_at).where(work_items.c.id == step.opened[0])).scalar_one() == local(9)
        pending = conn.execute(select(timers.c.due_at).where(
            timers.c.status == "pending", timers.c.kind == "bpmn_timer")).scalar_one()
        recorded = conn.execute(select(case_events.c.data).where(case_events.c.kind == "deadline_extended")).scalar_one()
    assert pending == local(9)
    assert recorded["reason"] == "需會同地政局會勘" and recorded["extensions"] == 1


def test_an_extension_beyond_the_rule_is_refused_and_changes_nothing(case):
    runtime, started = case
    step = extend(runtime, started.work_item_ids[0])
    step = extend(runtime, step.opened[0])
    asked = complete(runtime, step.opened[0], action="extend")
    with pytest.raises(WorkflowFailed) as caught:
        complete(runtime, asked.opened[0], extension_days=1, extension_reason="再延")
    assert "at most 2 extension" in caught.value.message
    assert case_due(runtime) == local(14)


def test_waiting_for_the_citizen_stops_the_clock_and_resumes_with_the_time_left(case):
    runtime, started = case
    clock = runtime.clock
    clock.set(datetime(2026, 12, 1, 10, 0, tzinfo=TAIPEI))  # Tuesday: Tue 10:00 to Fri 17:30 left
    step = complete(runtime, started.work_item_ids[0], action="ask_citizen", missing="地址不完整")
    assert case_due(runtime) is None
    clock.set(datetime(2026, 12, 7, 10, 0, tzinfo=TAIPEI))  # the answer comes the next Monday
    complete(runtime, step.opened[0], answer="桃園區中正路1號")
    assert case_due(runtime) == local(10)


def test_the_citizen_is_told_of_an_extension_and_why_by_email(runtime, clock):
    from engine.store.schema import outbox
    started = open_case(runtime, clock, petitioner={"name": "王小明", "email": "ming@example.tw"})
    extend(runtime, started.work_item_ids[0])
    with runtime.db.connect() as conn:
        (mail,) = conn.execute(select(outbox.c.topic, outbox.c.payload)).all()
    assert mail.topic == "email" and mail.payload["to"] == "ming@example.tw"
    assert "需會同地政局會勘" in mail.payload["body"] and "2026-12-09" in mail.payload["body"]


@pytest.mark.parametrize("prop, value, chase_due", [("escalate", "false", local(9)), ("deadline", "none", None)],
                         ids=["escalate=false keeps the due time only", "deadline=none keeps nothing"])
def test_work_that_opts_out_keeps_its_terms_when_the_deadline_moves(runtime, clock, prop, value, chase_due):
    from engine.services.steps import RunInstance, run_instance
    xml = bundle("extension.bpmn")["extension.bpmn"].replace(
        '<bpmn:userTask id="chase" name="Chase the late reply">',
        '<bpmn:userTask id="chase" name="Chase the late reply"><bpmn:extensionElements><spiffworkflow:properties>'
        f'<spiffworkflow:property name="{prop}" value="{value}" /></spiffworkflow:properties></bpmn:extensionElements>')
    started = open_case(runtime, clock, sources={"extension.bpmn": xml})
    clock.set(local(4, 17, 31))  # the reply is late: the supervisor is asked to chase it
    with runtime.uow() as uow:
        run_instance(RunInstance(started.instance_id), uow)
        uow.commit()
    extend(runtime, started.work_item_ids[0])  # the case is due 12-09 now

    with runtime.db.connect() as conn:
        items = {r.task_spec: r for r in conn.execute(select(work_items).where(work_items.c.status == "open"))}
        rungs = {}
        for task_spec, item in items.items():
            rungs[task_spec] = conn.execute(select(timers.c.kind).where(
                timers.c.work_item_id == item.id, timers.c.status == "pending")).scalars().all()
    assert case_due(runtime) == local(9) and items["draft"].due_at == local(9)
    assert "escalation" in rungs["draft"]
    assert (items["chase"].due_at, rungs["chase"]) == (chase_due, [])


def test_each_round_tells_the_citizen_of_its_own_extensions(runtime, clock):
    """Sent back for a new reply (a new round), the round's first extension is announced too."""
    from engine.actions.deadline_actions import extend_deadline, restart_deadline
    from engine.deadlines import rules as deadlines
    from engine.store.changes import StepChanges
    from engine.store.schema import outbox
    from engine.store.steps import write_step
    from engine.workflow.service_tasks import StepContext
    started = open_case(runtime, clock, petitioner={"name": "王小明", "email": "ming@example.tw"})
    with runtime.uow() as uow:
        case = uow.conn.execute(select(cases)).one()
        terms = deadlines.deadline_for(uow, "petition", case.received_at, channel="web").to_data()
        context = StepContext(uow, StepChanges(started.case_id, clock.now()), None, None, case.due_at,
                              case_no=case.case_no, petitioner_id=case.petitioner_id)
        terms = extend_deadline(context, {"deadline": terms, "amount": 1, "reason": "會勘"})
        clock.set(datetime(2026, 12, 7, 10, 0, tzinfo=TAIPEI))
        terms = restart_deadline(context, {"deadline": terms, "reason": "退回重新答復"})
        extend_deadline(context, {"deadline": terms, "amount": 2, "reason": "再會勘"})
        write_step(uow, context.changes)
        uow.commit()
    with runtime.db.connect() as conn:
        mails = conn.execute(select(outbox.c.payload).where(outbox.c.topic == "email")).scalars().all()
        told = [e.data["notice"] for e in conn.execute(select(case_events).where(
            case_events.c.kind == "deadline_extended"))]
    assert told == ["email", "email"]
    assert ["因會勘" in mails[0]["body"], "因再會勘" in mails[1]["body"]] == [True, True]


def test_work_given_more_time_starts_its_ladder_again(runtime, clock):
    """The chase of a late reply had reached its first rung; an extension gives it time again."""
    from engine.services.steps import RunInstance, run_instance
    from tests.unit.test_escalation import run_due
    started = open_case(runtime, clock)
    clock.set(local(4, 17, 31))  # the reply is late: the supervisor is asked to chase it
    with runtime.uow() as uow:
        run_instance(RunInstance(started.instance_id), uow)
        uow.commit()
    run_due(runtime, local(4, 17, 32))
    with runtime.db.connect() as conn:
        chase = conn.execute(select(work_items).where(work_items.c.task_spec == "chase")).one()
    assert chase.escalation_level == 1
    extend(runtime, started.work_item_ids[0])  # due 12-09 now
    with runtime.db.connect() as conn:
        assert conn.execute(select(work_items.c.escalation_level).where(work_items.c.id == chase.id)).scalar_one() == 0
    run_due(runtime, local(9, 17, 31))
    with runtime.db.connect() as conn:
        levels = [e.data["level"] for e in conn.execute(select(case_events).where(
            case_events.c.kind == "escalated", case_events.c.work_item_id == chase.id).order_by(case_events.c.id))]
    assert levels == [1, 1]  # late again, the section chief hears of it again

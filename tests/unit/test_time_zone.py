"""PETIFLOW_TIMEZONE is the city's zone everywhere: working days, office hours, case numbers,
"today" in scripts, and timer dates written without an offset."""
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from engine.bootstrap import bootstrap
from engine.clock import FixedClock
from engine.deadlines.calendar import calendar_for
from engine.services.calendar_admin import (
    LoadDeadlineRules,
    LoadPublicHolidays,
    load_deadline_rules,
    load_public_holidays,
)
from engine.services.cases import StartCase, start_case
from engine.services.deployment import DeployBundle, deploy_bundle
from engine.settings import Settings
from engine.store.schema import cases, timers, work_items, workflow_instances
from engine.workflow import state
from tests.conftest import bundle

#: Friday 2026-11-27 20:00 UTC: 04:00 on Saturday in Taipei, 15:00 on Friday in New York (office hours).
RECEIVED = datetime(2026, 11, 27, 20, 0, tzinfo=timezone.utc)

#: The deadline process with a script noting the day the case came in, as the city counts it.
DEADLINE_NOTING_THE_DAY = bundle("deadline.bpmn")["deadline.bpmn"].replace(
    '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="reply" />',
    '<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="note" />\n'
    '    <bpmn:sequenceFlow id="f0" sourceRef="note" targetRef="reply" />\n'
    '    <bpmn:scriptTask id="note" name="Note the day"><bpmn:incoming>f1</bpmn:incoming>'
    '<bpmn:outgoing>f0</bpmn:outgoing><bpmn:script>received_on = date.today().isoformat()</bpmn:script>'
    '</bpmn:scriptTask>').replace('<bpmn:incoming>f1</bpmn:incoming>\n      <bpmn:outgoing>f2</bpmn:outgoing>',
                                  '<bpmn:incoming>f0</bpmn:incoming>\n      <bpmn:outgoing>f2</bpmn:outgoing>')


@pytest.fixture
def city_in(runtime, settings):
    """city_in(zone): a runtime whose settings were read with PETIFLOW_TIMEZONE=zone (unset: None),
    on the run's database, which holds the 2026 holidays, the default rules and the process."""
    with runtime.uow() as uow:
        load_public_holidays(LoadPublicHolidays(2026), uow)
        load_deadline_rules(LoadDeadlineRules(), uow)
        deploy_bundle(DeployBundle({"deadline.bpmn": DEADLINE_NOTING_THE_DAY}), uow)
        uow.commit()
    opened = []

    def runtime_in(zone: str | None):
        env = {"DATABASE_URL": settings.database_url, "PETIFLOW_VAR_DIR": str(settings.var_dir), "SECRET_KEY": "t"}
        if zone is not None:
            env["PETIFLOW_TIMEZONE"] = zone
        opened.append(bootstrap(Settings.from_env(env), clock=FixedClock(RECEIVED), db=runtime.db))
        return opened[-1]
    return runtime_in


def open_petition(rt) -> dict:
    """A petition received at RECEIVED whose reply is due, by its diagram, at 09:00 local on 12-01."""
    with rt.uow() as uow:
        started = start_case(StartCase("petition", process_key="deadline",
                                       data={"reply_due": "2026-12-01T09:00:00"}), uow)
        uow.commit()
    with rt.db.connect() as conn:
        case = conn.execute(select(cases).where(cases.c.id == started.case_id)).one()
        timer = conn.execute(select(timers.c.due_at).where(timers.c.case_id == case.id,
                                                           timers.c.kind == "bpmn_timer")).scalar_one()
        item = conn.execute(select(work_items).where(work_items.c.case_id == case.id)).one()
    return {"case_no": case.case_no[:9], "due_at": case.due_at, "item_due_at": item.due_at, "bpmn_timer": timer}


@pytest.mark.parametrize(("zone", "expected"), [
    # Saturday in Taipei: received on Monday 11-30, six working days from Tuesday, due 17:30 on Tuesday 12-08.
    (None, {"case_no": "P20261128", "due_at": datetime(2026, 12, 8, 9, 30, tzinfo=timezone.utc),
            "bpmn_timer": datetime(2026, 12, 1, 1, 0, tzinfo=timezone.utc)}),
    # Friday afternoon in New York: received that day, six working days from Monday, due 17:30 on Monday 12-07.
    ("America/New_York", {"case_no": "P20261127", "due_at": datetime(2026, 12, 7, 22, 30, tzinfo=timezone.utc),
                          "bpmn_timer": datetime(2026, 12, 1, 14, 0, tzinfo=timezone.utc)}),
    # Friday 21:00 in Berlin, after office hours: received on Monday 11-30, due 17:30 on Tuesday 12-08.
    ("Europe/Berlin", {"case_no": "P20261127", "due_at": datetime(2026, 12, 8, 16, 30, tzinfo=timezone.utc),
                       "bpmn_timer": datetime(2026, 12, 1, 8, 0, tzinfo=timezone.utc)}),
])
def test_deadlines_case_numbers_and_timer_dates_follow_the_configured_time_zone(city_in, zone, expected):
    rt = city_in(zone)
    assert rt.settings.timezone == (zone or "Asia/Taipei")
    opened = open_petition(rt)
    assert {k: opened[k] for k in expected} == expected
    assert opened["item_due_at"] == expected["due_at"]  # the work item's due time is the case's


@pytest.mark.parametrize(("zone", "today"), [(None, "2026-11-28"), ("America/New_York", "2026-11-27")])
def test_today_in_a_script_and_in_the_calendar_is_the_date_in_the_configured_zone(city_in, zone, today):
    rt = city_in(zone)
    with rt.uow() as uow:
        assert calendar_for(uow).local_date(RECEIVED).isoformat() == today
        started = start_case(StartCase("petition", process_key="deadline",
                                       data={"reply_due": "2026-12-01T09:00:00+08:00"}), uow)
        uow.commit()
    with rt.db.connect() as conn:
        row = conn.execute(select(workflow_instances).where(workflow_instances.c.id == started.instance_id)).one()
        definition = rt.specs.get(conn, row.definition_id)
    workflow = state.load(row.state, definition.spec, definition.subprocess_specs, rt.script_engine)
    (reply,) = [t for t in workflow.get_tasks() if t.task_spec.name == "reply"]
    assert reply.data["received_on"] == today

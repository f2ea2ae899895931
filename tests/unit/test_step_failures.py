"""A step that fails says so (422), changes nothing, and never leaves a case stuck or a timer lost.

Also: fields too long for their column, timer dates without an offset, a database lost inside
an engine action, and personal data kept out of error texts.
"""
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, text, update

from engine.accounts.identity import SYSTEM
from engine.errors import InvalidInput, WorkflowFailed
from engine.services.cases import StartCase, start_case
from engine.services.deployment import DeployBundle, deploy_bundle
from engine.services.timers import FireTimer, fire_timer
from engine.store.schema import cases, petitioners, timers, workflow_instances
from handlers.error_text import redact
from tests.conftest import bundle, start_parallel_case


def count(runtime, table) -> int:
    with runtime.db.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def start_deadline_case(runtime, reply_due):
    with runtime.uow() as uow:
        deploy_bundle(DeployBundle(bundle("deadline.bpmn")), uow)
        uow.commit()
    with runtime.uow() as uow:
        started = start_case(StartCase("petition", process_key="deadline", data={"reply_due": reply_due}), uow)
        uow.commit()
    return started


@pytest.mark.parametrize("reply_due", ["next friday", None, 42])
def test_a_timer_date_that_is_not_a_date_fails_the_step_and_writes_nothing(runtime, reply_due):
    with pytest.raises(WorkflowFailed) as caught:
        start_deadline_case(runtime, reply_due)
    assert "the workflow failed" in caught.value.message or "Reply overdue" in caught.value.message
    assert count(runtime, cases) == 0 and count(runtime, workflow_instances) == 0


def test_a_timer_date_without_an_offset_is_the_citys_time_whatever_the_hosts_zone(runtime):
    # 09:00 in Taipei is 01:00 UTC, on a host set to UTC as on one set to Taipei.
    started = start_deadline_case(runtime, "2026-12-01T09:00:00")
    with runtime.db.connect() as conn:
        due = conn.execute(select(timers.c.due_at).where(timers.c.case_id == started.case_id)).scalar_one()
    assert due == datetime(2026, 12, 1, 1, 0, tzinfo=timezone.utc)


def test_a_timer_row_recorded_early_is_recorded_again_rather_than_lost(runtime, clock):
    """A row marked done whose workflow was not yet due gets a pending row at the workflow's time."""
    real_due = clock.now() + timedelta(days=6)
    started = start_deadline_case(runtime, real_due.isoformat())
    with runtime.uow() as uow:
        (timer_id,) = uow.conn.execute(select(timers.c.id).where(timers.c.case_id == started.case_id)).scalars()
        uow.conn.execute(update(timers).where(timers.c.id == timer_id).values(due_at=clock.now() + timedelta(days=1)))
        uow.commit()
    clock.advance(days=2)
    with runtime.uow() as uow:
        assert fire_timer(FireTimer(timer_id), uow)
        uow.commit()
    with runtime.db.connect() as conn:
        rows = conn.execute(select(timers.c.status, timers.c.due_at).where(timers.c.case_id == started.case_id)
                            .order_by(timers.c.id)).all()
    assert [r.status for r in rows] == ["done", "pending"]
    assert rows[1].due_at == real_due
    clock.set(real_due + timedelta(minutes=1))
    with runtime.db.connect() as conn:
        again = conn.execute(select(timers.c.id).where(timers.c.status == "pending")).scalar_one()
    with runtime.uow() as uow:
        assert fire_timer(FireTimer(again), uow)
        uow.commit()
    from engine.store.schema import work_items
    with runtime.db.connect() as conn:
        open_work = conn.execute(select(work_items.c.task_spec).where(work_items.c.status == "open")).scalars().all()
    assert open_work == ["take_over"]  # the timer fired: the late reply went to the supervisor


@pytest.mark.parametrize("field,value,problem", [
    ("name", "陳" * 201, "at most 200 characters"),
    ("phone", "0912-345-678" * 10, "at most 50 characters"),
    ("address", "台北市信義區\x00市府路1號", "must not contain NUL characters"),
    ("email", 12345, "must be text"),
    ("name", "王\ud800", "must not contain lone surrogate characters (not UTF-8 text)"),
])
def test_petitioner_fields_that_cannot_be_stored_are_refused_naming_the_field(runtime, field, value, problem):
    with runtime.uow() as uow:
        deploy_bundle(DeployBundle(bundle("simple.bpmn")), uow)
        uow.commit()
    with runtime.uow() as uow:
        with pytest.raises(InvalidInput) as caught:
            start_case(StartCase("petition", process_key="simple", petitioner={field: value}), uow)
    assert caught.value.details["fields"] == {f"petitioner.{field}": [problem]}
    assert str(value)[:20] not in caught.value.message  # the value itself is not repeated
    assert count(runtime, petitioners) == 0 and count(runtime, cases) == 0


def test_a_subject_too_long_or_with_nul_is_refused_before_anything_is_written(runtime):
    with runtime.uow() as uow:
        deploy_bundle(DeployBundle(bundle("simple.bpmn")), uow)
        uow.commit()
    with runtime.uow() as uow:
        with pytest.raises(InvalidInput) as caught:
            start_case(StartCase("petition", process_key="simple", subject="路燈" * 300, district="信義\x00"), uow)
    assert caught.value.details["fields"] == {"subject": ["at most 500 characters"],
                                              "district": ["must not contain NUL characters"]}
    assert count(runtime, cases) == 0


@pytest.mark.postgres
def test_an_engine_action_that_loses_the_database_is_an_outage_not_a_workflow_failure(pg_runtime):
    """A worker must retry such a step, and the API answer 503: it is not the diagram's fault."""
    from sqlalchemy.exc import DBAPIError

    from engine.errors import is_outage

    def lose_the_database(context, params):
        context.uow.conn.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))

    pg_runtime.actions["lose_the_database"] = lose_the_database
    xml = bundle("transfer.bpmn")["transfer.bpmn"].replace('id="transfer_case"', 'id="lose_the_database"')
    try:
        with pg_runtime.uow() as uow:
            deploy_bundle(DeployBundle({"transfer.bpmn": xml}), uow)
            started = start_case(StartCase("petition", process_key="transfer", data={"transfer_to": None}), uow)
            uow.commit()
        from engine.services.work import CompleteWorkItem, complete_work_item
        with pytest.raises(DBAPIError) as caught:
            with pg_runtime.uow() as uow:
                complete_work_item(CompleteWorkItem(started.work_item_ids[0],
                                                    {"transfer_to": "transport", "transfer_reason": "r"}, SYSTEM), uow)
        assert is_outage(caught.value)
    finally:
        del pg_runtime.actions["lose_the_database"]


@pytest.mark.parametrize("raw,masked", [
    ("SMTP 550: <chen.mei@example.tw> unknown", "SMTP 550: <c***@example.tw> unknown"),
    ("invalid literal for int(): '0912-345-678'", "invalid literal for int(): '09***'"),
    ("callback to 02 2720 8889 failed", "callback to 02*** failed"),
    ("+886912345678 unreachable", "+8*** unreachable"),
    ("id A123456789 refused", "id A1*** refused"),
    # What is not personal stays readable: case numbers, dates, times, ids.
    ("case P20261126000001 due 2026-11-26 17:30, timer 1234", "case P20261126000001 due 2026-11-26 17:30, timer 1234"),
])
def test_error_texts_mask_addresses_phone_and_id_numbers(raw, masked):
    assert redact(raw) == masked


def test_a_failed_timer_is_not_scheduled_again_by_a_later_step_of_its_case(runtime, clock):
    """Its incident is how it is retried: a step elsewhere in the case must not re-arm it behind it."""
    from engine.services.incidents import FailTimer, fail_timer
    from engine.services.work import CompleteWorkItem, complete_work_item
    from engine.store.schema import work_items
    started = start_parallel_case(runtime, clock)
    with runtime.uow() as uow:
        timer_id = uow.conn.execute(select(timers.c.id)).scalar_one()
        assert fail_timer(FailTimer(timer_id, "the workflow failed when the timer fired: boom"), uow) is not None
        task_a = uow.conn.execute(select(work_items.c.id).where(work_items.c.task_spec == "a")).scalar_one()
        uow.commit()
    with runtime.uow() as uow:
        complete_work_item(CompleteWorkItem(task_a, {}, SYSTEM), uow)
        uow.commit()
    with runtime.db.connect() as conn:
        rows = conn.execute(select(timers.c.status).where(timers.c.case_id == started.case_id)).scalars().all()
    assert rows == ["failed"]

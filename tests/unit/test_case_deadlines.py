"""Cases and their work get due times from the deadline rules, and the rule used is recorded."""
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from engine.accounts.identity import SYSTEM
from engine.services.calendar_admin import (
    LoadDeadlineRules,
    LoadPublicHolidays,
    load_deadline_rules,
    load_public_holidays,
)
from engine.services.cases import StartCase, start_case
from engine.services.deployment import DeployBundle, deploy_bundle
from engine.services.work import CompleteWorkItem, complete_work_item
from engine.store.schema import case_events, cases, work_items
from tests.conftest import bundle

TAIPEI = ZoneInfo("Asia/Taipei")


@pytest.fixture
def ruled(runtime):
    with runtime.uow() as uow:
        load_public_holidays(LoadPublicHolidays(2026), uow)
        load_deadline_rules(LoadDeadlineRules(), uow)
        deploy_bundle(DeployBundle(bundle("approval.bpmn")), uow)
        uow.commit()
    return runtime


def start(runtime, **kw):
    with runtime.uow() as uow:
        started = start_case(StartCase("petition", process_key="approval", channel="web", **kw), uow)
        uow.commit()
    return started


def test_petition_received_before_lunar_new_year_is_due_after_the_break(ruled):
    received = datetime(2026, 2, 13, 10, 0, tzinfo=TAIPEI)
    started = start(ruled, received_at=received)
    with ruled.db.connect() as conn:
        due = conn.execute(select(cases.c.due_at).where(cases.c.id == started.case_id)).scalar_one()
        item_due = conn.execute(select(work_items.c.due_at)).scalar_one()
        recorded = conn.execute(select(case_events.c.data).where(case_events.c.kind == "deadline_set")).scalar_one()
    assert due.astimezone(TAIPEI) == datetime(2026, 3, 3, 17, 30, tzinfo=TAIPEI)
    assert item_due == due
    assert recorded["rule"] == "petition.default" and recorded["limit"] == 6


def test_work_opened_later_carries_the_case_due_time(ruled):
    started = start(ruled, received_at=datetime(2026, 11, 26, 9, 0, tzinfo=TAIPEI))
    with ruled.uow() as uow:
        step = complete_work_item(CompleteWorkItem(started.work_item_ids[0], {}, SYSTEM), uow)
        uow.commit()
    with ruled.db.connect() as conn:
        case_due = conn.execute(select(cases.c.due_at)).scalar_one()
        draft_due = conn.execute(select(work_items.c.due_at).where(work_items.c.id == step.opened[0])).scalar_one()
    assert draft_due == case_due == datetime(2026, 12, 4, 17, 30, tzinfo=TAIPEI).astimezone(timezone.utc)


def test_a_case_type_without_a_rule_has_no_due_time(ruled):
    with ruled.uow() as uow:
        started = start_case(StartCase("curiosity", process_key="approval"), uow)
        uow.commit()
    with ruled.db.connect() as conn:
        assert conn.execute(select(cases.c.due_at).where(cases.c.id == started.case_id)).scalar_one() is None

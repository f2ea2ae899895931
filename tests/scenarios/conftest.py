"""Scenario fixtures: the shipped workflows/ bundle deployed on a fresh database, driven through services."""
from __future__ import annotations

import json
from dataclasses import dataclass
from uuid import UUID

import pytest
from sqlalchemy import insert, select

from engine.accounts.identity import SYSTEM
from engine.queries import load_principal
from engine.services.calendar_admin import (
    LoadDeadlineRules,
    LoadPublicHolidays,
    load_deadline_rules,
    load_public_holidays,
)
from engine.services.cases import StartCase, start_case
from engine.services.deployment import DeployBundle, deploy_bundle
from engine.services.steps import RunInstance, run_instance
from engine.services.work import CompleteWorkItem, complete_work_item
from engine.settings import PROJECT_ROOT
from engine.store.schema import (
    agencies,
    case_events,
    cases,
    group_members,
    groups,
    units,
    users,
    work_items,
    workflow_instances,
)
from engine.workflow import state
from engine.workflow.definitions import read_bundle

#: The shipped process library.
WORKFLOWS = PROJECT_ROOT / "workflows"

#: Agencies the routing tables name that the demo organisation (workflows/seed/organisation.json)
#: does not have yet: a city has all of them, so the scenarios add them.
@dataclass
class Library:
    """The deployed library on one runtime, with one unit of work per service call."""

    runtime: object

    def start(self, case_type: str, *, data=None, **kw):
        with self.runtime.uow() as uow:
            started = start_case(StartCase(case_type, data=data or {}, **kw), uow)
            uow.commit()
        return started

    def complete(self, item_id: int, data: dict, principal=SYSTEM):
        with self.runtime.uow() as uow:
            done = complete_work_item(CompleteWorkItem(item_id, data, principal), uow)
            uow.commit()
        return done

    def run(self, instance_id: int):
        """What the scheduler does when a timer is due: fire it and run on."""
        with self.runtime.uow() as uow:
            result = run_instance(RunInstance(instance_id, reason="timer"), uow)
            uow.commit()
        return result

    def open_items(self, case_id: int) -> list:
        with self.runtime.db.connect() as conn:
            return conn.execute(select(work_items).where(work_items.c.case_id == case_id,
                                                         work_items.c.status == "open")
                                .order_by(work_items.c.id)).all()

    def item(self, case_id: int, task: str):
        """The one open item of a task (MI instances are named '<task> [child]')."""
        found = self.items(case_id, task)
        assert len(found) == 1, f"expected one open {task!r}, found {[i.task_spec for i in self.open_items(case_id)]}"
        return found[0]

    def items(self, case_id: int, task: str) -> list:
        return [i for i in self.open_items(case_id) if i.task_spec.split(" [")[0] == task]

    def open_tasks(self, case_id: int) -> list[str]:
        return sorted(i.task_spec.split(" [")[0] for i in self.open_items(case_id))

    def case(self, case_id: int):
        with self.runtime.db.connect() as conn:
            return conn.execute(select(cases).where(cases.c.id == case_id)).one()

    def events(self, case_id: int, kind: str) -> list:
        with self.runtime.db.connect() as conn:
            return conn.execute(select(case_events.c.data).where(case_events.c.case_id == case_id,
                                                                 case_events.c.kind == kind)
                                .order_by(case_events.c.id)).scalars().all()

    def unit_code(self, case_id: int) -> str | None:
        """The code of the unit (科) the case is placed in, None for none."""
        with self.runtime.db.connect() as conn:
            return conn.execute(select(units.c.code).select_from(cases.join(units, units.c.id == cases.c.unit_id))
                                .where(cases.c.id == case_id)).scalar_one_or_none()

    def agency_id(self, code: str) -> int:
        with self.runtime.db.connect() as conn:
            return conn.execute(select(agencies.c.id).where(agencies.c.code == code)).scalar_one()

    def instance(self, case_id: int):
        with self.runtime.db.connect() as conn:
            return conn.execute(select(workflow_instances).where(workflow_instances.c.case_id == case_id)).one()

    def workflow(self, case_id: int):
        """The case's workflow, restored from its stored state."""
        row = self.instance(case_id)
        with self.runtime.db.connect() as conn:
            definition = self.runtime.specs.get(conn, row.definition_id)
        return state.load(row.state, definition.spec, definition.subprocess_specs, self.runtime.script_engine)

    def data(self, case_id: int, item=None) -> dict:
        """The data of an open item's task, or of the finished workflow."""
        workflow = self.workflow(case_id)
        if item is None:
            assert workflow.is_completed()
            return workflow.data
        return workflow.get_task_from_id(UUID(item.task_id)).data

    def state_size(self, case_id: int) -> int:
        return len(self.instance(case_id).state)

    def staff(self, username: str, role: str, agency_code: str | None):
        """An account holding one role for an agency (None: every agency); returns its principal."""
        agency_id = self.agency_id(agency_code) if agency_code else None
        with self.runtime.uow() as uow:
            user = uow.conn.execute(insert(users).returning(users.c.id), {
                "username": username, "display_name": username, "created_at": uow.clock.now()}).scalar_one()
            group = uow.conn.execute(insert(groups).returning(groups.c.id), {
                "code": f"{username}-{role}", "name": role, "role": role, "agency_id": agency_id}).scalar_one()
            uow.conn.execute(insert(group_members), {"group_id": group, "user_id": user})
            principal = load_principal(uow, user_id=user)
            uow.commit()
        return principal


def _seed_agencies(conn) -> None:
    organisation = json.loads((WORKFLOWS / "seed" / "organisation.json").read_text(encoding="utf-8"))
    rows = [{"code": a["code"], "name": a["name"], "kind": a["kind"]} for a in organisation["agencies"]]
    conn.execute(insert(agencies), rows)
    ids = dict(conn.execute(select(agencies.c.code, agencies.c.id)).all())
    conn.execute(insert(units), [{"agency_id": ids[a["code"]], "code": u["code"], "name": u["name"]}
                                 for a in organisation["agencies"] for u in a.get("units", ())])



@pytest.fixture
def library(runtime):
    """Every process of workflows/ deployed, the organisation, holidays and deadline rules loaded."""
    with runtime.uow() as uow:
        _seed_agencies(uow.conn)
        load_public_holidays(LoadPublicHolidays(2026), uow)
        load_deadline_rules(LoadDeadlineRules(), uow)
        deploy_bundle(DeployBundle(read_bundle(WORKFLOWS)), uow)
        uow.commit()
    yield Library(runtime)
    # Whatever the scenario did, its open work keeps the agency its case has now (a reader's co-handled
    # cases are found by it, engine/queries/case_search.py).
    with runtime.db.connect() as conn:
        astray = conn.execute(select(work_items.c.id, work_items.c.task_spec, work_items.c.case_agency_id,
                                     cases.c.agency_id).join(cases, cases.c.id == work_items.c.case_id)
                              .where(work_items.c.status == "open",
                                     work_items.c.case_agency_id.is_distinct_from(cases.c.agency_id))).all()
    assert astray == [], "open work keeps another agency than its case's"

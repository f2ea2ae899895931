"""Setting up the benchmark database: created or refused, migrated, reference data, processes, staff, templates.

Everything here goes through the project's own code: engine.store.migrate.upgrade, the calendar
and deadline-rule services, engine.services.deployment.deploy_bundle, and start_case for the
template of each process (started, read, and rolled back).
"""
from __future__ import annotations

import random
from datetime import datetime

import holidays
import psycopg
from generate_city import AGENCIES, plan_staff
from generate_rows import City, Template
from sqlalchemy import insert, select

from engine.accounts.passwords import hash_password
from engine.deadlines.calendar import calendar_for
from engine.deadlines.rules import load_rules
from engine.services.calendar_admin import (
    LoadDeadlineRules,
    LoadPublicHolidays,
    load_deadline_rules,
    load_public_holidays,
)
from engine.services.cases import StartCase, start_case
from engine.services.deployment import DeployBundle, deploy_bundle, read_bundle
from engine.settings import PROJECT_ROOT
from engine.store.schema import (
    agencies,
    cases,
    group_members,
    groups,
    process_definitions,
    timers,
    units,
    users,
    work_items,
    workflow_instances,
)

#: Every generated account's password (a benchmark database is never a production one).
BENCH_PASSWORD = "petiflow-bench"

#: How the template cases of each process are opened, as the services open them, and the share
#: of open work waiting where each stops: a trusted routing goes straight to the agency's
#: caseworkers, an untrusted one waits for a dispatcher (分文).
TEMPLATE_CASES = [
    ("petition", 0.85, dict(channel="web", category="road_pothole", district="桃園", agency_code="public_works",
                            subject="中正路路面坑洞請修補")),
    ("petition", 0.15, dict(channel="web", category="other", district="桃園", subject="對市政建議")),
    ("dispatch", 0.85, dict(channel="app", category="streetlight", district="桃園", subject="中正路路燈不亮")),
    ("dispatch", 0.15, dict(channel="app", category="road_pothole", district="桃園", subject="中正路坑洞")),
    ("hotline", 1.0, dict(channel="1999", subject="來電詢問垃圾車時間")),
    ("council_item", 1.0, dict(channel="council", subject="議員質詢：桃園區中正路拓寬進度")),
    ("site_inspection", 1.0, dict(channel="council", subject="桃園區中正路會勘")),
]


class Refused(Exception):
    """The database cannot be filled as asked."""


def _admin(url: str):
    base, name = url.rsplit("/", 1)
    return psycopg.connect(base + "/postgres", autocommit=True), name


def prepare_database(url: str, replace: bool) -> str:
    """Create the database, or drop and recreate it with `replace`; refuse one that holds cases.

    Returns what was done ("created", "recreated", "empty database used").
    """
    admin, name = _admin(url)
    with admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists and replace:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        if not exists or replace:
            admin.execute(f'CREATE DATABASE "{name}"')
            return "recreated" if exists else "created"
    with psycopg.connect(url) as conn:
        has_cases = conn.execute("SELECT to_regclass('public.cases') IS NOT NULL").fetchone()[0]
        if has_cases and conn.execute("SELECT EXISTS (SELECT 1 FROM cases)").fetchone()[0]:
            raise Refused(f"database {name} already holds cases; pass --replace to drop and recreate it")
        if conn.execute("SELECT to_regclass('public.agencies') IS NOT NULL").fetchone()[0] and \
                conn.execute("SELECT EXISTS (SELECT 1 FROM agencies)").fetchone()[0]:
            raise Refused(f"database {name} already holds an organisation; pass --replace to drop and recreate it")
    return "empty database used"


def load_reference(runtime, first_year: int, last_year: int) -> list:
    """Public holidays of the years, the default deadline rules, and every shipped process deployed."""
    with runtime.uow() as uow:
        for year in range(max(first_year, holidays.TW.start_year), min(last_year, holidays.TW.end_year) + 1):
            load_public_holidays(LoadPublicHolidays(year), uow)
        load_deadline_rules(LoadDeadlineRules(), uow)
        folder = PROJECT_ROOT / "workflows"
        deployed = deploy_bundle(DeployBundle(read_bundle(folder), deployed_by="bench", forms_dir=folder / "forms"),
                                 uow)
        uow.commit()
    return deployed


def load_organisation(runtime, staff: int, rng: random.Random) -> dict:
    """The agencies, units, staff and groups; returns {table: rows written}."""
    plan = plan_staff(staff, rng)
    password = hash_password(BENCH_PASSWORD)
    with runtime.uow() as uow:
        conn, now = uow.conn, uow.clock.now()
        agency_ids, unit_ids, group_ids, members = {}, {}, {}, 0
        for code, name, kind, unit_list, _ in AGENCIES:
            agency_ids[code] = conn.execute(insert(agencies).returning(agencies.c.id),
                                            {"code": code, "name": name, "kind": kind}).scalar_one()
            for unit, unit_name in unit_list:
                unit_ids[code, unit] = conn.execute(insert(units).returning(units.c.id), {
                    "agency_id": agency_ids[code], "code": unit, "name": unit_name}).scalar_one()
        user_rows = [{"username": username, "display_name": display, "email": f"{username}@bench.example.tw",
                      "password_hash": password, "agency_id": agency_ids[agency], "unit_id": unit_ids[agency, unit],
                      "created_at": now} for username, display, agency, unit, _ in plan.accounts]
        user_ids = conn.execute(insert(users).returning(users.c.id, sort_by_parameter_order=True),
                                user_rows).scalars().all()
        links = []
        for user_id, (_, _, agency, unit, held) in zip(user_ids, plan.accounts):
            for role, where in held:
                if (role, where) not in group_ids:
                    label = where or "central"
                    group_ids[role, where] = conn.execute(insert(groups).returning(groups.c.id), {
                        "code": f"{role}@{label}", "name": f"{role} {label}", "role": role,
                        "agency_id": agency_ids.get(where), "unit_id": None}).scalar_one()
                links.append({"group_id": group_ids[role, where], "user_id": user_id})
        conn.execute(insert(group_members), links)
        members = len(links)
        uow.commit()
    return {"agencies": len(agency_ids), "units": len(unit_ids), "users": len(user_ids), "groups": len(group_ids),
            "group_members": members}


def load_city(runtime, templates: dict) -> City:
    """What the case rows refer to, read back from the database."""
    from sqlalchemy import text
    with runtime.uow(read_only=True) as uow:
        conn = uow.conn
        rows = conn.execute(select(agencies.c.id, agencies.c.code, agencies.c.name)).all()
        unit_rows = conn.execute(select(units.c.id, units.c.code, agencies.c.code.label("agency"))
                                 .join(agencies, agencies.c.id == units.c.agency_id)).all()
        held = conn.execute(text("SELECT g.role, g.agency_id, m.user_id FROM groups g "
                                 "JOIN group_members m ON m.group_id = g.id ORDER BY m.user_id")).all()
        caseworkers, central = {}, {}
        for role, agency_id, user_id in held:
            if role == "caseworker":
                caseworkers.setdefault(agency_id, []).append(user_id)
            elif agency_id is None:
                central.setdefault(role, []).append(user_id)
        return City(agency_ids={r.code: r.id for r in rows}, agency_names={r.id: r.name for r in rows},
                    unit_ids={(r.agency, r.code): r.id for r in unit_rows}, caseworkers=caseworkers,
                    central=central, rules=load_rules(conn), calendar=calendar_for(uow), zone=uow.zone,
                    templates=templates)


def capture_templates(runtime, received_at: datetime) -> dict:
    """Per process, the states and open tasks of cases started through start_case, then rolled back:
    {process key: [(Template, weight)]}."""
    templates = {}
    with runtime.uow() as uow:
        for process_key, weight, fields in TEMPLATE_CASES:
            started = start_case(StartCase(process_key, received_at=received_at, **fields), uow)
            conn = uow.conn
            instance = conn.execute(select(workflow_instances.c.definition_id, workflow_instances.c.state,
                                           process_definitions.c.version)
                                    .join(process_definitions,
                                          process_definitions.c.id == workflow_instances.c.definition_id)
                                    .where(workflow_instances.c.id == started.instance_id)).one()
            items = conn.execute(select(work_items.c.task_id, work_items.c.task_spec, work_items.c.name,
                                        work_items.c.lane, work_items.c.role, work_items.c.form_key,
                                        work_items.c.deadline_mode, work_items.c.due_at)
                                 .where(work_items.c.case_id == started.case_id)).all()
            if len(items) != 1:
                raise RuntimeError(f"the {process_key} template opened {len(items)} work items, not one")
            bpmn = conn.execute(select(timers.c.task_id, timers.c.payload).where(
                timers.c.case_id == started.case_id, timers.c.kind == "bpmn_timer")).all()
            item = items[0]._asdict()
            item.pop("due_at")
            # The state holds the case's due time; an item under a task rule of its own (the
            # dispatcher's routing) is written, like every generated item, with the case's due
            # time and ladder.
            due = conn.execute(select(cases.c.due_at).where(cases.c.id == started.case_id)).scalar_one()
            if item["deadline_mode"] == "task":
                item["deadline_mode"] = "case"
            templates.setdefault(process_key, []).append((Template(
                process_key, instance.definition_id, instance.version, instance.state, item,
                {"task_id": bpmn[0].task_id, "payload": bpmn[0].payload} if len(bpmn) == 1 else None,
                started.case_id, started.case_no, received_at.isoformat(), due.isoformat()), weight))
        uow.rollback()  # the templates are kept in memory only
    return templates

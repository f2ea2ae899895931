"""A small city for the read-query tests: the commission and two bureaus, their staff, real cases.

Import the `city` fixture into a test module: `from tests.unit.queries_city import city  # noqa: F401`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, select, update

from engine.accounts.identity import SYSTEM
from engine.queries import InboxFilter, inbox, inbox_counts, load_principal
from engine.services.calendar_admin import (
    LoadDeadlineRules,
    LoadPublicHolidays,
    load_deadline_rules,
    load_public_holidays,
)
from engine.services.cases import StartCase, start_case
from engine.services.deployment import DeployBundle, deploy_bundle
from engine.services.work import CompleteWorkItem, complete_work_item
from engine.store.schema import agencies, group_members, groups, users, work_items
from tests.conftest import bundle

TAIPEI = ZoneInfo("Asia/Taipei")

AGENCIES = [("rdec", "研究發展考核委員會", "commission"), ("public_works", "工務局", "bureau"),
            ("transport", "交通局", "bureau")]

#: Each account and the (role, agency code) of its groups; None: held for every agency.
STAFF = {
    "cw.roads": [("caseworker", "public_works")],
    "cw.bridges": [("caseworker", "public_works")],
    "chief.roads": [("supervisor", "public_works")],
    "head.works": [("agency_head", "public_works")],
    "cw.signals": [("caseworker", "transport")],
    "liaison.signals": [("agency_liaison", "transport")],
    "chief.signals": [("supervisor", "transport")],
    "dispatcher": [("dispatcher", None)],
    "reviewer": [("reviewer", None)],
    "chief.petitions": [("supervisor", "rdec")],
    "designer": [("process_designer", None)],
    "admin": [("admin", None)],
    "auditor": [("auditor", None)],
}


def taipei(day: int, hour: int = 9, minute: int = 0, month: int = 11) -> datetime:
    """A moment of 2026 in Taipei."""
    return datetime(2026, month, day, hour, minute, tzinfo=TAIPEI)


@dataclass
class City:
    """The organisation on a runtime, with one unit of work per service call or query."""

    runtime: object
    clock: object

    def ids(self, table, code_column, value) -> int:
        with self.runtime.db.connect() as conn:
            return conn.execute(select(table.c.id).where(code_column == value)).scalar_one()

    def agency_id(self, code: str) -> int:
        return self.ids(agencies, agencies.c.code, code)

    def user_id(self, username: str) -> int:
        return self.ids(users, users.c.username, username)

    def principal(self, username: str):
        with self.runtime.uow(read_only=True) as uow:
            return load_principal(uow, username=username)

    def open_case(self, at: datetime, *, process: str = "simple", agency: str | None = "public_works",
                  case_type: str = "petition", **kw):
        """Start a case received at `at` (the clock is set there): a petition is due 6 working days on."""
        self.clock.set(at)
        with self.runtime.uow() as uow:
            started = start_case(StartCase(case_type, process_key=process, agency_code=agency, **kw), uow)
            uow.commit()
        return started

    def complete(self, item_id: int, username: str | None = None, data: dict | None = None):
        principal = SYSTEM if username is None else self.principal(username)
        with self.runtime.uow() as uow:
            done = complete_work_item(CompleteWorkItem(item_id, data or {}, principal), uow)
            uow.commit()
        return done

    def assign(self, item_id: int, username: str) -> None:
        """Give an item to a user, as claiming it will."""
        user_id = self.user_id(username)
        with self.runtime.db.begin() as conn:
            conn.execute(update(work_items).where(work_items.c.id == item_id).values(assignee_id=user_id))

    def page(self, username: str, **kw):
        with self.runtime.uow(read_only=True) as uow:
            return inbox(uow, load_principal(uow, username=username), **kw)

    def listed(self, username: str, *, limit: int = 3, **kw) -> list[int]:
        """The ids of every item of an inbox, page after page."""
        ids, cursor = [], None
        while True:
            page = self.page(username, cursor=cursor, limit=limit, **kw)
            ids += [item.work_item_id for item in page.items]
            if page.next_cursor is None:
                return ids
            cursor = page.next_cursor

    def counts(self, username: str, filters: InboxFilter = InboxFilter()):
        with self.runtime.uow(read_only=True) as uow:
            return inbox_counts(uow, load_principal(uow, username=username), filters)


def build_city(runtime, clock, sources: dict | None = None) -> City:
    """The agencies, staff and groups, holidays and deadline rules, and diagrams deployed (by default
    the test diagrams simple.bpmn and approval.bpmn)."""
    clock.set(taipei(20))
    with runtime.uow() as uow:
        conn = uow.conn
        ids = {code: conn.execute(insert(agencies).returning(agencies.c.id),
                                  {"code": code, "name": name, "kind": kind}).scalar_one()
               for code, name, kind in AGENCIES}
        group_ids = {}
        for username, held in STAFF.items():
            user = conn.execute(insert(users).returning(users.c.id), {
                "username": username, "display_name": username, "created_at": clock.now()}).scalar_one()
            for role, code in held:
                if (role, code) not in group_ids:
                    group_ids[role, code] = conn.execute(insert(groups).returning(groups.c.id), {
                        "code": f"{role}@{code or 'all'}", "name": f"{role} {code or 'all'}", "role": role,
                        "agency_id": ids.get(code)}).scalar_one()
                conn.execute(insert(group_members), {"group_id": group_ids[role, code], "user_id": user})
        load_public_holidays(LoadPublicHolidays(2026), uow)
        load_deadline_rules(LoadDeadlineRules(), uow)
        deploy_bundle(DeployBundle(sources or bundle("simple.bpmn", "approval.bpmn")), uow)
        uow.commit()
    return City(runtime, clock)


@pytest.fixture
def city(runtime, clock) -> City:
    """The small city with simple.bpmn (a caseworker replies) and approval.bpmn deployed."""
    return build_city(runtime, clock)

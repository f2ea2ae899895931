"""Demo data: the organisation, staff with one password, and a few open cases."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, insert, select

from engine.accounts.passwords import hash_password
from engine.accounts.roles import HELD_EVERYWHERE
from engine.settings import PROJECT_ROOT
from engine.store.schema import agencies, group_members, groups, units, users

from .calendar_admin import LoadDeadlineRules, LoadPublicHolidays, load_deadline_rules, load_public_holidays
from .cases import StartCase, start_case
from .demo_tracked import SeedTrackedItems, seed_tracked_items

#: The organisation and cases loaded by `petiflow seed-demo`.
DEMO_FILE = PROJECT_ROOT / "workflows" / "seed" / "organisation.json"

#: Every demo account's password; shown on the start-up banner, never used in production.
DEMO_PASSWORD = "petiflow-demo"


@dataclass(frozen=True)
class SeedDemo:
    """Load the demo organisation and cases into an empty database."""

    path: Path = DEMO_FILE
    password: str = DEMO_PASSWORD


@dataclass
class DemoSeeded:
    """What seeding did."""

    skipped: bool = False
    counts: dict = field(default_factory=dict)

    def summary(self) -> str:
        if self.skipped:
            return "demo data: database already has agencies, nothing loaded"
        parts = ", ".join(f"{n} {what}" for what, n in self.counts.items())
        return f"demo data loaded: {parts}; every demo account's password is {DEMO_PASSWORD!r}"


def _group(conn, cache, role, agency_id, unit_id, label) -> int:
    key = (role, agency_id)
    if key not in cache:
        cache[key] = conn.execute(insert(groups).returning(groups.c.id), {
            "code": f"{role}@{label}", "name": f"{role} {label}", "role": role,
            "agency_id": agency_id, "unit_id": unit_id}).scalar_one()
    return cache[key]


def seed_demo(cmd: SeedDemo, uow) -> DemoSeeded:
    """Load demo data unless the database already has an organisation."""
    conn = uow.conn
    if conn.execute(select(func.count()).select_from(agencies)).scalar_one():
        return DemoSeeded(skipped=True)
    data = json.loads(cmd.path.read_text(encoding="utf-8"))
    now = uow.clock.now()
    # Cases opened below get their due times from these (以案管制).
    for year in (now.year, now.year + 1):
        load_public_holidays(LoadPublicHolidays(year), uow)
    load_deadline_rules(LoadDeadlineRules(), uow)
    agency_ids, unit_ids = {}, {}
    for a in data["agencies"]:
        agency_ids[a["code"]] = conn.execute(insert(agencies).returning(agencies.c.id), {
            "code": a["code"], "name": a["name"], "kind": a["kind"]}).scalar_one()
        for u in a.get("units", []):
            unit_ids[(a["code"], u["code"])] = conn.execute(insert(units).returning(units.c.id), {
                "agency_id": agency_ids[a["code"]], "code": u["code"], "name": u["name"]}).scalar_one()
    password = hash_password(cmd.password)
    group_ids = {}
    for u in data["users"]:
        agency_id = agency_ids[u["agency"]]
        unit_id = unit_ids.get((u["agency"], u.get("unit")))
        user_id = conn.execute(insert(users).returning(users.c.id), {
            "username": u["username"], "display_name": u["display_name"], "password_hash": password,
            "agency_id": agency_id, "unit_id": unit_id, "created_at": now}).scalar_one()
        for role in u["roles"]:
            central = role in HELD_EVERYWHERE
            gid = _group(conn, group_ids, role, None if central else agency_id,
                         None if central else unit_id, "central" if central else u["agency"])
            conn.execute(insert(group_members), {"group_id": gid, "user_id": user_id})
    for c in data.get("cases", []):
        start_case(StartCase(case_type=c["case_type"], channel=c.get("channel"), category=c.get("category"),
                             district=c.get("district"), subject=c.get("subject"), agency_code=c.get("agency"),
                             petitioner=c.get("petitioner")), uow)
    tracked_count = seed_tracked_items(SeedTrackedItems(frozenset(agency_ids)), uow)
    return DemoSeeded(counts={"agencies": len(agency_ids), "units": len(unit_ids),
                              "staff accounts": len(data["users"]), "cases": len(data.get("cases", [])),
                              "tracked items": tracked_count})

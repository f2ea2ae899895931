"""Migration 0022 gives the open work of a database upgraded from 0021 the unit of its case, and goes back."""
import os

import pytest
from alembic import command
from sqlalchemy import insert, inspect, select

from engine.settings import Settings
from engine.store import migrate
from engine.store.db import make_engine
from engine.store.schema import agencies, cases, process_definitions, units, work_items, workflow_instances
from tests.conftest import PG_URL, TEST_NOW, _drop_pg_database, _fresh_pg_database, _require_pg


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def blank(request, tmp_path):
    """An engine on an empty database of each kind, never migrated."""
    if request.param == "sqlite":
        db = make_engine(Settings(database_url=f"sqlite:///{tmp_path / 'old.sqlite3'}", var_dir=tmp_path))
        yield db
        db.dispose()
        return
    url = PG_URL.rsplit("/", 1)[0] + f"/petiflow_test_0022_{os.getpid()}"
    _require_pg(url)
    _fresh_pg_database(url)
    db = make_engine(Settings(database_url=url))
    try:
        yield db
    finally:
        db.dispose()
        _drop_pg_database(url)


def _cases_of_0021(db) -> dict:
    """Two cases of one agency, the first in its roads unit with open and completed work, the
    second in no unit with open work; the ids of (unit, open item in the unit, completed item, other open item)."""
    with db.begin() as conn:
        agency = conn.execute(insert(agencies).returning(agencies.c.id),
                              {"code": "public_works", "name": "工務局", "kind": "bureau"}).scalar_one()
        unit = conn.execute(insert(units).returning(units.c.id),
                            {"agency_id": agency, "code": "roads", "name": "養護工程科"}).scalar_one()
        definition = conn.execute(insert(process_definitions).returning(process_definitions.c.id), {
            "process_key": "petition", "version": 1, "content_hash": "h", "sources": {},
            "deployed_at": TEST_NOW}).scalar_one()
        items = []
        for n, case_unit, statuses in ((1, unit, ("open", "completed")), (2, None, ("open",))):
            case_id = conn.execute(insert(cases).returning(cases.c.id), {
                "case_no": f"P2026112600000{n}", "case_type": "petition", "status": "open", "agency_id": agency,
                "unit_id": case_unit, "received_at": TEST_NOW, "created_at": TEST_NOW,
                "updated_at": TEST_NOW}).scalar_one()
            instance = conn.execute(insert(workflow_instances).returning(workflow_instances.c.id), {
                "case_id": case_id, "definition_id": definition, "state": "{}", "status": "waiting",
                "created_at": TEST_NOW, "updated_at": TEST_NOW}).scalar_one()
            items += [conn.execute(insert(work_items).returning(work_items.c.id), {
                "instance_id": instance, "case_id": case_id, "task_id": f"t{k}", "task_spec": "draft_reply",
                "name": "擬答", "role": "caseworker", "agency_id": agency, "status": status,
                "created_at": TEST_NOW}).scalar_one() for k, status in enumerate(statuses)]
    return {"unit": unit, "open": items[0], "completed": items[1], "other": items[2]}


def _units(db) -> dict:
    with db.connect() as conn:
        return dict(conn.execute(select(work_items.c.id, work_items.c.unit_id)).all())


def test_open_work_takes_its_case_s_unit_on_upgrade_and_the_column_goes_on_downgrade(blank):
    migrate.upgrade(blank, "0021")
    made = _cases_of_0021(blank)

    migrate.upgrade(blank)
    assert _units(blank) == {made["open"]: made["unit"], made["completed"]: None, made["other"]: None}
    assert migrate.schema_differences(blank) == []

    with blank.begin() as conn:
        command.downgrade(migrate.alembic_config(connection=conn), "0021")
    with blank.connect() as conn:
        assert "unit_id" not in {c["name"] for c in inspect(conn).get_columns("work_items")}
    migrate.upgrade(blank)
    assert _units(blank)[made["open"]] == made["unit"]

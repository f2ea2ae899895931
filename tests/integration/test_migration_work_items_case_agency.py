"""Migration 0024 gives the open work of a database upgraded from 0023 the agency of its case, and goes back."""
from alembic import command
from sqlalchemy import insert, inspect, select

from engine.queries.case_search import CO_HANDLED
from engine.store import migrate
from engine.store.schema import agencies, cases, process_definitions, work_items, workflow_instances
from tests.conftest import TEST_NOW
from tests.integration.test_migration_work_item_units import blank  # noqa: F401  (the fixture)


def _cases_of_0023(db) -> dict:
    """A case of public works with its own open and completed work, and a case of transport with an
    opinion open for public works (co-handled); the ids of the agencies, cases and items."""
    with db.begin() as conn:
        works, transport = (conn.execute(insert(agencies).returning(agencies.c.id),
                                         {"code": code, "name": name, "kind": "bureau"}).scalar_one()
                            for code, name in (("public_works", "工務局"), ("transport", "交通局")))
        definition = conn.execute(insert(process_definitions).returning(process_definitions.c.id), {
            "process_key": "petition", "version": 1, "content_hash": "h", "sources": {},
            "deployed_at": TEST_NOW}).scalar_one()
        made = {"works": works, "transport": transport}
        for n, (name, case_agency, work) in enumerate((("own", works, (("open", works), ("completed", works))),
                                                      ("co_handled", transport, (("open", works),)))):
            case_id = conn.execute(insert(cases).returning(cases.c.id), {
                "case_no": f"P2026112600000{n}", "case_type": "petition", "status": "open",
                "agency_id": case_agency, "received_at": TEST_NOW, "created_at": TEST_NOW,
                "updated_at": TEST_NOW}).scalar_one()
            instance = conn.execute(insert(workflow_instances).returning(workflow_instances.c.id), {
                "case_id": case_id, "definition_id": definition, "state": "{}", "status": "waiting",
                "created_at": TEST_NOW, "updated_at": TEST_NOW}).scalar_one()
            made[name] = case_id
            for k, (status, agency) in enumerate(work):
                made[f"{name}_{status}"] = conn.execute(insert(work_items).returning(work_items.c.id), {
                    "instance_id": instance, "case_id": case_id, "task_id": f"t{k}", "task_spec": "opinion",
                    "name": "會辦意見", "role": "caseworker", "agency_id": agency, "status": status,
                    "created_at": TEST_NOW}).scalar_one()
    return made


def _case_agencies(db) -> dict:
    with db.connect() as conn:
        return dict(conn.execute(select(work_items.c.id, work_items.c.case_agency_id)).all())


def _co_handled_by(db, agency_id: int) -> list:
    """The cases the agency co-handles, read as the search reads them (the co-handled index's condition)."""
    with db.connect() as conn:
        return conn.execute(select(work_items.c.case_id).where(work_items.c.status == "open",
                                                               work_items.c.agency_id == agency_id, CO_HANDLED)
                            ).scalars().all()


def test_open_work_takes_its_case_s_agency_on_upgrade_and_the_column_goes_on_downgrade(blank):  # noqa: F811
    migrate.upgrade(blank, "0023")
    made = _cases_of_0023(blank)
    migrate.upgrade(blank)
    assert _case_agencies(blank) == {made["own_open"]: made["works"], made["own_completed"]: None,
                                     made["co_handled_open"]: made["transport"]}
    assert migrate.schema_differences(blank) == []
    assert _co_handled_by(blank, made["works"]) == [made["co_handled"]]

    with blank.begin() as conn:
        command.downgrade(migrate.alembic_config(connection=conn), "0023")
    with blank.connect() as conn:
        assert "case_agency_id" not in {c["name"] for c in inspect(conn).get_columns("work_items")}
        assert "ix_work_items_open_co_handled" not in {ix["name"] for ix in inspect(conn).get_indexes("work_items")}
    migrate.upgrade(blank)
    assert _case_agencies(blank)[made["co_handled_open"]] == made["transport"]

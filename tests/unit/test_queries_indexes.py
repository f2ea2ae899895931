"""The read queries' indexes: present as declared, and used at city scale on PostgreSQL."""
from datetime import timedelta

import pytest
from sqlalchemy import event
from sqlalchemy.schema import CreateIndex

from engine.accounts.identity import Principal
from engine.errors import NotFound
from engine.queries import InboxFilter, deployed_processes, escalation_queue, get_case, inbox, inbox_counts
from engine.store.schema import metadata

PARTIAL = [ix for table in metadata.sorted_tables for ix in table.indexes
           if ix.dialect_options["postgresql"]["where"] is not None]


def _conditions(conn, names) -> dict:
    if conn.dialect.name == "postgresql":
        rows = conn.exec_driver_sql(
            "SELECT c.relname, pg_get_expr(i.indpred, i.indrelid) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = ANY(%(names)s)", {"names": list(names)}).all()
    else:
        rows = conn.exec_driver_sql("SELECT name, sql FROM sqlite_master WHERE type = 'index'")
        rows = [(name, sql.split(" WHERE ", 1)[1]) for name, sql in rows if name in names]
    return dict(rows)


def test_each_partial_index_in_the_database_has_the_condition_the_schema_declares(runtime):
    """Alembic compares an index's columns, not its WHERE: a twin made from the schema, in a
    transaction rolled back, must read back with the same condition as the migrated index."""
    assert {ix.name for ix in PARTIAL} >= {"ix_work_items_open_by_due", "ix_workflow_instances_running"}
    with runtime.db.connect() as conn:
        with conn.begin() as tx:
            for ix in PARTIAL:
                ddl = str(CreateIndex(ix).compile(dialect=conn.dialect))
                conn.exec_driver_sql(ddl.replace(ix.name, f"twin_{ix.name}", 1))
            found = _conditions(conn, [ix.name for ix in PARTIAL] + [f"twin_{ix.name}" for ix in PARTIAL])
            tx.rollback()
    assert {ix.name: found[ix.name] for ix in PARTIAL} == {ix.name: found[f"twin_{ix.name}"] for ix in PARTIAL}


AGENCIES, CASES, USERS = 40, 30_000, 400

#: A city's tables in bulk: 40 agencies (the first the commission), 400 staff, 30,000 cases, a
#: third still open, three work items each (the last open while the case is), most roles
#: agency work, a tenth central; due times spread over six weeks around now, one in twenty
#: without; a fifth of the items assigned, to twenty of the staff.
FILL = [
    "INSERT INTO agencies (id, code, name, kind) SELECT g, 'a' || g, 'agency ' || g, "
    "CASE WHEN g = 1 THEN 'commission' ELSE 'bureau' END FROM generate_series(1, {agencies}) g",
    "INSERT INTO users (id, username, display_name, created_at) "
    "SELECT g, 'u' || g, 'user ' || g, %(now)s FROM generate_series(1, {users}) g",
    "INSERT INTO process_definitions (id, process_key, version, content_hash, sources, deployed_at) "
    "VALUES (1, 'petition', 1, 'h1', '{{}}', %(now)s), (2, 'dispatch', 1, 'h2', '{{}}', %(now)s)",
    "INSERT INTO cases (id, case_no, case_type, category, district, status, agency_id, received_at, due_at, "
    "created_at, updated_at) SELECT g, 'P' || g, CASE WHEN mod(g, 4) = 0 THEN 'dispatch' ELSE 'petition' END, "
    "'cat' || (mod(g, 19)), 'd' || (mod(g, 13)), CASE WHEN mod(g, 3) = 0 THEN 'open' ELSE 'closed' END, "
    "1 + mod(g, {agencies}), %(now)s, %(now)s + (mod(g, 42) - 14) * interval '1 day', %(now)s, %(now)s "
    "FROM generate_series(1, {cases}) g",
    "INSERT INTO workflow_instances (id, case_id, definition_id, state, status, created_at, updated_at) "
    "SELECT id, id, 1 + (mod(id, 4) = 0)::int, '{{}}', CASE WHEN status = 'open' THEN 'waiting' ELSE 'completed' END, "
    "%(now)s, %(now)s FROM cases",
    "INSERT INTO work_items (instance_id, case_id, task_id, task_spec, name, role, agency_id, assignee_id, status, "
    "due_at, created_at) SELECT c.id, c.id, k::text, 't' || k, 'task ' || k, r.role, "
    "CASE WHEN r.role IN ('dispatcher', 'reviewer') THEN NULL ELSE c.agency_id END, "
    "CASE WHEN mod(c.id / 7, 5) = 0 THEN 1 + mod(c.id / 11, 20) END, "
    "CASE WHEN k = 3 AND c.status = 'open' THEN 'open' ELSE 'completed' END, "
    "CASE WHEN mod(c.id, 20) <> 0 THEN c.due_at END, %(now)s FROM cases c CROSS JOIN generate_series(1, 3) k "
    "CROSS JOIN LATERAL (SELECT (ARRAY['caseworker', 'caseworker', 'caseworker', 'caseworker', 'supervisor', "
    "'agency_liaison', 'caseworker', 'dispatcher', 'caseworker', 'reviewer'])[1 + mod(c.id / {agencies} + k, 10)] "
    "AS role) r",
]


@pytest.mark.postgres
@pytest.mark.slow
def test_no_inbox_badge_queue_or_process_query_scans_a_whole_table_at_city_scale(pg_runtime):
    """Every statement the read queries send, explained on a city's worth of rows, reads cases,
    work items and workflow instances through an index."""
    # Given a city's tables in bulk, with fresh statistics
    rt = pg_runtime
    now = rt.clock.now()
    with rt.db.begin() as conn:
        for statement in FILL:
            conn.exec_driver_sql(statement.format(agencies=AGENCIES, users=USERS, cases=CASES), {"now": now})
    with rt.db.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")  # statistics, and the visibility map for index-only counts

    # When each reader reads their inbox (two pages, and filtered), badges, queue, a case, the processes
    caseworker = Principal(user_id=5, username="u5", roles=frozenset({("caseworker", 7)}))
    dispatcher = Principal(user_id=6, username="u6", roles=frozenset({("dispatcher", None)}))
    chief = Principal(user_id=7, username="u7", roles=frozenset({("supervisor", 7)}))
    commission = Principal(user_id=8, username="u8", roles=frozenset({("supervisor", 1), ("reviewer", None)}))
    sent = []
    event.listen(rt.db, "before_cursor_execute", capture := lambda *a: sent.append((a[2], a[3])))
    try:
        with rt.uow(read_only=True) as uow:
            for who, view in [(caseworker, "inbox"), (caseworker, "mine"), (dispatcher, "groups"),
                              (chief, "supervised"), (commission, "supervised")]:
                page = inbox(uow, who, view=view, limit=20)
                assert len(page.items) == 20, (who.username, view)
                inbox(uow, who, view=view, limit=20, cursor=page.next_cursor)
                inbox(uow, who, view=view, filters=InboxFilter(district="d3", overdue=True, at_risk=True))
                inbox_counts(uow, who)
            inbox(uow, caseworker, view="mine", filters=InboxFilter(status="completed"))
            inbox(uow, chief, view="supervised", filters=InboxFilter(due_before=now + timedelta(days=3)))
            for who in (chief, commission):
                assert escalation_queue(uow, who, limit=50).counts
            assert get_case(uow, chief, 6).agency_id == 7
            with pytest.raises(NotFound):
                get_case(uow, chief, 8)  # another agency's
            deployed_processes(uow)
    finally:
        event.remove(rt.db, "before_cursor_execute", capture)

    # Then no statement's plan reads a whole one of those tables
    scanned = {}  # statement -> its plan, for the failure message
    with rt.db.connect() as conn:
        for statement, params in sent:
            plan = conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, params).scalar_one()
            tables = {node["Relation Name"] for node in _nodes(plan[0]["Plan"]) if node["Node Type"] == "Seq Scan"}
            if tables & {"cases", "work_items", "workflow_instances"}:
                scanned[statement] = "\n".join(conn.exec_driver_sql("EXPLAIN " + statement, params).scalars())
    assert scanned == {}


def _nodes(node):
    yield node
    for child in node.get("Plans", []):
        yield from _nodes(child)

"""The gauges /metrics reads at every scrape are indexed counts at city scale, on PostgreSQL."""
import pytest
from sqlalchemy import event

from engine.queries.metrics import operations_counts
from tests.unit.test_queries_indexes import AGENCIES, CASES, FILL, USERS, _nodes

#: Timers (a third pending, due over six weeks around now), notifications (one in fifty still
#: pending) and incidents (one in ten open) beside the city's cases.
MACHINERY = [
    "INSERT INTO timers (kind, instance_id, case_id, due_at, status, created_at) "
    "SELECT 'reminder', c.id, c.id, %(now)s + (mod(c.id * k, 42) - 14) * interval '1 day', "
    "CASE WHEN mod(c.id + k, 3) = 0 THEN 'pending' ELSE 'done' END, %(now)s "
    "FROM cases c CROSS JOIN generate_series(1, 3) k",
    "INSERT INTO outbox (topic, dedup_key, payload, status, attempts, created_at) "
    "SELECT 'email', 'k' || g, '{{}}', CASE WHEN mod(g, 50) = 0 THEN 'pending' ELSE 'sent' END, 1, %(now)s "
    "FROM generate_series(1, {cases}) g",
    "INSERT INTO incidents (kind, subject_table, subject_id, message, status, created_at) "
    "SELECT 'timer_failed', 'timers', g, 'boom', CASE WHEN mod(g, 10) = 0 THEN 'open' ELSE 'resolved' END, %(now)s "
    "FROM generate_series(1, {cases} / 10) g",
]


@pytest.mark.postgres
@pytest.mark.slow
def test_the_scrape_gauges_read_no_big_table_whole(pg_runtime):
    rt = pg_runtime
    now = rt.clock.now()
    with rt.db.begin() as conn:
        for statement in FILL + MACHINERY:
            conn.exec_driver_sql(statement.format(agencies=AGENCIES, users=USERS, cases=CASES), {"now": now})
    with rt.db.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
    sent = []
    event.listen(rt.db, "before_cursor_execute", capture := lambda *a: sent.append((a[2], a[3])))
    try:
        with rt.uow(read_only=True) as uow:
            counts = operations_counts(uow)
    finally:
        event.remove(rt.db, "before_cursor_execute", capture)
    assert counts.timers_pending == 30_000 and 0 < counts.timers_late < counts.timers_pending
    assert (counts.notifications_waiting, counts.incidents_open) == (600, 300)
    assert len(counts.overdue_by_agency) == AGENCIES + 1 and sum(n for _, n in counts.overdue_by_agency) > 0

    scanned = {}
    with rt.db.connect() as conn:
        for statement, params in sent:
            plan = conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, params).scalar_one()
            tables = {node["Relation Name"] for node in _nodes(plan[0]["Plan"]) if node["Node Type"] == "Seq Scan"}
            if tables & {"work_items", "timers", "outbox", "incidents"}:
                scanned[statement] = "\n".join(conn.exec_driver_sql("EXPLAIN " + statement, params).scalars())
    assert scanned == {}

"""bench/generate.py makes a data set the engine reads and works on, and bench/reads.py reads it.

A small data set (3,000 cases) in a database of its own, dropped at the end.
"""
import json
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import text

from engine.accounts.identity import SYSTEM
from engine.bootstrap import bootstrap
from engine.clock import FixedClock
from engine.queries import load_principal
from engine.queries.badges import inbox_counts
from engine.queries.cases import get_case_by_number
from engine.queries.escalation import escalation_queue
from engine.queries.inbox import inbox
from engine.services.cases import StartCase, start_case
from engine.services.work import CompleteWorkItem, complete_work_item
from engine.settings import Settings
from tests.conftest import PG_URL, _drop_pg_database, _require_pg

ROOT = Path(__file__).resolve().parents[2]

#: The data set's moment (bench/generate.py's default --as-of).
AS_OF = datetime(2026, 11, 26, 1, 0, tzinfo=timezone.utc)

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def _run(*argv) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    return subprocess.run([sys.executable, *argv], cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)


@pytest.fixture(scope="module")
def generated():
    """A database filled by bench/generate.py with 3,000 cases (600 open): (url, the summary it printed)."""
    url = PG_URL.rsplit("/", 1)[0] + f"/petiflow_test_bench_generate_{os.getpid()}"
    _require_pg(url)
    try:
        proc = _run("bench/generate.py", "--database-url", url, "--cases", "3000", "--replace")
        assert proc.returncode == 0, proc.stderr[-3000:]
        yield url, json.loads(proc.stdout)
    finally:
        _drop_pg_database(url)


@pytest.fixture
def runtime(generated, tmp_path):
    rt = bootstrap(Settings(database_url=generated[0], var_dir=tmp_path, secret_key="test"), clock=FixedClock(AS_OF))
    yield rt
    rt.close()


def test_the_data_set_has_the_organisation_the_cases_and_their_open_work(generated):
    _, summary = generated
    counts = summary["counts"]
    assert counts["agencies"] == 30 and counts["users"] == 2000 and counts["process_definitions"] == 6
    assert counts["cases"] == 3000
    assert counts["work_items"] == counts["workflow_instances"] == 600
    assert counts["case_events"] >= 3 * 3000 and counts["timers"] > 0 and counts["petitioners"] > 1500
    assert summary["broken_references"] == {}


def test_open_work_is_overdue_at_risk_or_later_and_late_work_is_escalated(runtime):
    with runtime.db.connect() as conn:
        states = dict(conn.execute(text(
            "SELECT CASE WHEN due_at < :now THEN 'overdue' WHEN due_at < :now + interval '2 days' THEN 'soon' "
            "ELSE 'later' END, count(*) FROM work_items WHERE status = 'open' GROUP BY 1"), {"now": AS_OF}).all())
        late_levels = conn.execute(text(
            "SELECT min(escalation_level) FROM work_items WHERE status = 'open' AND due_at < :now"),
            {"now": AS_OF}).scalar_one()
        statuses = dict(conn.execute(text("SELECT status, count(*) FROM cases GROUP BY status")).all())
    assert set(states) == {"overdue", "soon", "later"}
    assert late_levels >= 1
    assert statuses["open"] == 600 and statuses["closed"] > 2000


def test_open_work_keeps_the_unit_of_its_case(runtime):
    with runtime.db.connect() as conn:
        placed, differing = conn.execute(text(
            "SELECT count(w.unit_id), count(*) FILTER (WHERE w.unit_id IS DISTINCT FROM c.unit_id) "
            "FROM work_items w JOIN cases c ON c.id = w.case_id WHERE w.status = 'open'")).one()
    assert placed > 0 and differing == 0


def test_a_second_run_refuses_a_database_that_holds_cases(generated):
    proc = _run("bench/generate.py", "--database-url", generated[0], "--cases", "10")
    assert proc.returncode == 2
    assert "already holds cases" in proc.stderr and "--replace" in proc.stderr


def test_the_engine_queries_read_the_data_set(runtime):
    with runtime.uow(read_only=True) as uow:
        worker = load_principal(uow, username="cw.public_works.001")
        page = inbox(uow, worker)
        badges = inbox_counts(uow, worker)
        queue = escalation_queue(uow, load_principal(uow, username="reviewer.001"))
        chief_queue = escalation_queue(uow, load_principal(uow, username="chief.public_works.roads"))
        case = get_case_by_number(uow, load_principal(uow, username="reviewer.001"), page.items[0].case_no)
    assert page.items and {i.agency_name for i in page.items} == {"工務局"}
    assert badges.open_to_my_groups > 0 and badges.overdue > 0
    assert {c.state for c in queue.counts} == {"overdue", "at_risk"}
    assert {i.agency_name for i in chief_queue.items} == {"工務局"}
    assert case.open_work[0].work_item_id == page.items[0].work_item_id
    assert [e.kind for e in case.timeline][:2] == ["case_received", "deadline_set"]


def test_generated_work_can_be_completed_and_new_cases_opened_through_the_services(runtime):
    with runtime.db.connect() as conn:
        item_id, top = conn.execute(text(
            "SELECT min(w.id), (SELECT max(id) FROM cases) FROM work_items w "
            "WHERE w.status = 'open' AND w.task_spec = 'schedule_inspection'")).one()
    with runtime.uow() as uow:
        complete_work_item(CompleteWorkItem(item_id, {"schedule_decision": "decline",
                                                      "decline_reason": "已另案處理"}, SYSTEM), uow)
        started = start_case(StartCase("petition", channel="web", category="streetlight", district="中壢",
                                       subject="中壢區中正路路燈不亮"), uow)
        uow.commit()
    assert started.case_id == top + 1
    with runtime.db.connect() as conn:
        assert conn.execute(text("SELECT status FROM work_items WHERE id = :i"), {"i": item_id}).scalar_one() \
            == "completed"


def test_the_read_benchmark_reports_every_scenario(generated, tmp_path):
    out = tmp_path / "reads.json"
    proc = _run("bench/reads.py", "--database-url", generated[0], "--n", "5", "--warmup", "1", "--json", str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads(out.read_text())
    assert set(results["scenarios"]) == {"inbox.caseworker", "inbox.section_chief", "badges.caseworker",
                                         "badges.section_chief", "escalation.reviewer", "escalation.section_chief",
                                         "case.reviewer", "case.caseworker", "search.reviewer", "search.caseworker"}
    assert all(s["query_ms"]["p95"] > 0 for s in results["scenarios"].values())
    assert all(s["rows_median"] > 0 for name, s in results["scenarios"].items() if not name.startswith("search"))


def test_the_read_benchmark_through_the_api_answers_every_request(generated, tmp_path):
    out = tmp_path / "api_reads.json"
    proc = _run("bench/api_reads.py", "--database-url", generated[0], "--n", "5", "--warmup", "1", "--json", str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads(out.read_text())
    assert len(results["scenarios"]) == 10 and all(s["ms"]["p50"] > 0 for s in results["scenarios"].values())

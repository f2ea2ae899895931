"""bench/lifecycle.py keeps working: every mode runs, and a lifecycle sends no more statements than it did.

Only counts are checked here, never times (those belong to the benchmark's own report).
"""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PG_URL, _require_pg

ROOT = Path(__file__).resolve().parents[2]


def run_bench(tmp_path, only: str, **env) -> dict:
    out = tmp_path / "lifecycle.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "lifecycle.py"), "--n", "5", "--warmup", "2", "--repeats", "1",
         "--only", only, "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, env={**_base_env(), **env})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "ratios of time per lifecycle" in proc.stdout
    return json.loads(out.read_text())


def _base_env() -> dict:
    import os
    return {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}


@pytest.mark.slow
def test_bench_on_sqlite_runs_every_mode_and_keeps_the_statement_count(tmp_path):
    results = run_bench(tmp_path, "sqlite,bare,floor")
    assert set(results["modes"]) == {"bare", "bare_default", "bare_lean", "floor_sqlite", "sqlite"}
    assert all(mode["median"] > 0 for mode in results["modes"].values())
    assert {"sqlite/bare", "sqlite/floor_sqlite", "floor_sqlite/bare"} <= set(results["ratios"])
    lifecycle = results["statements"]["sqlite"]["lifecycle"]
    # The case id is drawn before the first step runs (its number is in the workflow's data) and
    # the case row written with the rest of the step (engine.store.steps): 12 statements, one more
    # than when the service wrote the case row before its step.
    assert lifecycle["total"] <= 12, results["statements"]["sqlite"]
    assert results["statements"]["sqlite"]["start"]["commits"] == 1
    assert results["statements"]["sqlite"]["complete"]["commits"] == 1


@pytest.mark.slow
@pytest.mark.postgres
def test_bench_on_postgres_keeps_its_round_trips_and_drops_its_database(tmp_path):
    from sqlalchemy import create_engine, text
    server = PG_URL.rsplit("/", 1)[0]
    _require_pg(server + "/postgres")
    bench_url = server + "/petiflow_bench_test"
    results = run_bench(tmp_path, "postgres,floor", PETIFLOW_BENCH_PG_URL=bench_url)
    assert set(results["modes"]) == {"floor_postgres", "postgres"}
    counts = results["statements"]["postgres"]
    # Start: the case number, then one statement writing the step; complete: the load, then one.
    # No BEGIN or COMMIT of their own: each unit's only write is a single statement.
    for unit in ("start", "complete"):
        assert counts[unit]["total"] == 2 and counts[unit]["round_trips"] == 2, counts
    admin = create_engine((server + "/postgres").replace("postgresql://", "postgresql+psycopg://"))
    try:
        with admin.connect() as conn:
            left = conn.execute(text("SELECT count(*) FROM pg_database WHERE datname = 'petiflow_bench_test'"))
            assert left.scalar() == 0
    finally:
        admin.dispose()

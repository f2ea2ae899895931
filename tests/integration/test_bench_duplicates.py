"""bench/duplicates.py keeps working: it fills its database, finds the duplicates placed at open cases'
places, reads the index, and drops its database. Only counts are checked, never times."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PG_URL, _require_pg

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.postgres
def test_the_duplicate_bench_runs_on_a_small_city_and_drops_its_database():
    from sqlalchemy import create_engine, text
    server = PG_URL.rsplit("/", 1)[0]
    _require_pg(server + "/postgres")
    name = f"petiflow_bench_dups_test_{os.getpid()}"
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "duplicates.py"), "--url", f"{server}/{name}",
                           "--cases", "5000", "--lookups", "100"], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "ix_cases_open_located" in proc.stdout  # the plan reads the index
    found = re.search(r"\((\d+) of 100 look-ups found", proc.stdout)
    assert found and int(found.group(1)) >= 50  # every other look-up is at an open case's place
    admin = create_engine((server + "/postgres").replace("postgresql://", "postgresql+psycopg://"))
    try:
        with admin.connect() as conn:
            left = conn.execute(text("SELECT count(*) FROM pg_database WHERE datname = :n"), {"n": name})
            assert left.scalar() == 0
    finally:
        admin.dispose()

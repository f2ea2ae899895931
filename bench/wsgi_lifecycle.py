"""The lifecycle of bench/http_lifecycle.py in process: the same four requests through the app's WSGI interface.

No socket and no web server: the Flask test client calls the app of `petiflow serve` (SQLite in a
fresh var folder, the demo organisation loaded) in this process, so the time and CPU of each
request are the app's own (and the test client's, about a tenth). One lifecycle: the 1999 operator
takes a petition in (POST /api/v1/cases), the caseworker reads the first page of the inbox,
claims the new item and completes it with a drafted reply.

    python bench/wsgi_lifecycle.py [--n 200] [--rounds 5] [--profile cprofile|pyinstrument]

Prints, per round, the CPU time and the wall time of a lifecycle (p50) and of each request
(p50), then the medians of the rounds; the SQL statements of one lifecycle; with --profile, where
the time of one more round goes (pyinstrument is not a dependency: pip install it first).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from http_lifecycle import PASSWORD, PETITION, REPLY  # noqa: E402

REQUESTS = ("intake", "inbox", "claim", "complete")


def make_app():
    """The app of an embedded petiflow on a fresh SQLite database with the demo data, and its runtime."""
    var = Path(tempfile.mkdtemp(prefix="petiflow-wsgi-"))
    os.environ.update(PETIFLOW_VAR_DIR=str(var), SECRET_KEY="bench")
    os.environ.pop("DATABASE_URL", None)
    from api.app import create_app
    from api.cli import deploy_workflows
    from engine.bootstrap import connect
    from engine.services.database import upgrade_schema
    from engine.services.demo import SeedDemo, seed_demo
    from engine.settings import Settings
    runtime = connect(Settings.from_env())
    app = create_app(runtime.settings, runtime=runtime)
    upgrade_schema(runtime)
    deploy_workflows(runtime, deployed_by="bench")
    with runtime.uow() as uow:
        seed_demo(SeedDemo(), uow)
        uow.commit()
    return app, runtime


class Browser:
    """A signed-in test client with the session's CSRF token."""

    def __init__(self, app, username: str):
        self.client = app.test_client()
        answer = self.client.post("/api/v1/session", json={"username": username, "password": PASSWORD})
        self.csrf = answer.get_json()["csrf_token"]

    def call(self, method: str, path: str, body=None):
        headers = {} if method == "GET" else {"X-CSRF-Token": self.csrf}
        answer = self.client.open(path, method=method, json=body, headers=headers)
        if answer.status_code not in (200, 201):
            raise RuntimeError(f"{method} {path}: {answer.status_code} {answer.data[:300]!r}")
        return answer.get_json()


def lifecycle(operator: Browser, caseworker: Browser, times: dict) -> None:
    marks = [time.perf_counter()]
    started = operator.call("POST", "/api/v1/cases", PETITION)
    marks.append(time.perf_counter())
    caseworker.call("GET", "/api/v1/inbox?limit=20")
    marks.append(time.perf_counter())
    item = started["work_item_ids"][0]
    caseworker.call("POST", f"/api/v1/work-items/{item}/claim", {})
    marks.append(time.perf_counter())
    caseworker.call("POST", f"/api/v1/work-items/{item}/complete", REPLY)
    marks.append(time.perf_counter())
    for name, began, ended in zip(REQUESTS, marks, marks[1:]):
        times[name].append(ended - began)
    times["lifecycle"].append(marks[-1] - marks[0])


def one_round(operator, caseworker, n: int) -> dict:
    times = {name: [] for name in ("lifecycle", *REQUESTS)}
    cpu = time.process_time()
    for _ in range(n):
        lifecycle(operator, caseworker, times)
    cpu_ms = (time.process_time() - cpu) * 1000 / n
    return {"cpu_ms": cpu_ms, **{name: statistics.median(t) * 1000 for name, t in times.items()}}


def count_statements(runtime, operator, caseworker) -> int:
    from sqlalchemy import event
    seen = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)
    event.listen(runtime.db, "before_cursor_execute", count)
    try:
        lifecycle(operator, caseworker, {name: [] for name in ("lifecycle", *REQUESTS)})
    finally:
        event.remove(runtime.db, "before_cursor_execute", count)
    return sum(1 for s in seen if s.split(None, 1)[0].upper() != "BEGIN")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=200, help="lifecycles per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--profile", choices=("cprofile", "pyinstrument"))
    args = parser.parse_args()
    app, runtime = make_app()
    operator, caseworker = Browser(app, "operator"), Browser(app, "cw.roads")
    one_round(operator, caseworker, args.warmup)
    rounds = []
    for i in range(args.rounds):
        r = one_round(operator, caseworker, args.n)
        rounds.append(r)
        print(f"round {i + 1}: CPU {r['cpu_ms']:.2f} ms a lifecycle, p50 {r['lifecycle']:.2f} ms ("
              + ", ".join(f"{name} {r[name]:.2f}" for name in REQUESTS) + ")")
    med = {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}
    print(f"median of {args.rounds} rounds: CPU {med['cpu_ms']:.2f} ms a lifecycle, p50 {med['lifecycle']:.2f} ms ("
          + ", ".join(f"{name} {med[name]:.2f}" for name in REQUESTS) + f"); "
          f"{count_statements(runtime, operator, caseworker)} SQL statements a lifecycle (BEGIN not counted)")
    if args.profile == "cprofile":
        import cProfile
        import pstats
        profiler = cProfile.Profile()
        profiler.runcall(one_round, operator, caseworker, args.n)
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(60)
    elif args.profile == "pyinstrument":
        from pyinstrument import Profiler
        profiler = Profiler(interval=0.0005)
        profiler.start()
        one_round(operator, caseworker, args.n)
        profiler.stop()
        print(profiler.output_text(unicode=False, color=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())

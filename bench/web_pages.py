"""The staff pages' server time on the benchmark data set, and what each page makes the browser load.

    .venv/bin/python bench/web_pages.py [--database-url postgresql://postgres@127.0.0.1:5432/petiflow_bench]
                                        [--n 1000] [--warmup 50] [--json bench/results/web_pages.json]
                                        [--only escalation]

Each call is one request for a page (HTML rendered by Jinja) to the Flask app through its WSGI
interface, in this process, as a reader of bench/reads_scenarios.py (caseworkers' inboxes, section
chiefs' supervised inboxes, the escalation queue of the commission and of a section chief, a case's
page by number, which records the showing of the petitioner); --only keeps the scenarios whose
names start with one of the prefixes given (escalation, inbox.section_chief, ...). The reader is
signed in with a personal access token, which the pages accept as the API does. p50/p95/p99 of the
whole request against the web UI issue's goal: p95 < 50 ms. Then the JavaScript and CSS each page
loads (its <script src> and <link rel="stylesheet">), gzipped, against the goal: under 100 KB for the
inbox, case and queue pages.
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import re
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from api_reads import _tokens  # noqa: E402
from reads import DEFAULT_AS_OF, DEFAULT_URL, RESULTS_DIR, log, run, summary  # noqa: E402
from reads_scenarios import Call, scenarios  # noqa: E402

from api.app import create_app  # noqa: E402
from engine.bootstrap import bootstrap  # noqa: E402
from engine.clock import FixedClock  # noqa: E402
from engine.queries.principals import load_principal  # noqa: E402
from engine.services.access_tokens import RevokeAccessToken, revoke_access_token  # noqa: E402
from engine.settings import Settings  # noqa: E402

#: The page each operation of the read scenarios is.
PAGES = {
    "inbox": lambda args: f"/inbox?view={args['view']}",
    "escalation_queue": lambda args: "/escalation",
    "case_by_number": lambda args: f"/cases/by-number/{args['case_no']}",
}

#: The web UI issue's goals.
GOAL_P95_MS = 50
GOAL_ASSETS_KB = 100

STATIC = ROOT / "api" / "static"
_ASSET = re.compile(r'<(?:script[^>]+src|link[^>]+rel="stylesheet"[^>]+href)="(/static/[^"]+)"')


class PageCaller:
    """Asks for a page as the reader (bearer token); times the whole request and keeps the last page seen."""

    def __init__(self, app, tokens: dict):
        self.client, self.tokens, self.last = app.test_client(), tokens, {}

    def call(self, call: Call) -> tuple[float, float, object]:
        t0 = time.perf_counter()
        answer = self.client.get(PAGES[call.operation](call.args),
                                 headers={"Authorization": f"Bearer {self.tokens[call.username]}"})
        page = answer.get_data(as_text=True)
        elapsed = (time.perf_counter() - t0) * 1000
        if answer.status_code != 200:
            raise RuntimeError(f"{call.operation} as {call.username}: {answer.status_code} {page[:300]}")
        self.last[call.operation] = page
        return elapsed, elapsed, None


def assets_kb(page: str) -> dict:
    """The JavaScript and CSS a page loads: each file's gzipped size and the total, in KB."""
    sizes = {}
    for path in _ASSET.findall(page):
        file = STATIC / path.removeprefix("/static/")
        sizes[path] = round(len(gzip.compress(file.read_bytes(), 9)) / 1024, 1) if file.exists() else None
    return {"files": sizes, "total": round(sum(v for v in sizes.values() if v), 1)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--database-url", default=DEFAULT_URL)
    ap.add_argument("--n", type=int, default=1000, help="requests per scenario")
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--as-of", default=DEFAULT_AS_OF)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", default=str(RESULTS_DIR / "web_pages.json"))
    ap.add_argument("--only", nargs="+", default=(), metavar="PREFIX", help="scenarios whose names start so")
    args = ap.parse_args(argv)
    as_of = datetime.fromisoformat(args.as_of).astimezone(timezone.utc)
    settings = Settings(database_url=args.database_url, var_dir=Path("/tmp"), secret_key="bench")
    runtime = bootstrap(settings, clock=FixedClock(as_of))
    made = {}
    try:
        with runtime.db.connect() as conn:
            plan = [s for s in scenarios(conn, args.n, random.Random(args.seed)) if s.operation in PAGES
                    and (not args.only or s.name.startswith(tuple(args.only)))]
        made = _tokens(runtime, {c.username for s in plan for c in s.calls})
        caller = PageCaller(create_app(settings, runtime), {name: m.token for name, m in made.items()})
        log(f"{len(plan)} page scenarios x {args.n:,} requests through the WSGI app")
        load_before = os.getloadavg()
        times = run(caller, plan, args.warmup)
        results = {"as_of": as_of.isoformat(), "settings": {"n": args.n, "warmup": args.warmup},
                   "load": {"before": load_before, "after": os.getloadavg()}, "scenarios": {}, "assets_kb": {}}
        for s in plan:
            total = summary(times[s.name]["total"])
            results["scenarios"][s.name] = {"path": PAGES[s.operation](s.calls[0].args).split("?")[0],
                                            "reader": s.reader, "ms": total, "goal_p95_ms": GOAL_P95_MS,
                                            "within_goal": total["p95"] <= GOAL_P95_MS}
        for operation, page in caller.last.items():
            results["assets_kb"][operation] = assets_kb(page)
    finally:
        if made:
            with runtime.uow() as uow:
                for name, m in made.items():
                    revoke_access_token(RevokeAccessToken(load_principal(uow, username=name), m.id), uow)
                uow.commit()
        runtime.close()
    print(f"{'page scenario':<26}{'p50':>8}{'p95':>8}{'p99':>8}   goal")
    for name, r in results["scenarios"].items():
        ms = r["ms"]
        print(f"{name:<26}{ms['p50']:>8.2f}{ms['p95']:>8.2f}{ms['p99']:>8.2f}   "
              f"{'OK  ' if r['within_goal'] else 'SLOW'} p95 < {GOAL_P95_MS} ms")
    print(f"\n{'page':<26}{'JS+CSS gzipped':>16}   goal")
    for operation, found in results["assets_kb"].items():
        print(f"{operation:<26}{found['total']:>13.1f} KB   {'OK  ' if found['total'] < GOAL_ASSETS_KB else 'BIG '}"
              f" < {GOAL_ASSETS_KB} KB  {found['files']}")
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

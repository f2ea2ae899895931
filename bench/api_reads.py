"""Read benchmark through the WSGI app: the same scenarios as bench/reads.py, as HTTP requests.

    .venv/bin/python bench/api_reads.py [--database-url postgresql://postgres@127.0.0.1:5432/petiflow_bench]
                                        [--n 1000] [--warmup 50] [--apart] [--json bench/results/api_reads.json]

Each call is one request to the Flask app (its WSGI interface, in this process, no socket),
signed in with a personal access token of the reader (made for the run and revoked after):
GET /api/v1/inbox (caseworkers, section chiefs' supervised view), /api/v1/inbox/counts,
/api/v1/escalation-queue, /api/v1/cases/by-number/<no> (which records the showing of the
petitioner, a write) and /api/v1/cases?text=<word>. p50/p95/p99 of the whole request, against the
goals of the staff API issue: inbox and escalation queue p95 < 15 ms, a case by number < 5 ms,
text search < 50 ms. The app's clock is the data set's moment (--as-of).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from reads import DEFAULT_AS_OF, DEFAULT_URL, GOAL_P95_MS, RESULTS_DIR, log, run, summary  # noqa: E402
from reads_scenarios import Call, scenarios  # noqa: E402

from api.app import create_app  # noqa: E402
from engine.bootstrap import bootstrap  # noqa: E402
from engine.clock import FixedClock  # noqa: E402
from engine.queries.principals import load_principal  # noqa: E402
from engine.services.access_tokens import (  # noqa: E402
    CreateAccessToken,
    NoteTokenUse,
    RevokeAccessToken,
    create_access_token,
    note_token_use,
    revoke_access_token,
)
from engine.settings import Settings  # noqa: E402

#: The request each operation is.
PATHS = {
    "inbox": lambda args: f"/api/v1/inbox?view={args['view']}",
    "inbox_counts": lambda args: "/api/v1/inbox/counts",
    "escalation_queue": lambda args: "/api/v1/escalation-queue",
    "case_by_number": lambda args: f"/api/v1/cases/by-number/{args['case_no']}",
    "search": lambda args: f"/api/v1/cases?text={quote(args['text'])}",
}


class HttpCaller:
    """Makes a call as a request to the app, with the reader's bearer token; times it."""

    def __init__(self, app, tokens: dict):
        self.client, self.tokens = app.test_client(), tokens

    def call(self, call: Call) -> tuple[float, float, object]:
        t0 = time.perf_counter()
        answer = self.client.get(PATHS[call.operation](call.args),
                                 headers={"Authorization": f"Bearer {self.tokens[call.username]}"})
        elapsed = (time.perf_counter() - t0) * 1000  # the answer is in; reading its JSON is the client's work
        body = answer.get_json()
        if answer.status_code != 200:
            raise RuntimeError(f"{call.operation} as {call.username}: {answer.status_code} {body}")
        return elapsed, elapsed, _Sized(body)


class _Sized:
    """A JSON answer seen as bench/reads.py counts results."""

    def __init__(self, body):
        for name in ("items", "timeline", "rows"):
            if isinstance(body, dict) and name in body:
                setattr(self, name, body[name])


def _tokens(runtime, usernames) -> dict:
    """A token for each reader, noted as used at the data set's moment, as a reader at work uses theirs:
    a token's first request (and one every few minutes) also writes its last use, which would otherwise
    fall on the first timed request of each of the hundreds of caseworkers the scenarios take in turn."""
    made = {}
    with runtime.uow() as uow:
        for name in sorted(usernames):
            principal = load_principal(uow, username=name)
            made[name] = create_access_token(CreateAccessToken(principal, "bench", timedelta(hours=6)), uow)
            note_token_use(NoteTokenUse(made[name].id), uow)
        uow.commit()
    return made


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--database-url", default=DEFAULT_URL)
    ap.add_argument("--n", type=int, default=1000, help="requests per scenario")
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--as-of", default=DEFAULT_AS_OF)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", default=str(RESULTS_DIR / "api_reads.json"))
    ap.add_argument("--apart", action="store_true",
                    help="each scenario's requests in a row, not taking turns with the others")
    args = ap.parse_args(argv)
    as_of = datetime.fromisoformat(args.as_of).astimezone(timezone.utc)
    settings = Settings(database_url=args.database_url, var_dir=Path("/tmp"), secret_key="bench")
    runtime = bootstrap(settings, clock=FixedClock(as_of))
    made = {}
    try:
        with runtime.db.connect() as conn:
            plan = scenarios(conn, args.n, random.Random(args.seed))
        made = _tokens(runtime, {c.username for s in plan for c in s.calls})
        caller = HttpCaller(create_app(settings, runtime), {name: m.token for name, m in made.items()})
        log(f"{len(plan)} scenarios x {args.n:,} requests through the WSGI app")
        load_before = os.getloadavg()
        times = run(caller, plan, args.warmup, apart=args.apart)
        results = {"as_of": as_of.isoformat(), "settings": {"n": args.n, "warmup": args.warmup, "apart": args.apart},
                   "load": {"before": load_before, "after": os.getloadavg()}, "scenarios": {}}
        for s in plan:
            total = summary(times[s.name]["total"])
            goal = GOAL_P95_MS[s.operation]
            results["scenarios"][s.name] = {"path": PATHS[s.operation](s.calls[0].args).split("?")[0],
                                            "reader": s.reader, "ms": total, "goal_p95_ms": goal,
                                            "within_goal": total["p95"] <= goal}
    finally:
        if made:
            with runtime.uow() as uow:
                for name, m in made.items():
                    revoke_access_token(RevokeAccessToken(load_principal(uow, username=name), m.id), uow)
                uow.commit()
        runtime.close()
    print(f"{'scenario':<26}{'p50':>8}{'p95':>8}{'p99':>8}   goal")
    for name, r in results["scenarios"].items():
        ms = r["ms"]
        print(f"{name:<26}{ms['p50']:>8.2f}{ms['p95']:>8.2f}{ms['p99']:>8.2f}   "
              f"{'OK  ' if r['within_goal'] else 'SLOW'} p95 < {r['goal_p95_ms']:g} ms")
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The HTTP lifecycle over a real socket: take a petition in, read the inbox, claim, complete.

Starts petiflow as a city would run it and drives it with 1 and 4 clients, each a process of
its own with keep-alive connections, signed in with browser sessions (cookie + CSRF token):

* serve: `petiflow serve`, embedded mode (SQLite in a fresh var folder, waitress, the worker
  and scheduler in-process), demo data loaded at first start;
* web: `petiflow web`, scaled mode (gunicorn on PostgreSQL, a fresh database migrated and
  seeded with the demo data; Redis for the broker), no worker running.

One lifecycle: the 1999 operator takes a petition in for 工務局 (POST /api/v1/cases); the
caseworker reads the first page of their inbox (GET /api/v1/inbox), claims the new item
(POST .../claim) and completes it with a drafted reply (POST .../complete).

    python bench/http_lifecycle.py [--modes serve,web] [--clients 1,4] [--seconds 15]
                                   [--json bench/results/http_lifecycle.json]

Reports lifecycles per second and p50/p95 of one lifecycle per mode and client count, and the
CPU time the server's processes spent per lifecycle (Linux; it varies far less than the rates
on a shared machine). The
nearest open-source peer, SpiffArena, takes about 154 ms per lifecycle over HTTP on this class
of machine (6.5/s; ../shared/reference). Ctrl+C stops cleanly, stops the servers and drops the
benchmark database.
"""
from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from lifecycle_loops import RESULTS_DIR, log, pg_create, pg_drop  # noqa: E402

PG_URL = os.environ.get("PETIFLOW_HTTP_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/petiflow_http_bench")
REDIS_URL = os.environ.get("PETIFLOW_HTTP_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
PETIFLOW = str(ROOT / ".venv" / "bin" / "petiflow")
PASSWORD = "petiflow-demo"
PETITION = {"case_type": "petition", "channel": "1999", "category": "road_pothole", "district": "桃園",
            "agency_code": "public_works", "subject": "中正路與復興路口路面坑洞，機車騎士險摔",
            "petitioner": {"name": "王小明", "phone": "0912-345-678"}}
REPLY = {"data": {"draft_action": "submit_reply", "reply_text": "本局已派員於三日內完成修補，謝謝您的反映。",
                  "legal_basis": "市區道路條例"}}


class Session:
    """A signed-in browser session on one keep-alive connection."""

    def __init__(self, port: int, username: str):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.cookie, self.csrf = None, None
        body = self.call("POST", "/api/v1/session", {"username": username, "password": PASSWORD})
        self.csrf = body["csrf_token"]

    def call(self, method: str, path: str, body=None, expect=(200, 201)):
        headers = {"Content-Type": "application/json"} if body is not None else {}
        if self.cookie:
            headers["Cookie"] = self.cookie
        if self.csrf and method != "GET":
            headers["X-CSRF-Token"] = self.csrf
        data = None if body is None else json.dumps(body)
        try:
            self.conn.request(method, path, body=data, headers=headers)
            answer = self.conn.getresponse()
        except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
            # The server closed an idle keep-alive connection (gunicorn after a few seconds): reconnect.
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            self.conn.request(method, path, body=data, headers=headers)
            answer = self.conn.getresponse()
        data = answer.read()
        cookie = answer.getheader("Set-Cookie")
        if cookie:
            self.cookie = cookie.split(";", 1)[0]
        if answer.status not in expect:
            raise RuntimeError(f"{method} {path}: {answer.status} {data[:300]!r}")
        return json.loads(data) if data else None


def _client(port: int, seconds: float, start_at: float, results) -> None:
    operator, caseworker = Session(port, "operator"), Session(port, "cw.roads")
    times = []
    while time.time() < start_at:
        time.sleep(0.005)
    end = start_at + seconds
    while time.time() < end:
        began = time.perf_counter()
        started = operator.call("POST", "/api/v1/cases", PETITION)
        caseworker.call("GET", "/api/v1/inbox?limit=20")
        item = started["work_item_ids"][0]
        caseworker.call("POST", f"/api/v1/work-items/{item}/claim", {})
        caseworker.call("POST", f"/api/v1/work-items/{item}/complete", REPLY)
        times.append(time.perf_counter() - began)
    results.put(times)


def server_cpu_seconds(session_id: int) -> float | None:
    """User + system CPU seconds of every live process of the server's session (Linux /proc; else None)."""
    ticks, total = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100, 0
    try:
        pids = [p for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return None
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == session_id:  # field 6 of stat: the session id
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def drive(port: int, clients: int, seconds: float, server_pid: int | None = None) -> dict:
    """Run `clients` client processes for `seconds`; lifecycles per second, their latency, and the
    server's CPU time per lifecycle (the clients' sign-ins before the clock starts left out)."""
    results = multiprocessing.Queue()
    start_at = time.time() + 3  # every client signed in before the clock starts
    procs = [multiprocessing.Process(target=_client, args=(port, seconds, start_at, results)) for _ in range(clients)]
    for p in procs:
        p.start()
    time.sleep(max(0.0, start_at - time.time()))
    cpu_before = server_cpu_seconds(server_pid) if server_pid else None
    times = [t for _ in procs for t in results.get(timeout=seconds + 120)]
    cpu_after = server_cpu_seconds(server_pid) if server_pid else None
    for p in procs:
        p.join()
    times.sort()
    cpu_ms = (None if cpu_before is None or cpu_after is None
              else round((cpu_after - cpu_before) * 1000 / len(times), 1))
    return {"clients": clients, "lifecycles": len(times), "per_second": round(len(times) / seconds, 1),
            "p50_ms": round(statistics.median(times) * 1000, 1),
            "p95_ms": round(times[int(len(times) * 0.95) - 1] * 1000, 1), "server_cpu_ms": cpu_ms}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_ready(port: int, proc, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/ready")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError("the server did not become ready")


def start_server(mode: str, var_dir: Path) -> tuple[subprocess.Popen, int]:
    """Start `petiflow serve` or `petiflow web` on a free port, with the demo organisation."""
    port = _free_port()
    env = {**os.environ, "PETIFLOW_VAR_DIR": str(var_dir), "PETIFLOW_PORT": str(port), "SECRET_KEY": "bench",
           "PETIFLOW_REDIS_NAMESPACE": "petiflow-http-bench"}
    if mode == "serve":
        command = [PETIFLOW, "serve"]
    else:
        pg_create(PG_URL)
        env.update(DATABASE_URL=PG_URL, REDIS_URL=REDIS_URL)
        for step in (["db", "upgrade"], ["seed-demo"]):
            subprocess.run([PETIFLOW, *step], env=env, check=True, stdout=subprocess.DEVNULL)
        command = [PETIFLOW, "web", "--bind", f"127.0.0.1:{port}", "--workers", "2", "--threads", "4"]
    log_file = open(var_dir / f"{mode}.log", "w")
    proc = subprocess.Popen(command, env=env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)
    _wait_ready(port, proc)
    return proc, port


def stop_server(proc) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def _interrupted(signum, frame):
    raise KeyboardInterrupt  # SIGTERM stops the run as Ctrl+C does: servers stopped, database dropped


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--modes", default="serve,web")
    parser.add_argument("--clients", default="1,4")
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--json", type=Path, default=RESULTS_DIR / "http_lifecycle.json")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, _interrupted)
    results, proc = [], None
    try:
        for mode in args.modes.split(","):
            with tempfile.TemporaryDirectory(prefix=f"petiflow-http-{mode}-") as var:
                proc, port = start_server(mode, Path(var))
                log(f"{mode}: serving on port {port}")
                for clients in (int(c) for c in args.clients.split(",")):
                    result = {"mode": mode, **drive(port, clients, args.seconds, proc.pid)}
                    log(f"  {clients} client(s): {result['per_second']} lifecycles/s, "
                        f"p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms ({result['lifecycles']} lifecycles), "
                        f"server CPU {result['server_cpu_ms']} ms a lifecycle")
                    results.append(result)
                stop_server(proc)
                proc = None
    except KeyboardInterrupt:
        log("interrupted: reporting the runs that finished")
    finally:
        if proc is not None:
            stop_server(proc)
        if "web" in args.modes:
            pg_drop(PG_URL)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"results": results, "spiffarena_ms_per_lifecycle": 154}, indent=2))
    for r in results:
        print(f"{r['mode']:6} clients={r['clients']}  {r['per_second']:7.1f}/s  p50 {r['p50_ms']} ms  "
              f"p95 {r['p95_ms']} ms  server CPU {r['server_cpu_ms']} ms  ({r['per_second'] / 6.5:.0f}x SpiffArena's 6.5/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

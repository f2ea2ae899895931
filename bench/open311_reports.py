"""Open311 reports per second through `petiflow serve` (embedded: SQLite, waitress, the worker in-process).

    .venv/bin/python bench/open311_reports.py [--clients 1,4] [--seconds 15]

Starts `petiflow serve` on a free port in a fresh var folder (demo data loaded at first start), issues
an Open311 key with `petiflow open311-keys issue`, and drives POST /open311/v2/requests.json from 1 and
4 client processes, each on a keep-alive connection: a report of a random category at a random point
of the city (so the duplicate check runs on every report and rarely finds one), its district, and a
road width for potholes. Each report opens a dispatch case, routed and given its due time. The report
limits are lifted for the run (PETIFLOW_OPEN311_*_LIMITS). Reports reports per second, p50/p95 of one
report, and the server's CPU time per report.
"""
from __future__ import annotations

import argparse
import http.client
import multiprocessing
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from http_lifecycle import PETIFLOW, server_cpu_seconds, start_server, stop_server  # noqa: E402

CATEGORIES = ["road_pothole", "traffic_signal", "dirty_spot", "streetlight", "blocked_drain", "road_flooding",
              "fallen_tree", "sidewalk_damage", "manhole_cover", "guardrail", "road_marking", "bus_stop",
              "illegal_ads", "abandoned_vehicle", "dead_animal", "stray_animal", "noise", "illegal_parking",
              "illegal_building"]
DISTRICTS = ["桃園", "中壢", "平鎮", "八德", "楊梅", "蘆竹", "大溪", "龜山", "大園", "觀音", "新屋", "龍潭", "復興"]


def _client(port: int, key: str, seconds: float, start_at: float, seed: int, results) -> None:
    rng = random.Random(seed)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    times = []
    while time.time() < start_at:
        time.sleep(0.005)
    end = start_at + seconds
    while time.time() < end:
        category = rng.choice(CATEGORIES)
        form = {"api_key": key, "service_code": category, "lat": f"{rng.uniform(24.80, 25.10):.6f}",
                "long": f"{rng.uniform(121.05, 121.40):.6f}", "attribute[district]": rng.choice(DISTRICTS),
                "description": "路面坑洞約 50 公分，機車騎士險摔", "address_string": "中正路 100 號"}
        if category in ("road_pothole", "sidewalk_damage"):
            form["attribute[road_width_m]"] = str(rng.choice([6, 12, 20]))
        body = urllib.parse.urlencode(form)
        began = time.perf_counter()
        conn.request("POST", "/open311/v2/requests.json", body=body,
                     headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
        answer = conn.getresponse()
        data = answer.read()
        if answer.status != 200:
            raise RuntimeError(f"{answer.status} {data[:300]!r}")
        times.append(time.perf_counter() - began)
    results.put(times)


def drive(port: int, key: str, clients: int, seconds: float, server_pid: int) -> dict:
    results = multiprocessing.Queue()
    start_at = time.time() + 2
    procs = [multiprocessing.Process(target=_client, args=(port, key, seconds, start_at, i, results))
             for i in range(clients)]
    for p in procs:
        p.start()
    time.sleep(max(0.0, start_at - time.time()))
    cpu_before = server_cpu_seconds(server_pid)
    times = [t for _ in procs for t in results.get(timeout=seconds + 120)]
    cpu_after = server_cpu_seconds(server_pid)
    for p in procs:
        p.join()
    times.sort()
    return {"clients": clients, "reports": len(times), "per_second": round(len(times) / seconds, 1),
            "p50_ms": round(statistics.median(times) * 1000, 1),
            "p95_ms": round(times[int(len(times) * 0.95) - 1] * 1000, 1),
            "server_cpu_ms": round((cpu_after - cpu_before) * 1000 / len(times), 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", default="1,4")
    parser.add_argument("--seconds", type=float, default=15.0)
    args = parser.parse_args()
    os.environ.update(PETIFLOW_OPEN311_ADDRESS_LIMITS="1000000 per minute",
                      PETIFLOW_OPEN311_KEY_LIMITS="1000000 per minute")
    with tempfile.TemporaryDirectory(prefix="petiflow-open311-bench-") as var:
        proc, port = start_server("serve", Path(var))
        try:
            env = {**os.environ, "PETIFLOW_VAR_DIR": var, "SECRET_KEY": "bench"}
            issued = subprocess.run([PETIFLOW, "open311-keys", "issue", "bench"], env=env, check=True,
                                    capture_output=True, text=True).stdout
            key = issued.strip().rsplit(" ", 1)[1]
            for clients in (int(c) for c in args.clients.split(",")):
                result = drive(port, key, clients, args.seconds, proc.pid)
                print(f"serve, {clients} client(s): {result['per_second']} reports/s ({result['reports']} in "
                      f"{args.seconds:g} s), p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms, "
                      f"server CPU {result['server_cpu_ms']} ms a report", flush=True)
        finally:
            stop_server(proc)
    return 0


if __name__ == "__main__":
    sys.exit(main())

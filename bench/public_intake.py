"""Public submissions per second: citizens filing petitions on the web mailbox's form, over a real socket.

Starts `petiflow serve` (embedded: SQLite in a fresh var folder, waitress, the worker and the
scheduler in-process, the demo organisation loaded) and drives its mailbox form with N
clients, each a process of its own with a keep-alive connection and a browser session: it
reads the form once (the session cookie and CSRF token), then posts petitions as a browser
without JavaScript does (application/x-www-form-urlencoded; with --photo, multipart with a
small JPEG carrying EXIF data, which the server strips). Each petition is routed by the
workflow, given its due time, a lookup code and, with its e-mail address, a receipt in the
outbox. The per-address submission limit is raised for the run (every client is 127.0.0.1).

    python bench/public_intake.py [--clients 4] [--seconds 15] [--runs 3] [--photo]
                                  [--json bench/results/public_intake.json]

Reports submissions per second and p50/p95 of one submission, per run, and the median of the
runs' rates; the goal is at least 50 a second with 4 clients. Ctrl+C stops cleanly.
"""
from __future__ import annotations

import argparse
import http.client
import io
import json
import multiprocessing
import os
import re
import signal
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from http_lifecycle import server_cpu_seconds, start_server, stop_server  # noqa: E402
from lifecycle_loops import RESULTS_DIR, log  # noqa: E402

PETITION = {"subject": "中正路與復興路口路面坑洞，機車騎士險摔", "category": "road_pothole", "district": "桃園",
            "description": "中正路與復興路口有一個約 50 公分的坑洞，雨天積水看不見，已有機車騎士險些摔倒，請儘速修補。",
            "location": "桃園區中正路與復興路口", "name": "王小明", "phone": "0912-345-678", "email": "ming@example.tw"}
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
_CASE = re.compile(r'id="case-no"[^>]*>([^<]+)<')


def _photo() -> bytes:
    from PIL import Image
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Acme", "PhoneX"
    out = io.BytesIO()
    Image.new("RGB", (640, 480), (120, 120, 120)).save(out, "JPEG", exif=exif, quality=85)
    return out.getvalue()


def _multipart(fields: dict, photo: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode() for k, v in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="photos"; filename="pothole.jpg"\r\n'
                 "Content-Type: image/jpeg\r\n\r\n".encode() + photo + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


class Citizen:
    """A browser on the mailbox: one keep-alive connection, its session cookie and the form's token."""

    def __init__(self, port: int):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.conn.request("GET", "/mailbox")
        answer = self.conn.getresponse()
        page = answer.read().decode()
        self.cookie = answer.getheader("Set-Cookie").split(";", 1)[0]
        self.token = _TOKEN.search(page).group(1)

    def submit(self, photo: bytes | None) -> str:
        fields = {"csrf_token": self.token, **PETITION}
        if photo is None:
            body, kind = urlencode(fields).encode(), "application/x-www-form-urlencoded"
        else:
            body, kind = _multipart(fields, photo)
        self.conn.request("POST", "/mailbox", body=body, headers={"Content-Type": kind, "Cookie": self.cookie})
        answer = self.conn.getresponse()
        page = answer.read().decode()
        if answer.status != 201:
            raise RuntimeError(f"POST /mailbox: {answer.status} {page[:300]!r}")
        return _CASE.search(page).group(1)


def _client(port: int, seconds: float, start_at: float, with_photo: bool, results) -> None:
    citizen, photo = Citizen(port), _photo() if with_photo else None
    times = []
    while time.time() < start_at:
        time.sleep(0.005)
    end = start_at + seconds
    while time.time() < end:
        began = time.perf_counter()
        citizen.submit(photo)
        times.append(time.perf_counter() - began)
    results.put(times)


def drive(port: int, clients: int, seconds: float, with_photo: bool, server_pid: int) -> dict:
    """Run the clients for `seconds`: submissions a second, p50/p95, and the server's CPU time per submission."""
    results = multiprocessing.Queue()
    start_at = time.time() + 3
    procs = [multiprocessing.Process(target=_client, args=(port, seconds, start_at, with_photo, results))
             for _ in range(clients)]
    for p in procs:
        p.start()
    time.sleep(max(0.0, start_at - time.time()))
    cpu_before = server_cpu_seconds(server_pid)
    times = sorted(t for _ in procs for t in results.get(timeout=seconds + 120))
    cpu_after = server_cpu_seconds(server_pid)
    for p in procs:
        p.join()
    cpu_ms = None if cpu_before is None or cpu_after is None else round((cpu_after - cpu_before) * 1000 / len(times), 1)
    return {"clients": clients, "photo": with_photo, "submissions": len(times),
            "per_second": round(len(times) / seconds, 1), "p50_ms": round(statistics.median(times) * 1000, 1),
            "p95_ms": round(times[int(len(times) * 0.95) - 1] * 1000, 1), "server_cpu_ms": cpu_ms}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--photo", action="store_true", help="attach a 640x480 JPEG with EXIF data to each")
    parser.add_argument("--json", type=Path, default=RESULTS_DIR / "public_intake.json")
    args = parser.parse_args()
    os.environ["PETIFLOW_MAILBOX_SUBMISSIONS_PER_HOUR"] = "100000000"
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    runs, proc = [], None
    try:
        with tempfile.TemporaryDirectory(prefix="petiflow-public-intake-") as var:
            proc, port = start_server("serve", Path(var))
            log(f"serve: on port {port}")
            for n in range(args.runs):
                result = drive(port, args.clients, args.seconds, args.photo, proc.pid)
                log(f"  run {n + 1}: {result['per_second']} submissions/s, p50 {result['p50_ms']} ms, "
                    f"p95 {result['p95_ms']} ms ({result['submissions']}), server CPU {result['server_cpu_ms']} ms each")
                runs.append(result)
            stop_server(proc)
            proc = None
    except KeyboardInterrupt:
        log("interrupted: reporting the runs that finished")
    finally:
        if proc is not None:
            stop_server(proc)
    if not runs:
        return 1
    median = statistics.median(r["per_second"] for r in runs)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"runs": runs, "median_per_second": median, "goal_per_second": 50}, indent=2))
    print(f"serve clients={args.clients} photo={args.photo}: median {median}/s over {len(runs)} runs "
          f"(goal >= 50/s): " + ", ".join(f"{r['per_second']}/s p50 {r['p50_ms']} ms" for r in runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())

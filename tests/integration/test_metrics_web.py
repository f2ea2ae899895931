"""`petiflow web` with several gunicorn processes: /metrics adds up the requests every process served."""
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.test_cli import _free_port, _stop, _wait_ready, env, run  # noqa: F401


def _workers(master: int, count: int) -> list[int]:
    """The pids of the gunicorn master's worker processes, once there are `count` of them."""
    for _ in range(100):
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        if len(children) == count:
            return [int(pid) for pid in children]
        time.sleep(0.1)
    pytest.fail(f"gunicorn did not start {count} workers")


def _health(port: int, times: int) -> None:
    for _ in range(times):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=10) as response:
            assert response.status == 200


def _served(port: int) -> float:
    """How many GET /health the server's /metrics counts."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    return sum(s.value for family in text_string_to_metric_families(text) for s in family.samples
               if s.name == "petiflow_http_request_duration_seconds_count"
               and s.labels == {"endpoint": "/health", "method": "GET", "status": "2xx"})


@pytest.mark.slow
def test_metrics_of_two_web_processes_count_the_requests_each_served(env):  # noqa: F811
    assert run("db", "upgrade")[0] == 0
    port = _free_port()
    metrics_dir = Path(env["PETIFLOW_VAR_DIR"]) / f"metrics-127.0.0.1-{port}"
    metrics_dir.mkdir(parents=True)
    (metrics_dir / "histogram_1.db").write_bytes(b"left by a server that stopped")
    proc = subprocess.Popen([sys.executable, "-c", "from api.cli import main; main()", "web",
                             "--bind", f"127.0.0.1:{port}", "--workers", "2", "--threads", "2"],
                            env={**env, "PETIFLOW_LOG_FORMAT": "json"},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        _wait_ready(port)
        first, second = _workers(proc.pid, 2)
        # Given 3 requests answered by one process and 4 by the other (a stopped process accepts none)
        for held, count in ((first, 3), (second, 4)):
            os.kill(held, signal.SIGSTOP)
            try:
                _health(port, count)
            finally:
                os.kill(held, signal.SIGCONT)
        # Then each scrape, whichever process answers it, counts all 7
        assert [_served(port), _served(port)] == [7, 7]
        assert {f"histogram_{pid}.db" for pid in (first, second)} <= {p.name for p in metrics_dir.iterdir()}
        assert not (metrics_dir / "histogram_1.db").exists()  # emptied at start
        proc.send_signal(signal.SIGTERM)
        output = proc.communicate(timeout=30)[0]
    finally:
        _stop(proc)
    # gunicorn's own lines are JSON too
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    assert any(entry["logger"] == "gunicorn.error" and "Booting worker" in entry["message"] for entry in lines)

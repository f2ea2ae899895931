"""`petiflow serve` with a REDIS_URL where nothing listens: warnings naming the broker, no traceback, not ready."""
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.integration.test_cli import _free_port

ROOT = Path(__file__).resolve().parents[2]

#: A Redis address nothing listens on.
NOWHERE = "redis://127.0.0.1:6390/0"


def _ready(port: int) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.mark.slow
def test_serve_without_its_redis_logs_one_warning_per_attempt_naming_it_and_is_not_ready(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SECRET_KEY")}
    env.update(REDIS_URL=NOWHERE, PETIFLOW_VAR_DIR=str(tmp_path / "var"), PETIFLOW_DEMO_DATA="0",
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    log_path = tmp_path / "serve.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "-c", "from api.cli import main; main()", "serve",
                                 "--port", str(port)], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)

    def output() -> str:
        return log_path.read_text(errors="replace")

    try:
        deadline = time.monotonic() + 60
        while "running at" not in output():
            assert proc.poll() is None and time.monotonic() < deadline, f"serve did not start:\n{output()}"
            time.sleep(0.1)
        while True:
            try:
                status, body = _ready(port)
                break
            except OSError:
                assert time.monotonic() < deadline, "serve does not answer"
                time.sleep(0.1)
        assert status == 503 and body["errors"]["failed"] == ["broker"]
        assert body["message"] == "Message broker unreachable (ConnectionError); see the server log."
        broken = f"the message broker at {NOWHERE} is unavailable (ConnectionError: Error 111 connecting to 127.0.0.1:6390. Connection refused.); retrying"
        for what in ("timer sweep", "fetching messages"):
            line = f"{what} failed again (2 in a row), {broken}"
            while line not in output():
                assert time.monotonic() < deadline, f"no {line!r} in:\n{output()}"
                time.sleep(0.1)
    finally:
        proc.terminate()
        proc.wait(15)
    text = output()
    assert f"timer sweep failed, {broken}" in text and f"outbox relay sweep failed, {broken}" in text
    assert f"fetching messages failed, {broken}" in text
    assert text.count("fetching messages failed again (2 in a row)") == 1  # one line per attempt, not per consumer
    assert "Traceback" not in text and " ERROR " not in text and "CRITICAL" not in text

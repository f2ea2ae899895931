"""The `petiflow` command: migrate, deploy, seed, and serve in embedded mode like a user would."""
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from click.testing import CliRunner

from api.cli import main


@pytest.fixture
def env(tmp_path, monkeypatch):
    """A fresh embedded installation: its own var/ folder, no DATABASE_URL or REDIS_URL."""
    for name in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PETIFLOW_VAR_DIR", str(tmp_path / "var"))
    return {k: v for k, v in os.environ.items()}


def run(*args):
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_deploy_before_migrating_says_what_to_run(env):
    code, output = run("deploy")
    assert code == 1 and "petiflow db upgrade" in output


def test_upgrade_check_deploy_and_seed_are_idempotent(env):
    from engine.migrate import head_revision
    assert run("db", "upgrade") == (0, f"database schema: empty -> {head_revision()}\n")
    assert run("db", "check")[0] == 0
    code, output = run("deploy")
    assert code == 0 and "petition: version 1 (new)" in output
    assert "petition: version 1 (unchanged)" in run("deploy")[1]
    code, output = run("seed-demo")
    assert code == 0 and "3 cases" in output
    assert "nothing loaded" in run("seed-demo")[1]


def test_broken_workflows_folder_is_refused_naming_the_file(env, tmp_path):
    folder = tmp_path / "flows"
    folder.mkdir()
    (folder / "broken.bpmn").write_text("<definitions>", encoding="utf-8")
    run("db", "upgrade")
    code, output = run("deploy", "--dir", str(folder))
    assert code == 1 and "broken.bpmn" in output and "nothing changed" in output


def test_worker_and_scheduler_refuse_to_start_without_redis(env):
    assert run("worker")[0] == 1
    assert run("scheduler")[0] == 1


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url):
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, json.loads(response.read())


@pytest.mark.slow
def test_serve_starts_embedded_mode_with_demo_data_and_answers(env):
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-c", "from api.cli import main; main()", "serve", "--port", str(port)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        banner = ""
        deadline = time.monotonic() + 60
        while "running at" not in banner and time.monotonic() < deadline:
            line = proc.stdout.readline()
            assert line, f"serve exited early: {banner}"
            banner += line
        assert f"http://127.0.0.1:{port}/" in banner and "demo data loaded" in banner
        for _ in range(50):
            try:
                status, body = _get(f"http://127.0.0.1:{port}/ready")
                break
            except OSError:
                time.sleep(0.1)
        assert (status, body["status"]) == (200, "ready")
        assert _get(f"http://127.0.0.1:{port}/openapi.json")[1]["info"]["title"] == "petiflow"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
            page = response.read().decode()
        assert "petiflow" in page and "caseworker" in page  # the demo petitions wait at their agencies
        # Dozens of staff browsers each keep idle connections open: the server still answers.
        idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(200)]
        try:
            time.sleep(0.5)
            assert _get(f"http://127.0.0.1:{port}/health")[0] == 200
        finally:
            for connection in idle:
                connection.close()
    finally:
        proc.terminate()
        proc.wait(15)
        proc.stdout.close()

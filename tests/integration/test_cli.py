"""The `petiflow` command: migrate, deploy, seed, and serve in embedded mode like a user would."""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import unicodedata
import urllib.request

import pytest
from click.testing import CliRunner
from sqlalchemy.engine import make_url

from api.cli import main
from tests.conftest import PG_URL, _require_pg


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


def fails(*args):
    """Exit code and stderr of a command expected to fail: one line, no traceback."""
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stderr


def test_deploy_before_migrating_says_what_to_run(env):
    code, output = run("deploy")
    assert code == 1 and "petiflow db upgrade" in output


def test_upgrade_check_deploy_and_seed_are_idempotent(env):
    from engine.store.migrate import head_revision
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


def _bundle_folder(tmp_path, form: str, schema: str | None):
    """A folder holding approval.bpmn, its chase task's form renamed `form`, and forms/`form` if a schema is given."""
    from tests.conftest import DATA
    folder = tmp_path / "flows"
    (folder / "forms").mkdir(parents=True)
    xml = (DATA / "approval.bpmn").read_text(encoding="utf-8")
    assert 'value="chase_overdue.json"' in xml
    (folder / "approval.bpmn").write_text(xml.replace('value="chase_overdue.json"', f'value="{form}"'),
                                          encoding="utf-8")
    if schema is not None:
        (folder / "forms" / form).write_text(schema, encoding="utf-8")
    return folder


def test_deploy_from_a_folder_checks_its_diagrams_against_that_folders_forms(env, tmp_path):
    from engine.settings import PROJECT_ROOT
    assert (PROJECT_ROOT / "workflows" / "forms" / "chase_overdue.json").is_file()  # the configured folder has it
    run("db", "upgrade")

    # A form the configured workflows folder has, missing from the bundle's own forms: refused.
    missing = _bundle_folder(tmp_path / "a", "chase_overdue.json", None)
    code, output = run("deploy", "--dir", str(missing))
    assert code == 1 and "nothing changed" in output
    assert "form 'chase_overdue.json' does not exist" in output and str(missing / "forms") in output

    # The bundle's own copy of that form is broken: refused.
    broken = _bundle_folder(tmp_path / "b", "chase_overdue.json", '{"type": "no such type"}')
    code, output = run("deploy", "--dir", str(broken))
    assert code == 1 and "not a valid JSON Schema" in output and "approval.bpmn" in output

    # A form only the bundle has: deployed, checked with the bundle's forms.
    own = _bundle_folder(tmp_path / "c", "chase_in_the_bundle.json", '{"type": "object"}')
    code, output = run("deploy", "--dir", str(own))
    assert (code, output) == (0, "approval: version 1 (new)\n")


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


def _start_serve(env, port):
    """`petiflow serve` in a process of its own, once it says it is running; and what it said."""
    proc = subprocess.Popen([sys.executable, "-c", "from api.cli import main; main()", "serve", "--port", str(port)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    banner = ""
    deadline = time.monotonic() + 60
    while "running at" not in banner and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            proc.kill()
            proc.wait()
            proc.stdout.close()
            pytest.fail(f"serve exited early: {banner}")
        banner += line
    return proc, banner


def _stop(proc):
    if proc.poll() is None:
        proc.kill()
    proc.wait(15)
    proc.stdout.close()


def _wait_ready(port):
    for _ in range(50):
        try:
            return _get(f"http://127.0.0.1:{port}/ready")
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"nothing answers on port {port}")


@pytest.mark.slow
def test_serve_starts_embedded_mode_with_demo_data_and_answers(env):
    port = _free_port()
    proc, banner = _start_serve(env, port)
    try:
        assert f"http://127.0.0.1:{port}/" in banner and "demo data loaded" in banner
        status, body = _wait_ready(port)
        assert (status, body["status"]) == (200, "ready")
        assert _get(f"http://127.0.0.1:{port}/api/v1/openapi.json")[1]["info"]["title"] == "petiflow"
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
        _stop(proc)


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl+C"])
def test_sigterm_stops_serve_in_order_like_ctrl_c(env, signum):
    env = {**env, "PETIFLOW_DEMO_DATA": "0"}
    port = _free_port()
    proc, _ = _start_serve(env, port)
    try:
        assert _wait_ready(port)[0] == 200
        proc.send_signal(signum)
        output = proc.communicate(timeout=30)[0]
    finally:
        _stop(proc)
    assert proc.returncode == 0, output
    assert "petiflow is stopping: waiting for the worker and the scheduler" in output
    assert "Worker has been shut down" in output and output.rstrip().endswith("petiflow stopped")
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_serve_on_a_port_in_use_says_so_and_starts_nothing(env):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(main, ["serve", "--port", str(port)], catch_exceptions=False)
    assert result.exit_code == 1
    assert result.stderr == (f"petiflow: port {port} on 127.0.0.1 is in use (another petiflow?); "
                             "set PETIFLOW_PORT or --port\n")
    assert "running at" not in result.output
    assert not [t.name for t in threading.enumerate() if t.name.startswith(("petiflow-", "waitress-"))]


def test_serve_refuses_a_port_out_of_range(env):
    def serve(*args, **variables):  # a process: before the check, serve listened on some other port
        return subprocess.run([sys.executable, "-c", "from api.cli import main; main()", "serve", *args],
                              env={**env, **variables}, capture_output=True, text=True, timeout=60)
    refused = serve("--port", "99999")
    assert refused.returncode == 2 and "99999 is not in the range 1<=x<=65535" in refused.stderr
    refused = serve(PETIFLOW_PORT="99999")
    assert (refused.returncode, refused.stderr) == (
        1, "petiflow: PETIFLOW_PORT must be a port number from 1 to 65535, not '99999'\n")


_EXAMPLES = "use sqlite:///path/to/petiflow.sqlite3 or postgresql://user:password@host:5432/database"


@pytest.mark.parametrize("variable, value, message", [
    ("DATABASE_URL", "garbage", f"DATABASE_URL 'garbage' is not a database URL: {_EXAMPLES}"),
    ("DATABASE_URL", "mysql://petiflow:secret@127.0.0.1/petiflow",
     f"DATABASE_URL 'mysql://petiflow:***@127.0.0.1/petiflow' is a mysql URL; petiflow supports sqlite and "
     f"postgresql: {_EXAMPLES}"),
    ("DATABASE_URL", "postgresql://postgres:secret@127.0.0.1:5999/petiflow",
     "cannot reach the database at postgresql://postgres:***@127.0.0.1:5999/petiflow: Connection refused"),
    ("PETIFLOW_PORT", "abc", "PETIFLOW_PORT must be a port number from 1 to 65535, not 'abc'"),
    ("PETIFLOW_SCRIPT_TIME_LIMIT", "abc",
     "PETIFLOW_SCRIPT_TIME_LIMIT must be a number of seconds above zero such as 2.0, not 'abc'"),
    ("PETIFLOW_TIMEZONE", "Mars/Olympus", "PETIFLOW_TIMEZONE must be a time zone name such as Asia/Taipei, "
     "not 'Mars/Olympus'"),
    ("PETIFLOW_DEMO_DATA", "maybe", "PETIFLOW_DEMO_DATA must be 1 or 0 (true/false, yes/no, on/off), not 'maybe'"),
    ("PETIFLOW_SQL_ECHO", "loud", "PETIFLOW_SQL_ECHO must be 1 or 0 (true/false, yes/no, on/off), not 'loud'"),
    ("PETIFLOW_VAR_DIR", "/proc/petiflow",
     "PETIFLOW_VAR_DIR '/proc/petiflow' cannot hold petiflow's data: No such file or directory"),
    ("PETIFLOW_SMTP_PORT", "smtp", "PETIFLOW_SMTP_PORT must be a port number from 1 to 65535, not 'smtp'"),
    ("PETIFLOW_SMTP_STARTTLS", "sure", "PETIFLOW_SMTP_STARTTLS must be 1 or 0 (true/false, yes/no, on/off), "
     "not 'sure'"),
    ("PETIFLOW_WEBHOOK_URL", "sms.city.example/notify?token=s3cret",
     "PETIFLOW_WEBHOOK_URL must be an http(s) URL such as https://sms.city.example/notify, not a 'scheme-less' one"),
    ("PETIFLOW_REDIS_HEARTBEAT_MS", "1.5",
     "PETIFLOW_REDIS_HEARTBEAT_MS must be a whole number above zero, not '1.5'"),
    ("PETIFLOW_MAX_ATTACHMENT_MB", "20.5",
     "PETIFLOW_MAX_ATTACHMENT_MB must be a whole number of MiB from 1 to 1024, not '20.5'"),
], ids=["not a URL", "MySQL", "refused", "port", "script time limit", "time zone", "demo data", "sql echo",
        "var dir", "smtp port", "starttls", "webhook url", "redis heartbeat", "attachment limit"])
@pytest.mark.parametrize("command", [("db", "check"), ("db", "upgrade"), ("deploy",), ("calendar", "show")],
                         ids=" ".join)
def test_a_setting_that_cannot_work_is_named_in_one_line(env, monkeypatch, command, variable, value, message):
    monkeypatch.setenv(variable, value)
    assert fails(*command) == (1, f"petiflow: {message}\n")


@pytest.mark.postgres
@pytest.mark.parametrize("change, reason", [
    ({"database": "petiflow_no_such_db"}, 'database "petiflow_no_such_db" does not exist'),
    ({"username": "petiflow_no_such_user", "password": "secret", "database": "postgres"},
     'role "petiflow_no_such_user" does not exist'),
], ids=["no such database", "no such user"])
def test_a_postgresql_server_that_refuses_says_why(env, monkeypatch, change, reason):
    _require_pg(PG_URL)
    url = make_url(PG_URL).set(**change)
    monkeypatch.setenv("DATABASE_URL", url.render_as_string(hide_password=False))
    code, stderr = fails("db", "check")
    assert code == 1 and "secret" not in stderr
    assert stderr == f"petiflow: cannot reach the database at {url.render_as_string()}: {reason}\n"


@pytest.mark.parametrize("command", ["scheduler", "worker"])
def test_a_redis_url_that_is_not_one_is_named(env, monkeypatch, command):
    monkeypatch.setenv("REDIS_URL", "notaurl")
    assert fails(command) == (1, "petiflow: REDIS_URL 'notaurl' is not a Redis URL: use redis://host:6379/0 "
                                 "(or rediss://, unix://)\n")


def test_check_on_an_empty_database_says_to_upgrade(env, tmp_path):
    code, stderr = fails("db", "check")
    assert (code, stderr) == (1, f"petiflow: the database at sqlite:///{tmp_path}/var/petiflow.sqlite3 is empty "
                                 "(no schema): run `petiflow db upgrade` first\n")


def test_deploy_refuses_a_folder_without_diagrams_or_that_does_not_exist(env, monkeypatch, tmp_path):
    run("db", "upgrade")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert fails("deploy", "--dir", str(empty)) == (1, f"petiflow: no BPMN or DMN files in {empty}; nothing deployed\n")
    missing = tmp_path / "missing"
    assert fails("deploy", "--dir", str(missing)) == (
        1, f"petiflow: the workflows folder {missing} does not exist; nothing deployed\n")
    monkeypatch.setenv("PETIFLOW_WORKFLOWS_DIR", str(missing))
    assert fails("deploy") == (
        1, f"petiflow: the workflows folder {missing} (PETIFLOW_WORKFLOWS_DIR) does not exist; nothing deployed\n")


def test_an_impossible_date_is_called_that_and_usage_shows_the_format(env):
    code, output = run("calendar", "close", "2026-13-40", "--reason", "颱風停班")
    assert code == 2 and "2026-13-40 is not a date (YYYY-MM-DD)" in output and "%Y" not in output
    assert "calendar close [OPTIONS] YYYY-MM-DD" in run("calendar", "close", "--help")[1]
    assert "--from YYYY-MM-DD" in run("calendar", "show", "--help")[1]


def test_a_refused_import_says_nothing_changed_once(env, tmp_path):
    run("db", "upgrade")
    table = tmp_path / "bad.csv"
    table.write_text("西元日期,星期,是否放假,備註\n20250101,三,9,開國紀念日\n", encoding="utf-8")
    code, stderr = fails("calendar", "import-dgpa", str(table))
    assert code == 1 and "petiflow: refused, nothing changed: bad.csv, line 2" in stderr
    assert stderr.count("nothing") == 1


def _columns(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def test_timers_list_lines_up_columns_holding_chinese(env):
    run("db", "upgrade")
    run("seed-demo")
    code, output = run("timers", "list")
    header, *lines = output.splitlines()
    tries = _columns(header[:header.index("TRIES")])
    rows = [re.match(r"(.*答復逾期 +)\d", line) for line in lines]
    assert code == 0 and any(rows)
    assert {_columns(row.group(1)) for row in rows if row} == {tries}


def test_seed_demo_says_which_processes_it_deployed(env):
    run("db", "upgrade")
    code, output = run("seed-demo")
    assert code == 0
    assert "deployed petition version 1" in output and "3 cases" in output


@pytest.mark.slow
def test_serve_without_demo_data_warns_that_cases_would_get_no_deadlines(env):
    env = {**env, "PETIFLOW_DEMO_DATA": "0"}
    port = _free_port()
    proc, banner = _start_serve(env, port)
    try:
        assert "petiflow: no deadline rules: new cases get no deadline; run `petiflow deadlines load-defaults`" \
            in banner
        assert "petiflow: no public holidays for" in banner and "calendar load-holidays" in banner
    finally:
        proc.terminate()
        _stop(proc)


@pytest.mark.slow
def test_web_serves_requests_from_gunicorn_threads(env):
    assert run("db", "upgrade")[0] == 0
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-c", "from api.cli import main; main()", "web",
                             "--bind", f"127.0.0.1:{port}", "--workers", "1", "--threads", "2"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        status, body = _wait_ready(port)
        assert (status, body["status"]) == (200, "ready")
        proc.send_signal(signal.SIGTERM)
        output = proc.communicate(timeout=30)[0]
    finally:
        _stop(proc)
    assert "Using worker: gthread" in output
    if "Control socket" in output:  # gunicorn 25.1+: in petiflow's var folder, so two servers never share one
        assert env["PETIFLOW_VAR_DIR"] in output


@pytest.mark.parametrize("value, expected", [("off", False), ("No", False), ("on", True), ("TRUE", True)])
def test_yes_and_no_settings_take_the_usual_spellings(value, expected):
    from engine.settings import Settings
    assert Settings.from_env({"PETIFLOW_DEMO_DATA": value, "SECRET_KEY": "k"}).load_demo_data is expected


def test_a_postgres_url_in_its_short_form_is_taken_as_postgresql():
    from engine.settings import Settings
    settings = Settings.from_env({"DATABASE_URL": "postgres://petiflow@db.city.example/petiflow", "SECRET_KEY": "k"})
    assert settings.database_url == "postgresql://petiflow@db.city.example/petiflow"


@pytest.mark.parametrize("env_vars, starttls", [
    ({}, False), ({"PETIFLOW_SMTP_USER": "petiflow"}, True),
    ({"PETIFLOW_SMTP_USER": "petiflow", "PETIFLOW_SMTP_STARTTLS": "off"}, False),
    ({"PETIFLOW_SMTP_STARTTLS": "yes"}, True)], ids=["anonymous", "login", "login without", "anonymous with"])
def test_mail_and_webhook_settings_are_read_with_the_rest(env_vars, starttls):
    from engine.settings import Settings
    settings = Settings.from_env({"SECRET_KEY": "k", "PETIFLOW_SMTP_HOST": "mail.city.example",
                                  "PETIFLOW_SMTP_PORT": "587", "PETIFLOW_WEBHOOK_URL": "https://sms.city.example/n",
                                  "PETIFLOW_WEBHOOK_TIMEOUT": "3.5", **env_vars})
    assert (settings.email.host, settings.email.port, settings.email.starttls) == ("mail.city.example", 587, starttls)
    assert (settings.webhook.url, settings.webhook.timeout) == ("https://sms.city.example/n", 3.5)


def test_serve_on_a_host_that_is_not_one_says_so(env, monkeypatch):
    monkeypatch.setenv("PETIFLOW_HOST", "no.such.host.invalid")
    result = CliRunner().invoke(main, ["serve", "--port", str(_free_port())], catch_exceptions=False)
    assert result.exit_code == 1
    assert result.stderr.startswith("petiflow: cannot listen on no.such.host.invalid port ")
    assert "Traceback" not in result.output


def test_web_refuses_zero_workers_or_threads(env):
    for option in ("--workers", "--threads"):
        result = CliRunner().invoke(main, ["web", option, "0"])
        assert result.exit_code == 2 and "0 is not in the range" in result.output


@pytest.mark.parametrize(("args", "error"), [
    (["worker", "--processes", "0"], "Invalid value for '--processes': 0 is not in the range 1<=x<=64."),
    (["worker", "--threads", "0"], "Invalid value for '--threads': 0 is not in the range 1<=x<=256."),
    (["worker", "--threads", "-3"], "Invalid value for '--threads': -3 is not in the range 1<=x<=256."),
    (["scheduler", "--interval", "-1"], "Invalid value for '--interval': -1.0 is not in the range 0.05<=x<=3600."),
    (["scheduler", "--interval", "0"], "Invalid value for '--interval': 0.0 is not in the range 0.05<=x<=3600."),
    (["scheduler", "--interval", "nan"], "Invalid value for '--interval': 'nan' is not a number of seconds."),
])
def test_worker_and_scheduler_refuse_counts_and_intervals_that_cannot_work_naming_the_option(env, args, error):
    # Checked before anything else, REDIS_URL (unset here) included: nothing starts.
    code, stderr = fails(*args)
    assert code == 2
    assert [line for line in stderr.splitlines() if line.startswith("Error:")] == [f"Error: {error}"]
    assert "Traceback" not in stderr and "REDIS_URL" not in stderr


def test_db_backup_writes_a_checked_copy_and_never_overwrites(env, tmp_path):
    code, stderr = fails("db", "backup", str(tmp_path / "empty.sqlite3"))  # a wrong PETIFLOW_VAR_DIR, say
    assert code == 1 and stderr.startswith("petiflow: there is no database at sqlite:///") and "nothing to back up" in stderr
    assert not list(tmp_path.rglob("*.sqlite3*"))  # neither a backup nor a new, empty database
    assert run("db", "upgrade")[0] == 0
    target = tmp_path / "petiflow-2026-11-26.sqlite3"
    code, output = run("db", "backup", str(target))
    assert code == 0 and f"to {target}: " in output and output.rstrip().endswith("integrity check ok")
    assert fails("db", "backup", str(target)) == (
        1, f"petiflow: {target} already exists: choose a new file name (a backup never overwrites)\n")

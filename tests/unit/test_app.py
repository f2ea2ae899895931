"""The web app: probes, the OpenAPI document, and one JSON error shape for every error."""
from __future__ import annotations

import logging

import marshmallow as ma
import pytest
from flask_smorest import Blueprint

from api.app import create_app
from api.errors import GENERIC_500_MESSAGE
from engine import errors
from engine.settings import Settings
from engine.store import migrate
from tests.unit.conftest_api import app, app_settings, client, make_app  # noqa: F401

#: The keys of the error shape, flask-smorest's Error schema plus `error`.
SHAPE = {"code", "status", "error", "message", "errors"}


class Unlisted(errors.PetiflowError):
    """An engine error the status table does not name."""

    code = "unlisted"


class StaleCase(errors.Conflict):
    """A subclass of a listed error."""

    code = "stale_case"


def _raises(app, exc: Exception) -> None:
    def view():
        raise exc
    app.add_url_rule("/boom", "boom", view)


def test_health_is_200_without_touching_the_database(make_app, tmp_path):
    app = make_app(_unreachable_pg_settings(tmp_path), migrated=False)
    response = app.test_client().get("/health")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_ready_is_200_on_a_migrated_database(client):
    response = client.get("/ready")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ready", "database": "ok", "migrations": "current",
                                   "revision": migrate.head_revision()}


def test_ready_reports_migrations_behind_with_503(make_app, app_settings):
    app = make_app(app_settings, migrated=False)
    response = app.test_client().get("/ready")
    body = response.get_json()
    assert response.status_code == 503
    assert set(body) == SHAPE and body["error"] == "not_ready"
    assert f"code expects {migrate.head_revision()}" in body["message"]
    assert "petiflow db upgrade" in body["message"]
    assert body["errors"]["migrations"] == "behind"


def test_ready_reports_unreachable_database_with_503(make_app, tmp_path):
    app = make_app(_unreachable_pg_settings(tmp_path), migrated=False)
    response = app.test_client().get("/ready")
    body = response.get_json()
    assert response.status_code == 503
    assert body["error"] == "not_ready"
    assert body["message"].startswith("Database unreachable")
    assert "127.0.0.1" not in body["message"]


def test_unknown_url_gets_json_404_in_the_error_shape(client):
    response = client.get("/no/such/page")
    body = response.get_json()
    assert response.status_code == 404
    assert set(body) == SHAPE
    assert (body["code"], body["status"], body["error"]) == (404, "Not Found", "not_found")
    assert body["message"]


def test_wrong_method_gets_405_with_allow_header(client):
    response = client.post("/health")
    assert response.status_code == 405
    assert response.content_type == "application/json"
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}
    assert response.get_json()["error"] == "method_not_allowed"


@pytest.mark.parametrize(("error", "status"), [
    (errors.InvalidInput("Title is too short.", details={"title": ["too short"]}), 400),
    (errors.NotFound("Case 2026-000123 does not exist."), 404),
    (errors.Forbidden("Only the assignee may complete this task."), 403),
    (errors.Conflict("The task was completed by someone else."), 409),
    (errors.InvalidDefinition("no start event", file="intake.bpmn", line=3, element_id="p1"), 422),
    (errors.WorkflowFailed("The routing gateway matched no flow."), 422),
    (errors.NotReady("The database is unreachable."), 503),
    (errors.ActionFailed("No engine action is named 'sms'."), 422),
    (errors.DeliveryRejected("invalid e-mail address 'x'"), 502),
    (Unlisted("Something petiflow did not plan a status for."), 400),
    (StaleCase("The case changed since you read it."), 409),
], ids=lambda v: type(v).__name__ if isinstance(v, Exception) else str(v))
def test_engine_errors_map_to_their_statuses(app, error, status):
    _raises(app, error)
    response = app.test_client().get("/boom")
    body = response.get_json()
    assert response.status_code == status
    assert set(body) == SHAPE
    assert (body["code"], body["error"], body["message"]) == (status, error.code, error.message)
    assert body["errors"] == error.details


def test_invalid_definition_says_where_the_fault_is(app):
    _raises(app, errors.InvalidDefinition("no start event", file="intake.bpmn", line=3,
                                          element_id="p1"))
    body = app.test_client().get("/boom").get_json()
    assert body["message"] == "intake.bpmn, line 3, element 'p1': no start event"
    assert body["errors"] == {"file": "intake.bpmn", "line": 3, "element_id": "p1"}


def test_validation_errors_get_422_in_the_same_shape(app):
    class PetitionSchema(ma.Schema):
        title = ma.fields.String(required=True)

    blp = Blueprint("throwaway", __name__)

    @blp.route("/petitions", methods=["POST"])
    @blp.arguments(PetitionSchema)
    def submit(data):
        return data

    app.register_blueprint(blp)
    response = app.test_client().post("/petitions", json={})
    body = response.get_json()
    assert response.status_code == 422
    assert set(body) == SHAPE and body["error"] == "invalid_input"
    assert body["errors"] == {"json": {"title": ["Missing data for required field."]}}


def test_unexpected_exception_gets_generic_500_without_internals(app, caplog):
    _raises(app, RuntimeError("password=hunter2 at /srv/petiflow/secret.py"))
    with caplog.at_level(logging.ERROR, logger="api.errors"):
        response = app.test_client().get("/boom")
    assert response.status_code == 500
    assert response.get_json() == {"code": 500, "status": "Internal Server Error",
                                   "error": "internal_server_error",
                                   "message": GENERIC_500_MESSAGE, "errors": {}}
    assert "hunter2" not in response.get_data(as_text=True)
    [record] = [r for r in caplog.records if r.name == "api.errors"]
    assert record.exc_info and "hunter2" in str(record.exc_info[1])


def test_openapi_document_lists_health_and_ready(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"] == "3.0.3"
    assert (doc["info"]["title"], doc["info"]["version"]) == ("petiflow", "v1")
    assert doc["paths"]["/health"]["get"]["responses"]["200"]
    ready = doc["paths"]["/ready"]["get"]["responses"]
    assert ready["200"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Ready"}
    assert ready["503"] == {"$ref": "#/components/responses/SERVICE_UNAVAILABLE"}
    assert set(doc["components"]["schemas"]["Error"]["properties"]) == SHAPE


def test_the_api_docs_page_loads_nothing_from_another_site(client):
    page = client.get("/api/v1/docs").get_data(as_text=True)
    assert "http://" not in page and "https://" not in page and "<script>" not in page and "style=" not in page


def test_app_reads_settings_from_the_environment_when_none_are_given(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'env.sqlite3'}")
    monkeypatch.setenv("PETIFLOW_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("SECRET_KEY", "from-env")
    app = create_app()
    try:
        assert app.config["SECRET_KEY"] == "from-env"
        assert app.extensions["petiflow"].settings.database_url.endswith("env.sqlite3")
    finally:
        app.extensions["petiflow"].close()


def test_app_uses_the_runtime_it_is_given(app):
    runtime = app.extensions["petiflow"]
    again = create_app(runtime=runtime)
    assert again.extensions["petiflow"] is runtime
    assert again.config["SECRET_KEY"] == "test"


def _unreachable_pg_settings(tmp_path):
    # Port 1 refuses at once; the timeout only bounds the worst case.
    return Settings(database_url="postgresql://petiflow@127.0.0.1:1/petiflow?connect_timeout=1",
                    var_dir=tmp_path, secret_key="test")


def test_lost_database_connection_is_a_503_to_retry_not_a_500(app):
    from sqlalchemy.exc import OperationalError
    _raises(app, OperationalError("SELECT 1", {}, Exception("server closed the connection")))
    response = app.test_client().get("/boom")
    assert response.status_code == 503
    assert response.get_json()["error"] == "not_ready"
    assert "server closed" not in response.get_data(as_text=True)


def test_home_page_shows_open_cases_and_the_inbox_by_role(app):
    from engine.services.cases import StartCase, start_case
    from engine.services.deployment import DeployBundle, deploy_bundle
    from tests.conftest import bundle
    runtime = app.extensions["petiflow"]
    with runtime.uow() as uow:
        deploy_bundle(DeployBundle(bundle("approval.bpmn")), uow)
        start_case(StartCase("petition", process_key="approval"), uow)
        uow.commit()
    response = app.test_client().get("/")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert "Reply with approval" in page and "v1" in page
    assert "分案人員" in page and "dispatcher" in page  # the role as staff call it, and its code


def test_a_page_on_a_database_never_migrated_is_a_503_saying_what_to_run_not_a_500(make_app, app_settings):
    app = make_app(app_settings, migrated=False)  # `petiflow web` started before `petiflow db upgrade`
    response = app.test_client().get("/")
    assert response.status_code == 503
    body = response.get_json()
    assert body["error"] == "not_ready" and "petiflow db upgrade" in body["message"]
    assert "no such table" not in response.get_data(as_text=True)


@pytest.mark.parametrize("message, behind", [
    ("no such table: process_definitions", True), ("no such column: work_items.deadline_mode", True),
    ("database is locked", False),
])
def test_a_missing_table_or_column_means_the_schema_is_behind(message, behind):
    import sqlite3

    from sqlalchemy.exc import OperationalError

    from engine.errors import is_schema_behind
    assert is_schema_behind(OperationalError("SELECT 1", {}, sqlite3.OperationalError(message))) is behind


def test_postgresqls_undefined_table_and_column_mean_the_schema_is_behind():
    import psycopg.errors as pg
    from sqlalchemy.exc import ProgrammingError

    from engine.errors import is_schema_behind
    for missing in (pg.UndefinedTable('relation "cases" does not exist'),
                    pg.UndefinedColumn("column work_items.deadline_mode does not exist")):
        assert is_schema_behind(ProgrammingError("SELECT 1", {}, missing))
    assert not is_schema_behind(ProgrammingError("SELECT 1", {}, pg.SyntaxError("syntax error")))


def test_startup_warns_of_missing_deadline_rules_and_holidays_on_either_database(runtime):
    """What `petiflow serve` prints when a city has not loaded its rules or calendar yet."""
    from api.cli import _reference_data_warnings
    from engine.services.calendar_admin import LoadPublicHolidays, load_public_holidays
    warnings = _reference_data_warnings(runtime)
    assert [w.split(":")[0] for w in warnings] == ["no deadline rules", "no public holidays for 2026"]
    with runtime.uow() as uow:
        load_public_holidays(LoadPublicHolidays(2026), uow)
        uow.commit()
    assert [w.split(":")[0] for w in _reference_data_warnings(runtime)] == ["no deadline rules"]


@pytest.mark.parametrize("path, status", [("/", 200), ("/health", 200), ("/ready", 200), ("/api/v1/openapi.json", 200),
                                          ("/no-such-page", 404), ("/static/petiflow.css", 200)])
def test_every_response_tells_the_browser_to_keep_to_petiflows_own_content(client, path, status):
    response = client.get(path)
    response.close()  # a static file is sent from an open file
    assert response.status_code == status
    assert response.headers["Content-Security-Policy"].startswith("default-src 'self'; script-src 'self';")
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert (response.headers["X-Content-Type-Options"], response.headers["X-Frame-Options"],
            response.headers["Referrer-Policy"]) == ("nosniff", "DENY", "same-origin")
    if response.mimetype == "application/json":
        assert response.headers["Cache-Control"] == "no-store"


def test_the_page_keeps_to_the_policy_with_its_stylesheet_and_no_inline_code(client):
    page = client.get("/").get_data(as_text=True)
    assert '<link rel="stylesheet" href="/static/petiflow.css">' in page
    assert "<style" not in page and "<script" not in page and " style=" not in page
    with client.get("/static/petiflow.css") as css:
        assert css.mimetype == "text/css" and "#1d4e89" in css.get_data(as_text=True)

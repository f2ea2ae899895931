"""The API's own OpenAPI document, and the interactive docs the app serves under its content security policy."""
from __future__ import annotations

from pathlib import Path

import pytest

from api.docs import BUNDLE

STATIC = Path(__file__).resolve().parents[2] / "api" / "static"


@pytest.fixture
def doc(api):
    return api.app.test_client().get("/api/v1/openapi.json").get_json()


def test_every_staff_operation_is_documented_as_needing_a_session_or_a_token(doc):
    staff = {(path, method): op for path, ops in doc["paths"].items() if path.startswith("/api/v1/")
             for method, op in ops.items() if method in {"get", "post", "put", "patch", "delete"}}
    assert ("/api/v1/inbox", "get") in staff and ("/api/v1/work-items/{work_item_id}/complete", "post") in staff
    open_to_all = {key for key, op in staff.items() if op.get("security") == []}
    assert open_to_all == {("/api/v1/session", "post")}
    assert all(op["security"] == [{"session": []}, {"token": []}] for key, op in staff.items() if key not in open_to_all)
    assert set(doc["components"]["securitySchemes"]) == {"session", "token"}


def test_every_operation_documents_its_error_answers_in_the_one_shape(doc):
    for path, ops in doc["paths"].items():
        for method, op in ((m, op) for m, op in ops.items() if m != "parameters"):
            assert "default" in op["responses"] or any(code.startswith(("4", "5")) for code in op["responses"]), \
                (method, path)


@pytest.mark.skipif(not (STATIC / BUNDLE).is_file(), reason="the docs bundle is built by `make setup` (npm)")
def test_the_interactive_docs_are_served_from_the_app_itself(api):
    client = api.app.test_client()
    page = client.get("/api/v1/docs")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'src="/static/build/api-docs.js"' in html
    assert "<script>" not in html and "style=" not in html and "https://" not in html
    script = client.get("/static/build/api-docs.js")
    assert script.status_code == 200 and b"/api/v1/openapi.json" in script.get_data()
    script.close()

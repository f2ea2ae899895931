"""Schemathesis against the app's own OpenAPI document: every operation, signed in as an
administrator and as a caseworker, every check on, a fixed seed: no server error, no answer
outside the schema."""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.unit.queries_city import taipei

pytestmark = pytest.mark.slow

CHECKS = [schemathesis.checks.not_a_server_error, schemathesis.checks.status_code_conformance,
          schemathesis.checks.content_type_conformance, schemathesis.checks.response_schema_conformance,
          schemathesis.checks.response_headers_conformance, schemathesis.checks.negative_data_rejection,
          schemathesis.checks.missing_required_header, schemathesis.checks.unsupported_method,
          schemathesis.checks.use_after_free, schemathesis.checks.ensure_resource_availability,
          schemathesis.checks.ignored_auth]


@pytest.fixture(params=["admin", "cw.roads"])
def signed_in(request, api):
    """The app with some work in it, and a bearer token of one of its users."""
    for day in (16, 24):
        api.open_case(taipei(day), process="form_reply")
    api.clock.set(taipei(26, 10))
    return api, api.token(request.param)


def test_the_api_keeps_to_its_own_document(signed_in):
    api, token = signed_in
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", api.app)

    @schema.auth()
    class BearerToken:
        def get(self, case, context):
            return token

        def set(self, case, data, context):
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}

    failures = {}
    for loaded in schema.get_all_operations():
        operation = loaded.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=25, derandomize=True, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case):
            case.call_and_validate(checks=CHECKS)

        try:
            check()
        except (Exception, BaseExceptionGroup) as failure:  # every operation's failures, reported at once
            failures[operation.label] = f"{type(failure).__name__}: {failure}"[:3000]
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())

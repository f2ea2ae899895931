"""API fixtures: the small city of the query tests behind the web app, and clients acting as its staff.

Staff call the API with personal access tokens (made through the service, as POST /api/v1/tokens
does), which keeps each test free of password hashing; the sign-in tests use passwords.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest

from api.app import create_app
from engine.services.access_tokens import CreateAccessToken, create_access_token
from tests.conftest import bundle
from tests.unit.queries_city import City, build_city


@dataclass
class Caller:
    """A test client acting as one user with a bearer token (or as nobody)."""

    client: object
    token: str | None

    def _headers(self, headers):
        headers = dict(headers or {})
        if self.token is not None:
            headers.setdefault("Authorization", f"Bearer {self.token}")
        return headers

    def get(self, path, **kw):
        return self.client.get(path, headers=self._headers(kw.pop("headers", None)), **kw)

    def post(self, path, **kw):
        return self.client.post(path, headers=self._headers(kw.pop("headers", None)), **kw)

    def put(self, path, **kw):
        return self.client.put(path, headers=self._headers(kw.pop("headers", None)), **kw)

    def delete(self, path, **kw):
        return self.client.delete(path, headers=self._headers(kw.pop("headers", None)), **kw)


@dataclass
class ApiCity(City):
    """The city, its web app, and a caller per user."""

    app: object = None

    def token(self, username: str) -> str:
        with self.runtime.uow() as uow:
            made = create_access_token(CreateAccessToken(self.principal(username), "tests", timedelta(days=30)), uow)
            uow.commit()
        return made.token

    def as_(self, username: str | None) -> Caller:
        return Caller(self.app.test_client(), None if username is None else self.token(username))


@pytest.fixture
def api(runtime, clock) -> ApiCity:
    """The small city (simple, approval and form_reply deployed) served by the web app."""
    city = build_city(runtime, clock, bundle("simple.bpmn", "approval.bpmn", "form_reply.bpmn"))
    return ApiCity(city.runtime, city.clock, app=create_app(runtime=runtime))

"""Web UI fixtures: the app on the demo organisation, and browsers (Flask test clients) signed in as its staff."""
from __future__ import annotations

import html
import re
from dataclasses import dataclass

import pytest

from api.app import create_app
from engine.services.demo import DEMO_PASSWORD

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(page_html: str) -> str:
    """The CSRF token a page's forms carry."""
    return _TOKEN.search(page_html).group(1)


def text_of(page_html: str) -> str:
    """A page's text as a person reads it: no tags, entities decoded, spaces folded."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page_html))).strip()


@dataclass
class Staff:
    """A browser signed in as one demo user."""

    client: object
    csrf: str

    def get(self, path, **kw):
        return self.client.get(path, **kw)

    def post(self, path, data=None, *, csrf: bool = True, **kw):
        data = dict(data or {})
        if csrf:
            data.setdefault("csrf_token", self.csrf)
        return self.client.post(path, data=data, **kw)


@pytest.fixture
def web(demo_runtime):
    """The web app on the demo organisation (shipped workflows, three open petitions)."""
    return create_app(runtime=demo_runtime)


@pytest.fixture
def sign_in(web):
    """sign_in(username): a test client signed in through the sign-in form."""
    def sign_in(username: str) -> Staff:
        client = web.test_client()
        page = client.get("/sign-in")
        done = client.post("/sign-in", data={"csrf_token": csrf_of(page.get_data(as_text=True)), "username": username,
                                             "password": DEMO_PASSWORD, "next": "/inbox"})
        assert done.status_code == 302, done.get_data(as_text=True)
        return Staff(client, csrf_of(client.get("/inbox").get_data(as_text=True)))
    return sign_in

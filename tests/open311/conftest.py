"""Open311 fixtures: the demo city (shipped workflows, organisation, deadline rules) served by the web app,
an Open311 key issued to an app, and a client speaking GeoReport v2 to it."""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from api.app import create_app
from engine.accounts.identity import SYSTEM
from engine.services.open311 import IssueOpen311Key, issue_open311_key

#: A point on 中正路 in 桃園區, and the district it is in.
TAOYUAN = (24.99368, 121.30143)


@dataclass
class Open311:
    """The app, a test client, and a key issued to an app."""

    app: object
    runtime: object
    key: str

    @property
    def client(self):
        return self.app.test_client()

    def report(self, fmt="json", point=TAOYUAN, service_code="road_pothole", **fields):
        """POST a report (a pothole in 桃園區 by default); returns the response."""
        form = {"api_key": self.key, "service_code": service_code, "attribute[district]": "桃園",
                "description": "路面坑洞約 50 公分", **fields}
        if point is not None:
            form.update(lat=repr(point[0]), long=repr(point[1]))
        form = {k: v for k, v in form.items() if v is not None}
        return self.client.post(f"/open311/v2/requests.{fmt}", data=form)

    def report_id(self, **kw) -> str:
        response = self.report(**kw)
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()[0]["service_request_id"]


def issue_key(runtime, name="城市通 app") -> str:
    with runtime.uow() as uow:
        issued = issue_open311_key(IssueOpen311Key(name, SYSTEM), uow)
        uow.commit()
    return issued.key


@pytest.fixture
def open311(demo_runtime) -> Open311:
    """The demo city's app with an Open311 key issued."""
    return Open311(create_app(runtime=demo_runtime), demo_runtime, issue_key(demo_runtime))

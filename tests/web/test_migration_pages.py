"""The designer's page for moving running cases: the dry run names who cannot move and why; the move
takes the chosen cases, each in its own transaction; only designers have it."""
from __future__ import annotations

from datetime import timedelta

import pytest

from api.app import create_app
from engine.services.access_tokens import CreateAccessToken, create_access_token
from tests.unit.test_migration import at_confirm, at_draft, deploy, instance
from tests.unit.test_migration import city as city  # noqa: F401  (the fixture)
from tests.web.conftest import text_of


@pytest.fixture
def pages(city):  # noqa: F811
    app = create_app(runtime=city.runtime)

    def as_(username):
        with city.runtime.uow() as uow:
            made = create_access_token(CreateAccessToken(city.principal(username), "tests", timedelta(days=1)), uow)
            uow.commit()
        client, header = app.test_client(), {"Authorization": f"Bearer {made.token}"}
        client.set_cookie("petiflow_lang", "en")
        return lambda method, path, **kw: client.open(path, method=method, headers=header, **kw)
    return as_


def test_the_dry_run_page_says_which_cases_can_move_and_the_move_takes_the_chosen(city, pages):  # noqa: F811
    movable, stuck = at_confirm(city, 20), at_draft(city, 20)
    deploy(city, "migrate_v2_removed.bpmn")
    designer = pages("designer")
    page = designer("GET", "/designer/processes/revise/migration")
    shown = text_of(page.get_data(as_text=True))
    assert page.status_code == 200 and "2 cases run on version 1" in shown
    assert "which version 2 removes" in shown
    html = page.get_data(as_text=True)
    movable_no = html.split('name="case_no" value="')[1].split('"')[0]
    assert html.count('name="case_no"') == 1  # only the case that can move is offered
    moved = designer("POST", "/designer/processes/revise/migration",
                     data={"from_version": "1", "to_version": "2", "case_no": movable_no})
    assert moved.status_code == 200 and "Moved 1, refused 0, failed 0" in text_of(moved.get_data(as_text=True))
    assert instance(city, movable.case_id).process_version == 2
    assert instance(city, stuck.case_id).process_version == 1


def test_only_designers_move_cases_and_bad_versions_are_named(city, pages):  # noqa: F811
    at_confirm(city, 20)
    deploy(city, "migrate_v2_added.bpmn")
    assert pages("cw.roads")("GET", "/designer/processes/revise/migration").status_code == 403
    assert pages("cw.roads")("POST", "/designer/processes/revise/migration",
                             data={"from_version": "1", "to_version": "2"}).status_code == 403
    designer = pages("designer")
    assert designer("GET", "/designer/processes/nope/migration").status_code == 404
    assert designer("GET", "/designer/processes/revise/migration?from_version=x").status_code == 400
    backwards = designer("GET", "/designer/processes/revise/migration?from_version=2&to_version=1")
    assert backwards.status_code == 200 and "later version" in text_of(backwards.get_data(as_text=True))

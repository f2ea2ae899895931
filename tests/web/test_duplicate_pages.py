"""The case page's duplicate reports: the dispatcher sees the link and merges or separates with a button."""
from sqlalchemy import select

from engine.cases.location import point_at
from engine.store.schema import cases
from tests.open311.conftest import TAOYUAN, issue_key

from .conftest import text_of


def report(web, key, point):
    response = web.test_client().post("/open311/v2/requests.json", data={
        "api_key": key, "service_code": "road_pothole", "lat": repr(point[0]), "long": repr(point[1]),
        "attribute[district]": "桃園", "attribute[road_width_m]": "20",
        "description": "<script>alert('坑')</script>"})
    return response.get_json()[0]["service_request_id"]


def case_id(runtime, case_no):
    with runtime.uow(read_only=True) as uow:
        return uow.conn.execute(select(cases.c.id).where(cases.c.case_no == case_no)).scalar_one()


def pair(web, demo_runtime):
    key = issue_key(demo_runtime)
    first = report(web, key, TAOYUAN)
    second = report(web, key, point_at(*TAOYUAN, 10.0, 30.0))
    return first, case_id(demo_runtime, first), second, case_id(demo_runtime, second)


def test_the_dispatcher_merges_a_linked_report_from_its_page(web, demo_runtime, sign_in):
    first, first_id, second, second_id = pair(web, demo_runtime)
    dispatcher = sign_in("dispatcher")
    page = dispatcher.get(f"/cases/{second_id}").get_data(as_text=True)
    assert first in text_of(page) and "<script>alert" not in page
    assert f'/cases/{second_id}/duplicate/merge' in page
    assert second in text_of(dispatcher.get(f"/cases/{first_id}").get_data(as_text=True))
    merged = dispatcher.post(f"/cases/{second_id}/duplicate/merge", {"note": "同一坑洞"})
    assert merged.status_code == 302
    assert first in text_of(dispatcher.get(merged.headers["Location"]).get_data(as_text=True))
    with demo_runtime.uow(read_only=True) as uow:
        assert uow.conn.execute(select(cases.c.status).where(cases.c.id == second_id)).scalar_one() == "closed"


def test_the_dispatcher_separates_and_others_see_no_buttons(web, demo_runtime, sign_in):
    first, _, second, second_id = pair(web, demo_runtime)
    caseworker = sign_in("cw.roads")
    page = caseworker.get(f"/cases/{second_id}").get_data(as_text=True)
    assert first in text_of(page) and "/duplicate/merge" not in page
    refused = caseworker.post(f"/cases/{second_id}/duplicate/merge")
    assert refused.status_code == 302
    dispatcher = sign_in("dispatcher")
    assert dispatcher.post(f"/cases/{second_id}/duplicate/separate").status_code == 302
    with demo_runtime.uow(read_only=True) as uow:
        row = uow.conn.execute(select(cases.c.status, cases.c.duplicate_of).where(cases.c.id == second_id)).one()
    assert tuple(row) == ("open", None)
    assert dispatcher.post(f"/cases/{second_id}/duplicate/merge", csrf=False).status_code in (400, 403)

"""GeoReport v2 requests: a report through an app opens a routed dispatch case; listing and reading them
back, in JSON and XML, with the spec's filters and errors, and nothing of the reporter."""
from datetime import timedelta
from xml.etree import ElementTree

import pytest
from sqlalchemy import select

from engine.accounts.identity import SYSTEM
from engine.services.open311 import RevokeOpen311Key, revoke_open311_key
from engine.store.schema import agencies, case_events, cases, open311_keys, petitioners, work_items

from .conftest import TAOYUAN
from .schemas import CREATED, ERRORS, REQUEST, REQUESTS, check

FAR = (24.9600, 121.2200)  # another street, kilometres away


def case_row(runtime, case_no):
    with runtime.uow(read_only=True) as uow:
        return uow.conn.execute(
            select(cases, agencies.c.code.label("agency_code"))
            .select_from(cases.outerjoin(agencies, agencies.c.id == cases.c.agency_id))
            .where(cases.c.case_no == case_no)).one()


def errors_of(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    found = response.get_json()
    check(ERRORS, found)
    return " ".join(e["description"] for e in found)


def test_a_report_opens_a_dispatch_case_routed_with_its_due_time(open311):
    response = open311.report(**{"attribute[road_width_m]": "20"}, address_string="桃園區中正路 100 號")
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/json; charset=utf-8"
    created = response.get_json()
    check(CREATED, created)
    case_no = created[0]["service_request_id"]
    row = case_row(open311.runtime, case_no)
    assert (row.case_type, row.channel, row.category, row.district) == ("dispatch", "open311", "road_pothole", "桃園")
    assert row.agency_code == "public_works"  # a 20 m road: the Public Works Department (dispatch_routing.dmn)
    assert row.due_at - row.received_at == timedelta(hours=4)  # dispatch.road_pothole: 4 hours
    assert (row.latitude, row.longitude, row.address) == (*TAOYUAN, "桃園區中正路 100 號")
    assert "13:00" in created[0]["service_notice"] and case_no in created[0]["service_notice"]
    with open311.runtime.uow(read_only=True) as uow:
        tasks = uow.conn.execute(select(work_items.c.task_spec).where(work_items.c.case_id == row.id)).scalars().all()
    assert tasks == ["repair"]


def test_the_read_back_request_shows_due_time_agency_and_place(open311):
    case_no = open311.report_id(**{"attribute[road_width_m]": "20"}, address_string="中正路 100 號")
    found = open311.client.get(f"/open311/v2/requests/{case_no}.json").get_json()
    check(REQUESTS, found)
    request = found[0]
    assert request["service_request_id"] == case_no and request["status"] == "open"
    assert request["agency_responsible"] == "工務局"
    assert request["expected_datetime"] == "2026-11-26T13:00:00+08:00"
    assert request["requested_datetime"] == "2026-11-26T09:00:00+08:00"
    assert (request["lat"], request["long"], request["address"]) == (*TAOYUAN, "中正路 100 號")


def test_a_report_and_its_reading_in_xml(open311):
    response = open311.report(fmt="xml")
    assert response.status_code == 200 and response.headers["Content-Type"] == "text/xml; charset=utf-8"
    root = ElementTree.fromstring(response.get_data())
    case_no = root.findtext("request/service_request_id")
    assert root.tag == "service_requests" and case_no.startswith("D")
    root = ElementTree.fromstring(open311.client.get(f"/open311/v2/requests/{case_no}.xml").get_data())
    assert root.findtext("request/status") == "open" and root.findtext("request/service_code") == "road_pothole"
    assert root.findtext("request/expected_datetime") == "2026-11-26T13:00:00+08:00"


def test_the_reporters_name_email_and_phone_are_kept_but_never_served(open311):
    personal = {"email": "ming@example.tw", "first_name": "小明", "last_name": "王", "phone": "0912-345-678",
                "device_id": "device-1", "account_id": "acct-9"}
    response = open311.report(**personal)
    assert response.get_json()[0]["account_id"] == "acct-9"
    case_no = response.get_json()[0]["service_request_id"]
    with open311.runtime.uow(read_only=True) as uow:
        kept = uow.conn.execute(select(petitioners.c.name, petitioners.c.email, petitioners.c.phone)
                                .join(cases, cases.c.petitioner_id == petitioners.c.id)
                                .where(cases.c.case_no == case_no)).one()
    assert tuple(kept) == ("小明 王", "ming@example.tw", "0912-345-678")
    for path in (f"/open311/v2/requests/{case_no}.json", f"/open311/v2/requests/{case_no}.xml",
                 "/open311/v2/requests.json", "/open311/v2/requests.xml"):
        body = open311.client.get(path).get_data(as_text=True)
        assert case_no in body
        for value in ("ming@example.tw", "小明", "0912-345-678", "device-1", "acct-9"):
            assert value not in body, (path, value)


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_report_without_an_api_key_is_refused_with_403(open311, fmt):
    response = open311.client.post(f"/open311/v2/requests.{fmt}", data={"service_code": "road_pothole",
                                                                        "lat": "24.99", "long": "121.3"})
    assert response.status_code == 403
    if fmt == "xml":
        root = ElementTree.fromstring(response.get_data())
        assert root.tag == "errors" and root.findtext("error/code") == "403"
        assert "api_key" in root.findtext("error/description")
    else:
        assert "api_key" in errors_of(response, 403)


def test_a_wrong_or_revoked_key_is_refused_and_nothing_is_opened(open311):
    before = count_cases(open311.runtime)
    assert "api_key" in errors_of(open311.report(api_key="o311_not-a-real-key"), 403)
    assert "api_key" in errors_of(open311.report(api_key="pf_a-staff-token"), 403)
    with open311.runtime.uow() as uow:
        key_id = uow.conn.execute(select(open311_keys.c.id)).scalar()
        assert revoke_open311_key(RevokeOpen311Key(key_id, SYSTEM), uow)
        uow.commit()
    errors_of(open311.report(), 403)
    assert count_cases(open311.runtime) == before


def count_cases(runtime):
    with runtime.uow(read_only=True) as uow:
        return len(uow.conn.execute(select(cases.c.id)).all())


@pytest.mark.parametrize(("fields", "status", "named"), [
    ({"service_code": None}, 400, "service_code"),
    ({"service_code": "no_such_thing"}, 404, "no_such_thing"),
    ({"point": None}, 400, "location"),
    ({"point": (91.0, 121.3)}, 400, "lat"),
    ({"point": ("north", 121.3)}, 400, "lat"),
    ({"lat": "24.99", "long": None, "point": None}, 400, "long"),
    ({"description": "坑" * 4001}, 400, "description"),
    ({"address_string": "路" * 501}, 400, "address_string"),
    ({"email": "not an address"}, 400, "email"),
    ({"first_name": "王" * 101}, 400, "first_name"),
    ({"media_url": "javascript:alert(1)"}, 400, "media_url"),
    ({"attribute[district]": None}, 400, "attribute[district]"),
    ({"attribute[district]": "台北"}, 400, "attribute[district]"),
    ({"attribute[road_width_m]": "wide"}, 400, "attribute[road_width_m]"),
    ({"attribute[road_width_m]": "500"}, 400, "attribute[road_width_m]"),
    ({"attribute[colour]": "red"}, 400, "attribute[colour]"),
    ({"jurisdiction_id": "sfgov.org"}, 404, "jurisdiction_id"),
])
def test_a_bad_report_is_refused_naming_the_problem_and_opens_nothing(open311, fields, status, named):
    before = count_cases(open311.runtime)
    point = fields.pop("point", TAOYUAN)
    assert named in errors_of(open311.report(point=point, **fields), status)
    assert count_cases(open311.runtime) == before


def test_a_report_by_address_alone_is_taken(open311):
    case_no = open311.report_id(point=None, address_string="中壢區環中東路 1 號", service_code="streetlight",
                                **{"attribute[district]": "中壢"})
    row = case_row(open311.runtime, case_no)
    assert (row.latitude, row.geo_cell, row.agency_code) == (None, None, "district_zhongli")


def test_a_body_larger_than_a_report_can_be_is_refused(open311):
    response = open311.report(description="坑" * 30_000)
    assert errors_of(response, 413)


def test_stored_script_comes_back_as_text_in_json_and_escaped_in_xml(open311):
    attack = "<script>alert('x')</script>"
    case_no = open311.report_id(description=attack, address_string=attack)
    body = open311.client.get(f"/open311/v2/requests/{case_no}.xml").get_data(as_text=True)
    assert "<script>" not in body and "&lt;script&gt;" in body
    assert open311.client.get(f"/open311/v2/requests/{case_no}.json").get_json()[0]["description"] == attack


# --- GET requests ---------------------------------------------------------------------------------


def test_requests_are_listed_newest_first_and_filtered_by_service_and_status(open311):
    clock = open311.runtime.clock
    first = open311.report_id()
    clock.advance(hours=1)
    light = open311.report_id(service_code="streetlight", point=FAR)
    listed = open311.client.get("/open311/v2/requests.json").get_json()
    check(REQUESTS, listed)
    assert [r["service_request_id"] for r in listed][:2] == [light, first]
    only = open311.client.get("/open311/v2/requests.json?service_code=streetlight").get_json()
    assert [r["service_request_id"] for r in only] == [light]
    both = open311.client.get("/open311/v2/requests.json?service_code=streetlight,road_pothole").get_json()
    assert {light, first} <= {r["service_request_id"] for r in both}
    assert open311.client.get("/open311/v2/requests.json?status=closed").get_json() == []
    assert {light, first} <= {r["service_request_id"] for r in
                              open311.client.get("/open311/v2/requests.json?status=open").get_json()}


def test_requests_by_id_override_the_other_filters(open311):
    one, two = open311.report_id(), open311.report_id(point=FAR)
    found = open311.client.get(f"/open311/v2/requests.json?service_request_id={one},{two}"
                               "&service_code=streetlight&status=closed").get_json()
    assert {r["service_request_id"] for r in found} == {one, two}


def test_requests_by_date_range(open311):
    clock = open311.runtime.clock
    early = open311.report_id()
    clock.advance(days=10)
    late = open311.report_id(point=FAR)
    found = open311.client.get("/open311/v2/requests.json?start_date=2026-11-30T00:00:00Z").get_json()
    assert [r["service_request_id"] for r in found] == [late]
    found = open311.client.get("/open311/v2/requests.json?start_date=2026-11-01T00:00:00%2B08:00"
                               "&end_date=2026-11-27T00:00:00Z").get_json()
    assert [r["service_request_id"] for r in found] == [early]


def test_requests_are_paged(open311):
    made = [open311.report_id(point=(24.99 + i / 100, 121.3)) for i in range(3)]
    first = open311.client.get("/open311/v2/requests.json?page_size=2").get_json()
    second = open311.client.get("/open311/v2/requests.json?page_size=2&page=2").get_json()
    assert [r["service_request_id"] for r in first + second] == made[::-1]


def test_petitions_are_never_served_as_requests(open311):
    with open311.runtime.uow(read_only=True) as uow:
        petition = uow.conn.execute(select(cases.c.case_no).where(cases.c.case_type == "petition")).scalars().first()
    assert petition is not None
    assert petition in errors_of(open311.client.get(f"/open311/v2/requests/{petition}.json"), 404)
    listed = open311.client.get("/open311/v2/requests.json").get_data(as_text=True)
    assert petition not in listed


@pytest.mark.parametrize(("query", "named"), [
    ("status=pending", "status"),
    ("start_date=yesterday", "start_date"),
    ("start_date=2026-11-01T00:00:00", "start_date"),  # no offset
    ("start_date=2026-01-01T00:00:00Z&end_date=2026-11-01T00:00:00Z", "90 days"),
    ("start_date=2026-11-20T00:00:00Z&end_date=2026-11-01T00:00:00Z", "after"),
    ("page_size=1001", "page_size"),
    ("page=0", "page"),
])
def test_bad_filters_are_a_400_naming_them(open311, query, named):
    assert named in errors_of(open311.client.get(f"/open311/v2/requests.json?{query}"), 400)


def test_an_unknown_service_code_filter_is_a_404(open311):
    assert "nothing" in errors_of(open311.client.get("/open311/v2/requests.json?service_code=nothing"), 404)


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_an_unknown_request_is_a_404(open311, fmt):
    response = open311.client.get(f"/open311/v2/requests/D20261126999999.{fmt}")
    assert response.status_code == 404
    if fmt == "json":
        check(ERRORS, response.get_json())


def test_a_token_is_never_needed_here(open311):
    errors_of(open311.client.get("/open311/v2/tokens/123.json"), 404)


def test_a_request_closed_by_its_repair_is_closed_with_its_closing_time(open311):
    case_no = open311.report_id(**{"attribute[road_width_m]": "20"})
    row = case_row(open311.runtime, case_no)
    open311.runtime.clock.advance(hours=2)
    from engine.services.work import CompleteWorkItem, complete_work_item
    with open311.runtime.uow() as uow:
        item = uow.conn.execute(select(work_items.c.id).where(work_items.c.case_id == row.id,
                                                              work_items.c.status == "open")).scalar_one()
        complete_work_item(CompleteWorkItem(item, {"repair_result": "fixed", "repair_note": "已修補",
                                                   "photo_after_ref": "after.jpg"}, SYSTEM), uow)
        uow.commit()
    found = open311.client.get(f"/open311/v2/requests/{case_no}.json").get_json()[0]
    check(REQUEST, found)
    assert (found["status"], found["updated_datetime"]) == ("closed", "2026-11-26T11:00:00+08:00")
    closed = open311.client.get("/open311/v2/requests.json?status=closed").get_json()
    assert [r["service_request_id"] for r in closed] == [case_no]


def test_the_case_history_says_which_app_reported_it(open311):
    case_no = open311.report_id()
    row = case_row(open311.runtime, case_no)
    with open311.runtime.uow(read_only=True) as uow:
        kinds = uow.conn.execute(select(case_events.c.kind, case_events.c.data)
                                 .where(case_events.c.case_id == row.id)).all()
    assert kinds[0].kind == "case_received" and kinds[0].data["channel"] == "open311"

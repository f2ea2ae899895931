"""Third-party Open311 clients from PyPI, unchanged, against petiflow served over HTTP: georeport
(reads, JSON and XML) and civicbot (reads, and a report checked against the service definition first).
Every JSON answer is also checked against the spec's schemas."""
from __future__ import annotations

import threading

import pytest
from civicbot.http import HttpError, HttpTransport, RateLimiter
from civicbot.open311 import CONFIRM_TOKEN, Open311Client
from civicbot.registry import Endpoint
from georeport import GeoReport
from werkzeug.serving import make_server

from .schemas import CREATED, REQUEST, REQUESTS, SERVICE_DEFINITION, SERVICES, check

pytestmark = pytest.mark.slow


@pytest.fixture
def server(open311):
    """petiflow served on a free port of the loopback, for the test's length."""
    served = make_server("127.0.0.1", 0, open311.app, threaded=True)
    thread = threading.Thread(target=served.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{served.server_port}/open311/v2"
    served.shutdown()
    thread.join(5)


def civicbot(base_url: str) -> Open311Client:
    endpoint = Endpoint(id="taoyuan", name="桃園市", base_url=base_url, write=True)
    # No pause between calls: the client's politeness delay is for public servers.
    return Open311Client(endpoint, HttpTransport(rate_limiter=RateLimiter(min_interval=0)),
                         jurisdiction_id="tycg.gov.tw")


def test_civicbot_reports_a_pothole_after_checking_the_definition(open311, server):
    client = civicbot(server)
    services = client.list_services()
    check(SERVICES, services)
    definition = client.get_service_definition("road_pothole")
    check(SERVICE_DEFINITION, definition)
    sent = client.create_request("road_pothole", dry_run=False, confirm=CONFIRM_TOKEN, api_key=open311.key,
                                 validate_remote=True, lat=24.99368, lng=121.30143,
                                 address_string="桃園區中正路 100 號", description="路面坑洞",
                                 attributes={"district": "桃園", "road_width_m": 20}, email="ming@example.tw")
    check(CREATED, sent.response)
    case_no = sent.response[0]["service_request_id"]
    found = client.get_request(case_no)
    check(REQUEST, found)
    assert (found["status"], found["agency_responsible"], found["expected_datetime"]) == \
        ("open", "工務局", "2026-11-26T13:00:00+08:00")
    listed = client.list_requests(service_code="road_pothole", status="open", page_size=10)
    check(REQUESTS, listed)
    assert case_no in [r["service_request_id"] for r in listed]
    assert "ming@example.tw" not in str(listed)


def test_civicbot_sees_the_specs_errors(open311, server):
    client = civicbot(server)
    with pytest.raises(HttpError) as refused:
        client.create_request("road_pothole", dry_run=False, confirm=CONFIRM_TOKEN, api_key="o311_wrong",
                              lat=24.99, lng=121.3, attributes={"district": "桃園"})
    assert refused.value.status == 403 and "api_key" in refused.value.body
    with pytest.raises(HttpError) as missing:
        client.get_request("D20990101000001")
    assert missing.value.status == 404


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_georeport_reads_services_definitions_and_requests(open311, server, fmt):
    case_no = open311.report_id(**{"attribute[road_width_m]": "20"})
    client = GeoReport(server, jurisdiction="tycg.gov.tw", output_format=fmt)
    services = client.get_service_list()
    assert [s["service_code"] for s in services][:3] == ["road_pothole", "traffic_signal", "dirty_spot"]
    definition = client.get_service_definition("road_pothole")
    assert definition["service_code"] == "road_pothole"
    found = client.get_service_request(case_no)
    assert (found["service_request_id"], found["status"], found["agency_responsible"]) == (case_no, "open", "工務局")
    assert found["expected_datetime"] == "2026-11-26T13:00:00+08:00"
    listed = client.get_service_requests(service_code="road_pothole", status="open")
    # xmltodict gives one request as a dict, several as a list
    listed = [listed] if isinstance(listed, dict) else listed
    assert case_no in [r["service_request_id"] for r in listed]
    if fmt == "json":
        check(SERVICES, services)
        check(SERVICE_DEFINITION, definition)
        check(REQUESTS, listed)

"""GeoReport v2 discovery, service list and service definitions, in JSON and XML, and their errors."""
from xml.etree import ElementTree

import pytest

from engine.queries.categories import categories

from .schemas import DISCOVERY, ERRORS, SERVICE_DEFINITION, SERVICES, check


def xml(response):
    assert response.headers["Content-Type"] == "text/xml; charset=utf-8"
    body = response.get_data()
    assert body.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    return ElementTree.fromstring(body)


def test_discovery_names_the_endpoint_and_both_formats(open311):
    response = open311.client.get("/open311/v2/discovery.json")
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/json; charset=utf-8"
    found = response.get_json()
    check(DISCOVERY, found)
    endpoint = found["endpoints"][0]
    assert endpoint["url"].endswith("/open311/v2/") and set(endpoint["formats"]) == {"text/xml", "application/json"}
    assert xml(open311.client.get("/open311/v2/discovery.xml")).find("endpoints/endpoint/url").text == endpoint["url"]


def test_the_service_list_is_the_nineteen_dispatch_categories_in_json(open311):
    found = open311.client.get("/open311/v2/services.json").get_json()
    check(SERVICES, found)
    assert [s["service_code"] for s in found] == [c.code for c in categories()] and len(found) == 19
    pothole = found[0]
    assert (pothole["service_name"], pothole["group"], pothole["metadata"], pothole["type"]) == \
        ("道路坑洞", "道路", True, "realtime")


def test_the_service_list_speaks_english_to_a_client_that_asks(open311):
    found = open311.client.get("/open311/v2/services.json", headers={"Accept-Language": "en"}).get_json()
    assert found[0]["service_name"] == "Road pothole"


def test_the_service_list_in_xml_has_one_service_element_per_category(open311):
    root = xml(open311.client.get("/open311/v2/services.xml"))
    assert root.tag == "services"
    codes = [s.findtext("service_code") for s in root.findall("service")]
    assert codes == [c.code for c in categories()]
    assert root.find("service/metadata").text == "true"


def test_a_service_definition_lists_the_reports_attributes(open311):
    found = open311.client.get("/open311/v2/services/road_pothole.json").get_json()
    check(SERVICE_DEFINITION, found)
    assert found["service_code"] == "road_pothole"
    district, width = found["attributes"]
    assert (district["code"], district["datatype"], district["required"], district["order"]) == \
        ("district", "singlevaluelist", True, 1)
    assert {"key": "中壢", "name": "中壢區 Zhongli"} in district["values"] and len(district["values"]) == 13
    assert (width["code"], width["datatype"], width["required"], width["order"]) == ("road_width_m", "number", False, 2)


def test_road_width_is_asked_only_where_the_routing_uses_it(open311):
    found = open311.client.get("/open311/v2/services/streetlight.json").get_json()
    assert [a["code"] for a in found["attributes"]] == ["district"]


def test_a_service_definition_in_xml(open311):
    root = xml(open311.client.get("/open311/v2/services/road_pothole.xml"))
    assert root.tag == "service_definition" and root.findtext("service_code") == "road_pothole"
    attribute = root.find("attributes/attribute")
    assert attribute.findtext("code") == "district" and attribute.findtext("required") == "true"
    assert [v.findtext("key") for v in attribute.findall("values/value")][:2] == ["桃園", "中壢"]


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_an_unknown_service_code_is_a_404_in_the_specs_error_shape(open311, fmt):
    response = open311.client.get(f"/open311/v2/services/no_such_thing.{fmt}")
    assert response.status_code == 404
    if fmt == "json":
        check(ERRORS, response.get_json())
        assert "no_such_thing" in response.get_json()[0]["description"]
    else:
        root = xml(response)
        assert root.tag == "errors" and root.findtext("error/code") == "404"
        assert "no_such_thing" in root.findtext("error/description")


def test_another_jurisdiction_is_not_found_and_the_citys_own_is_served(open311):
    response = open311.client.get("/open311/v2/services.json?jurisdiction_id=sfgov.org")
    assert response.status_code == 404 and "sfgov.org" in response.get_json()[0]["description"]
    assert open311.client.get("/open311/v2/services.json?jurisdiction_id=tycg.gov.tw").status_code == 200
    assert open311.client.get("/open311/v2/services.json?jurisdiction_id=").status_code == 200  # optional: empty


def test_a_format_other_than_json_or_xml_is_not_found(open311):
    assert open311.client.get("/open311/v2/services.csv").status_code == 404


def test_responses_carry_the_apps_security_headers(open311):
    response = open311.client.get("/open311/v2/services.xml")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]

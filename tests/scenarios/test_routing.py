"""The routing tables (routing.dmn, dispatch_routing.dmn): sample routes, full coverage, speed."""
import json
import statistics
import time
from types import SimpleNamespace

import pytest
from lxml import etree

from engine.scripting import make_script_engine
from engine.workflow.definitions import parse_process, read_bundle
from tests.scenarios.conftest import WORKFLOWS

SCRIPT_ENGINE = make_script_engine(time_limit=1.0)
DISTRICTS = ["桃園", "中壢", "平鎮", "八德", "楊梅", "蘆竹", "大溪", "龜山", "大園", "觀音", "新屋", "龍潭", "復興"]
CATEGORIES = [c["code"] for c in json.loads(
    (WORKFLOWS / "seed" / "dispatch_categories.json").read_text(encoding="utf-8"))["categories"]]
CATCH_ALL = {"agency_code": "rdec", "unit_code": "petitions", "trusted": False}


@pytest.fixture(scope="module")
def tables():
    """The decision engines of the two business rule tasks, parsed from the shipped bundle."""
    sources = read_bundle(WORKFLOWS)
    petition, _ = parse_process("petition", sources)
    dispatch, _ = parse_process("dispatch", sources)
    return {"petition": petition.task_specs["suggest_routing"].dmnEngine,
            "dispatch": dispatch.task_specs["route_report"].dmnEngine}


def route(engine, **data) -> dict:
    # The DMN engine needs only the task's data and the workflow's script engine.
    task = SimpleNamespace(data=data, workflow=SimpleNamespace(script_engine=SCRIPT_ENGINE))
    return engine.result(task)


@pytest.mark.parametrize("category, district, expected", [
    ("road_pothole", "桃園", ("public_works", "roads", True)),
    ("traffic_signal", "中壢", ("transport", "signals", True)),
    ("dirty_spot", "龜山", ("environment", "cleaning", True)),
    ("streetlight", "平鎮", ("district_pingzhen", "works", True)),
    ("fallen_tree", "復興", ("district_fuxing", "works", True)),
    ("noise", "中壢", ("environment", "pollution", False)),
    ("social_welfare", "大園", ("social", "welfare", True)),
    ("streetlight", "台北", ("rdec", "petitions", False)),
    ("something_new", "新屋", ("rdec", "petitions", False)),
])
def test_petition_routing_suggests_the_competent_agency(tables, category, district, expected):
    result = route(tables["petition"], category=category, district=district)
    assert (result["agency_code"], result["unit_code"], result["trusted"]) == expected


@pytest.mark.parametrize("category, district, width, expected", [
    ("road_pothole", "桃園", 20, ("public_works", "roads", True)),
    ("road_pothole", "桃園", 8, ("public_works", "roads", True)),
    ("road_pothole", "中壢", 6, ("district_zhongli", "works", True)),
    ("sidewalk_damage", "龍潭", 7.5, ("district_longtan", "works", True)),
    ("road_pothole", "中壢", None, ("public_works", "roads", False)),
    ("streetlight", "龜山", None, ("district_guishan", "works", True)),
    ("bus_stop", "蘆竹", None, ("transport", "transit", True)),
    ("stray_animal", "楊梅", None, ("agriculture", "animals", True)),
    ("graffiti", "觀音", None, ("rdec", "petitions", False)),
])
def test_dispatch_routing_uses_category_district_and_road_width(tables, category, district, width, expected):
    result = route(tables["dispatch"], category=category, district=district, road_width_m=width)
    assert (result["agency_code"], result["unit_code"], result["trusted"]) == expected


@pytest.mark.parametrize("table", ["petition", "dispatch"])
def test_every_dispatch_category_has_a_rule_of_its_own_in_every_district(tables, table):
    unrouted = [(c, d, w) for c in CATEGORIES for d in DISTRICTS for w in (None, 5, 12)
                if route(tables[table], category=c, district=d, road_width_m=w) == CATCH_ALL]
    assert unrouted == []


def test_there_are_nineteen_dispatch_categories_the_seed_names_first():
    assert len(CATEGORIES) == len(set(CATEGORIES)) == 19
    assert CATEGORIES[:3] == ["road_pothole", "traffic_signal", "dirty_spot"]


def test_routing_names_only_agencies_of_the_organisation():
    organisation = json.loads((WORKFLOWS / "seed" / "organisation.json").read_text(encoding="utf-8"))
    known = {a["code"] for a in organisation["agencies"]}
    named = set()
    for name in ("routing.dmn", "dispatch_routing.dmn"):
        root = etree.parse(str(WORKFLOWS / name)).getroot()
        ns = {"dmn": root.nsmap[None]}
        for rule in root.iterfind(".//dmn:rule", ns):
            named.add(json.loads(rule.find("dmn:outputEntry/dmn:text", ns).text))
    assert named - known == set()


@pytest.mark.parametrize("table, data", [
    ("petition", {"category": "road_pothole", "district": "桃園"}),
    ("petition", {"category": "something_new", "district": "復興"}),
    ("dispatch", {"category": "illegal_building", "district": "復興", "road_width_m": None}),
])
def test_a_routing_decision_takes_well_under_a_millisecond_or_two(tables, table, data):
    engine = tables[table]
    times = []
    for _ in range(1000):
        t0 = time.perf_counter()
        route(engine, **data)
        times.append(time.perf_counter() - t0)
    median_ms = statistics.median(times) * 1000
    print(f"\n{table} routing {data}: median {median_ms:.3f} ms of 1000")
    assert median_ms < 20

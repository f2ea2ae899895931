"""Administering the organisation: agencies and their units."""
import pytest
from sqlalchemy import select

from engine.errors import Conflict, Forbidden, InvalidInput, NotFound
from engine.queries.directory import list_agencies
from engine.services.organisation import (
    CreateAgency,
    CreateUnit,
    UpdateAgency,
    UpdateUnit,
    create_agency,
    create_unit,
    update_agency,
    update_unit,
)
from engine.store.schema import agencies
from tests.unit.directory_helpers import events, refused, run
from tests.unit.queries_city import city, taipei  # noqa: F401


@pytest.fixture
def admin(city):
    return city.principal("admin")


def agency_row(city, code):
    with city.runtime.db.connect() as conn:
        return conn.execute(select(agencies).where(agencies.c.code == code)).one()


def test_an_agency_and_its_units_are_added_recorded_and_listed(city, admin):
    agency_id = run(city, create_agency, CreateAgency(admin, "environment", "環境保護局"))
    run(city, create_unit, CreateUnit(admin, "environment", "pollution", "空氣噪音防制科"))
    run(city, create_unit, CreateUnit(admin, "environment", "cleaning", "環境清潔科"))
    with city.runtime.uow(read_only=True) as uow:
        listed = {a.code: a for a in list_agencies(uow, admin)}
    assert list(listed) == ["environment", "public_works", "rdec", "transport"]
    added = listed["environment"]
    assert (added.id, added.name, added.kind, added.active) == (agency_id, "環境保護局", "bureau", True)
    assert [(u.code, u.name) for u in added.units] == [("cleaning", "環境清潔科"), ("pollution", "空氣噪音防制科")]
    assert [(e.kind, e.subject_type) for e in events(city)] == [
        ("agency_created", "agency"), ("unit_created", "unit"), ("unit_created", "unit")]


def test_a_new_agency_takes_cases_at_once(city, admin):
    city.open_case(taipei(20))  # the step machinery has cached the agencies it knows
    run(city, create_agency, CreateAgency(admin, "water", "水務局"))
    (item,) = city.open_case(taipei(20, 10), agency="water").work_item_ids
    (listed,) = [i for i in city.page("admin", view="supervised").items if i.work_item_id == item]
    assert listed.agency_name == "水務局"


@pytest.mark.parametrize("code,name,kind,fields", [
    ("Water Bureau", "水務局", "bureau", {"code"}), ("water", "", "bureau", {"name"}),
    ("water", "水務局", "ministry", {"kind"}), ("", "x" * 201, None, {"code", "name", "kind"}),
], ids=["code", "blank name", "unknown kind", "everything"])
def test_an_agency_with_bad_fields_is_refused_naming_them(city, admin, code, name, kind, fields):
    error = refused(city, create_agency, CreateAgency(admin, code, name, kind), InvalidInput)
    assert set(error.details["fields"]) == fields


def test_a_taken_agency_or_unit_code_and_a_second_commission_are_conflicts(city, admin):
    refused(city, create_agency, CreateAgency(admin, "transport", "另一個交通局"), Conflict)
    error = refused(city, create_agency, CreateAgency(admin, "rdec2", "第二研考會", "commission"), Conflict)
    assert "'rdec' is the commission already" in error.message
    refused(city, update_agency, UpdateAgency(admin, "transport", kind="commission"), Conflict)
    run(city, create_unit, CreateUnit(admin, "transport", "signals", "交通工程科"))
    refused(city, create_unit, CreateUnit(admin, "transport", "signals", "號誌科"), Conflict)
    run(city, create_unit, CreateUnit(admin, "public_works", "signals", "同代碼不同機關"))  # codes are per agency


def test_an_agency_is_renamed_and_its_kind_changed_with_only_the_changes_recorded(city, admin):
    assert run(city, update_agency, UpdateAgency(admin, "transport", name="交通局", kind="office")) == ("kind",)
    assert run(city, update_agency, UpdateAgency(admin, "transport", name="交通局")) == ()
    row = agency_row(city, "transport")
    assert (row.name, row.kind) == ("交通局", "office")
    assert [e.data for e in events(city, "agency_updated")] == [{"kind": "office"}]


def test_an_agency_with_open_cases_is_not_closed(city, admin):
    city.open_case(taipei(20), agency="transport")
    error = refused(city, update_agency, UpdateAgency(admin, "transport", active=False), Conflict)
    assert error.message == "agency 'transport' has 1 open cases; transfer them before closing it"
    assert run(city, update_agency, UpdateAgency(admin, "public_works", active=True)) == ()
    run(city, create_agency, CreateAgency(admin, "water", "水務局"))
    assert run(city, update_agency, UpdateAgency(admin, "water", active=False)) == ("active",)
    assert agency_row(city, "water").active is False


def test_a_unit_is_renamed(city, admin):
    run(city, create_unit, CreateUnit(admin, "transport", "signals", "交通工程科"))
    assert run(city, update_unit, UpdateUnit(admin, "transport", "signals", "號誌工程科")) is True
    assert run(city, update_unit, UpdateUnit(admin, "transport", "signals", "號誌工程科")) is False
    with city.runtime.uow(read_only=True) as uow:
        (transport,) = [a for a in list_agencies(uow, admin) if a.code == "transport"]
    assert [u.name for u in transport.units] == ["號誌工程科"]
    refused(city, update_unit, UpdateUnit(admin, "transport", "parking", "停車"), NotFound)
    refused(city, update_unit, UpdateUnit(admin, "nowhere", "signals", "停車"), NotFound)
    error = refused(city, update_unit, UpdateUnit(admin, "transport", "signals", ""), InvalidInput)
    assert list(error.details["fields"]) == ["name"]


def test_a_unit_of_an_agency_that_does_not_exist_is_not_found(city, admin):
    refused(city, create_unit, CreateUnit(admin, "nowhere", "roads", "道路"), NotFound)
    refused(city, update_agency, UpdateAgency(admin, "nowhere", name="無"), NotFound)


@pytest.mark.parametrize("username", ["chief.petitions", "head.works", "designer"])
def test_only_an_administrator_changes_the_organisation(city, username):
    principal = city.principal(username)
    for service, cmd in ((create_agency, CreateAgency(principal, "water", "水務局")),
                         (update_agency, UpdateAgency(principal, "transport", name="改名")),
                         (create_unit, CreateUnit(principal, "transport", "signals", "交通工程科")),
                         (update_unit, UpdateUnit(principal, "transport", "signals", "改名"))):
        refused(city, service, cmd, Forbidden)

"""Administering groups and roles: a group is a role held in an agency or unit, or for every agency."""
import re
from pathlib import Path

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.exc import DBAPIError

from engine.accounts.roles import AGENCY_ROLES, CENTRAL_ROLES, HELD_EVERYWHERE, ROLES
from engine.cases.lanes import role_for_lane
from engine.errors import Conflict, Forbidden, InvalidInput, NotFound
from engine.queries.visibility import ROLES_WITHOUT_CASES, SUPERVISING_ROLES
from engine.services.groups import (
    AddMember,
    CreateGroup,
    GrantRole,
    RemoveMember,
    RevokeRole,
    add_member,
    create_group,
    grant_role,
    remove_member,
    revoke_role,
)
from engine.services.organisation import CreateUnit, create_unit
from engine.services.staff import DeactivateUser, deactivate_user
from engine.store.schema import admin_events, groups
from tests.unit.directory_helpers import events, refused, run, snapshot
from tests.unit.queries_city import city  # noqa: F401

WORKFLOWS = Path(__file__).resolve().parents[2] / "workflows"


@pytest.fixture
def admin(city):
    return city.principal("admin")


def group_of(city, code):
    with city.runtime.db.connect() as conn:
        return conn.execute(select(groups).where(groups.c.code == code)).one()


def test_every_role_a_lane_queue_or_view_names_is_a_known_role():
    lanes = {role_for_lane(name) for path in WORKFLOWS.glob("*.bpmn")
             for name in re.findall(r'<bpmn:lane [^>]*name="([^"]+)"', path.read_text(encoding="utf-8"))}
    assert lanes and lanes <= set(ROLES)
    assert SUPERVISING_ROLES | ROLES_WITHOUT_CASES | CENTRAL_ROLES <= set(ROLES)
    assert CENTRAL_ROLES <= HELD_EVERYWHERE and not AGENCY_ROLES & HELD_EVERYWHERE
    assert AGENCY_ROLES == {"caseworker", "supervisor", "agency_head", "agency_liaison"}


def test_a_group_holds_a_role_in_an_agency_or_unit_and_is_recorded(city, admin):
    run(city, create_unit, CreateUnit(admin, "public_works", "roads", "養護工程科"))
    group_id = run(city, create_group, CreateGroup(admin, "roads.cw", "道路承辦", "caseworker", "public_works",
                                                   "roads"))
    row = group_of(city, "roads.cw")
    assert (row.id, row.role, row.agency_id, row.name) == (group_id, "caseworker", city.agency_id("public_works"),
                                                           "道路承辦")
    assert events(city, "group_created")[-1].data == {"code": "roads.cw", "name": "道路承辦", "role": "caseworker",
                                                      "agency": "public_works", "unit": "roads"}
    run(city, create_group, CreateGroup(admin, "hotline", "1999 話務", "operator"))
    assert group_of(city, "hotline").agency_id is None


@pytest.mark.parametrize("role,agency,unit,fields", [
    ("clerk", "public_works", None, {"role"}),
    ("caseworker", None, None, {"agency_code"}),
    ("dispatcher", "rdec", None, {"agency_code"}),
    ("admin", None, "roads", {"unit_code"}),
    ("caseworker", "nowhere", None, {"agency_code"}),
    ("supervisor", "public_works", "nowhere", {"unit_code"}),
], ids=["unknown role", "agency role without agency", "central role in an agency", "admin in a unit",
        "unknown agency", "unknown unit"])
def test_a_group_whose_role_cannot_be_held_there_is_refused(city, admin, role, agency, unit, fields):
    error = refused(city, create_group, CreateGroup(admin, "g", "某組", role, agency, unit), InvalidInput)
    assert set(error.details["fields"]) == fields


def test_an_unknown_role_is_refused_naming_the_known_ones(city, admin):
    error = refused(city, grant_role, GrantRole(admin, city.user_id("cw.roads"), "section_chief", "public_works"),
                    InvalidInput)
    assert error.details["fields"]["role"] == ["one of " + ", ".join(ROLES)]


def test_a_taken_group_code_is_a_conflict(city, admin):
    refused(city, create_group, CreateGroup(admin, "caseworker@public_works", "又一組", "caseworker",
                                            "public_works"), Conflict)


def test_granting_a_role_uses_the_group_there_and_makes_one_when_there_is_none(city, admin):
    user = city.user_id("cw.signals")
    existing = group_of(city, "caseworker@public_works").id
    assert run(city, grant_role, GrantRole(admin, user, "caseworker", "public_works")) == existing
    made = run(city, grant_role, GrantRole(admin, user, "agency_liaison", "public_works"))
    assert run(city, grant_role, GrantRole(admin, user, "agency_liaison", "public_works")) == made  # no second
    assert city.principal("cw.signals").roles == {
        ("caseworker", city.agency_id("transport")), ("caseworker", city.agency_id("public_works")),
        ("agency_liaison", city.agency_id("public_works"))}
    assert (group_of(city, "agency_liaison@public_works").id) == made
    assert [e.kind for e in events(city)] == ["member_added", "group_created", "member_added"]


def test_a_granted_groups_code_steps_aside_from_a_taken_one(city, admin):
    run(city, create_unit, CreateUnit(admin, "transport", "signals", "交通工程科"))
    run(city, create_group, CreateGroup(admin, "supervisor@transport.signals", "另有用途", "supervisor", "transport"))
    made = run(city, grant_role, GrantRole(admin, city.user_id("cw.signals"), "supervisor", "transport", "signals"))
    assert group_of(city, "supervisor@transport.signals-2").id == made


def test_adding_and_removing_a_member_twice_changes_once(city, admin):
    user = city.user_id("cw.signals")
    assert run(city, add_member, AddMember(admin, "reviewer@all", user)) is True
    assert run(city, add_member, AddMember(admin, "reviewer@all", user)) is False
    assert ("reviewer", None) in city.principal("cw.signals").roles
    assert run(city, remove_member, RemoveMember(admin, "reviewer@all", user)) is True
    assert run(city, remove_member, RemoveMember(admin, "reviewer@all", user)) is False
    assert ("reviewer", None) not in city.principal("cw.signals").roles
    assert [(e.kind, e.data["group"], e.data["role"]) for e in events(city)] == [
        ("member_added", "reviewer@all", "reviewer"), ("member_removed", "reviewer@all", "reviewer")]


def test_a_member_of_a_group_or_a_group_that_does_not_exist_is_not_found(city, admin):
    refused(city, add_member, AddMember(admin, "nobody@nowhere", city.user_id("cw.roads")), NotFound)
    refused(city, add_member, AddMember(admin, "reviewer@all", 9999), NotFound)
    refused(city, remove_member, RemoveMember(admin, "reviewer@all", 9999), NotFound)


def test_a_closed_account_joins_no_group(city, admin):
    run(city, deactivate_user, DeactivateUser(admin, city.user_id("cw.bridges")))
    error = refused(city, add_member, AddMember(admin, "reviewer@all", city.user_id("cw.bridges")), InvalidInput)
    assert list(error.details["fields"]) == ["user_id"]


def test_revoking_a_role_leaves_every_group_of_it_in_that_agency(city, admin):
    user = city.user_id("cw.roads")
    run(city, create_unit, CreateUnit(admin, "public_works", "roads", "養護工程科"))
    run(city, grant_role, GrantRole(admin, user, "caseworker", "public_works", "roads"))
    run(city, grant_role, GrantRole(admin, user, "caseworker", "transport"))
    assert run(city, revoke_role, RevokeRole(admin, user, "caseworker", "public_works")) == 2
    assert city.principal("cw.roads").roles == {("caseworker", city.agency_id("transport"))}
    assert run(city, revoke_role, RevokeRole(admin, user, "caseworker", "public_works")) == 0


def test_revoking_a_role_in_one_unit_leaves_the_others(city, admin):
    user = city.user_id("cw.roads")
    run(city, create_unit, CreateUnit(admin, "public_works", "roads", "養護工程科"))
    run(city, grant_role, GrantRole(admin, user, "caseworker", "public_works", "roads"))
    assert run(city, revoke_role, RevokeRole(admin, user, "caseworker", "public_works", "roads")) == 1
    assert city.principal("cw.roads").roles == {("caseworker", city.agency_id("public_works"))}


def test_the_last_administrator_keeps_the_role(city, admin):
    error = refused(city, revoke_role, RevokeRole(admin, admin.user_id, "admin"), Conflict)
    assert "without an active administrator" in error.message
    refused(city, remove_member, RemoveMember(admin, "admin@all", admin.user_id), Conflict)
    run(city, grant_role, GrantRole(admin, city.user_id("reviewer"), "admin"))
    assert run(city, revoke_role, RevokeRole(admin, admin.user_id, "admin")) == 1  # another is left
    assert not city.principal("admin").is_admin


@pytest.mark.parametrize("username", ["chief.roads", "head.works", "cw.roads"])
def test_only_an_administrator_changes_groups(city, username):
    principal, user = city.principal(username), city.user_id(username)
    for service, cmd in ((create_group, CreateGroup(principal, "g", "某組", "caseworker", "public_works")),
                         (add_member, AddMember(principal, "admin@all", user)),
                         (remove_member, RemoveMember(principal, "caseworker@public_works", user)),
                         (grant_role, GrantRole(principal, user, "admin")),
                         (revoke_role, RevokeRole(principal, user, "caseworker", "public_works"))):
        refused(city, service, cmd, Forbidden)


@pytest.mark.parametrize("change", ["update", "delete"])
def test_the_record_of_administration_cannot_be_changed_or_deleted(city, admin, change):
    run(city, grant_role, GrantRole(admin, city.user_id("cw.roads"), "reviewer"))
    before = snapshot(city)
    statement = update(admin_events).values(kind="nothing") if change == "update" else delete(admin_events)
    with pytest.raises(DBAPIError, match="admin_events is append-only"):
        with city.runtime.db.begin() as conn:
            conn.execute(statement)
    assert snapshot(city) == before

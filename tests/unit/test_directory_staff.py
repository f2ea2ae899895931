"""Administering staff accounts: opening, changing, closing them, and resetting passwords."""
import json

import pytest

from engine.accounts.identity import SYSTEM
from engine.errors import Conflict, Forbidden, InvalidInput, NotAuthenticated, NotFound
from engine.services.access_tokens import AuthenticateToken, CreateAccessToken, authenticate_token, create_access_token
from engine.services.accounts import SignIn, sign_in
from engine.services.directory import UNCHANGED
from engine.services.organisation import CreateUnit, create_unit
from engine.services.staff import (
    CreateUser,
    DeactivateUser,
    SetPassword,
    UpdateUser,
    create_user,
    deactivate_user,
    set_password,
    update_user,
)
from tests.unit.directory_helpers import events, refused, run, user_row
from tests.unit.queries_city import city  # noqa: F401

PASSWORD = "桃園 petition desk"


@pytest.fixture
def admin(city):
    return city.principal("admin")


def signs_in(city, username, password) -> bool:
    try:
        run(city, sign_in, SignIn(username, password))
        return True
    except NotAuthenticated:
        return False


def open_account(city, admin, username="cw.lin", **kw) -> int:
    return run(city, create_user, CreateUser(admin, username, kw.pop("display_name", "林承辦"), **kw))


def test_an_administrator_opens_an_account_that_signs_in_with_its_password(city, admin):
    run(city, create_unit, CreateUnit(admin, "public_works", "roads", "養護工程科"))
    user_id = open_account(city, admin, email="lin@city.gov.tw", agency_code="public_works", unit_code="roads",
                           password=PASSWORD)
    row = user_row(city, user_id)
    assert (row.username, row.display_name, row.email, row.active) == ("cw.lin", "林承辦", "lin@city.gov.tw", True)
    assert row.agency_id == city.agency_id("public_works") and row.password_hash.startswith("$argon2id$")
    assert signs_in(city, "cw.lin", PASSWORD) and not signs_in(city, "cw.lin", PASSWORD + "!")
    (created,) = events(city, "user_created")
    assert created[1:4] == ("user", user_id, city.user_id("admin"))
    assert created.data["agency"] == "public_works" and created.data["unit"] == "roads"
    recorded = json.dumps([e.data for e in events(city)], ensure_ascii=False)
    assert PASSWORD not in recorded and row.password_hash not in recorded and "argon2" not in recorded


def test_an_account_without_a_password_cannot_sign_in_with_one(city, admin):
    open_account(city, admin)
    assert not signs_in(city, "cw.lin", "")


def test_a_taken_user_name_is_a_conflict_and_changes_nothing(city, admin):
    error = refused(city, create_user, CreateUser(admin, "cw.roads", "另一位"), Conflict)
    assert error.details == {"fields": {"username": ["taken"]}}


def test_every_bad_field_is_named_at_once_and_nothing_is_stored(city, admin):
    error = refused(city, create_user, CreateUser(admin, "Lin", " ", email="lin-at-city", agency_code="nowhere",
                                                  unit_code="roads", password="short"), InvalidInput)
    assert set(error.details["fields"]) == {"username", "display_name", "email", "agency_code", "password"}
    assert error.details["fields"]["agency_code"] == ["no agency has the code 'nowhere'"]


@pytest.mark.parametrize("username", ["ab", "a" * 65, "Chen", "陳", "-dash", "has space", "a/b"])
def test_a_user_name_is_three_to_sixty_four_plain_lowercase_characters(city, admin, username):
    error = refused(city, create_user, CreateUser(admin, username, "某人"), InvalidInput)
    assert list(error.details["fields"]) == ["username"]


def test_a_unit_is_named_within_its_agency(city, admin):
    run(city, create_unit, CreateUnit(admin, "transport", "signals", "交通工程科"))
    alone = refused(city, create_user, CreateUser(admin, "cw.lin", "林", unit_code="signals"), InvalidInput)
    elsewhere = refused(city, create_user, CreateUser(admin, "cw.lin", "林", agency_code="public_works",
                                                      unit_code="signals"), InvalidInput)
    assert alone.details["fields"] == {"unit_code": ["a unit is named within its agency: give the agency too"]}
    assert elsewhere.details["fields"] == {"unit_code": ["the agency has no unit with the code 'signals'"]}


@pytest.mark.parametrize("password,problem", [
    ("elevenchars", "12 to 1024 characters"), ("x" * 1025, "12 to 1024 characters"),
    ("my name is cw.lin!", "must not contain the user name"), ("aaaaaaaaaaaa", "must not be one character repeated"),
], ids=["too short", "too long", "the user name", "one character"])
def test_a_password_that_breaks_the_policy_is_refused(city, admin, password, problem):
    error = refused(city, create_user, CreateUser(admin, "cw.lin", "林", password=password), InvalidInput)
    assert error.details["fields"] == {"password": [problem]}


def test_twelve_characters_of_any_kind_make_a_password(city, admin):
    open_account(city, admin, password="今天天氣很好 我們去公園")  # 12 characters, spaces and Chinese
    assert signs_in(city, "cw.lin", "今天天氣很好 我們去公園")


def test_an_update_changes_the_fields_given_records_them_and_a_move_drops_the_old_unit(city, admin):
    run(city, create_unit, CreateUnit(admin, "public_works", "roads", "養護工程科"))
    user_id = open_account(city, admin, email="lin@city.gov.tw", agency_code="public_works", unit_code="roads")
    changed = run(city, update_user, UpdateUser(admin, user_id, display_name="林大承辦", email=None))
    assert changed == ("display_name", "email")
    assert run(city, update_user, UpdateUser(admin, user_id, display_name="林大承辦")) == ()
    assert run(city, update_user, UpdateUser(admin, user_id, agency_code="transport")) == ("agency_code", "unit_code")
    row = user_row(city, user_id)
    assert (row.display_name, row.email, row.agency_id, row.unit_id) == (
        "林大承辦", None, city.agency_id("transport"), None)
    assert [e.data for e in events(city, "user_updated")] == [
        {"display_name": "林大承辦", "email": None}, {"agency": "transport", "unit": None}]


def test_an_update_of_a_user_that_does_not_exist_or_with_bad_fields_changes_nothing(city, admin):
    refused(city, update_user, UpdateUser(admin, 9999, display_name="誰"), NotFound)
    error = refused(city, update_user, UpdateUser(admin, city.user_id("cw.roads"), display_name="",
                                                  email="no", agency_code="nowhere", active="yes"), InvalidInput)
    assert set(error.details["fields"]) == {"display_name", "email", "agency_code", "active"}
    assert UpdateUser(admin, 1).email is UNCHANGED


def test_closing_an_account_revokes_its_tokens_and_stops_its_sign_in(city, admin):
    user_id = open_account(city, admin, password=PASSWORD)
    token = run(city, create_access_token, CreateAccessToken(city.principal("cw.lin"), "報表")).token
    assert run(city, authenticate_token, AuthenticateToken(token)).user_id == user_id
    assert run(city, deactivate_user, DeactivateUser(admin, user_id)) == 1
    assert not signs_in(city, "cw.lin", PASSWORD)
    with pytest.raises(NotAuthenticated):
        run(city, authenticate_token, AuthenticateToken(token))
    with pytest.raises(NotFound):  # no principal for a closed account
        city.principal("cw.lin")
    assert [e.data for e in events(city, "user_deactivated")] == [{"tokens_revoked": 1, "sessions_ended": 0}]
    assert run(city, deactivate_user, DeactivateUser(admin, user_id)) == 0  # closed already: nothing recorded
    assert len(events(city, "user_deactivated")) == 1
    # Reopened, the account signs in again; its tokens stay revoked.
    assert run(city, update_user, UpdateUser(admin, user_id, active=True)) == ("active",)
    assert signs_in(city, "cw.lin", PASSWORD)
    with pytest.raises(NotAuthenticated):
        run(city, authenticate_token, AuthenticateToken(token))


def test_closing_an_account_by_update_revokes_its_tokens_too(city, admin):
    user_id = open_account(city, admin)
    token = run(city, create_access_token, CreateAccessToken(city.principal("cw.lin"), "報表")).token
    run(city, update_user, UpdateUser(admin, user_id, active=False))
    with pytest.raises(NotAuthenticated):
        run(city, authenticate_token, AuthenticateToken(token))
    assert events(city, "user_updated")[-1].data == {"active": False, "tokens_revoked": 1}


def test_no_one_closes_their_own_account_nor_the_last_administrators(city, admin):
    error = refused(city, deactivate_user, DeactivateUser(admin, admin.user_id), Conflict)
    assert "your own account" in error.message
    error = refused(city, update_user, UpdateUser(SYSTEM, admin.user_id, active=False), Conflict)
    assert "without an active administrator" in error.message


def test_an_administrator_resets_a_password_and_the_old_one_stops_working(city, admin):
    user_id = open_account(city, admin, password=PASSWORD)
    before = user_row(city, user_id).password_hash
    run(city, set_password, SetPassword(admin, user_id, "a new one, long enough"))
    assert signs_in(city, "cw.lin", "a new one, long enough") and not signs_in(city, "cw.lin", PASSWORD)
    assert [e[:3] + (e.data,) for e in events(city, "password_set")] == [("password_set", "user", user_id, {"sessions_ended": 0})]
    assert user_row(city, user_id).password_hash != before
    error = refused(city, set_password, SetPassword(admin, user_id, "short"), InvalidInput)
    assert list(error.details["fields"]) == ["password"]
    refused(city, set_password, SetPassword(admin, 9999, "long enough password"), NotFound)


@pytest.mark.parametrize("username", ["chief.roads", "cw.roads", "designer", "reviewer"])
def test_only_an_administrator_administers_accounts(city, username):
    principal, target = city.principal(username), city.user_id("cw.bridges")
    for service, cmd in ((create_user, CreateUser(principal, "cw.lin", "林", password=PASSWORD)),
                         (update_user, UpdateUser(principal, target, display_name="改名")),
                         (deactivate_user, DeactivateUser(principal, target)),
                         (set_password, SetPassword(principal, target, PASSWORD))):
        error = refused(city, service, cmd, Forbidden)
        assert "only an administrator" in error.message

"""Reading the directory: users page by page, one user's groups and roles, groups and their members,
the record of administration, and whom a section chief may assign work to."""
import pytest

from engine.errors import Forbidden, InvalidInput, NotFound
from engine.queries.directory import (
    admin_history,
    assignable_users,
    get_user,
    group_members_of,
    list_agencies,
    list_groups,
    list_users,
)
from engine.services.groups import GrantRole, grant_role
from engine.services.organisation import CreateUnit, create_unit
from engine.services.staff import CreateUser, DeactivateUser, UpdateUser, create_user, deactivate_user, update_user
from tests.unit.directory_helpers import run
from tests.unit.queries_city import STAFF, city  # noqa: F401


@pytest.fixture
def admin(city):
    return city.principal("admin")


def read(city, query, *args, **kw):
    with city.runtime.uow(read_only=True) as uow:
        return query(uow, *args, **kw)


def every_page(city, admin, limit, **kw) -> list[str]:
    names, cursor = [], None
    while True:
        page = read(city, list_users, admin, cursor=cursor, limit=limit, **kw)
        names += [u.username for u in page.users]
        if page.next_cursor is None:
            return names
        cursor = page.next_cursor


def test_users_are_listed_in_name_order_page_by_page_each_once(city, admin):
    assert every_page(city, admin, 5) == sorted(STAFF)
    first = read(city, list_users, admin, limit=5)
    assert len(first.users) == 5 and first.next_cursor == first.users[-1].username
    assert read(city, list_users, admin, limit=len(STAFF)).next_cursor is None


def test_users_are_narrowed_by_agency_role_state_and_text(city, admin):
    lin = run(city, create_user, CreateUser(admin, "cw.lin", "林承辦", agency_code="transport"))
    run(city, update_user, UpdateUser(admin, city.user_id("cw.bridges"), display_name="Bridge Keeper"))
    run(city, deactivate_user, DeactivateUser(admin, city.user_id("cw.signals")))
    assert every_page(city, admin, 2, agency_code="transport") == ["chief.signals", "cw.lin", "cw.signals",
                                                                   "liaison.signals"]
    assert every_page(city, admin, 2, role="caseworker") == ["cw.bridges", "cw.roads", "cw.signals"]
    assert every_page(city, admin, 2, role="caseworker", agency_code="transport") == ["cw.signals"]
    assert every_page(city, admin, 2, role="caseworker", active=True) == ["cw.bridges", "cw.roads"]
    assert every_page(city, admin, 2, active=False) == ["cw.signals"]
    assert every_page(city, admin, 2, text="KEEPER") == ["cw.bridges"]
    assert every_page(city, admin, 2, text="林") == ["cw.lin"]
    assert every_page(city, admin, 2, text="_") == []  # a wildcard of LIKE is only itself
    (found,) = read(city, list_users, admin, text="cw.lin").users
    assert (found.id, found.display_name, found.agency_code, found.agency_name, found.active) == (
        lin, "林承辦", "transport", "交通局", True)


@pytest.mark.parametrize("kw", [{"limit": 0}, {"limit": 201}, {"limit": "5"}, {"cursor": 5}])
def test_a_bad_page_size_or_cursor_is_refused(city, admin, kw):
    with pytest.raises(InvalidInput):
        read(city, list_users, admin, **kw)


def test_one_user_is_shown_with_their_groups_and_roles(city, admin):
    run(city, create_unit, CreateUnit(admin, "public_works", "roads", "養護工程科"))
    user = city.user_id("cw.roads")
    run(city, grant_role, GrantRole(admin, user, "agency_liaison", "public_works", "roads"))
    run(city, grant_role, GrantRole(admin, user, "reviewer"))
    shown = read(city, get_user, admin, user)
    assert (shown.user.username, shown.has_password) == ("cw.roads", False)
    assert [(m.group_code, m.role, m.agency_code, m.unit_code, m.unit_name) for m in shown.groups] == [
        ("agency_liaison@public_works.roads", "agency_liaison", "public_works", "roads", "養護工程科"),
        ("caseworker@public_works", "caseworker", "public_works", None, None),
        ("reviewer@all", "reviewer", None, None, None)]
    assert shown.roles == (("agency_liaison", "public_works"), ("caseworker", "public_works"), ("reviewer", None))
    with pytest.raises(NotFound):
        read(city, get_user, admin, 9999)


def test_groups_are_listed_with_their_member_counts_and_members(city, admin):
    groups = {g.code: g for g in read(city, list_groups, admin)}
    assert groups["caseworker@public_works"].member_count == 2
    assert (groups["caseworker@public_works"].agency_name, groups["reviewer@all"].agency_code) == ("工務局", None)
    assert [g.code for g in read(city, list_groups, admin, agency_code="transport")] == [
        "agency_liaison@transport", "caseworker@transport", "supervisor@transport"]
    assert [g.code for g in read(city, list_groups, admin, role="supervisor")] == [
        "supervisor@public_works", "supervisor@rdec", "supervisor@transport"]
    members = read(city, group_members_of, admin, "caseworker@public_works")
    assert [(m.username, m.active) for m in members] == [("cw.bridges", True), ("cw.roads", True)]
    with pytest.raises(NotFound):
        read(city, group_members_of, admin, "nobody@nowhere")


def test_the_record_of_a_user_lists_each_change_newest_first_with_who_made_it(city, admin):
    lin = run(city, create_user, CreateUser(admin, "cw.lin", "林承辦"))
    run(city, grant_role, GrantRole(admin, lin, "caseworker", "transport"))
    history = read(city, admin_history, admin, "user", lin)
    assert [(e.kind, e.actor) for e in history] == [("member_added", "admin"), ("user_created", "admin")]
    assert history[0].data == {"group": "caseworker@transport", "role": "caseworker", "agency": "transport",
                               "unit": None}


@pytest.mark.parametrize("username", ["chief.roads", "head.works", "reviewer", "designer"])
def test_only_an_administrator_reads_the_directory(city, username):
    principal = city.principal(username)
    for query, args in ((list_users, ()), (get_user, (city.user_id("cw.roads"),)), (list_agencies, ()),
                        (list_groups, ()), (group_members_of, ("caseworker@public_works",)),
                        (admin_history, ("user", 1))):
        with pytest.raises(Forbidden):
            read(city, query, principal, *args)


def test_a_section_chief_sees_whom_the_agencys_work_can_go_to(city, admin):
    works, transport = city.agency_id("public_works"), city.agency_id("transport")
    names = lambda who, role, agency: [m.username for m in read(city, assignable_users, city.principal(who),  # noqa
                                                                role, agency)]
    assert names("chief.roads", "caseworker", works) == ["cw.bridges", "cw.roads"]
    assert names("head.works", "caseworker", works) == ["cw.bridges", "cw.roads"]
    assert names("admin", "caseworker", transport) == ["cw.signals"]
    assert names("chief.petitions", "dispatcher", None) == ["dispatcher"]  # central work, the commission's chief
    run(city, deactivate_user, DeactivateUser(admin, city.user_id("cw.bridges")))
    assert names("chief.roads", "caseworker", works) == ["cw.roads"]  # a closed account takes no work
    for who, agency in (("chief.roads", transport), ("cw.roads", works), ("chief.roads", None),
                        ("reviewer", works)):
        with pytest.raises(Forbidden):
            names(who, "caseworker", agency)

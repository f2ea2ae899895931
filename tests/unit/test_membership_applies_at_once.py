"""A change of group membership applies to open work at once: nothing about the work changes, only who
holds the role it waits for."""
import pytest
from sqlalchemy import select

from engine.errors import NotFound
from engine.queries.directory import assignable_users
from engine.services.groups import (
    AddMember,
    GrantRole,
    RemoveMember,
    RevokeRole,
    add_member,
    grant_role,
    remove_member,
    revoke_role,
)
from engine.services.staff import CreateUser, create_user
from engine.store.schema import work_items
from tests.unit.directory_helpers import run
from tests.unit.queries_city import city, taipei  # noqa: F401


def open_work(city) -> list:
    with city.runtime.db.connect() as conn:
        return conn.execute(select(work_items).order_by(work_items.c.id)).all()


@pytest.fixture
def newcomer(city):
    """Two open caseworker items of 工務局 (simple.bpmn: a caseworker drafts the reply), and a new
    account, 林, in no group yet."""
    first = city.open_case(taipei(23)).work_item_ids[0]
    second = city.open_case(taipei(24)).work_item_ids[0]
    admin = city.principal("admin")
    user_id = run(city, create_user, CreateUser(admin, "cw.lin", "林承辦", agency_code="public_works"))
    return admin, user_id, first, second


def test_a_user_added_to_the_agencys_caseworkers_sees_and_completes_its_open_work_and_removed_does_not(
        city, newcomer):
    admin, lin, first, second = newcomer
    assert city.listed("cw.lin") == []
    with pytest.raises(NotFound):  # with no role there, the case is not theirs to see
        city.complete(first, "cw.lin")
    before = open_work(city)

    # Given 林 joins 工務局's caseworkers, the open work is theirs to take at their next request.
    run(city, add_member, AddMember(admin, "caseworker@public_works", lin))
    assert city.listed("cw.lin") == [first, second]
    assert open_work(city) == before  # the work itself did not change
    done = city.complete(first, "cw.lin")
    assert done.work_item_id == first

    # When 林 leaves the group, the other item leaves their inbox and they may not complete it.
    left = open_work(city)
    run(city, remove_member, RemoveMember(admin, "caseworker@public_works", lin))
    assert city.listed("cw.lin") == []
    with pytest.raises(NotFound):  # with no role there, the case is not theirs to see
        city.complete(second, "cw.lin")
    assert open_work(city) == left
    assert city.listed("cw.roads") == [second]  # still there for those who hold the role


def test_granting_and_revoking_a_role_applies_at_once_too(city, newcomer):
    admin, lin, first, second = newcomer
    run(city, grant_role, GrantRole(admin, lin, "caseworker", "public_works"))
    assert city.listed("cw.lin") == [first, second]
    with city.runtime.uow(read_only=True) as uow:
        assert "cw.lin" in [m.username for m in assignable_users(uow, city.principal("chief.roads"), "caseworker",
                                                                  city.agency_id("public_works"))]
    before = open_work(city)
    run(city, revoke_role, RevokeRole(admin, lin, "caseworker", "public_works"))
    assert city.listed("cw.lin") == []
    with pytest.raises(NotFound):  # with no role there, the case is not theirs to see
        city.complete(second, "cw.lin")
    assert open_work(city) == before
    with city.runtime.uow(read_only=True) as uow:
        assert "cw.lin" not in [m.username for m in assignable_users(uow, city.principal("chief.roads"),
                                                                      "caseworker", city.agency_id("public_works"))]


def test_a_section_chief_made_so_supervises_the_agencys_open_work_at_once(city, newcomer):
    admin, lin, first, second = newcomer
    assert city.listed("cw.lin", view="supervised") == []
    run(city, grant_role, GrantRole(admin, lin, "supervisor", "public_works"))
    assert city.listed("cw.lin", view="supervised") == [first, second]
    run(city, revoke_role, RevokeRole(admin, lin, "supervisor", "public_works"))
    assert city.listed("cw.lin", view="supervised") == []

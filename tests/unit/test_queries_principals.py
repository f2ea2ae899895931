"""A signed-in user's principal comes from their groups, read afresh each time."""
import pytest
from sqlalchemy import delete, update

from engine.errors import NotFound
from engine.queries import load_principal
from engine.store.schema import group_members, users
from tests.unit.queries_city import city  # noqa: F401


def principal(city, **kw):
    with city.runtime.uow(read_only=True) as uow:
        return load_principal(uow, **kw)


def test_a_principal_holds_each_groups_role_for_its_agency_or_for_all(city):
    chief = principal(city, username="chief.roads")
    assert chief.user_id == city.user_id("chief.roads") and not chief.is_admin
    assert chief.roles == {("supervisor", city.agency_id("public_works"))}
    assert principal(city, user_id=city.user_id("dispatcher")).roles == {("dispatcher", None)}
    assert principal(city, username="admin").is_admin


def test_a_change_of_groups_is_seen_at_the_next_load(city):
    user_id = city.user_id("cw.roads")
    with city.runtime.db.begin() as conn:
        conn.execute(delete(group_members).where(group_members.c.user_id == user_id))
    assert principal(city, username="cw.roads").roles == frozenset()


@pytest.mark.parametrize("who", [{"username": "nobody"}, {"user_id": 999_999}, {"username": "cw.signals"}])
def test_an_unknown_or_inactive_user_is_not_found(city, who):
    with city.runtime.db.begin() as conn:
        conn.execute(update(users).where(users.c.username == "cw.signals").values(active=False))
    with pytest.raises(NotFound):
        principal(city, **who)

"""Who a signed-in user is: the principal built from their groups."""
from __future__ import annotations

from sqlalchemy import bindparam, select

from engine.accounts.identity import Principal
from engine.accounts.roles import ADMIN_ROLE
from engine.errors import NotFound
from engine.store.schema import group_members, groups, users

# The user and their groups in one statement (it runs on every signed-in request): one row per
# group, or one row with no role for a user in none.
_user_roles = (select(users.c.id, users.c.username, groups.c.role, groups.c.agency_id)
               .select_from(users.outerjoin(group_members, group_members.c.user_id == users.c.id)
                            .outerjoin(groups, groups.c.id == group_members.c.group_id))
               .where(users.c.active.is_(True)))
_by_id = _user_roles.where(users.c.id == bindparam("b_key"))
_by_name = _user_roles.where(users.c.username == bindparam("b_key"))


def load_principal(uow, *, user_id: int | None = None, username: str | None = None) -> Principal:
    """The active user's principal: one (role, agency id) pair per group; raises NotFound."""
    if (user_id is None) == (username is None):
        raise ValueError("give a user id or a username")
    query, key = (_by_id, user_id) if user_id is not None else (_by_name, username)
    # Membership is read now, not remembered: a change of groups is seen at the next request.
    rows = uow.conn.execute(query, {"b_key": key}).all()
    if not rows:
        raise NotFound(f"user {user_id if user_id is not None else username!r} does not exist or is inactive")
    roles = frozenset((row.role, row.agency_id) for row in rows if row.role is not None)
    return Principal(user_id=rows[0].id, username=rows[0].username, roles=roles,
                     is_admin=any(role == ADMIN_ROLE for role, _ in roles))

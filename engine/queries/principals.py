"""Who a signed-in user is: the principal built from their groups."""
from __future__ import annotations

from sqlalchemy import bindparam, select

from engine.accounts.identity import Principal
from engine.accounts.roles import ADMIN_ROLE
from engine.errors import NotFound
from engine.store.schema import group_members, groups, users

_user = select(users.c.id, users.c.username).where(users.c.active.is_(True))
_roles = (select(groups.c.role, groups.c.agency_id)
          .join(group_members, group_members.c.group_id == groups.c.id)
          .where(group_members.c.user_id == bindparam("b_user")))


def load_principal(uow, *, user_id: int | None = None, username: str | None = None) -> Principal:
    """The active user's principal: one (role, agency id) pair per group; raises NotFound."""
    if (user_id is None) == (username is None):
        raise ValueError("give a user id or a username")
    query = _user.where(users.c.id == user_id) if user_id is not None else _user.where(users.c.username == username)
    user = uow.conn.execute(query).one_or_none()
    if user is None:
        raise NotFound(f"user {user_id if user_id is not None else username!r} does not exist or is inactive")
    # Membership is read now, not remembered: a change of groups is seen at the next request.
    roles = frozenset(tuple(row) for row in uow.conn.execute(_roles, {"b_user": user.id}))
    return Principal(user_id=user.id, username=user.username, roles=roles,
                     is_admin=any(role == ADMIN_ROLE for role, _ in roles))

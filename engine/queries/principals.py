"""Who a signed-in user is: the principal built from their groups."""
from __future__ import annotations

from sqlalchemy import bindparam, select

from engine.accounts.identity import Principal
from engine.accounts.roles import ADMIN_ROLE
from engine.errors import NotFound
from engine.store.schema import group_members, groups, users

#: The user's columns with one row per group (the group's role and agency; None for a user in no group).
USER_WITH_ROLES = (users.c.id, users.c.username, groups.c.role, groups.c.agency_id)
#: users joined to their groups: one round trip gives the principal.
USERS_AND_GROUPS = (users.outerjoin(group_members, group_members.c.user_id == users.c.id)
                    .outerjoin(groups, groups.c.id == group_members.c.group_id))
# The user and their groups in one statement (it runs on every signed-in request), built once.
_user = select(*USER_WITH_ROLES).select_from(USERS_AND_GROUPS).where(users.c.active.is_(True))
_by_id = _user.where(users.c.id == bindparam("b_key"))
_by_name = _user.where(users.c.username == bindparam("b_key"))


def principal_of(rows) -> Principal | None:
    """The principal of rows (user id, username, role, agency id), one per group; None without rows."""
    if not rows:
        return None
    roles = frozenset((row[2], row[3]) for row in rows if row[2] is not None)
    return Principal(user_id=rows[0][0], username=rows[0][1], roles=roles,
                     is_admin=any(role == ADMIN_ROLE for role, _ in roles))


def load_principal(uow, *, user_id: int | None = None, username: str | None = None) -> Principal:
    """The active user's principal: one (role, agency id) pair per group; raises NotFound."""
    if (user_id is None) == (username is None):
        raise ValueError("give a user id or a username")
    query, key = (_by_id, user_id) if user_id is not None else (_by_name, username)
    # Membership is read now, not remembered: a change of groups is seen at the next request.
    principal = principal_of(uow.conn.execute(query, {"b_key": key}).all())
    if principal is None:
        raise NotFound(f"user {user_id if user_id is not None else username!r} does not exist or is inactive")
    return principal

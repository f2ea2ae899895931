"""Who a signed-in user is: the principal built from their groups."""
from __future__ import annotations

from sqlalchemy import bindparam, select

from engine.accounts.identity import Principal
from engine.accounts.passwords import key_digest
from engine.accounts.roles import ADMIN_ROLE
from engine.errors import NotFound
from engine.store.schema import group_members, groups, user_sessions, users

#: The user's columns with one row per group (the group's role and agency; None for a user in no group).
USER_WITH_ROLES = (users.c.id, users.c.username, groups.c.role, groups.c.agency_id)
#: users joined to their groups: one round trip gives the principal.
USERS_AND_GROUPS = (users.outerjoin(group_members, group_members.c.user_id == users.c.id)
                    .outerjoin(groups, groups.c.id == group_members.c.group_id))
# The user and their groups in one statement (it runs on every signed-in request), built once.
_user = select(*USER_WITH_ROLES).select_from(USERS_AND_GROUPS).where(users.c.active.is_(True))
_by_id = _user.where(users.c.id == bindparam("b_key"))
_by_name = _user.where(users.c.username == bindparam("b_key"))
# A browser session's user, through its row: a session that has ended finds no one.
_by_session = _user.where(users.c.id == select(user_sessions.c.user_id).where(
    user_sessions.c.key_hash == bindparam("b_key"), user_sessions.c.ended_at.is_(None)).scalar_subquery())


def principal_of(rows) -> Principal | None:
    """The principal of rows (user id, username, role, agency id), one per group; None without rows."""
    if not rows:
        return None
    roles = frozenset((row[2], row[3]) for row in rows if row[2] is not None)
    return Principal(user_id=rows[0][0], username=rows[0][1], roles=roles,
                     is_admin=any(role == ADMIN_ROLE for role, _ in roles))


def load_principal(uow, *, user_id: int | None = None, username: str | None = None,
                   session_key: str | None = None) -> Principal:
    """The active user's principal, by id, name or browser session key: one (role, agency id) pair
    per group; raises NotFound (for a session: one that has ended, or was never opened)."""
    given = [(q, k) for q, k in ((_by_id, user_id), (_by_name, username), (_by_session, session_key)) if k is not None]
    if len(given) != 1:
        raise ValueError("give a user id, a username or a session key")
    query, key = given[0]
    if query is _by_session:
        key = key_digest(key)
    # Membership is read now, not remembered: a change of groups is seen at the next request.
    principal = principal_of(uow.conn.execute(query, {"b_key": key}).all())
    if principal is None:
        raise NotFound("the session has ended" if session_key is not None else
                       f"user {user_id if user_id is not None else username!r} does not exist or is inactive")
    return principal

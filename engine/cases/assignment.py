"""Who a newly opened work item goes to: a person the case's data names, or the whole group.

Lanes name roles (DESIGN decision 6): work opens to every holder of the role in the case's
agency. A task may name a person instead, by one of two properties, tried in this order:

- `assignTo="performer:<task id>"`: whoever last completed that task of the case for the same
  agency (a reply the supervisor returns goes back to the caseworker who drafted it);
- `assigneeVariable="<variable>"`: the user whose username the task's variable holds (the
  dispatcher names the caseworker along with the agency).

The person gets the item only while they are active and hold the item's role for its agency
as a member of a group (an administrator's rights make no one a caseworker); otherwise the item
goes to the group. Each lookup is one indexed query, made only when a new task has the property.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, bindparam, exists, or_, select

from engine.store.schema import group_members, groups, users, work_items


@dataclass(frozen=True)
class Person:
    """An active user and the (role, agency id) pairs of their groups (agency None: every agency)."""

    id: int
    username: str
    roles: frozenset

    def holds(self, role: str | None, agency_id: int | None) -> bool:
        """True if one of the person's groups gives them the role for the agency."""
        return role is not None and ((role, agency_id) in self.roles or (role, None) in self.roles)


@dataclass(frozen=True)
class Choice:
    """The person an item opened by the step goes to, and why (for the case history)."""

    user_id: int
    username: str
    reason: str


_member_roles = (select(users.c.id, users.c.username, groups.c.role, groups.c.agency_id)
                 .select_from(users.outerjoin(group_members, group_members.c.user_id == users.c.id)
                              .outerjoin(groups, groups.c.id == group_members.c.group_id))
                 .where(users.c.active.is_(True)))

# The completed items of the tasks asked about, the latest first, each with whether its performer
# still holds the item's role for the item's agency: through work_items' index on case_id.
_holds_it = exists().where(
    group_members.c.user_id == work_items.c.completed_by, groups.c.id == group_members.c.group_id,
    groups.c.role == work_items.c.role,
    or_(groups.c.agency_id == work_items.c.agency_id, groups.c.agency_id.is_(None)))
_performers = (select(work_items.c.task_spec, work_items.c.role, work_items.c.agency_id, work_items.c.completed_by,
                      users.c.username, and_(users.c.active.is_(True), _holds_it).label("holds"))
               .join(users, users.c.id == work_items.c.completed_by)
               .where(work_items.c.case_id == bindparam("b_case"), work_items.c.status == "completed",
                      work_items.c.task_spec.in_(bindparam("b_specs", expanding=True)))
               .order_by(work_items.c.completed_at.desc(), work_items.c.id.desc()))


def _people(rows) -> dict[int, Person]:
    found: dict[int, tuple[str, set]] = {}
    for user_id, username, role, agency_id in rows:
        roles = found.setdefault(user_id, (username, set()))[1]
        if role is not None:
            roles.add((role, agency_id))
    return {user_id: Person(user_id, username, frozenset(roles)) for user_id, (username, roles) in found.items()}


def person(conn, user_id: int) -> Person | None:
    """The active user with this id and their groups' roles; None if there is none."""
    return _people(conn.execute(_member_roles.where(users.c.id == user_id))).get(user_id)


def _spec_names(task: str) -> list[str]:
    # The instances of a multi-instance task are stored under '<task> [child]'.
    return [task, f"{task} [child]"]


def choose(conn, case_id: int, wanted: list, *, new_case: bool = False) -> dict[str, Choice]:
    """The person each new task goes to, by task id; a task missing from the answer goes to its group.

    `wanted` holds (ReadyTask, role, agency id) for the tasks with an assignTo or assigneeVariable
    property only. new_case: the case opens with this step, so none of its work was completed yet
    and nobody is looked up as a task's last performer.
    """
    chosen: dict[str, Choice] = {}
    by_performer = [] if new_case else [w for w in wanted if w[0].performer_of]
    if by_performer:
        specs = sorted({name for t, _, _ in by_performer for name in _spec_names(t.performer_of)})
        rows = conn.execute(_performers, {"b_case": case_id, "b_specs": specs}).all()
        for task, role, agency_id in by_performer:
            names = _spec_names(task.performer_of)
            last = next((r for r in rows if r.task_spec in names and r.agency_id == agency_id), None)
            if last is not None and last.holds and last.role == role:
                chosen[task.task_id] = Choice(last.completed_by, last.username,
                                              f"the last to complete {task.performer_of}")
    by_name = [w for w in wanted if w[0].assignee and w[0].task_id not in chosen]
    if by_name:
        names = sorted({t.assignee for t, _, _ in by_name})
        people = {p.username: p for p in _people(conn.execute(_member_roles.where(users.c.username.in_(names))))
                  .values()}
        for task, role, agency_id in by_name:
            named = people.get(task.assignee)
            if named is not None and named.holds(role, agency_id):
                chosen[task.task_id] = Choice(named.id, named.username, "named in the case")
    return chosen

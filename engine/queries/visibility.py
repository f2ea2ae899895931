"""Who sees what: the agencies whose cases, work and queues a principal may read.

- Cases. An administrator, and anyone holding a role for every agency (the commission's
  dispatchers, reviewers, operators and council liaisons), sees every case, as do the
  commission's section chiefs and head, who chase late work everywhere. Anyone else sees the
  cases of the agencies they hold a role in: a case assigned to the agency now, or with open
  work for it (a co-handling agency's opinion). A transferred case leaves the old agency's view.
- Supervision. A section chief (`supervisor`) or agency head oversees all open work of their
  agency; at the commission also the central work, which has no agency. Work items carry no
  unit today, so a section chief's view is the whole agency, not their unit.
- The escalation queue. The commission (administrators, reviewers, its section chiefs and head)
  sees every agency's; other section chiefs and agency heads their agency's.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import false, or_, select, true

from engine.accounts.identity import Principal
from engine.store.schema import agencies

#: Roles that oversee all open work of the agency they are held in.
SUPERVISING_ROLES = frozenset({"supervisor", "agency_head"})

#: Roles held for every agency that give no sight of cases: they design processes, not handle them.
ROLES_WITHOUT_CASES = frozenset({"process_designer"})


@dataclass(frozen=True)
class Scope:
    """Every agency, or some agencies, with or without central work (work of no agency)."""

    everything: bool = False
    agency_ids: frozenset = frozenset()
    central: bool = False

    @property
    def empty(self) -> bool:
        return not (self.everything or self.agency_ids or self.central)

    def clause(self, agency_id):
        """SQL: the agency column is in this scope."""
        if self.everything:
            return true()
        clauses = [agency_id.in_(sorted(self.agency_ids))] if self.agency_ids else []
        if self.central:
            clauses.append(agency_id.is_(None))
        return or_(*clauses) if clauses else false()


EVERYTHING = Scope(everything=True)

_commission = select(agencies.c.id).where(agencies.c.kind == "commission").order_by(agencies.c.id).limit(1)


def commission_id(uow) -> int | None:
    """The agency of kind 'commission' (研考會), whose chiefs oversee central work."""
    load = lambda: uow.conn.execute(_commission).scalar_one_or_none()  # noqa: E731
    return uow.cache.get(("commission_agency",), load) if uow.cache is not None else load()


def _held_everywhere(principal: Principal, roles) -> bool:
    return any(agency is None and role in roles for role, agency in principal.roles)


def _agencies(principal: Principal, roles=None) -> frozenset:
    return frozenset(agency for role, agency in principal.roles
                     if agency is not None and (roles is None or role in roles))


def case_scope(uow, principal: Principal) -> Scope:
    """The agencies whose cases the principal sees."""
    if principal.is_admin or any(agency is None and role not in ROLES_WITHOUT_CASES
                                 for role, agency in principal.roles):
        return EVERYTHING
    supervised = _agencies(principal, SUPERVISING_ROLES)
    if supervised and commission_id(uow) in supervised:
        return EVERYTHING
    return Scope(agency_ids=_agencies(principal))


def supervision_scope(uow, principal: Principal) -> Scope:
    """The agencies whose open work the principal oversees (the inbox's supervised view)."""
    if principal.is_admin or _held_everywhere(principal, SUPERVISING_ROLES):
        return EVERYTHING
    supervised = _agencies(principal, SUPERVISING_ROLES)
    return Scope(agency_ids=supervised, central=bool(supervised) and commission_id(uow) in supervised)


def queue_scope(uow, principal: Principal) -> Scope:
    """The agencies whose escalation queue the principal reads."""
    if principal.is_admin or _held_everywhere(principal, SUPERVISING_ROLES | {"reviewer"}):
        return EVERYTHING
    scope = supervision_scope(uow, principal)
    return EVERYTHING if scope.central else scope


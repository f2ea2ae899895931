"""Who sees what: the agencies whose cases, work and queues a principal may read.

- Cases. An administrator, and anyone holding a role for every agency (the commission's
  dispatchers, reviewers, operators and council liaisons), sees every case, as do the
  commission's section chiefs and head, who chase late work everywhere. Anyone else sees the
  cases of the agencies they hold a role in: a case assigned to the agency now, or with open
  work for it (a co-handling agency's opinion). A transferred case leaves the old agency's view.
- Supervision. A section chief (`supervisor`) or agency head oversees all open work of their
  agency; at the commission also the central work, which has no agency. Supervision is by agency:
  work items carry their case's unit (the escalation queue counts by it), yet a section chief's
  view is the whole agency, not their unit.
- The escalation queue. The commission (administrators, reviewers, its section chiefs and head)
  sees every agency's; other section chiefs and agency heads their agency's.
- The petitioner (personal data: identity and contact), only to roles that need it for the case
  (DESIGN.md, decision 10): administrators; the commission's dispatchers (routing, closing
  anonymous cases), reviewers (following up unsatisfied citizens) and 1999 operators (calling
  back), for every case they see, and council liaisons for council items; the commission's
  section chiefs and head, who answer for all of these; and the handling agency's caseworkers,
  section chiefs and agency heads, who reply, unless the case is confidential (行政程序法 art.
  170). Not co-handling agencies or agency liaisons (they give an opinion to the handling
  agency, not a reply to the citizen), process designers or auditors, who may read cases.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, exists, false, literal_column, or_, select, true

from engine.accounts.identity import Principal
from engine.store.schema import agencies, cases, work_items

#: Roles that oversee all open work of the agency they are held in.
SUPERVISING_ROLES = frozenset({"supervisor", "agency_head"})

#: Roles held for every agency that see the petitioner of every case they see, or of the case
#: types named (the rule in the module's docstring).
PETITIONER_ROLES_CENTRAL = {"dispatcher": None, "reviewer": None, "operator": None,
                            "council_liaison": frozenset({"council_item"})}

#: Roles of the handling agency that see its cases' petitioners, unless a case is confidential.
PETITIONER_ROLES_HANDLING = frozenset({"caseworker", "supervisor", "agency_head"})

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


def visible_cases(scope: Scope):
    """SQL: the case is in the scope: its agency's, or with open work for an agency in it."""
    if scope.everything:
        return true()
    work_for_us = exists().where(work_items.c.case_id == cases.c.id, work_items.c.status == literal_column("'open'"),
                                 work_items.c.agency_id.in_(sorted(scope.agency_ids)))
    return scope.clause(cases.c.agency_id) | work_for_us


#: visible_cases for a scope of agencies given as the parameter `b_scope_agencies` (a list): one statement,
#: built once, for every reader (scope_parameters(scope) gives its value).
VISIBLE_TO_AGENCIES = (cases.c.agency_id.in_(bindparam("b_scope_agencies", expanding=True))
                       | exists().where(work_items.c.case_id == cases.c.id,
                                        work_items.c.status == literal_column("'open'"),
                                        work_items.c.agency_id.in_(bindparam("b_scope_agencies", expanding=True))))


def scope_parameters(scope: Scope) -> dict:
    """The parameters of VISIBLE_TO_AGENCIES for a scope that is not everything."""
    return {"b_scope_agencies": sorted(scope.agency_ids)}


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



def sees_petitioner(uow, principal: Principal, *, case_type: str, agency_id: int | None, confidential: bool) -> bool:
    """True if the principal needs the petitioner of a case it sees (the rule in the module's docstring)."""
    if principal.is_admin:
        return True
    central = [PETITIONER_ROLES_CENTRAL[role] for role, agency in principal.roles
               if agency is None and role in PETITIONER_ROLES_CENTRAL]
    if any(types is None or case_type in types for types in central):
        return True
    chiefs = _agencies(principal, SUPERVISING_ROLES)
    if chiefs and commission_id(uow) in chiefs:
        return True
    return not confidential and agency_id is not None and agency_id in _agencies(principal, PETITIONER_ROLES_HANDLING)

"""The roles petiflow knows, what each may do, and whether it is held in an agency or for all of them.

A group is a role held in an agency (or one of its units), or, for the roles below that are
held for every agency, held at the commission with no agency named. Lanes of the diagrams name
roles (lane `Caseworker` -> role `caseworker`, engine.cases.lanes); an unknown role is refused
when a group is made, so no group can hold a role no lane, queue or check will ever ask for.
"""
from __future__ import annotations

#: The group role that makes its members administrators.
ADMIN_ROLE = "admin"

#: Every role, with what its holders may do (the README's table of roles says the same).
ROLES = {
    "operator": "1999 hotline: records calls, answers them, opens a petition or dispatch case for the caller",
    "dispatcher": "the commission's routing (分文): confirms or overrides the suggested agency, merges duplicates",
    "caseworker": "works the open work of their agency: drafts replies, asks for extensions or transfers",
    "supervisor": "section chief (科長): approves or returns replies, oversees all open work of their agency, "
                  "gets overdue work first",
    "agency_head": "head of an agency: oversees all its open work, gets overdue work second",
    "agency_liaison": "an agency's contact for council items and co-handled cases",
    "reviewer": "the commission's review (研考): reply quality, unsatisfied citizens, council items, "
                "site inspections, the chasing list",
    "council_liaison": "registers council interpellations and resolutions and sends the replies back",
    "process_designer": "edits, validates and deploys diagrams; sees no cases",
    "auditor": "reads every case and its history; works nothing",
    ADMIN_ROLE: "users, groups, agencies and units, calendar and deadline rules; may do anything",
}

#: The commission's roles whose work is central: a lane of one of these is not scoped to the
#: case's agency (engine.cases.lanes), and its holders hold it for every agency.
CENTRAL_ROLES = frozenset({"dispatcher", "reviewer", "operator", "council_liaison"})

#: Roles held for every agency, by a group that names no agency or unit.
HELD_EVERYWHERE = CENTRAL_ROLES | {"process_designer", "auditor", ADMIN_ROLE}

#: Roles held in one agency (and perhaps one of its units): a group of one names its agency.
AGENCY_ROLES = frozenset(ROLES) - HELD_EVERYWHERE

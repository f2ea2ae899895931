"""Who may act on work: a role held for the work's agency, or for every agency."""
import pytest

from engine.accounts.identity import SYSTEM, Principal

ROADS, PARKS = 3, 4
CASEWORKER = Principal(user_id=7, username="cw.roads", roles=frozenset({("caseworker", ROADS)}))
DISPATCHER = Principal(user_id=8, username="dispatcher", roles=frozenset({("dispatcher", None)}))


@pytest.mark.parametrize("principal, role, agency, may", [
    (CASEWORKER, "caseworker", ROADS, True),
    (CASEWORKER, "caseworker", PARKS, False),   # the same role at another agency
    (CASEWORKER, "caseworker", None, False),    # work of no agency yet needs the role for every agency
    (CASEWORKER, "reviewer", ROADS, False),
    (CASEWORKER, None, ROADS, False),           # a task in no lane is nobody's
    (DISPATCHER, "dispatcher", PARKS, True),    # held for every agency
    (DISPATCHER, "dispatcher", None, True),
    (DISPATCHER, "caseworker", PARKS, False),
    (SYSTEM, "reviewer", PARKS, True),
    (SYSTEM, None, None, True),
], ids=lambda v: v.username if isinstance(v, Principal) else str(v))
def test_a_principal_holds_a_role_for_its_agency_or_for_all(principal, role, agency, may):
    assert principal.holds(role, agency) is may

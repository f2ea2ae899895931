"""How lanes become roles and which agency a work item belongs to."""
from __future__ import annotations

import re

from engine.accounts.roles import CENTRAL_ROLES


def role_for_lane(lane: str | None) -> str | None:
    """The role a lane names: 'Caseworker' -> 'caseworker', 'Council Liaison' -> 'council_liaison'."""
    if not lane:
        return None
    return re.sub(r"[^0-9a-z]+", "_", lane.strip().lower()).strip("_") or None


def work_item_agency(lane: str | None, case_agency_id: int | None) -> int | None:
    """The agency whose role holders see the item: the case's agency, unless the role is central."""
    role = role_for_lane(lane)
    if role is None or role in CENTRAL_ROLES:
        return None
    return case_agency_id

"""Show a case to a person: the case page's read, with the record of the personal data it showed.

DESIGN.md (decision 10): every read of personal data is logged. A query does not write, so the
case page reads a case through this service, which writes, in the caller's unit of work, one
`personal_data_reads` row each time the view carries the petitioner: who (user id and username),
when (the unit of work's clock), which case, which fields, through what. The caller commits. On
PostgreSQL a unit that has written nothing before writes the record by a statement that commits
itself (no BEGIN and COMMIT round trips): a record may then outlive a view that fails after it,
never the reverse; in a unit already writing, the record commits or rolls back with the rest.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, fields

from sqlalchemy import insert

from engine.accounts.identity import Principal
from engine.errors import InvalidInput
from engine.queries.cases import CaseView, get_case, get_case_by_number
from engine.store.schema import personal_data_reads

#: Where personal data can be shown; the record names it.
CHANNELS = frozenset({"case_page", "case_print", "api"})

log = logging.getLogger("petiflow.personal_data")


@dataclass(frozen=True)
class ViewCase:
    """Show a case, by id or by number, to the principal, through a page or the API (`via`)."""

    principal: Principal
    case_id: int | None = None
    case_no: str | None = None
    via: str = "case_page"


def view_case(cmd: ViewCase, uow) -> CaseView:
    """The case as the principal may see it, recording a petitioner shown; raises InvalidInput without
    exactly one of case_id and case_no or for an unknown `via`, NotFound as get_case."""
    if (cmd.case_id is None) == (cmd.case_no is None):
        raise InvalidInput("give the case's id or its number, not both",
                           details={"fields": {"case_id": ["give case_id or case_no"]}})
    if cmd.via not in CHANNELS:
        raise InvalidInput(f"unknown channel {cmd.via!r}", details={"fields": {"via": [f"one of {sorted(CHANNELS)}"]}})
    if cmd.case_id is not None:
        case = get_case(uow, cmd.principal, cmd.case_id, personal_data=True)
    else:
        case = get_case_by_number(uow, cmd.principal, cmd.case_no, personal_data=True)
    if case.petitioner is not None:
        shown = [f.name for f in fields(case.petitioner) if getattr(case.petitioner, f.name) is not None]
        if shown:
            # Alone in its unit of work (a page that only reads), the record is one statement that commits
            # itself on PostgreSQL, without BEGIN and COMMIT round trips; in a unit already writing it
            # joins that transaction. Either way it is durable before the page is sent.
            uow.conn.execute(insert(personal_data_reads), {
                "at": uow.clock.now(), "user_id": cmd.principal.user_id, "username": cmd.principal.username,
                "case_id": case.case_id, "fields": ",".join(shown), "via": cmd.via},
                execution_options={"petiflow_atomic": True})
            log.info("petitioner of case %s (%s) shown to user %s (%s) via %s", case.case_no, ",".join(shown),
                     cmd.principal.user_id, cmd.principal.username, cmd.via)
    return case

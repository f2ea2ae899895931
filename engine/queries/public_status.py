"""A case as its citizen may read it with the case number and lookup code: nothing else.

The public status holds the case's stage, the agency handling it, when it was received and is
due, and the reply once it was sent: no personal data, no internal notes, no staff names. A
wrong code and a case that does not exist (or was not filed on the mailbox) give the same
NotFound, with the same message, after the same work.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select

from engine.cases import lookup_codes
from engine.errors import NotFound
from engine.store.schema import agencies, case_events, case_lookup_codes, cases, work_items

#: What a wrong code, a case that does not exist and a case without a code are all told.
NO_SUCH_CASE = "no case has this case number and lookup code"

#: The longest case number read (the column's length).
MAX_CASE_NO = cases.c.case_no.type.length

#: The task of the petition workflow that records the citizen's satisfaction.
SURVEY_TASK = "record_survey"


@dataclass(frozen=True)
class PublicCase:
    """A case proven by its code: its id, number and the agency handling it (for the services)."""

    case_id: int
    case_no: str
    status: str
    agency_id: int | None


@dataclass(frozen=True)
class PublicStatus:
    """What the citizen is shown: stage is received, in_progress, replied or closed; survey is
    not_yet (no reply), open, answered or closed (its time ran out)."""

    case_no: str
    stage: str
    agency_name: str | None
    received_at: datetime
    due_at: datetime | None
    closed_at: datetime | None
    reply_text: str | None
    replied_at: datetime | None
    survey: str


_case = (select(cases.c.id, cases.c.case_no, cases.c.status, cases.c.agency_id, agencies.c.name.label("agency_name"),
                cases.c.received_at, cases.c.due_at, cases.c.closed_at, case_lookup_codes.c.code_sha256)
         .select_from(cases.join(case_lookup_codes, case_lookup_codes.c.case_id == cases.c.id)
                      .outerjoin(agencies, agencies.c.id == cases.c.agency_id))
         .where(cases.c.case_no == bindparam("b_case_no")))
_notices = (select(case_events.c.at, case_events.c.data)
            .where(case_events.c.case_id == bindparam("b_case"), case_events.c.kind == "citizen_notified")
            .order_by(case_events.c.id.desc()))
_surveys = (select(work_items.c.status).where(work_items.c.case_id == bindparam("b_case"),
                                               work_items.c.task_spec == SURVEY_TASK)
            .order_by(work_items.c.id.desc()))


def clean_case_no(typed: str | None) -> str:
    """A case number as typed, trimmed and in upper case (P20261126000123)."""
    return (typed or "").strip().upper()[:MAX_CASE_NO]


def _proven(uow, case_no: str, code: str):
    case_no = clean_case_no(case_no)
    row = uow.conn.execute(_case, {"b_case_no": case_no}).one_or_none() if case_no else None
    if not lookup_codes.matches(case_no, code, row.code_sha256 if row is not None else None):
        raise NotFound(NO_SUCH_CASE)
    return row


def proven_case(uow, case_no: str, code: str) -> PublicCase:
    """The case whose lookup code this is; raises NotFound (NO_SUCH_CASE) otherwise."""
    row = _proven(uow, case_no, code)
    return PublicCase(row.id, row.case_no, row.status, row.agency_id)


def survey_state(uow, case_id: int) -> str:
    """not_yet, open, answered or closed: the state of the case's satisfaction survey."""
    states = list(uow.conn.execute(_surveys, {"b_case": case_id}).scalars())
    if "completed" in states:
        return "answered"
    if "open" in states:
        return "open"
    return "closed" if states else "not_yet"


def public_status(uow, case_no: str, code: str) -> PublicStatus:
    """The case's public status; raises NotFound (NO_SUCH_CASE) for a wrong code or an unknown case."""
    row = _proven(uow, case_no, code)
    reply = next((r for r in uow.conn.execute(_notices, {"b_case": row.id})
                  if (r.data or {}).get("notice") == "reply" and (r.data or {}).get("text")), None)
    if row.status != "open":
        stage = "closed"
    elif reply is not None:
        stage = "replied"
    else:
        stage = "in_progress" if row.agency_id is not None else "received"
    return PublicStatus(row.case_no, stage, row.agency_name, row.received_at, row.due_at, row.closed_at,
                        reply.data["text"] if reply is not None else None, reply.at if reply is not None else None,
                        survey_state(uow, row.id))

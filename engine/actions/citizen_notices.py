"""Telling the citizen: the reply, a request for more (補陳), an extension, a dispatch outcome.

A notice goes through the outbox in the transaction of the step that decides it (sent after
the commit, retried, never twice) to the e-mail address of the case's petitioner. Without an
address on file, the diagram's text stays with the case for the channel the citizen used
(post, a call back from 1999), and the history records that no e-mail went out. The address
itself is never written to the history.
"""
from __future__ import annotations

from typing import Callable

from sqlalchemy import bindparam, select

from engine.cases.history import event
from engine.errors import InvalidInput
from engine.services.notifications import queue_email
from engine.store.schema import cases, petitioners
from engine.workflow.service_tasks import StepContext

_petitioner = (select(cases.c.case_no, petitioners.c.email)
               .outerjoin(petitioners, petitioners.c.id == cases.c.petitioner_id)
               .where(cases.c.id == bindparam("b_case")))

#: Subjects of the notices by kind, with the case number filled in.
SUBJECTS = {
    "reply": "案件 {case_no} 答復",
    "supplement_request": "案件 {case_no} 請補充陳情內容",
    "extension": "案件 {case_no} 答復期限展延通知",
    "outcome": "案件 {case_no} 處理結果通知",
}


def tell_citizen(context: StepContext, kind: str, body: str | Callable[[str], str], *,
                 dedup_key: str | None = None) -> str:
    """Queue the notice to the petitioner's e-mail; returns the channel: 'email' or 'no_email'
    ('email_queued_before' when the same notice, by its key, was queued already).

    `body` is the text, or a function of the case number that writes it. Records
    `citizen_notified` (kind and channel) in the case history. `dedup_key` names the notice
    for the outbox; by default the case, the kind and the step's time.
    """
    now = context.uow.clock.now()
    row = context.uow.conn.execute(_petitioner, {"b_case": context.case_id}).one()
    channel = "no_email"
    if row.email:
        subject = SUBJECTS.get(kind, "案件 {case_no} 處理通知").format(case_no=row.case_no)
        text = body(row.case_no) if callable(body) else body
        queued = queue_email(context.uow, dedup_key=dedup_key or f"citizen:{context.case_id}:{kind}:{now.isoformat()}",
                             to=row.email, case_id=context.case_id, subject=subject, body=text)
        channel = "email" if queued is not None else "email_queued_before"
    context.events.append(event(context.case_id, now, "citizen_notified", actor_id=context.actor_id,
                                notice=kind, channel=channel))
    return channel


def notify_citizen(context: StepContext, params: dict) -> dict:
    """Tell the citizen `body` (a notice of `kind`: reply, supplement_request, outcome...)."""
    kind = str(params.get("kind") or "").strip()
    body = str(params.get("body") or "").strip()
    if not kind or not body:
        raise InvalidInput("a notice to the citizen needs a kind and a text (body)")
    return {"notice": kind, "channel": tell_citizen(context, kind, body)}

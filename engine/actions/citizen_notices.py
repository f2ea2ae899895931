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
from engine.services.notifications import email_payload
from engine.store import outbox
from engine.store.schema import case_lookup_codes, petitioners
from engine.workflow.service_tasks import StepContext

_email = select(petitioners.c.email).where(petitioners.c.id == bindparam("b_petitioner"))

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
    email = _petitioner_email(context)
    channel = "no_email"
    text = body(context.case_no) if callable(body) else body
    if email:
        case_no = context.case_no
        key = dedup_key or f"citizen:{context.case_id}:{kind}:{now.isoformat()}"
        if outbox.queued_before(context.uow, key) or any(m[2] == key for m in context.changes.messages):
            channel = "email_queued_before"
        else:
            subject = SUBJECTS.get(kind, "案件 {case_no} 處理通知").format(case_no=case_no)
            mailed = text + _survey_invitation(context) if kind == "reply" else text
            context.changes.queue("email", email_payload(subject=subject, body=mailed, to=email,
                                                         case_id=context.case_id), key)
            channel = "email"
    # The reply is what the citizen reads on the mailbox's status page (engine.queries.public_status).
    extra = {"text": text} if kind == "reply" else {}
    context.events.append(event(context.case_id, now, "citizen_notified", actor_id=context.actor_id,
                                notice=kind, channel=channel, **extra))
    return channel


_site = select(case_lookup_codes.c.site_url).where(case_lookup_codes.c.case_id == bindparam("b_case"))


def _survey_invitation(context: StepContext) -> str:
    """The reply e-mail's last lines for a case filed on the web mailbox: where to answer its survey."""
    found = context.uow.conn.execute(_site, {"b_case": context.case_id}).one_or_none()
    if found is None:
        return ""
    where = f"{found.site_url}mailbox/survey?case_no={context.case_no}" if found.site_url else "縣政信箱「案件查詢」"
    return (f"\n\n滿意度調查：請至 {where} ，以案件編號 {context.case_no} 及受理時取得的查詢碼填答。"
            f"\nSatisfaction survey: {where} (case number and the lookup code you were given).")


def _petitioner_email(context: StepContext) -> str | None:
    """The petitioner's address: of the one the step's new case brings, or as stored."""
    if context.new_petitioner is not None:
        return context.new_petitioner.get("email")
    if context.petitioner_id is None:
        return None
    return context.uow.conn.execute(_email, {"b_petitioner": context.petitioner_id}).scalar_one_or_none()


def notify_citizen(context: StepContext, params: dict) -> dict:
    """Tell the citizen `body` (a notice of `kind`: reply, supplement_request, outcome...)."""
    kind = str(params.get("kind") or "").strip()
    body = str(params.get("body") or "").strip()
    if not kind or not body:
        raise InvalidInput("a notice to the citizen needs a kind and a text (body)")
    return {"notice": kind, "channel": tell_citizen(context, kind, body)}

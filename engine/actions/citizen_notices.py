"""Telling the citizen: the reply, a request for more (補陳), an extension, a dispatch's receipt and outcome.

A notice goes through the outbox in the transaction of the step that decides it (sent after
the commit, retried, never twice) to the e-mail address of the case's petitioner. Without an
address on file, the diagram's text stays with the case for the channel the citizen used
(post, a call back from 1999), and the history records that no e-mail went out. The address
itself is never written to the history.

A notice may also go (notify_citizen's `sms` and `in_app` parameters, which the dispatch
process sets for its reporters):
- by SMS to the petitioner's mobile number (09xxxxxxxx or +8869xxxxxxxx), through the SMS
  gateway (handlers/notify_sms.py); a landline or no number: none, and the history says so;
- in the app, to the signed-in reporter: the user who took the case in through the city's
  reporting app (channel "app": a 查報員, a village chief). A case taken in by an operator or a
  dispatcher on a citizen's behalf has no such reporter.
"""
from __future__ import annotations

import re
from typing import Callable

from sqlalchemy import bindparam, select

from engine.cases.history import event
from engine.errors import InvalidInput
from engine.services.notifications import email_payload
from engine.store import outbox
from engine.store.schema import case_events, case_lookup_codes, cases, petitioners
from engine.workflow.service_tasks import StepContext

_contact = select(petitioners.c.email, petitioners.c.phone).where(petitioners.c.id == bindparam("b_petitioner"))
_app_reporter = (select(case_events.c.actor_id)
                 .join(cases, cases.c.id == case_events.c.case_id)
                 .where(case_events.c.case_id == bindparam("b_case"), case_events.c.kind == "case_received",
                        cases.c.channel == bindparam("b_channel"))
                 .order_by(case_events.c.id).limit(1))

#: The channel of cases taken in through the city's reporting app by a signed-in reporter.
APP_CHANNEL = "app"

#: Subjects of the notices by kind, with the case number filled in.
SUBJECTS = {
    "reply": "案件 {case_no} 答復",
    "supplement_request": "案件 {case_no} 請補充陳情內容",
    "extension": "案件 {case_no} 答復期限展延通知",
    "outcome": "案件 {case_no} 處理結果通知",
    "received": "案件 {case_no} 已受理",
}

_MOBILE = re.compile(r"(?:\+?886|0)(9\d{8})")


def mobile_number(phone: str | None) -> str | None:
    """A Taiwanese mobile number in E.164 (+8869xxxxxxxx), or None for a landline or no number."""
    if not phone:
        return None
    found = _MOBILE.fullmatch(re.sub(r"[\s\-().]", "", phone))
    return f"+886{found.group(1)}" if found else None


def tell_citizen(context: StepContext, kind: str, body: str | Callable[[str], str], *,
                 dedup_key: str | None = None, sms: bool = False, in_app: bool = False) -> str | dict:
    """Queue the notice to the petitioner's e-mail; returns the channel: 'email' or 'no_email'
    ('email_queued_before' when the same notice, by its key, was queued already).

    `body` is the text, or a function of the case number that writes it. Records
    `citizen_notified` (kind and channel) in the case history. `dedup_key` names the notice
    for the outbox; by default the case, the kind and the step's time. With `sms` or `in_app`,
    returns what went where as a dict: {"channel": ..., "sms": "sms" | "no_mobile",
    "in_app": "in_app" | "no_reporter"}, recorded the same way.
    """
    now = context.uow.clock.now()
    email, phone = _petitioner_contact(context)
    case_no = context.case_no
    key = dedup_key or f"citizen:{context.case_id}:{kind}:{now.isoformat()}"
    subject = SUBJECTS.get(kind, "案件 {case_no} 處理通知").format(case_no=case_no)
    text = body(case_no) if callable(body) else body
    channel = "no_email"
    if email:
        if _queued_before(context, key):
            channel = "email_queued_before"
        else:
            mailed = text + _survey_invitation(context) if kind == "reply" else text
            context.changes.queue("email", email_payload(subject=subject, body=mailed, to=email,
                                                         case_id=context.case_id), key)
            channel = "email"
    sent = {"channel": channel}
    if sms:
        number = mobile_number(phone)
        sent["sms"] = "sms" if number else "no_mobile"
        if number and not _queued_before(context, f"sms:{key}"):
            context.changes.queue("sms", {"to": number, "text": text, "case_id": context.case_id}, f"sms:{key}")
    if in_app:
        reporter = _app_reporter_id(context)
        sent["in_app"] = "in_app" if reporter else "no_reporter"
        if reporter and not _queued_before(context, f"app:{key}"):
            context.changes.queue("in_app", {
                "user_id": reporter, "role": None, "agency_id": None, "case_id": context.case_id,
                "work_item_id": None, "kind": f"citizen_{kind}", "title": subject[:200], "body": text}, f"app:{key}")
    # The reply is what the citizen reads on the mailbox's status page (engine.queries.public_status).
    extra = {"text": text} if kind == "reply" else {}
    context.events.append(event(context.case_id, now, "citizen_notified", actor_id=context.actor_id,
                                notice=kind, **sent, **extra))
    return sent if sms or in_app else channel


_site = select(case_lookup_codes.c.site_url).where(case_lookup_codes.c.case_id == bindparam("b_case"))


def _survey_invitation(context: StepContext) -> str:
    """The reply e-mail's last lines for a case filed on the web mailbox: where to answer its survey."""
    found = context.uow.conn.execute(_site, {"b_case": context.case_id}).one_or_none()
    if found is None:
        return ""
    where = f"{found.site_url}mailbox/survey?case_no={context.case_no}" if found.site_url else "縣政信箱「案件查詢」"
    return (f"\n\n滿意度調查：請至 {where} ，以案件編號 {context.case_no} 及受理時取得的查詢碼填答。"
            f"\nSatisfaction survey: {where} (case number and the lookup code you were given).")


def _queued_before(context: StepContext, key: str) -> bool:
    return outbox.queued_before(context.uow, key) or any(m[2] == key for m in context.changes.messages)


def _petitioner_contact(context: StepContext) -> tuple[str | None, str | None]:
    """The petitioner's address and phone: of the one the step's new case brings, or as stored."""
    if context.new_petitioner is not None:
        return context.new_petitioner.get("email"), context.new_petitioner.get("phone")
    if context.petitioner_id is None:
        return None, None
    found = context.uow.conn.execute(_contact, {"b_petitioner": context.petitioner_id}).one_or_none()
    return (found.email, found.phone) if found is not None else (None, None)


def _app_reporter_id(context: StepContext) -> int | None:
    """The signed-in reporter of a case taken in through the app, else None."""
    new_case = context.changes.new_case
    if new_case is not None:  # the step that takes the case in: it is not written yet
        return context.actor_id if new_case.row.get("channel") == APP_CHANNEL else None
    return context.uow.conn.execute(_app_reporter, {"b_case": context.case_id,
                                                    "b_channel": APP_CHANNEL}).scalar_one_or_none()


def _flag(params: dict, name: str) -> bool:
    value = params.get(name, False)
    if not isinstance(value, bool):
        raise InvalidInput(f"notify_citizen's {name} must be True or False, not {value!r}")
    return value


def notify_citizen(context: StepContext, params: dict) -> dict:
    """Tell the citizen `body` (a notice of `kind`: reply, supplement_request, outcome, received...),
    by e-mail, and with `sms` / `in_app` True also by SMS and in the reporting app."""
    kind = str(params.get("kind") or "").strip()
    body = str(params.get("body") or "").strip()
    if not kind or not body:
        raise InvalidInput("a notice to the citizen needs a kind and a text (body)")
    sent = tell_citizen(context, kind, body, sms=_flag(params, "sms"), in_app=_flag(params, "in_app"))
    return {"notice": kind, **sent} if isinstance(sent, dict) else {"notice": kind, "channel": sent}

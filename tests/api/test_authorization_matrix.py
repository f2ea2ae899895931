"""Every operation of the staff API x every role, on a late case of 工務局 (public_works): allowed or
refused, and a refusal leaks nothing (another agency's record is a 404 exactly like a missing one).

Each role acts on a case of its own, so that one role's change never decides another's answer.
"""
from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import insert

from engine.store.schema import incidents
from tests.unit.queries_city import taipei

ROLES = ("cw.roads", "cw.signals", "chief.roads", "chief.signals", "head.works", "dispatcher", "reviewer",
         "chief.petitions", "designer", "liaison.signals", "admin")

REPLY = {"data": {"draft_action": "submit_reply", "reply_text": "已修復"}}
INTAKE = {"case_type": "petition", "process_key": "simple", "subject": "路燈不亮", "agency_code": "public_works"}

#: operation -> (method, path, body, {role: status}); {case}, {no}, {item}, {incident}, {bridges} are filled in.
MATRIX = {
    "read the case": ("GET", "/api/v1/cases/{case}", None, dict(zip(ROLES, (
        200, 404, 200, 404, 200, 200, 200, 200, 404, 404, 200)))),
    "read the case by number": ("GET", "/api/v1/cases/by-number/{no}", None, dict(zip(ROLES, (
        200, 404, 200, 404, 200, 200, 200, 200, 404, 404, 200)))),
    "read the work item": ("GET", "/api/v1/work-items/{item}", None, dict(zip(ROLES, (
        200, 404, 200, 404, 200, 200, 200, 200, 404, 404, 200)))),
    "claim": ("POST", "/api/v1/work-items/{item}/claim", None, dict(zip(ROLES, (
        200, 404, 403, 404, 403, 403, 403, 403, 404, 404, 200)))),
    "save a draft": ("PUT", "/api/v1/work-items/{item}/draft", {"data": {"reply_text": "稿"}}, dict(zip(ROLES, (
        200, 404, 403, 404, 403, 403, 403, 403, 404, 404, 200)))),
    "complete": ("POST", "/api/v1/work-items/{item}/complete", REPLY, dict(zip(ROLES, (
        200, 404, 403, 404, 403, 403, 403, 403, 404, 404, 200)))),
    "assign": ("POST", "/api/v1/work-items/{item}/assign", {"assignee_id": "{bridges}"}, dict(zip(ROLES, (
        403, 404, 200, 404, 200, 403, 403, 403, 404, 404, 200)))),
    "read the escalation queue": ("GET", "/api/v1/escalation-queue", None, dict(zip(ROLES, (
        403, 403, 200, 200, 200, 403, 200, 200, 403, 403, 200)))),
    "reassign from the queue": ("POST", "/api/v1/escalation-queue/reassign",
                                {"work_item_ids": ["{item}"], "assignee_id": "{bridges}"}, dict(zip(ROLES, (
                                    403, 404, 200, 404, 200, 403, 403, 403, 404, 404, 200)))),
    "remind now": ("POST", "/api/v1/escalation-queue/remind", {"work_item_ids": ["{item}"]}, dict(zip(ROLES, (
        403, 403, 200, 400, 200, 403, 403, 400, 403, 403, 200)))),
    "acknowledge": ("POST", "/api/v1/escalation-queue/{item}/acknowledge", {"note": "已催辦"}, dict(zip(ROLES, (
        403, 403, 204, 404, 204, 403, 403, 404, 403, 403, 204)))),
    "list incidents": ("GET", "/api/v1/incidents", None, dict(zip(ROLES, (
        403, 403, 200, 200, 200, 403, 200, 200, 403, 403, 200)))),
    "resolve an incident": ("POST", "/api/v1/incidents/{incident}/resolve", {"resolution": "人工處理"}, dict(zip(ROLES, (
        404, 404, 200, 404, 200, 404, 200, 200, 404, 404, 200)))),
    "take a case in": ("POST", "/api/v1/cases", INTAKE, dict(zip(ROLES, (
        201, 201, 403, 403, 403, 201, 201, 403, 403, 403, 201)))),
    "read the record of personal data shown": ("GET", "/api/v1/audit/personal-data-reads", None, dict(zip(ROLES, (
        403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 200)))),
    "list accounts": ("GET", "/api/v1/admin/users", None, dict(zip(ROLES, (
        403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 200)))),
    "list Open311 keys": ("GET", "/api/v1/admin/open311-keys", None, dict(zip(ROLES, (
        403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 200)))),
    "list the case's duplicate reports": ("GET", "/api/v1/cases/{case}/duplicates", None, dict(zip(ROLES, (
        200, 404, 200, 404, 200, 200, 200, 200, 404, 404, 200)))),
    # form_reply has one version only: those who may move cases learn there is no version 2.
    "dry-run moving cases to another version": (
        "GET", "/api/v1/processes/form_reply/migration?from_version=1&to_version=2", None, dict(zip(ROLES, (
            403, 403, 403, 403, 403, 403, 403, 403, 404, 403, 404)))),
    "move cases to another version": (
        "POST", "/api/v1/processes/form_reply/migration", {"from_version": 1, "to_version": 2}, dict(zip(ROLES, (
            403, 403, 403, 403, 403, 403, 403, 403, 404, 403, 404)))),
}

#: The id a missing record is asked for by, to compare refusals with.
MISSING = 987654321


def _late_case(api):
    """A form_reply case received on the 16th, overdue on the 26th, with an incident of a failed delivery."""
    started = api.open_case(taipei(16), process="form_reply")
    with api.runtime.db.begin() as conn:
        incident = conn.execute(insert(incidents).returning(incidents.c.id), {
            "kind": "notification_failed", "subject_table": "outbox", "subject_id": MISSING,
            "case_id": started.case_id, "message": "refused", "created_at": api.clock.now()}).scalar_one()
    return {"case": started.case_id, "no": started.case_no, "item": started.work_item_ids[0], "incident": incident}


def _fill(value, ids):
    if isinstance(value, str):
        filled = value.format(**ids)
        return int(filled) if value.startswith("{") and filled.isdigit() else filled
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


def _call(caller, method, path, body):
    return getattr(caller, method.lower())(path, **({"json": body} if body is not None else {}))


@pytest.mark.parametrize("operation", MATRIX)
def test_each_role_is_allowed_or_refused_and_a_refusal_leaks_nothing(api, operation):
    method, path, body, expected = MATRIX[operation]
    cases = {role: _late_case(api) for role in ROLES}
    api.clock.set(taipei(26, 10))
    bridges = api.user_id("cw.bridges")
    got, leaks = {}, {}
    for role in ROLES:
        ids = {**cases[role], "bridges": bridges}
        caller = api.as_(role)
        answer = _call(caller, method, _fill(path, ids), _fill(body, ids))
        got[role] = answer.status_code
        if answer.status_code == 404 and "{" in path:
            missing = {k: MISSING if isinstance(v, int) else f"P2026{MISSING}" for k, v in ids.items()}
            missing["bridges"] = bridges
            other = _call(caller, method, _fill(path, missing), _fill(body, missing))
            mine = _normalised(answer.get_json(), ids.values())
            theirs = _normalised(other.get_json(), missing.values())
            if (other.status_code, theirs) != (404, mine):
                leaks[role] = (mine, other.status_code, theirs)
    assert got == expected
    assert leaks == {}


def _normalised(body, ids):
    """The error with every id named in its message and details written as N."""
    text = json.dumps(body, ensure_ascii=False, sort_keys=True)
    for value in sorted({str(v) for v in ids}, key=len, reverse=True):
        text = re.sub(rf"(?<![0-9A-Za-z]){re.escape(value)}(?![0-9A-Za-z])", "N", text)
    return json.loads(text.replace('"N"', '"N"').replace(": N,", ': "N",').replace(": N}", ': "N"}'))

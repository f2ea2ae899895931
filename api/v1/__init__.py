"""The staff API under /api/v1: one blueprint per feature, each a thin adapter over engine services and queries."""
from __future__ import annotations

from flask_smorest import Api

from . import (
    admin,
    attachments,
    audit,
    case_actions,
    cases,
    duplicates,
    escalation,
    inbox,
    incidents,
    open311_keys,
    processes,
    reports,
    session,
    tokens,
    tracked_items,
    work,
)

#: Every blueprint of the API, in the order the documentation lists them.
BLUEPRINTS = (session, tokens, inbox, work, cases, case_actions, duplicates, attachments, escalation, incidents,
              tracked_items, audit, processes, reports, admin, open311_keys)

#: Where the API lives.
PREFIX = "/api/v1"


def register(api: Api) -> None:
    """Register every blueprint of the staff API, and its ways to sign in, on the app's Api."""
    api.spec.components.security_scheme(
        "session", {"type": "apiKey", "in": "cookie", "name": "petiflow_session",
                    "description": "A browser's session (POST /api/v1/session). Requests that change "
                                   "something also send the session's CSRF token in X-CSRF-Token."})
    api.spec.components.security_scheme(
        "token", {"type": "http", "scheme": "bearer",
                  "description": "A personal access token (POST /api/v1/tokens), for API clients."})
    for module in BLUEPRINTS:
        api.register_blueprint(module.blp, url_prefix=PREFIX + module.PATH)

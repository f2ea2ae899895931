"""The staff web UI: server-rendered pages over the same services and queries as the staff API.

Pages work without JavaScript: links, and forms posted with the session's CSRF token in a
hidden field. They keep the app's content security policy (no inline script or style). The
text is Traditional Chinese by default, English on request (api.web.i18n).
"""
from __future__ import annotations

from flask import Blueprint, Flask

from . import i18n, pages


def register(app: Flask) -> None:
    """Add the pages, their language and their HTML error pages to the app."""
    pages.install(app)
    from . import (
        account,
        cases,
        console,
        decision_tables,
        designer,
        escalation,
        home,
        inbox,
        mailbox,
        migration,
        reports,
        sign_in,
        tracked,
        work,
    )

    ui = Blueprint("ui", __name__)  # endpoints ui.<page>.<view>, apart from the API's
    for module in (i18n, sign_in, account, home, inbox, work, escalation, cases, console, designer, decision_tables,
                   migration, mailbox, tracked, reports):
        ui.register_blueprint(module.bp)
    i18n.install(app)
    app.register_blueprint(ui)

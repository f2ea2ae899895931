"""The first page: for a signed-in user, what needs them now; for anyone else, what this installation holds."""
from __future__ import annotations

from flask import render_template

from engine.queries.badges import inbox_counts
from engine.queries.inbox import inbox
from engine.queries.inbox_scope import InboxFilter
from engine.queries.overview import overview

from ..units import read
from .pages import current_principal, web_blueprint

bp = web_blueprint("home", __name__)

#: How many items each list of the home page shows (the inbox shows them all).
SHOWN = 8

_URGENT = InboxFilter(overdue=True, due_today=True, at_risk=True)


@bp.get("/")
def index():
    """My items due soon and overdue, my groups' unclaimed work, and the badge counts."""
    principal = current_principal()
    if principal is None:
        seen = read(overview)
        return render_template("web/welcome.html", processes=seen.processes, open_cases=seen.open_cases,
                               inbox=seen.open_work_by_role)
    counts = read(inbox_counts, principal)
    urgent = read(inbox, principal, view="mine", filters=_URGENT, limit=SHOWN)
    waiting = read(inbox, principal, view="groups", limit=SHOWN)
    return render_template("web/home.html", counts=counts, urgent=urgent.items, waiting=waiting.items)

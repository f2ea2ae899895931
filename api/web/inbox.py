"""The caseworker's inbox: the API's views, filters and order, due times by urgency, claim in one click."""
from __future__ import annotations

from datetime import datetime, time

from flask import render_template, request, url_for
from flask_babel import gettext as _

from engine.errors import InvalidInput, PetiflowError
from engine.queries.inbox import inbox
from engine.queries.inbox_scope import InboxFilter
from engine.queries.lateness import working_days_left_by_due
from engine.services.work_items import ClaimWorkItem, claim_work_item

from ..units import read, run, runtime
from .pages import back_to, done, refused, signed_in, supervises, web_blueprint

bp = web_blueprint("inbox", __name__)

#: The inbox's views as the tabs name them.
VIEWS = ("inbox", "mine", "groups", "supervised")

#: Items on one page of the inbox.
PAGE = 50

_TEXT_FILTERS = ("case_type", "category", "district", "task_spec")
_FLAGS = ("overdue", "due_today", "at_risk")


def _filters(args) -> tuple[InboxFilter, dict]:
    """The filter the query string asks for, and the same as the form shows it."""
    shown = {name: (args.get(name) or "").strip()[:100] for name in _TEXT_FILTERS}
    shown.update({flag: args.get(flag) == "1" for flag in _FLAGS})
    shown["due_before"] = (args.get("due_before") or "").strip()[:10]
    due_before = None
    if shown["due_before"]:
        try:
            day = datetime.strptime(shown["due_before"], "%Y-%m-%d").date()
        except ValueError:
            raise InvalidInput(_("“Due before” must be a date such as 2026-12-31.")) from None
        due_before = datetime.combine(day, time(0), runtime().zone)
    chosen = {name: value for name, value in shown.items() if name in _TEXT_FILTERS and value}
    return InboxFilter(due_before=due_before, **chosen, **{flag: shown[flag] for flag in _FLAGS}), shown


@bp.get("/inbox")
def page():
    """A page of my inbox in due order (no due time last)."""
    principal = signed_in()
    view = request.args.get("view", "inbox")
    if view not in VIEWS:
        view = "inbox"
    filters, shown = _filters(request.args)
    items = read(inbox, principal, view=view, filters=filters, cursor=request.args.get("cursor") or None, limit=PAGE)
    left = read(working_days_left_by_due, [item.due_at for item in items.items])
    query = {k: v for k, v in request.args.items() if k != "cursor"}
    # The badge counts are the home page's (they count every open item in reach: tens of milliseconds
    # at a city's scale); the inbox lists, a page at a time.
    return render_template("web/inbox.html", view=view, items=items.items, left=left, shown=shown,
                           supervises=supervises(principal),
                           next_page=url_for("ui.inbox.page", **query, cursor=items.next_cursor)
                           if items.next_cursor else None, here=request.full_path.rstrip("?"))


@bp.post("/work/<id:work_item_id>/claim")
def claim(work_item_id: int):
    """Take the item for myself, then open it (or go back to the list the claim was made from)."""
    principal = signed_in()
    open_it = url_for("ui.work.page", work_item_id=work_item_id)
    target = back_to(open_it) if request.form.get("stay") else open_it
    try:
        run(claim_work_item, ClaimWorkItem(work_item_id, principal))
    except PetiflowError as error:
        return refused(error, back_to(url_for("ui.inbox.page")))
    return done(_("The item is yours now."), target)

"""Tracked items (列管): the list, the monthly progress review meeting's agenda, and the counts."""
from __future__ import annotations

from flask import render_template, request

from engine.queries.tracked_items import list_tracked_items, meeting_agenda, tracked_item_counts

from ..units import read
from .pages import signed_in, web_blueprint

bp = web_blueprint("tracked", __name__)

#: Items the page lists, newest first.
SHOWN = 200

KINDS = ("major_project", "mayor_policy", "county_meeting", "project_manager", "township_support",
         "commissioned_study", "low_use_building")
STATUSES = ("planning", "tracking", "released", "cancelled")


@bp.get("/tracked")
def page():
    """The tracked items I may see, filtered by kind and status, with the agenda and the counts."""
    principal = signed_in()
    kind = request.args.get("kind") if request.args.get("kind") in KINDS else None
    status = request.args.get("status") if request.args.get("status") in STATUSES else None
    items = read(list_tracked_items, principal, kind=kind, status=status, limit=SHOWN)
    return render_template("web/tracked.html", items=items, agenda=read(meeting_agenda, principal),
                           counts=read(tracked_item_counts, principal), kinds=KINDS, statuses=STATUSES,
                           kind=kind, status=status)

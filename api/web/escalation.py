"""The supervisor's escalation queue: late and at-risk work of my units by level, and what I do about it."""
from __future__ import annotations

from flask import render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext

from engine.errors import Forbidden, InvalidInput, PetiflowError
from engine.queries.directory import assignable_users
from engine.queries.escalation import escalation_queue
from engine.queries.incidents import incidents_for
from engine.queries.visibility import supervision_scope
from engine.services.chasing import AcknowledgeEscalation, RemindNow, acknowledge_escalation, remind_now
from engine.services.incidents import ResolveIncident, RetryIncident, resolve_incident, retry_incident
from engine.services.work_items import AssignWorkItems, assign_work_items

from ..units import read, run
from .pages import done, refused, signed_in, web_blueprint

bp = web_blueprint("escalation", __name__)

#: Items the page lists, most late first (the counts at the top cover the whole queue), as the API's default.
SHOWN = 100

#: Items one action may take at once (as the API).
MOST = 200


def _candidates(principal, items) -> list[tuple[int, str]]:
    """Whom the listed items may go to: holders of their roles in their agencies, each named once."""
    seen: dict[int, str] = {}
    scope = read(supervision_scope, principal)  # whose work I may hand out: asked once, not per agency
    mine = [(role, agency_id, name) for role, agency_id, name in {(i.role, i.agency_id, i.agency_name or "")
                                                                  for i in items if i.role}
            if scope.everything or (agency_id in scope.agency_ids if agency_id is not None else scope.central)]
    for role, agency_id, _name in sorted(mine, key=lambda k: (k[2], k[0])):
        try:
            members = read(assignable_users, principal, role, agency_id)
        except Forbidden:
            continue  # work I read in the queue but may not hand out (the commission's reviewers: another agency's)
        for member in members:
            seen.setdefault(member.user_id, f"{member.display_name} ({member.username})")
    return sorted(seen.items(), key=lambda pair: pair[1])


@bp.get("/escalation")
def page():
    """The queue, most late first, with counts per agency, level and state (and per unit, for one agency's)."""
    principal = signed_in()
    queue = read(escalation_queue, principal, limit=SHOWN)
    levels = sorted({c.level for c in queue.counts})
    table: dict = {}
    for c in queue.counts:
        row = table.setdefault((c.agency_name or _("Central"), c.agency_id), {})
        row[(c.level, c.state)] = row.get((c.level, c.state), 0) + c.count
    by_unit: dict = {}
    for c in queue.unit_counts:
        row = by_unit.setdefault((c.unit_id is None, c.unit_name or _("No unit named"), c.unit_id or 0), {})
        row[(c.level, c.state)] = row.get((c.level, c.state), 0) + c.count
    return render_template("web/escalation.html", queue=queue, levels=levels, table=sorted(table.items()),
                           units=[(name, row) for (_none, name, _id), row in sorted(by_unit.items())],
                           people=_candidates(principal, queue.items), incidents=read(incidents_for, principal))


def _chosen() -> tuple:
    raw = request.form.getlist("item")
    ids = tuple(sorted({int(v) for v in raw if v.isdigit() and 0 < len(v) < 19}))
    if not ids:
        raise InvalidInput(_("Choose at least one item first."))
    if len(ids) > MOST:
        raise InvalidInput(_("At most %(n)d items at once.", n=MOST))
    return ids


@bp.post("/escalation/act")
def act():
    """Reassign the chosen items to a person or back to their groups, or remind their holders now."""
    principal = signed_in()
    target = url_for("ui.escalation.page")
    action = request.form.get("action")
    try:
        ids = _chosen()
        if action == "remind":
            sent = run(remind_now, RemindNow(principal, ids))
            return done(ngettext("%(num)d reminder sent.", "%(num)d reminders sent.", sent), target)
        if action not in ("reassign", "to_group"):
            raise InvalidInput(_("Choose what to do with the items."))
        assignee = None
        if action == "reassign":
            raw = request.form.get("assignee", "")
            if not raw.isdigit() or len(raw) > 18:
                raise InvalidInput(_("Choose whom to give the items to."))
            assignee = int(raw)
        moved = run(assign_work_items, AssignWorkItems(ids, principal, assignee))
    except PetiflowError as error:
        return refused(error, target)
    return done(ngettext("%(num)d item reassigned.", "%(num)d items reassigned.", len(moved)), target)


@bp.post("/escalation/<id:work_item_id>/acknowledge")
def acknowledge(work_item_id: int):
    """Note what is being done about a late item; the note goes into the case's history."""
    target = url_for("ui.escalation.page")
    note = (request.form.get("note") or "").strip()
    try:
        if not note or len(note) > 2000:
            raise InvalidInput(_("Write a note of at most 2000 characters."))
        run(acknowledge_escalation, AcknowledgeEscalation(signed_in(), work_item_id, note))
    except PetiflowError as error:
        return refused(error, target)
    return done(_("Acknowledged."), target)


@bp.post("/escalation/incidents/<id:incident_id>/retry")
def retry(incident_id: int):
    """Try a failed timer or delivery again."""
    principal = signed_in()
    target = url_for("ui.escalation.page") + "#incidents"
    try:
        run(retry_incident, RetryIncident(incident_id, principal.username, principal))
    except PetiflowError as error:
        return refused(error, target)
    return done(_("It will be tried again."), target)


@bp.post("/escalation/incidents/<id:incident_id>/resolve")
def resolve(incident_id: int):
    """Close a failed timer or delivery as handled another way, saying how."""
    principal = signed_in()
    target = url_for("ui.escalation.page") + "#incidents"
    how = (request.form.get("resolution") or "").strip()
    try:
        if not how or len(how) > 2000:
            raise InvalidInput(_("Say how it was handled (at most 2000 characters)."))
        run(resolve_incident, ResolveIncident(incident_id, principal.username, how, principal))
    except PetiflowError as error:
        return refused(error, target)
    return done(_("Marked as handled."), target)

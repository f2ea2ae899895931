"""A work item's page: the case it belongs to, its form rendered from the JSON Schema, draft and completion.

The form is completed at the version of the item the page showed: if someone else changed the
item meanwhile, the completion is refused and the page says so. A form the schema refuses comes
back with what the user typed and each field's error beside it (422).
"""
from __future__ import annotations

from flask import render_template, request, url_for
from flask_babel import gettext as _

from engine.errors import InvalidForm, PetiflowError
from engine.queries.work_item import work_item_form, work_item_view
from engine.services.work import CompleteWorkItem, complete_work_item
from engine.services.work_items import (
    DiscardDraft,
    SaveDraft,
    UnclaimWorkItem,
    discard_draft,
    save_draft,
    unclaim_work_item,
)

from ..units import read, run, runtime
from .form_fields import data_from, fields_of, unplaced
from .pages import done, field_errors, refused, signed_in, web_blueprint

bp = web_blueprint("work", __name__)


#: Case data the workflow keeps for itself: not shown beside the form.
_INTERNAL = frozenset({"case_id", "case_no", "case_type", "deadline", "action_result", "trusted", "reply_round",
                       "reply_limit_days", "survey_days", "transfer_count", "extension_count", "due_at", "reply_due",
                       "received_at", "co_inputs", "co_opinions"})


def _shown_data(task_data: dict, form: dict | None) -> list[tuple[str, object]]:
    """What the case holds that helps with the task: plain values, not the workflow's bookkeeping
    nor the form's own fields (those are on the form), labelled by the form's titles where it has them."""
    own = set((form or {}).get("properties", {}))
    return [(name, value) for name, value in sorted(task_data.items())
            if name not in _INTERNAL and name not in own and value not in (None, "", [], {})
            and isinstance(value, (str, int, float, bool, list))
            and all(isinstance(v, (str, int, float)) for v in (value if isinstance(value, list) else [value]))]


def _version() -> int | None:
    raw = request.form.get("version", "")
    return int(raw) if raw.isdigit() and len(raw) < 10 else None


def _render(view, values: dict, errors: dict | None = None, status: int = 200):
    zone = runtime().zone
    errors = field_errors(errors)
    fields = fields_of(view.form, values, errors, zone)
    return render_template("web/work.html", item=view, fields=fields, unplaced=unplaced(fields, errors),
                           has_errors=bool(errors), case_data=_shown_data(view.task_data, view.form)), status


@bp.get("/work/<id:work_item_id>")
def page(work_item_id: int):
    """The item, its case, and its form filled with my draft (or what the case already holds)."""
    view = read(work_item_view, signed_in(), work_item_id)
    if view.draft is not None:
        values = view.draft.data
    else:
        names = (view.form or {}).get("properties", {})
        values = {name: view.task_data[name] for name in names if name in view.task_data}
        values.update(_chosen(view.form))
    return _render(view, values)


def _chosen(form: dict | None) -> dict:
    """Choices the link to the page makes (a case action on the case page): only a choice the form offers."""
    offered = (form or {}).get("properties", {})
    return {name: value for name, value in request.args.items()
            if "enum" in offered.get(name, {}) and value in offered[name]["enum"]}


@bp.post("/work/<id:work_item_id>/complete")
def complete(work_item_id: int):
    """Complete the item with the form's data; field errors come back on the form."""
    principal = signed_in()
    item = read(work_item_form, principal, work_item_id)
    data = data_from(item.form, request.form, runtime().zone)
    try:
        run(complete_work_item, CompleteWorkItem(work_item_id, data, principal, expected_item_version=_version()),
            one_step=True)
    except InvalidForm as error:  # the page again, as typed: only now is the item's whole view needed
        view = read(work_item_view, principal, work_item_id)
        return _render(view, data, error.details.get("fields") or {"": [error.message]}, 422)
    except PetiflowError as error:
        return refused(error, url_for("ui.work.page", work_item_id=work_item_id))
    return done(_("Done: %(task)s of case %(case)s.", task=item.name, case=item.case_no), url_for("ui.inbox.page"))


@bp.post("/work/<id:work_item_id>/draft")
def draft(work_item_id: int):
    """Keep what the form holds as my draft, or throw my draft away."""
    principal = signed_in()
    target = url_for("ui.work.page", work_item_id=work_item_id)
    try:
        if request.form.get("discard"):
            run(discard_draft, DiscardDraft(work_item_id, principal))
            return done(_("Draft discarded."), target)
        item = read(work_item_form, principal, work_item_id)
        run(save_draft, SaveDraft(work_item_id, principal, data_from(item.form, request.form, runtime().zone)))
    except PetiflowError as error:
        return refused(error, target)
    return done(_("Draft saved."), target)


@bp.post("/work/<id:work_item_id>/unclaim")
def unclaim(work_item_id: int):
    """Give the item back to the group."""
    try:
        run(unclaim_work_item, UnclaimWorkItem(work_item_id, signed_in(), _version()))
    except PetiflowError as error:
        return refused(error, url_for("ui.work.page", work_item_id=work_item_id))
    return done(_("Given back to the group."), url_for("ui.inbox.page"))

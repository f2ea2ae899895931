"""The 1999 operator's console: record a call and, in the same step, answer it, transfer it, or open a
petition or dispatch case for the caller, with the routing the rules give shown before saving."""
from __future__ import annotations

from flask import jsonify, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from engine.errors import Forbidden, InvalidForm, PetiflowError
from engine.queries.categories import categories
from engine.queries.forms import form_schema
from engine.queries.routing import suggest_routing
from engine.services.calls import TakeCall, take_call

from ..units import read, run, runtime
from .form_fields import data_from, fields_of, unplaced
from .pages import done, field_errors, refused, signed_in, takes_calls, web_blueprint

bp = web_blueprint("console", __name__)

#: The call's form (the hotline workflow's record_call task).
FORM = "hotline_record_call.json"

#: Outcomes that open a case, and the process that case runs.
OPENS = {"petition": "petition", "dispatch": "dispatch"}

_CALLER = ("caller_name", "caller_phone")


def _operator():
    principal = signed_in()
    if not takes_calls(principal):
        raise Forbidden(_("The 1999 console is for the hotline's operators."))
    return principal


def _category_options() -> list[tuple[str, str]]:
    english = str(get_locale()).startswith("en")
    return [(c.code, c.name_en if english else c.name) for c in categories()]


def _suggestion(form_data: dict):
    process = OPENS.get(form_data.get("call_outcome"))
    category, district = form_data.get("case_category"), form_data.get("case_district")
    if process is None or not category:
        return None
    return read(suggest_routing, process, category, district)


def _render(values: dict, caller: dict, errors: dict | None = None, status: int = 200, suggestion=None):
    schema = read(form_schema, FORM)
    errors = field_errors(errors)
    fields = fields_of(schema, values, errors, runtime().zone)
    for field in fields:
        if field.name == "case_category":
            field.kind, field.options = "select", _category_options()
    return render_template("web/console.html", fields=fields, caller=caller, unplaced=unplaced(fields, errors),
                           has_errors=bool(errors), suggestion=suggestion, form_title=schema.get("title")), status


@bp.get("/console")
def page():
    """An empty call form."""
    _operator()
    return _render({"callback_promised": False}, {})


@bp.get("/console/routing")
def routing():
    """Where a case with this outcome, category and district would go (for the console's script)."""
    _operator()
    found = _suggestion({name: request.args.get(name) for name in ("call_outcome", "case_category", "case_district")})
    if found is None:
        return jsonify(found=False)
    return jsonify(found=True, agency=found.agency_name or found.agency_code, unit=found.unit_name or found.unit_code,
                   trusted=found.trusted)


@bp.post("/console")
def submit():
    """Show the routing (`suggest`), or record the call and do what it says (`save`)."""
    principal = _operator()
    values = data_from(read(form_schema, FORM), request.form, runtime().zone)
    caller = {name: (request.form.get(name) or "").strip()[:100] for name in _CALLER}
    if request.form.get("action") != "save":
        return _render(values, caller, suggestion=_suggestion(values))
    try:
        taken = run(take_call, TakeCall(principal, values, {"name": caller["caller_name"] or None,
                                                            "phone": caller["caller_phone"] or None}))
    except InvalidForm as error:
        return _render(values, caller, error.details.get("fields") or {"": [error.message]}, 422,
                       suggestion=_suggestion(values))
    except PetiflowError as error:
        return refused(error, url_for("ui.console.page"))
    if taken.opened_case_no:
        message = _("Call %(call)s recorded; case %(case)s opened for the caller.", call=taken.case_no,
                    case=taken.opened_case_no)
    else:
        message = _("Call %(call)s recorded.", call=taken.case_no)
    return done(message, url_for("ui.console.page"))

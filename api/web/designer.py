"""The process designer's pages: deployed processes and decision tables with their versions and
running cases; a version's diagram (read-only), the latest one in the modeler; validate and deploy.

Only process designers and administrators see these pages (the engine decides: anyone else gets
the 403 page). The modeler is bpmn-js with petiflow's properties and lint rules (frontend/designer.js),
loaded on these pages only. It talks to two JSON endpoints, both with the session's CSRF token in
the X-CSRF-Token header (the page carries it in a <meta> tag): `validate` runs deployment's checks
without deploying and names the element at fault; `deploy` deploys the diagram as the process's next
version, as the signed-in designer. Cases running on earlier versions stay on them.
"""
from __future__ import annotations

from flask import Response, flash, jsonify, render_template, request, url_for
from flask_babel import gettext as _

from engine.errors import InvalidInput, PetiflowError
from engine.queries.processes import (
    MAX_DIAGRAM_CHARS,
    designer_overview,
    designer_vocabulary,
    process_source,
    require_designer,
)
from engine.services.deployment import DesignedDiagram, check_diagram, deploy_diagram

from .. import auth
from ..errors import error_body, status_for
from ..units import read, reading, run
from .library_words import BPMN_EDITOR, BPMNLINT, translated
from .pages import ROLE_LABELS, error_page, signed_in, web_blueprint

bp = web_blueprint("designer", __name__)

#: The views that answer in JSON (the modeler's calls), errors included.
_JSON_VIEWS = frozenset({"ui.designer.validate", "ui.designer.deploy"})


@bp.errorhandler(PetiflowError)
def _refused(error: PetiflowError):
    """The modeler's calls get the API's JSON error, even for what is refused before the view runs
    (text no database can keep); the pages get the error page."""
    if request.endpoint in _JSON_VIEWS:
        return json_error(error)
    return error_page(error)


@bp.get("/designer")
def index():
    """Every deployed process and decision table, with their versions and the cases running on each."""
    overview = read(designer_overview, signed_in())
    return render_template("web/designer.html", overview=overview)


@bp.get("/designer/<process_key>/versions/<int:version>")
def version(process_key: str, version: int):
    """One version's diagram, read-only."""
    source = read(process_source, signed_in(), process_key, version)
    return render_template("web/designer_diagram.html", source=source, editing=False, messages=_browser_messages())


@bp.get("/designer/<process_key>/edit")
def edit(process_key: str):
    """The latest version in the modeler, with what petiflow checks while drawing."""
    principal = signed_in()
    source = read(process_source, principal, process_key)
    words = read(designer_vocabulary, principal)
    roles = [(code, ROLE_LABELS.get(code, code)) for code in words.roles]
    return render_template("web/designer_diagram.html", source=source, editing=True, forms=list(words.forms),
                           actions=dict(words.actions), flow_elements=list(words.flow_elements),
                           choices=words.choices, roles=roles, messages=_browser_messages())


@bp.get("/designer/<process_key>/versions/<int:version>/diagram.bpmn")
def diagram(process_key: str, version: int):
    """The XML of a version's diagram, for the viewer, the modeler and the comparison before deploying."""
    source = read(process_source, signed_in(), process_key, version)
    response = Response(source.diagram, mimetype="application/xml")
    response.headers["Content-Disposition"] = f'inline; filename="{source.main_file.rpartition("/")[2]}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def json_error(error: PetiflowError):
    status = status_for(error)
    return jsonify(error_body(status, error.code, error.message, error.details)), status


def designed_body(what: str) -> tuple[int, str]:
    """The version changed and the XML a request carries, JSON {"base_version": N, "xml": "..."}:
    InvalidInput naming each field otherwise (`what`: "diagram" or "decision table")."""
    body = request.get_json(silent=True) if request.mimetype == "application/json" else None
    if not isinstance(body, dict):
        raise InvalidInput(f'send JSON: {{"base_version": <the version you changed>, "xml": "<the {what}>"}}')
    fields = {}
    base = body.get("base_version")
    if not isinstance(base, int) or isinstance(base, bool) or not 0 < base < 2**31:
        fields["base_version"] = ["must be the number of the version you changed"]
    xml = body.get("xml")
    if not isinstance(xml, str) or not xml.strip():
        fields["xml"] = [f"must be the {what}'s XML text"]
    elif len(xml) > MAX_DIAGRAM_CHARS:
        fields["xml"] = [f"must be at most {MAX_DIAGRAM_CHARS} characters"]
    if fields:
        raise InvalidInput(f"the {what} cannot be read from the request", details={"fields": fields})
    return base, xml


def _designed(process_key: str) -> DesignedDiagram:
    return DesignedDiagram(auth.principal(), process_key, *designed_body("diagram"))


@bp.post("/designer/<process_key>/validate")
def validate(process_key: str):
    """Deployment's checks on a changed diagram, without deploying: 200 with what deploying would
    do, or the 422 deployment would give, naming the element (errors.element_id)."""
    try:
        require_designer(auth.principal())
        cmd = _designed(process_key)
        with reading() as uow:
            checked = check_diagram(cmd, uow)
    except PetiflowError as error:
        return json_error(error)
    return jsonify({"valid": True, "process_key": checked.process_key, "base_version": checked.base_version,
                    "latest_version": checked.latest_version, "file": checked.file,
                    "processes": [{"process_key": key, "changed": changed} for key, changed in checked.processes],
                    "message": _("The diagram passes every check deployment makes.")})


@bp.post("/designer/<process_key>/deploy")
def deploy(process_key: str):
    """Deploy a changed diagram as the process's next version, deployed by the signed-in designer."""
    try:
        require_designer(auth.principal())
        results = run(deploy_diagram, _designed(process_key))
    except PetiflowError as error:
        return json_error(error)
    mine = next(r for r in results if r.process_key == process_key)
    message = (_("Deployed as version %(n)d. Running cases stay on their versions.", n=mine.version) if mine.created
               else _("Nothing changed: version %(n)d stays the latest.", n=mine.version))
    flash(message, "done")  # shown by the page the modeler goes to next
    return jsonify({"deployed": [{"process_key": r.process_key, "version": r.version, "created": r.created}
                                 for r in results],
                    "version": mine.version, "created": mine.created, "message": message,
                    "location": url_for("ui.designer.index")}), 201 if mine.created else 200


def _browser_messages() -> dict:
    """The modeler's own words (frontend/designer.js and frontend/designer/), in the user's language."""
    texts = (
        _("%(n)d elements moved or resized"),
        _("%(n)d errors, %(w)d warnings"),
        _("%(name)s cannot run in petiflow"),
        _("%(name)s is not an engine action"),
        _("(choose an action)"),
        _("(no form)"),
        _("(no role)"),
        _("(not set)"),
        _("(the lane's group)"),
        _("(unnamed)"),
        _("A Python expression over the task data, e.g. action == \"transfer\""),
        _("A Python expression over the task data, e.g. reply_due (an ISO date) or \"P3D\""),
        _("A Python expression: \"text\" in quotes, or a variable's name"),
        _("A service task must call an engine action"),
        _("Action parameters"),
        _("Action"),
        _("Added"),
        _("After a duration"),
        _("After the task (postScript)"),
        _("Agency variable"),
        _("Assignee variable"),
        _("At a date and time"),
        _("Before the task (preScript)"),
        _("Changed"),
        _("Condition"),
        _("Decision id"),
        _("Decision table"),
        _("Deployment would refuse this diagram:"),
        _("Due time"),
        _("Engine action"),
        _("Error"),
        _("Fires"),
        _("Fix the errors in the list of problems first."),
        _("Form %(name)s is not in the forms folder"),
        _("Form (JSON Schema)"),
        _("Form and assignment"),
        _("Goes to who last did"),
        _("Lane %(name)s names no role"),
        _("Look at the changes first."),
        _("Moved"),
        _("Name"),
        _("Not deployed:"),
        _("Parameter %(name)s has no value"),
        _("Parameter %(name)s is given twice"),
        _("Parameter %(name)s needs a name made of letters, digits and _"),
        _("Property %(name)s may be %(values)s"),
        _("Property %(name)s must name a variable"),
        _("Reminders and escalation"),
        _("Removed"),
        _("Repeatedly"),
        _("Result variable"),
        _("Role"),
        _("Script (Python, restricted)"),
        _("Script"),
        _("Scripts before and after"),
        _("Server check"),
        _("Taken when (expression)"),
        _("The condition is empty"),
        _("The diagram could not be loaded."),
        _("The diagram could not be shown:"),
        _("The diagram was refused."),
        _("The gateway's default flow: taken when no other flow's condition holds."),
        _("The lane's name names the role; its work goes to the holders of that role."),
        _("The timer has no expression"),
        _("Timer"),
        _("Value (expression)"),
        _("Warning"),
        _("What the engine does when the case reaches this task"),
        _("When (expression)"),
        _("Where the action's result is kept, e.g. deadline for the deadline actions"),
        _("Who works this lane"),
        _("agencyVariable: a variable holding the code of the agency whose work this is"),
        _("assignTo must be performer:<id of a user or manual task>"),
        _("assignTo: the person who last completed that task of the case"),
        _("assigneeVariable: a variable holding the user id the work goes to"),
        _("calledDecisionId: a decision of a DMN file deployed with the process"),
        _("formJsonSchemaFilename: a form in workflows/forms/"),
        _("not a role"),
        _("not an engine action"),
    )
    return {**translated(BPMN_EDITOR + BPMNLINT), **dict(zip(_BROWSER_TEXTS, texts))}


#: The modeler's texts as written in its code (English), in the order _browser_messages translates them.
_BROWSER_TEXTS = (
    "%(n)d elements moved or resized",
    "%(n)d errors, %(w)d warnings",
    "%(name)s cannot run in petiflow",
    "%(name)s is not an engine action",
    "(choose an action)",
    "(no form)",
    "(no role)",
    "(not set)",
    "(the lane's group)",
    "(unnamed)",
    "A Python expression over the task data, e.g. action == \"transfer\"",
    "A Python expression over the task data, e.g. reply_due (an ISO date) or \"P3D\"",
    "A Python expression: \"text\" in quotes, or a variable's name",
    "A service task must call an engine action",
    "Action parameters",
    "Action",
    "Added",
    "After a duration",
    "After the task (postScript)",
    "Agency variable",
    "Assignee variable",
    "At a date and time",
    "Before the task (preScript)",
    "Changed",
    "Condition",
    "Decision id",
    "Decision table",
    "Deployment would refuse this diagram:",
    "Due time",
    "Engine action",
    "Error",
    "Fires",
    "Fix the errors in the list of problems first.",
    "Form %(name)s is not in the forms folder",
    "Form (JSON Schema)",
    "Form and assignment",
    "Goes to who last did",
    "Lane %(name)s names no role",
    "Look at the changes first.",
    "Moved",
    "Name",
    "Not deployed:",
    "Parameter %(name)s has no value",
    "Parameter %(name)s is given twice",
    "Parameter %(name)s needs a name made of letters, digits and _",
    "Property %(name)s may be %(values)s",
    "Property %(name)s must name a variable",
    "Reminders and escalation",
    "Removed",
    "Repeatedly",
    "Result variable",
    "Role",
    "Script (Python, restricted)",
    "Script",
    "Scripts before and after",
    "Server check",
    "Taken when (expression)",
    "The condition is empty",
    "The diagram could not be loaded.",
    "The diagram could not be shown:",
    "The diagram was refused.",
    "The gateway's default flow: taken when no other flow's condition holds.",
    "The lane's name names the role; its work goes to the holders of that role.",
    "The timer has no expression",
    "Timer",
    "Value (expression)",
    "Warning",
    "What the engine does when the case reaches this task",
    "When (expression)",
    "Where the action's result is kept, e.g. deadline for the deadline actions",
    "Who works this lane",
    "agencyVariable: a variable holding the code of the agency whose work this is",
    "assignTo must be performer:<id of a user or manual task>",
    "assignTo: the person who last completed that task of the case",
    "assigneeVariable: a variable holding the user id the work goes to",
    "calledDecisionId: a decision of a DMN file deployed with the process",
    "formJsonSchemaFilename: a form in workflows/forms/",
    "not a role",
    "not an engine action",
)

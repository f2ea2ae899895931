"""The designer's decision tables: a version of a DMN file read-only, the newest in the dmn-js
editor, checked and deployed with the processes that carry it.

A decision table is deployed with the processes that use it, so deploying a changed table makes
the next version of each process whose latest version carries the file; cases already running
keep the table they started with. Designers and administrators only (the engine decides). The
editor (frontend/decisions.js) calls `validate` and `deploy` with the session's CSRF token in the
X-CSRF-Token header, as the process modeler does.
"""
from __future__ import annotations

from flask import Response, flash, jsonify, render_template, request, url_for
from flask_babel import gettext as _

from engine.errors import PetiflowError
from engine.queries.processes import decision_table_source, require_designer
from engine.services.deployment import DesignedDecisionTable, check_decision_table, deploy_decision_table

from .. import auth
from ..units import read, reading, run
from .designer import designed_body, json_error
from .library_words import DMN_EDITOR, translated
from .pages import error_page, signed_in, web_blueprint

bp = web_blueprint("decisions", __name__)

_JSON_VIEWS = frozenset({"ui.decisions.validate", "ui.decisions.deploy"})


@bp.errorhandler(PetiflowError)
def _refused(error: PetiflowError):
    if request.endpoint in _JSON_VIEWS:
        return json_error(error)
    return error_page(error)


def _page(file: str, number: int | None, editing: bool):
    source = read(decision_table_source, signed_in(), file, number)
    return render_template("web/decision_table.html", source=source, editing=editing, messages=_browser_messages())


@bp.get("/designer/decisions/<file>/versions/<int:number>")
def version(file: str, number: int):
    """One version of the table, read-only."""
    return _page(file, number, editing=False)


@bp.get("/designer/decisions/<file>/edit")
def edit(file: str):
    """The newest version in the decision table editor."""
    return _page(file, None, editing=True)


@bp.get("/designer/decisions/<file>/versions/<int:number>/table.dmn")
def table(file: str, number: int):
    """The XML of a version, for the editor and for download."""
    source = read(decision_table_source, signed_in(), file, number)
    response = Response(source.text, mimetype="application/xml")
    response.headers["Content-Disposition"] = f'inline; filename="{file}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def _designed(file: str) -> DesignedDecisionTable:
    return DesignedDecisionTable(auth.principal(), file, *designed_body("decision table"))


@bp.post("/designer/decisions/<file>/validate")
def validate(file: str):
    """Deployment's checks on a changed table with every process carrying it, without deploying:
    200 with what deploying would do, or deployment's 422 naming the file and element."""
    try:
        require_designer(auth.principal())
        cmd = _designed(file)
        with reading() as uow:
            checked = check_decision_table(cmd, uow)
    except PetiflowError as error:
        return json_error(error)
    return jsonify({"valid": True, "file": checked.file, "base_version": checked.base_number,
                    "latest_version": checked.latest_number,
                    "processes": [{"process_key": key, "changed": changed} for key, changed in checked.processes],
                    "message": _("The decision table passes every check deployment makes.")})


@bp.post("/designer/decisions/<file>/deploy")
def deploy(file: str):
    """Deploy a changed table: the next version of each process carrying it, by the signed-in designer."""
    try:
        require_designer(auth.principal())
        results = run(deploy_decision_table, _designed(file))
    except PetiflowError as error:
        return json_error(error)
    created = [r for r in results if r.created]
    if created:
        message = _("Deployed with %(processes)s. Running cases keep the table they started with.",
                    processes=", ".join(f"{r.process_key} v{r.version}" for r in created))
    else:
        message = _("Nothing changed: the processes keep their latest versions.")
    flash(message, "done")
    return jsonify({"deployed": [{"process_key": r.process_key, "version": r.version, "created": r.created}
                                 for r in results],
                    "created": bool(created), "message": message,
                    "location": url_for("ui.designer.index")}), 201 if created else 200


def _browser_messages() -> dict:
    """The editor's own words (frontend/decisions.js) and dmn-js's, in the user's language."""
    texts = (
        _("Checked: deploying would make a new version of %(processes)s."),
        _("Deployment would refuse this table:"),
        _("Look at the check first."),
        _("Nothing changed."),
        _("Not deployed:"),
        _("The decision table could not be loaded."),
        _("The decision table could not be shown:"),
        _("The table was changed: check it again before deploying."),
    )
    return {**translated(DMN_EDITOR), **dict(zip(_BROWSER_TEXTS, texts))}


_BROWSER_TEXTS = (
    "Checked: deploying would make a new version of %(processes)s.",
    "Deployment would refuse this table:",
    "Look at the check first.",
    "Nothing changed.",
    "Not deployed:",
    "The decision table could not be loaded.",
    "The decision table could not be shown:",
    "The table was changed: check it again before deploying.",
)

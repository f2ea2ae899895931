"""Moving running cases to a later version of their process, from the designer's pages: the dry run
(which cases can move, which cannot and why), then the move of a bounded batch, each case in its own
transaction and history (engine.queries.migration, engine.services.migration)."""
from __future__ import annotations

from flask import render_template, request
from flask_babel import gettext as _

from engine.errors import Forbidden, InvalidInput, NotFound
from engine.queries.migration import may_migrate, preview_migration
from engine.queries.processes import deployed_processes
from engine.services.migration import MigrateCases, migrate_cases

from ..units import drive, read
from .pages import signed_in, web_blueprint

bp = web_blueprint("migration", __name__)

#: Cases one page of the dry run shows, and one move examines (as the API's batch).
PAGE = 200


def _designer():
    principal = signed_in()
    if not may_migrate(principal):
        raise Forbidden(_("Moving cases between versions is for process designers."))
    return principal


def _versions(process_key: str):
    found = next((p for p in read(deployed_processes) if p.process_key == process_key), None)
    if found is None:
        raise NotFound(_("No process %(key)s is deployed.", key=process_key))
    return found.versions  # the newest first


def _pair(versions, args) -> tuple[int, int]:
    """The versions asked for; by default from the oldest with running cases to the newest."""
    def number(name, default):
        raw = args.get(name) or ""
        if not raw:
            return default
        if not raw.isdigit() or len(raw) > 9:
            raise InvalidInput(_("A version is a number such as 2."))
        return int(raw)
    running = [v.version for v in versions if v.running_cases and v.version != versions[0].version]
    return number("from_version", min(running) if running else versions[-1].version), \
        number("to_version", versions[0].version)


@bp.get("/designer/processes/<process_key>/migration")
def dry_run(process_key: str):
    """The dry run between two versions, a page of the older version's running cases at a time."""
    principal = _designer()
    versions = _versions(process_key[:100])
    from_version, to_version = _pair(versions, request.args)
    after = request.args.get("after") or ""
    preview = None
    if from_version < to_version:
        preview = read(preview_migration, principal, process_key, from_version, to_version,
                       after=int(after) if after.isdigit() and len(after) < 19 else None, limit=PAGE)
    return render_template("web/migration.html", process_key=process_key, versions=versions, preview=preview,
                           from_version=from_version, to_version=to_version, report=None)


@bp.post("/designer/processes/<process_key>/migration")
def move(process_key: str):
    """Move the chosen cases (or the next batch of the older version's), each in its own transaction."""
    principal = _designer()
    versions = _versions(process_key[:100])
    from_version, to_version = _pair(versions, request.form)
    chosen = tuple(dict.fromkeys(no for no in request.form.getlist("case_no") if 0 < len(no) <= 32))[:PAGE]
    report = drive(migrate_cases, MigrateCases(process_key, from_version, to_version, principal,
                                               case_nos=chosen, limit=PAGE))
    return render_template("web/migration.html", process_key=process_key, versions=versions, preview=None,
                           from_version=from_version, to_version=to_version, report=report)

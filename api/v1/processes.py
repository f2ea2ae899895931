"""Moving running cases from one deployed version of a process to a later one (process designers, admins)."""
from __future__ import annotations

import marshmallow as ma
from flask_smorest import Blueprint

from engine.queries.migration import MAX_PAGE, preview_migration
from engine.services.migration import MigrateCases, migrate_cases

from .. import auth
from ..units import drive, read
from .common import SIGNED_IN

PATH = "/processes"

blp = Blueprint("processes", __name__,
                description="Deployed processes: moving running cases from one version to a later one.")

#: The most cases one POST examines; a designer's page moves a large version in several calls.
MAX_BATCH = 200

_VERSION = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1, max=2**31 - 1))
_CASE_NO = ma.fields.String(validate=ma.validate.Length(min=1, max=32))


class MigrationDryRunArgs(ma.Schema):
    """Which versions, and which page of the older version's running cases."""

    from_version = _VERSION
    to_version = _VERSION
    after = ma.fields.Integer(validate=ma.validate.Range(min=1, max=2**63 - 1), metadata={
        "description": "The `next_after` of the page before"})
    limit = ma.fields.Integer(load_default=100, validate=ma.validate.Range(min=1, max=MAX_PAGE))
    case_no = ma.fields.List(_CASE_NO, validate=ma.validate.Length(max=MAX_BATCH), metadata={
        "description": "Only these cases (repeat the parameter)"})


class MigrationCaseCheckSchema(ma.Schema):
    case_id = ma.fields.Integer(required=True)
    case_no = ma.fields.String(required=True)
    instance_id = ma.fields.Integer(required=True)
    instance_version = ma.fields.Integer(required=True, metadata={
        "description": "The case's workflow version as checked"})
    waiting_at = ma.fields.List(ma.fields.String(), required=True, metadata={
        "description": "The elements it waits at or for, e.g. 擬辦答復 (draft_reply)"})
    can_move = ma.fields.Boolean(required=True)
    reasons = ma.fields.List(ma.fields.String(), required=True, metadata={"description": "Why it cannot move"})


class MigrationChangedSchema(ma.Schema):
    element = ma.fields.String(required=True)
    attributes = ma.fields.List(ma.fields.String(), required=True)


class MigrationChangesSchema(ma.Schema):
    """What the later version changes, element by element."""

    added = ma.fields.List(ma.fields.String(), required=True)
    removed = ma.fields.List(ma.fields.String(), required=True)
    changed = ma.fields.List(ma.fields.Nested(MigrationChangedSchema), required=True)


class MigrationNotFoundCaseSchema(ma.Schema):
    case_no = ma.fields.String(required=True)
    reason = ma.fields.String(required=True)


class MigrationDryRunSchema(ma.Schema):
    """One page of the dry run."""

    process_key = ma.fields.String(required=True)
    from_version = ma.fields.Integer(required=True)
    to_version = ma.fields.Integer(required=True)
    running_cases = ma.fields.Integer(required=True, metadata={"description": "On the older version, all pages"})
    changes = ma.fields.Nested(MigrationChangesSchema, required=True)
    cases = ma.fields.List(ma.fields.Nested(MigrationCaseCheckSchema), required=True)
    next_after = ma.fields.Integer(allow_none=True, required=True, metadata={
        "description": "Pass as `after` for the next page; null on the last"})
    not_found = ma.fields.List(ma.fields.Nested(MigrationNotFoundCaseSchema), required=True, metadata={
        "description": "Cases asked for by number that are not running on the older version"})


@blp.route("/<string:process_key>/migration")
@blp.doc(security=SIGNED_IN)
@blp.arguments(MigrationDryRunArgs, location="query", as_kwargs=True)
@blp.response(200, MigrationDryRunSchema)
def dry_run(process_key, from_version, to_version, limit, after=None, case_no=()):
    """The dry run: each running case of the older version, whether it can move to the later one, and why not."""
    page = read(preview_migration, auth.principal(), process_key, from_version, to_version, after=after,
                limit=limit, case_nos=tuple(case_no or ()))
    v = page.versions
    return {"process_key": v.process_key, "from_version": v.from_version, "to_version": v.to_version,
            "running_cases": page.running_cases,
            "changes": {"added": page.changes.added, "removed": page.changes.removed,
                        "changed": [{"element": e, "attributes": a} for e, a in page.changes.changed]},
            "cases": [c.__dict__ for c in page.cases], "next_after": page.next_after,
            "not_found": [{"case_no": n, "reason": r} for n, r in page.not_found]}


class MigrationMoveSchema(ma.Schema):
    """The versions, and the cases to move (or the next `limit` running cases of the older version)."""

    from_version = _VERSION
    to_version = _VERSION
    case_nos = ma.fields.List(_CASE_NO, validate=ma.validate.Length(min=1, max=MAX_BATCH), metadata={
        "description": "Only these cases; default: the running cases of the older version, in order"})
    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=MAX_BATCH), metadata={
        "description": "Examine at most this many cases"})


class MigrationCaseResultSchema(ma.Schema):
    case_no = ma.fields.String(required=True)
    case_id = ma.fields.Integer(allow_none=True, required=True)
    result = ma.fields.String(required=True, metadata={"description": "moved, refused or failed"})
    reasons = ma.fields.List(ma.fields.String(), required=True)
    resynced = ma.fields.List(ma.fields.Dict(), required=True, metadata={
        "description": "Open work items rewritten because their task reads differently (lane, name, form)"})


class MigrationMovedSchema(ma.Schema):
    """Each case examined, in order, and the totals."""

    process_key = ma.fields.String(required=True)
    from_version = ma.fields.Integer(required=True)
    to_version = ma.fields.Integer(required=True)
    moved = ma.fields.Integer(required=True)
    refused = ma.fields.Integer(required=True)
    failed = ma.fields.Integer(required=True)
    results = ma.fields.List(ma.fields.Nested(MigrationCaseResultSchema), required=True)


@blp.route("/<string:process_key>/migration", methods=["POST"])
@blp.doc(security=SIGNED_IN)
@blp.arguments(MigrationMoveSchema)
@blp.response(200, MigrationMovedSchema)
def move(body, process_key):
    """Move a bounded batch of running cases to the later version, each in its own transaction; a case
    that cannot move, or fails, stays as it was and is named with the reason."""
    report = drive(migrate_cases, MigrateCases(
        process_key, body["from_version"], body["to_version"], auth.principal(),
        case_nos=tuple(dict.fromkeys(body.get("case_nos") or ())), limit=body["limit"]))
    return {"process_key": report.process_key, "from_version": report.from_version,
            "to_version": report.to_version, "moved": report.moved, "refused": report.refused,
            "failed": report.failed,
            "results": [{"case_no": r.case_no, "case_id": r.case_id, "result": r.result, "reasons": list(r.reasons),
                         "resynced": list(r.resynced)} for r in report.results]}

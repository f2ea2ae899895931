"""Duplicate reports: the cases linked to a case, and the dispatcher merging or separating them."""
from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView

from engine.queries.cases import get_case
from engine.queries.duplicates import duplicate_links
from engine.services.duplicates import MergeDuplicate, SeparateDuplicate, merge_duplicate, separate_duplicate

from .. import auth
from ..units import read, run
from .common import SIGNED_IN, Blueprint

PATH = "/cases"

blp = Blueprint("duplicates", __name__,
                description="Duplicate reports: a report within 50 m of an open case of its category is linked "
                            "to it; the dispatcher merges (closes it as a duplicate) or separates them.")


class DecisionSchema(ma.Schema):
    """Why, in a few words (kept in both cases' histories)."""

    note = ma.fields.String(validate=ma.validate.Length(min=1, max=500), load_default=None)


class DecidedSchema(ma.Schema):
    """The duplicate, the case it was linked to, and the decision."""

    case_id = ma.fields.Integer(required=True)
    case_no = ma.fields.String(required=True)
    original_id = ma.fields.Integer(required=True)
    original_no = ma.fields.String(required=True)
    decision = ma.fields.String(required=True, metadata={"description": "merged or separated"})


class LinkedSchema(ma.Schema):
    """A case linked to this one as a duplicate report."""

    case_id = ma.fields.Integer(required=True)
    case_no = ma.fields.String(required=True)
    status = ma.fields.String(required=True)
    received_at = ma.fields.DateTime(required=True)


class LinksSchema(ma.Schema):
    """The case this one repeats (null when not linked), and the cases linked to this one."""

    original_id = ma.fields.Integer(allow_none=True)
    original_no = ma.fields.String(allow_none=True)
    duplicates = ma.fields.List(ma.fields.Nested(LinkedSchema), required=True)


@blp.route("/<id:case_id>/duplicates")
class Duplicates(MethodView):
    @blp.doc(security=SIGNED_IN)
    @blp.response(200, LinksSchema)
    def get(self, case_id):
        """The case this one is linked to as a duplicate report, and the reports linked to it (404 for a case
        the caller may not see)."""
        read(get_case, auth.principal(), case_id)
        return read(duplicate_links, case_id)


@blp.route("/<id:case_id>/duplicate/merge")
class Merge(MethodView):
    @blp.doc(security=SIGNED_IN)
    @blp.arguments(DecisionSchema)
    @blp.response(200, DecidedSchema)
    def post(self, body, case_id):
        """Merge the case into the case it is linked to: it is closed as a duplicate (dispatchers)."""
        return run(merge_duplicate, MergeDuplicate(auth.principal(), case_id, body.get("note")))


@blp.route("/<id:case_id>/duplicate/separate")
class Separate(MethodView):
    @blp.doc(security=SIGNED_IN)
    @blp.arguments(DecisionSchema)
    @blp.response(200, DecidedSchema)
    def post(self, body, case_id):
        """Undo the link: the case goes on as a report of its own (dispatchers)."""
        return run(separate_duplicate, SeparateDuplicate(auth.principal(), case_id, body.get("note")))

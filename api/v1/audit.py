"""The record of personal data shown: who saw which petitioner's data of which case, when (auditors)."""
from __future__ import annotations

import marshmallow as ma

from engine.queries.personal_data import personal_data_reads

from .. import auth
from ..units import read
from .common import SIGNED_IN, Blueprint

PATH = "/audit"

blp = Blueprint("audit", __name__, description="The record of personal data shown (auditors and administrators).")


class ReadArgs(ma.Schema):
    case_id = ma.fields.Integer(validate=ma.validate.Range(min=1, max=2**63 - 1))
    user_id = ma.fields.Integer(validate=ma.validate.Range(min=1, max=2**63 - 1))
    since = ma.fields.AwareDateTime()
    until = ma.fields.AwareDateTime()
    cursor = ma.fields.String(validate=ma.validate.Length(max=200))
    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=200))


class ReadSchema(ma.Schema):
    read_id = ma.fields.Integer(required=True)
    at = ma.fields.DateTime(required=True)
    user_id = ma.fields.Integer(allow_none=True)
    username = ma.fields.String(required=True)
    case_id = ma.fields.Integer(required=True)
    case_no = ma.fields.String(required=True)
    fields = ma.fields.List(ma.fields.String(), required=True, metadata={"description": "The fields shown"})
    via = ma.fields.String(required=True, metadata={"description": "case_page, case_print or api"})


class ReadPageSchema(ma.Schema):
    rows = ma.fields.List(ma.fields.Nested(ReadSchema), required=True)
    next_cursor = ma.fields.String(allow_none=True)


@blp.route("/personal-data-reads")
@blp.doc(security=SIGNED_IN)
@blp.arguments(ReadArgs, location="query", as_kwargs=True)
@blp.response(200, ReadPageSchema)
def reads(**args):
    """Each showing of a petitioner's data, newest first, by case, user and period."""
    return read(personal_data_reads, auth.principal(), **args)

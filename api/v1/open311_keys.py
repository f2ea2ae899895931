"""Open311 API keys: issued to citizens' apps and revoked by administrators."""
from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView

from engine.errors import Forbidden
from engine.queries.open311 import open311_keys_issued
from engine.services.open311 import IssueOpen311Key, RevokeOpen311Key, issue_open311_key, revoke_open311_key

from .. import auth
from ..units import read, run
from .common import SIGNED_IN, Blueprint

PATH = "/admin/open311-keys"

blp = Blueprint("open311_keys", __name__, description="Open311 API keys for citizens' apps (administrators).")


class NewKeySchema(ma.Schema):
    """The app the key is issued to."""

    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=100))


class KeySchema(ma.Schema):
    """A key as listed: never the key itself, which is shown once, when issued."""

    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    prefix = ma.fields.String(required=True, metadata={"description": "The key's first characters"})
    created_at = ma.fields.DateTime(required=True)
    revoked_at = ma.fields.DateTime(allow_none=True)
    last_used_at = ma.fields.DateTime(allow_none=True)


class IssuedKeySchema(ma.Schema):
    """The new key: `key` is shown this once and never again."""

    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    prefix = ma.fields.String(required=True)
    created_at = ma.fields.DateTime(required=True)
    key = ma.fields.String(required=True, metadata={"description": "The app sends it as api_key"})


def _admin():
    principal = auth.principal()
    if not principal.is_admin:
        raise Forbidden("Open311 keys are issued and revoked by administrators")
    return principal


@blp.route("")
class Keys(MethodView):
    @blp.doc(security=SIGNED_IN)
    @blp.response(200, KeySchema(many=True))
    def get(self):
        """Every key issued, the newest first."""
        _admin()
        return list(read(open311_keys_issued))

    @blp.doc(security=SIGNED_IN)
    @blp.arguments(NewKeySchema)
    @blp.response(201, IssuedKeySchema)
    def post(self, body):
        """Issue a key to an app: the answer holds it, and it is never shown again."""
        return run(issue_open311_key, IssueOpen311Key(body["name"], auth.principal()))


@blp.route("/<id:key_id>")
class Key(MethodView):
    @blp.doc(security=SIGNED_IN)
    @blp.response(204)
    def delete(self, key_id):
        """Revoke a key: the app's reports are refused (403) from now on."""
        run(revoke_open311_key, RevokeOpen311Key(key_id, auth.principal()))

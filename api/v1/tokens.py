"""Personal access tokens for API clients: made, listed and revoked by their owner."""
from __future__ import annotations

from datetime import timedelta

import marshmallow as ma
from flask.views import MethodView

from engine.queries.access_tokens import access_tokens_of
from engine.services.access_tokens import CreateAccessToken, RevokeAccessToken, create_access_token, revoke_access_token

from .. import auth
from ..units import read, run
from .common import SIGNED_IN, Blueprint

PATH = "/tokens"

blp = Blueprint("tokens", __name__, description="Personal access tokens for API clients.")


class NewTokenSchema(ma.Schema):
    """A name to tell the token by, and how many days it works."""

    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=100))
    days = ma.fields.Integer(load_default=90, validate=ma.validate.Range(min=1, max=365))


class TokenSchema(ma.Schema):
    """A token as listed: never the token itself, which is shown once, when made."""

    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    prefix = ma.fields.String(required=True, metadata={"description": "The token's first characters"})
    created_at = ma.fields.DateTime(required=True)
    expires_at = ma.fields.DateTime(required=True)
    revoked_at = ma.fields.DateTime(allow_none=True)
    last_used_at = ma.fields.DateTime(allow_none=True)


class CreatedTokenSchema(ma.Schema):
    """The new token: `token` is shown this once and never again."""

    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)
    prefix = ma.fields.String(required=True)
    expires_at = ma.fields.DateTime(required=True)
    token = ma.fields.String(required=True, metadata={"description": "Send as `Authorization: Bearer <token>`"})


@blp.route("")
class Tokens(MethodView):
    @blp.doc(security=SIGNED_IN)
    @blp.response(200, TokenSchema(many=True))
    def get(self):
        """My access tokens, the newest first."""
        return list(read(access_tokens_of, auth.principal()))

    @blp.doc(security=SIGNED_IN)
    @blp.arguments(NewTokenSchema)
    @blp.response(201, CreatedTokenSchema)
    def post(self, body):
        """Make a token: the answer holds it, and it is never shown again."""
        return run(create_access_token, CreateAccessToken(auth.principal(), body["name"],
                                                          timedelta(days=body["days"])))


@blp.route("/<id:token_id>")
class Token(MethodView):
    @blp.doc(security=SIGNED_IN)
    @blp.response(204)
    def delete(self, token_id):
        """Revoke one of my tokens (an administrator may revoke anyone's)."""
        run(revoke_access_token, RevokeAccessToken(auth.principal(), token_id))

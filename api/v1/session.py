"""Signing in and out with a browser session, and who I am."""
from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView

from engine.errors import NotAuthenticated
from engine.services.sessions import EndSessions, end_sessions

from .. import auth, limits
from ..units import run
from .common import PUBLIC, SIGNED_IN, Blueprint

PATH = "/session"

blp = Blueprint("session", __name__, description="Sign in and out of a browser session; who I am.")


class SignInSchema(ma.Schema):
    """A user name and password."""

    username = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=100))
    password = ma.fields.String(required=True, load_only=True, validate=ma.validate.Length(min=1, max=1024))


class RoleSchema(ma.Schema):
    """A role held, for one agency or (agency_id null) for every agency."""

    role = ma.fields.String(required=True)
    agency_id = ma.fields.Integer(allow_none=True)


class SessionSchema(ma.Schema):
    """The signed-in user, their roles as of now, and the CSRF token for changes made with the cookie."""

    user_id = ma.fields.Integer(required=True)
    username = ma.fields.String(required=True)
    is_admin = ma.fields.Boolean(required=True)
    roles = ma.fields.List(ma.fields.Nested(RoleSchema), required=True)
    csrf_token = ma.fields.String(allow_none=True, metadata={
        "description": "Send it in X-CSRF-Token with every change made with the session cookie; "
                       "null when the caller used a bearer token"})


def _described(principal, csrf: str | None) -> dict:
    roles = [{"role": role, "agency_id": agency} for role, agency in sorted(principal.roles, key=str)]
    return {"user_id": principal.user_id, "username": principal.username, "is_admin": principal.is_admin,
            "roles": roles, "csrf_token": csrf}


@blp.route("")
class Session(MethodView):
    @blp.doc(security=SIGNED_IN)
    @blp.response(200, SessionSchema)
    def get(self):
        """Who I am: my roles as they are now, and my session's CSRF token."""
        return _described(auth.principal(), auth.csrf_token())

    @blp.doc(security=PUBLIC)
    @blp.arguments(SignInSchema)
    @blp.response(200, SessionSchema)
    @blp.alt_response(401, response="DEFAULT_ERROR", description="Wrong user name or password, or a closed account")
    @blp.alt_response(429, response="DEFAULT_ERROR", description="Too many failed sign-ins: locked for a while")
    def post(self, body):
        """Sign in with a user name and password: the answer sets the session cookie.

        Failed sign-ins are slowed, then locked for a while, per account and per address; the
        answer is the same whether or not the account exists.
        """
        limits.check_sign_in(body["username"])
        try:
            principal = auth.sign_in(body["username"], body["password"])
        except NotAuthenticated:
            limits.count_failure(body["username"])
            raise
        return _described(principal, auth.csrf_token())

    @blp.doc(security=SIGNED_IN)
    @blp.response(204)
    def delete(self):
        """Sign out: the session ends on the server and its cookie is cleared; a copy of the cookie
        lets nobody in after."""
        auth.principal()
        auth.end_session()


class EndedSchema(ma.Schema):
    ended = ma.fields.Integer(required=True, metadata={"description": "How many sessions ended"})


@blp.route("/others", methods=["DELETE"])
@blp.doc(security=SIGNED_IN)
@blp.response(200, EndedSchema)
def end_other_sessions():
    """Sign out everywhere else: every other browser session of mine ends (this one stays)."""
    principal = auth.principal()
    return {"ended": run(end_sessions, EndSessions(principal, principal.user_id, keep_key=auth.session_key()))}

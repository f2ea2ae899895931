"""Signing in and out of the web UI: the same accounts, limits and session as the API's sign-in."""
from __future__ import annotations

import hmac
import secrets

from flask import redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from werkzeug.exceptions import TooManyRequests

from engine.errors import NotAuthenticated

from .. import auth, limits
from .pages import current_principal, local_path, web_blueprint

bp = web_blueprint("sign_in", __name__)


def _form_token() -> str:
    """The CSRF token of the sign-in form, kept in the (not yet signed-in) session: a page of another
    site cannot sign a browser into an account of its choosing."""
    if not session.get("csrf"):
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


@bp.get("/sign-in")
def page():
    """The sign-in form (a signed-in user goes straight on)."""
    target = local_path(request.args.get("next"), url_for("ui.home.index"))
    if current_principal() is not None:
        return redirect(target)
    return render_template("web/sign_in.html", next=target, token=_form_token(), username="", problem=None)


@bp.post("/sign-in")
def submit():
    """Check the user name and password; on success start a session and go where the user was going."""
    target = local_path(request.form.get("next"), url_for("ui.home.index"))
    username = (request.form.get("username") or "").strip()[:100]
    password = request.form.get("password") or ""
    sent, expected = request.form.get(auth.CSRF_FIELD, ""), session.get("csrf") or ""
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        return _again(username, target, _("The page had expired. Please sign in again."), 400)
    if not username or not password or len(password) > 1024:
        return _again(username, target, _("Enter your user name and password."), 400)
    try:
        limits.check_sign_in(username)
    except TooManyRequests:
        return _again(username, target, _("Too many failed sign-ins. Wait a few minutes, then try again."), 429)
    try:
        auth.sign_in(username, password)
    except NotAuthenticated:
        limits.count_failure(username)
        return _again(username, target, _("Wrong user name or password."), 401)
    return redirect(target)


def _again(username: str, target: str, problem: str, status: int):
    return render_template("web/sign_in.html", next=target, token=_form_token(), username=username,
                           problem=problem), status


@bp.post("/sign-out")
def sign_out():
    """End the session (a form posted with the session's CSRF token)."""
    try:
        auth.principal()
    except NotAuthenticated:
        return redirect(url_for("ui.sign_in.page"))
    auth.end_session()
    return redirect(url_for("ui.sign_in.page"))

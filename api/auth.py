"""Who is calling: a browser's session cookie or an API client's bearer token, and CSRF.

The engine only ever sees a Principal; how the caller proved who they are (a password and a
session cookie, a personal access token, later a directory or OIDC) stays here.

- A browser signs in at POST /api/v1/session and holds a signed session cookie (HttpOnly,
  SameSite=Lax, Secure when PETIFLOW_SECURE_COOKIES is set) carrying the key of a session kept on
  the server (engine.services.sessions): signing out ends it there, so a copy of the cookie is
  worth nothing after. Every state-changing request made with that cookie must carry the
  session's CSRF token in the `X-CSRF-Token` header.
- An API client sends `Authorization: Bearer <token>`; a token is no ambient credential, so such
  requests need no CSRF token.
- The user's roles are read at every request, so a change of groups applies at once, and a
  closed account's cookie stops working at its next request.
"""
from __future__ import annotations

import hmac
import secrets
from datetime import datetime, timedelta, timezone

from flask import Flask, g, request, session
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import BadSignature

from engine.errors import Forbidden, NotAuthenticated, NotFound
from engine.queries.access_tokens import token_holder
from engine.queries.principals import load_principal
from engine.services.access_tokens import NoteTokenUse, note_token_use
from engine.services.accounts import SignIn
from engine.services.sessions import EndSession, sign_in_session
from engine.services.sessions import end_session as engine_end_session

from .units import read, run

#: Methods that change nothing, and need no CSRF token.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

#: The header carrying the session's CSRF token.
CSRF_HEADER = "X-CSRF-Token"

#: How long a browser session lasts without signing in again.
SESSION_LIFETIME = timedelta(hours=12)

#: How old a session cookie's signature may grow before a response signs it again. A session
#: lasts SESSION_LIFETIME from the last request that renewed it, so from 5 minutes less than that
#: after the caller's last request; signing every response's cookie anew cost each request about
#: a fifth of its time in the web framework.
SESSION_RENEW_AFTER = timedelta(minutes=5)

#: What a request without (valid) credentials is told.
SIGN_IN_FIRST = "sign in first: a session cookie or an `Authorization: Bearer` access token is required"


def sign_in(username: str, password: str):
    """Check the user name and password and open a server-side session for the browser (one unit
    of work); returns the principal. Raises NotAuthenticated as the engine's sign_in does."""
    opened = run(sign_in_session, SignIn(username, password, address=request.remote_addr,
                                         user_agent=request.headers.get("User-Agent")))
    start_session(opened)
    return opened.principal


def start_session(opened) -> str:
    """Carry a session opened by the engine (its key) in a fresh cookie; returns its CSRF token."""
    session.clear()
    session.permanent = True
    session["sid"] = opened.key
    session["csrf"] = secrets.token_urlsafe(32)
    g.principal = opened.principal
    return session["csrf"]


def end_session() -> None:
    """Sign out: end the session on the server (its cookie is worth nothing after) and forget it."""
    key = session.get("sid")
    if key:
        run(engine_end_session, EndSession(key))
    session.clear()
    g.pop("principal", None)


def session_key() -> str | None:
    """The key of the browser's session (None without one)."""
    return session.get("sid")


def csrf_token() -> str | None:
    """The current session's CSRF token (None without a session)."""
    return session.get("csrf")


def principal():
    """The caller's principal; raises NotAuthenticated (401) when the request carries no valid
    credentials, Forbidden (403) when a cookie-borne change lacks the session's CSRF token."""
    found = g.get("principal")
    if found is not None:
        return found
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise NotAuthenticated("the Authorization header must be `Bearer <access token>`")
        # Read only: a request that only reads stays a read; the token's last use is noted at most
        # every few minutes, in a unit of its own.
        holder = read(token_holder, token.strip())
        if holder.note_use:
            run(note_token_use, NoteTokenUse(holder.token_id))
        found = holder.principal
    elif session.get("sid"):
        if request.method not in SAFE_METHODS:
            _check_csrf()
        try:
            found = read(load_principal, session_key=session["sid"])
        except NotFound:
            session.clear()  # signed out, elsewhere too, or the account closed: the cookie is worth nothing now
            raise NotAuthenticated(SIGN_IN_FIRST) from None
    else:
        raise NotAuthenticated(SIGN_IN_FIRST)
    g.principal = found
    return found


#: The form field carrying the session's CSRF token on the web UI's pages (forms work without JavaScript).
CSRF_FIELD = "csrf_token"


def _check_csrf() -> None:
    sent = request.headers.get(CSRF_HEADER) or ""
    if not sent and request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        sent = request.form.get(CSRF_FIELD, "")
    expected = session.get("csrf") or ""
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise Forbidden(f"a change made with a session cookie needs the session's CSRF token in the {CSRF_HEADER} "
                        f"header or the {CSRF_FIELD} form field (GET /api/v1/session gives it)",
                        details={"header": CSRF_HEADER})


class _Sessions(SecureCookieSessionInterface):
    """Flask's signed session cookie, renewed when its signature is SESSION_RENEW_AFTER old rather
    than on every response, its signer made once per key (not twice a request), and each cookie's
    signature checked once: a cookie seen before is known by its exact text, its age checked at
    every request as itsdangerous checks it."""

    #: Verified cookies remembered at most (the memory is emptied when full).
    REMEMBERED = 4096

    def __init__(self):
        self._signer = (None, None)
        self._verified: dict[str, tuple[dict, datetime]] = {}

    def get_signing_serializer(self, app: Flask):
        keys = (app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        made_for, signer = self._signer
        if made_for != keys:
            signer = super().get_signing_serializer(app)
            self._signer, self._verified = (keys, signer), {}
        return signer

    def open_session(self, app: Flask, request):
        signer = self.get_signing_serializer(app)
        if signer is None:
            return None
        value = request.cookies.get(self.get_cookie_name(app))
        if not value:
            return self.session_class()
        verified = self._verified.get(value)
        if verified is None:
            try:
                verified = signer.loads(value, return_timestamp=True)
            except BadSignature:
                return self.session_class()
            if len(self._verified) >= self.REMEMBERED:
                self._verified = {}
            self._verified[value] = verified
        data, signed_at = verified
        age = datetime.now(timezone.utc) - signed_at
        if age > app.permanent_session_lifetime or age < _NO_AGE:
            return self.session_class()  # expired (or signed in the future), as itsdangerous's max_age has it
        found = self.session_class(dict(data))
        found.signed_at = signed_at
        return found

    def should_set_cookie(self, app: Flask, session) -> bool:
        if session.modified:
            return True
        if not (session.permanent and app.config["SESSION_REFRESH_EACH_REQUEST"]):
            return False
        signed_at = getattr(session, "signed_at", None)
        return signed_at is None or datetime.now(timezone.utc) - signed_at >= SESSION_RENEW_AFTER


_NO_AGE = timedelta(0)


def install(app: Flask, *, secure_cookies: bool) -> None:
    """Configure the session cookie."""
    app.session_interface = _Sessions()
    app.config.update(
        SESSION_COOKIE_NAME="petiflow_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure_cookies,
        PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME,
    )

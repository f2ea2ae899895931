"""What every page shares: who is signed in, the CSRF field, local times, and errors as pages.

A page that needs a signed-in user and finds none sends the browser to the sign-in page and
back afterwards. An engine error on a page is a page in the user's language with the status the
API would give it; a form's errors are shown on the form itself by its view.
"""
from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from flask import Blueprint, Flask, flash, g, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from engine.errors import Conflict, NotAuthenticated, PetiflowError
from engine.queries.categories import categories
from engine.queries.processes import may_design
from engine.queries.visibility import SUPERVISING_ROLES

from .. import auth
from ..errors import status_for
from ..units import runtime

#: How staff call each role (the role's code stays beside it where staff configure things).
ROLE_LABELS = {
    "dispatcher": "分案人員", "caseworker": "承辦人", "supervisor": "科長（主管）", "agency_head": "機關首長",
    "agency_liaison": "機關聯絡窗口", "reviewer": "研考人員", "operator": "話務人員",
    "council_liaison": "議會聯絡人", "process_designer": "流程設計", "auditor": "稽核人員", "admin": "系統管理",
}


#: Roles that read an escalation queue (engine.queries.visibility.queue_scope).
QUEUE_ROLES = frozenset(SUPERVISING_ROLES | {"reviewer"})


class SignInFirst(Exception):
    """Raised by a page that needs a signed-in user; answered by a redirect to the sign-in page."""


def web_blueprint(name: str, import_name: str) -> Blueprint:
    """A blueprint of pages: engine errors raised by its views are rendered as HTML pages."""
    bp = Blueprint(name, import_name)
    bp.register_error_handler(PetiflowError, error_page)
    bp.register_error_handler(SignInFirst, _to_sign_in)
    return bp


def signed_in():
    """The signed-in user's principal; a page without one sends the browser to sign in."""
    try:
        return auth.principal()
    except NotAuthenticated:
        raise SignInFirst() from None


def current_principal():
    """The principal if the request is signed in, else None (for the page frame)."""
    found = g.get("principal")
    if found is not None:
        return found
    try:
        return auth.principal() if request.method in auth.SAFE_METHODS else None
    except PetiflowError:
        return None


def local_path(target: str | None, default: str = "/") -> str:
    """A path on this site to return to; anything else (another site, a scheme) gives the default."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else default


def back_to(default: str) -> str:
    """Where a form posted from a page returns: its `next` field when local, else the default."""
    return local_path(request.form.get("next"), default)


def done(message: str, target: str):
    """Tell the user what happened (on the next page) and go there."""
    flash(message, "done")
    return redirect(target)


def refused(error: PetiflowError, target: str):
    """Tell the user why an action was refused and go back; a conflict says someone was faster."""
    if isinstance(error, Conflict):
        flash(_("Someone changed this in the meantime: %(why)s", why=error.message), "error")
    else:
        flash(error.message, "error")
    return redirect(target)


def field_errors(errors: dict | None) -> dict:
    """A form's errors (field path -> the engine's messages) in the user's language where they are known."""
    known = {"required": _("required"), "not a field of this form": _("not a field of this form")}
    return {path: [known.get(m, m) for m in messages] for path, messages in (errors or {}).items()}


def error_page(error: PetiflowError):
    status = status_for(error)
    titles = {403: _("Not allowed"), 404: _("Not found"), 409: _("Changed in the meantime"),
              422: _("Cannot be accepted"), 503: _("Not available right now")}
    return render_template("web/error.html", status=status, title=titles.get(status, _("Cannot be done")),
                           message=error.message), status


def _to_sign_in(_error):
    return redirect(url_for("ui.sign_in.page", next=request.full_path.rstrip("?")))


def _holds_any(principal, roles) -> bool:
    """Whether a signed-in user is an administrator or holds one of the roles anywhere."""
    return principal is not None and (principal.is_admin or any(role in roles for role, _ in principal.roles))


def reads_queue(principal) -> bool:
    """Whether the menu offers the escalation queue (the queue itself decides what the user sees)."""
    return _holds_any(principal, QUEUE_ROLES)


def supervises(principal) -> bool:
    """Whether the inbox offers the view of the units the user supervises."""
    return _holds_any(principal, SUPERVISING_ROLES)


def takes_calls(principal) -> bool:
    """Whether the menu offers the 1999 console."""
    return _holds_any(principal, {"operator"})


def local_time(at: datetime | None, with_year: bool = False) -> str:
    """A moment in the city's time zone, as staff write it."""
    if at is None:
        return "—"
    at = at.astimezone(runtime().zone)
    return at.strftime("%Y-%m-%d %H:%M") if with_year else at.strftime("%m-%d %H:%M")


def shown(value) -> str:
    """A recorded value as a person reads it: a moment in the city's time, anything else as it is."""
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] == "T":
        try:
            at = datetime.fromisoformat(value)
        except ValueError:
            return value
        return local_time(at, with_year=True) if at.tzinfo is not None else value
    return str(value)


def category_name(code: str | None) -> str:
    """A category as staff call it (the code itself for one the list does not have)."""
    if not code:
        return "—"
    english = str(get_locale()).startswith("en")
    found = next((c for c in categories() if c.code == code), None)
    return code if found is None else (found.name_en if english else found.name)


def install(app: Flask) -> None:
    app.jinja_env.globals.update(csrf_token=auth.csrf_token, current_principal=current_principal,
                                 ROLE_LABELS=ROLE_LABELS, reads_queue=reads_queue, takes_calls=takes_calls,
                                 may_design=may_design, CSRF_FIELD=auth.CSRF_FIELD)
    app.jinja_env.filters["local_time"] = local_time
    app.jinja_env.filters["category"] = category_name
    app.jinja_env.filters["shown"] = shown

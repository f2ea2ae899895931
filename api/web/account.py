"""My account: where I am signed in, and signing out everywhere else."""
from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import ngettext

from engine.queries.sessions import sessions_of
from engine.services.sessions import EndSessions, end_sessions

from .. import auth
from ..units import read, run
from .pages import signed_in, web_blueprint

bp = web_blueprint("account", __name__)


@bp.get("/account")
def page():
    """My browser sessions: this one, the others still open, and those that ended lately."""
    principal = signed_in()
    return render_template("web/account.html", sessions=read(sessions_of, principal, auth.session_key()))


@bp.post("/account/sign-out-elsewhere")
def sign_out_elsewhere():
    """End every other session of mine (this one stays)."""
    principal = signed_in()
    ended = run(end_sessions, EndSessions(principal, principal.user_id, keep_key=auth.session_key()))
    flash(ngettext("%(num)d other session ended.", "%(num)d other sessions ended.", ended), "done")
    return redirect(url_for("ui.account.page"))

"""The pages' language: Traditional Chinese (Taiwan) by default, English when the user chooses it.

The choice is kept in a cookie (a preference, not a credential) and can be changed on any page;
message catalogs live in api/translations and are compiled at set-up (`make setup`).
"""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Flask, redirect, request
from flask_babel import Babel

from .pages import local_path

#: The languages offered, by the locale code the catalogs are kept under, with their own names.
LANGUAGES = {"zh_Hant_TW": "中文", "en": "English"}

#: The default: the city's staff read Traditional Chinese.
DEFAULT_LOCALE = "zh_Hant_TW"

#: The cookie keeping the choice.
COOKIE = "petiflow_lang"

TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"

bp = Blueprint("language", __name__)


def current_locale() -> str:
    """The language of this request: the cookie's, else the default (never the browser's guess:
    a shared office computer set to English must still open in Chinese)."""
    chosen = request.cookies.get(COOKIE)
    return chosen if chosen in LANGUAGES else DEFAULT_LOCALE


@bp.get("/language/<code>")
def choose(code: str):
    """Switch the pages' language and go back where the user was."""
    response = redirect(local_path(request.args.get("next")))
    if code in LANGUAGES:
        response.set_cookie(COOKIE, code, max_age=365 * 86400, httponly=True, samesite="Lax")
    return response


def install(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LOCALE)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(TRANSLATIONS)
    Babel(app, locale_selector=current_locale)
    app.jinja_env.globals["LANGUAGES"] = LANGUAGES
    app.jinja_env.globals["current_locale"] = current_locale

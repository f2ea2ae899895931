"""The pages' language: Traditional Chinese (Taiwan) by default, English when the user chooses it.

The choice is kept in a cookie (a preference, not a credential) and can be changed on any page;
message catalogs live in api/translations and are compiled at set-up (`make setup`).

Templates translate through the catalog of the page being rendered, looked up once per page: a
page of a hundred rows asks for hundreds of strings, and Flask-Babel finds the request's catalog
anew for each (about 10 µs of a request's context lookups a string).
"""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Flask, redirect, request
from flask_babel import Babel, get_translations
from jinja2 import pass_context

from .pages import local_path

#: The languages offered, by the locale code the catalogs are kept under, with their own names.
LANGUAGES = {"zh_Hant_TW": "中文", "en": "English"}

#: The default: the city's staff read Traditional Chinese.
DEFAULT_LOCALE = "zh_Hant_TW"

#: The cookie keeping the choice.
COOKIE = "petiflow_lang"

TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"

#: The name under which each page rendered carries its catalog.
CATALOG = "_babel_catalog"

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


def _catalog(context):
    """The catalog of the page being rendered (a macro imported without the page's context finds its own)."""
    found = context.get(CATALOG)
    return found if found is not None else get_translations()


@pass_context
def _gettext(context, string):
    return _catalog(context).ugettext(string)


@pass_context
def _ngettext(context, singular, plural, n):
    return _catalog(context).ungettext(singular, plural, n)


@pass_context
def _pgettext(context, message_context, string):
    return _catalog(context).upgettext(message_context, string)


@pass_context
def _npgettext(context, message_context, singular, plural, n):
    return _catalog(context).unpgettext(message_context, singular, plural, n)


def install(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LOCALE)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(TRANSLATIONS)
    Babel(app, locale_selector=current_locale)
    app.jinja_env.install_gettext_callables(gettext=_gettext, ngettext=_ngettext, newstyle=True,
                                            pgettext=_pgettext, npgettext=_npgettext)
    app.context_processor(lambda: {CATALOG: get_translations()})
    app.jinja_env.globals["LANGUAGES"] = LANGUAGES
    app.jinja_env.globals["current_locale"] = current_locale

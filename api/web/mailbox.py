"""The public web mailbox (縣政信箱): file a petition, look its status up, answer its survey. No sign-in.

Every form works without JavaScript and carries a CSRF token kept in the (anonymous) session,
as the sign-in form does. A refused form comes back with what the citizen typed and each
field's error (photos must be chosen again: a browser never re-sends a file). The case number
and lookup code are shown once, on a page no cache keeps. Wrong codes are counted per address
(api.limits) and a wrong code reads exactly as a case that does not exist.
"""
from __future__ import annotations

import hmac
import re
import secrets
from urllib.parse import urlsplit

from flask import jsonify, make_response, render_template, request, session
from flask_babel import gettext as _
from werkzeug.exceptions import RequestEntityTooLarge, TooManyRequests

from engine.errors import Conflict, InvalidInput, NotFound
from engine.queries.categories import categories
from engine.queries.public_status import public_status
from engine.services.public_intake import (
    DISTRICTS,
    LIMITS,
    MAX_PHOTO_BYTES,
    MAX_PHOTOS,
    Photo,
    SubmitPetition,
    submit_petition,
)
from engine.services.surveys import MAX_COMMENT, REASONS, AnswerSurvey, answer_survey

from .. import auth, limits
from ..errors import error_body
from ..security import CONTENT_SECURITY_POLICY
from ..units import read, run, runtime
from .pages import web_blueprint

bp = web_blueprint("mailbox", __name__)

#: The largest request the mailbox's form may send: every photo at its largest, and the text.
MAX_BODY = MAX_PHOTOS * MAX_PHOTO_BYTES + 256 * 1024

#: The text fields of the petition form, as the service names them.
FIELDS = ("subject", "description", "category", "district", "location", "latitude", "longitude", "name", "phone",
          "email", "address")


def _token() -> str:
    """The CSRF token of the mailbox's forms, kept in the anonymous session."""
    if not session.get("csrf"):
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def _token_ok() -> bool:
    sent, expected = request.form.get(auth.CSRF_FIELD, ""), session.get("csrf") or ""
    return bool(expected) and hmac.compare_digest(sent.encode(), expected.encode())


def _message(text: str) -> str:
    """A field's error in the reader's language, where it is one the mailbox knows."""
    known = {"required": _("required"), "not one of the categories": _("not one of the categories"),
             "not one of the city's districts": _("not one of the city's districts"),
             "not an e-mail address": _("not an e-mail address"),
             "digits, spaces, + - ( ) # only": _("digits, spaces, + - ( ) # only"),
             "JPEG, PNG, WebP or GIF only": _("JPEG, PNG, WebP or GIF only"),
             "damaged image": _("damaged image"), "too many pixels": _("too many pixels"),
             "not one of the reasons": _("not one of the reasons"),
             "a latitude from -90 to 90 and a longitude from -180 to 180, in degrees":
                 _("a latitude from -90 to 90 and a longitude from -180 to 180, in degrees")}
    if text in known:
        return known[text]
    if found := re.fullmatch(r"at most (\d+) characters", text):
        return _("at most %(n)s characters", n=found.group(1))
    if found := re.fullmatch(r"at most (\d+) photos", text):
        return _("at most %(n)s photos", n=found.group(1))
    if found := re.fullmatch(r"at most (\d+) MiB each", text):
        return _("at most %(n)s MiB each", n=found.group(1))
    if text.endswith(" is not accepted"):
        return _("%(kind)s is not accepted: choose a JPEG, PNG, WebP or GIF photo", kind=text[:-len(" is not accepted")])
    return text


def _headers(response, *, map_shown: bool = False):
    """No cache keeps a mailbox page (one shows a lookup code); a page with the map may load its tiles."""
    response.headers["Cache-Control"] = "no-store"
    tiles = runtime().settings.map_tile_url
    if map_shown and tiles:
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(tiles))
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY.replace(
            "img-src 'self' data:", f"img-src 'self' data: {origin}")
    return response


def _form_page(values: dict, errors: dict, status: int = 200, problem: str | None = None):
    tiles = runtime().settings.map_tile_url
    page = render_template("web/mailbox.html", values=values, errors=errors, problem=problem, token=_token(),
                           categories=categories(), districts=DISTRICTS, limits=LIMITS, max_photos=MAX_PHOTOS,
                           max_photo_mb=MAX_PHOTO_BYTES // 2**20, tile_url=tiles)
    return _headers(make_response(page, status), map_shown=bool(tiles))


@bp.get("/mailbox")
def form():
    """The petition form."""
    return _form_page({}, {})


def _site_url() -> str:
    return runtime().settings.public_url or request.url_root


@bp.post("/mailbox")
def submit():
    """File the petition; show its case number and lookup code, or the form again with its errors."""
    request.max_content_length = MAX_BODY
    try:
        form_data = request.form
        files = [f for f in request.files.getlist("photos") if f and f.filename]
    except RequestEntityTooLarge:
        return _form_page({}, {}, 413, _("The photos are too large together: at most %(n)s MiB in all.",
                                         n=MAX_BODY // 2**20))
    values = {key: (form_data.get(key) or "")[:LIMITS.get(key, 100) + 1000] for key in FIELDS}
    values["confidential"] = form_data.get("confidential") == "1"
    if not _token_ok():
        return _form_page(values, {}, 400, _("The page had expired. Please check the form and send it again."))
    try:
        limits.check_submission(runtime().settings)
    except TooManyRequests:
        return _form_page(values, {}, 429, _("Too many petitions from this address. Please try again later."))
    command = SubmitPetition(**{key: values[key] for key in FIELDS}, confidential=values["confidential"],
                             photos=tuple(Photo(f.filename, f.stream) for f in files), site_url=_site_url())
    try:
        done = run(submit_petition, command)
    except InvalidInput as refused:
        errors = {key: [_message(m) for m in found]
                  for key, found in ((refused.details or {}).get("fields") or {}).items()}
        status = 413 if refused.code == "too_large" else 422
        return _form_page(values, errors, status, _("Please correct the fields marked below."))
    limits.count_submission(runtime().settings)
    page = render_template("web/mailbox_received.html", done=done, email=bool(values["email"].strip()))
    return _headers(make_response(page, 201))


def _wants_json() -> bool:
    return request.is_json or request.accept_mimetypes.best_match(["text/html", "application/json"]) == \
        "application/json"


def _status_json(found) -> dict:
    return {"case_no": found.case_no, "stage": found.stage, "agency": found.agency_name,
            "received_at": found.received_at.isoformat(), "due_at": found.due_at.isoformat() if found.due_at else None,
            "closed_at": found.closed_at.isoformat() if found.closed_at else None, "reply": found.reply_text,
            "replied_at": found.replied_at.isoformat() if found.replied_at else None, "survey": found.survey}


def _lookup_page(case_no: str, status: int = 200, problem: str | None = None, found=None):
    page = render_template("web/mailbox_status.html", case_no=case_no, token=_token(), problem=problem, found=found)
    return _headers(make_response(page, status))


@bp.get("/mailbox/status")
def status_form():
    """The look-up form (the case number filled in from a link)."""
    return _lookup_page((request.args.get("case_no") or "")[:40])


@bp.post("/mailbox/status")
def status():
    """A case's public status, by its number and lookup code (JSON when asked for)."""
    as_json = _wants_json()
    body = (request.get_json(silent=True) or {}) if request.is_json else request.form
    case_no, code = str(body.get("case_no") or "")[:40], str(body.get("code") or "")[:40]
    if not as_json and not _token_ok():
        return _lookup_page(case_no, 400, _("The page had expired. Please send the form again."))
    try:
        limits.check_lookup()
        found = read(public_status, case_no, code)
    except TooManyRequests as locked:
        if as_json:
            raise
        page = _lookup_page(case_no, 429, _("Too many wrong case numbers or codes from this address. Please wait "
                                            "and try again later."))
        page.headers["Retry-After"] = str(locked.retry_after)
        return page
    except NotFound as missing:
        limits.count_wrong_lookup()
        if as_json:
            return _headers(jsonify(error_body(404, missing.code, missing.message))), 404
        return _lookup_page(case_no, 404, _("No case has this case number and lookup code."))
    if as_json:
        response = jsonify(_status_json(found))
        response.headers["Cache-Control"] = "no-store"
        return response
    return _lookup_page(found.case_no, found=found)


def _survey_page(values: dict, status: int = 200, problem: str | None = None, errors: dict | None = None):
    page = render_template("web/mailbox_survey.html", values=values, token=_token(), problem=problem,
                           errors=errors or {}, reasons=REASONS, max_comment=MAX_COMMENT)
    return _headers(make_response(page, status))


@bp.get("/mailbox/survey")
def survey_form():
    """The satisfaction survey's form."""
    return _survey_page({"case_no": (request.args.get("case_no") or "")[:40]})


@bp.post("/mailbox/survey")
def survey():
    """Record the citizen's answer: satisfied closes the case, unsatisfied goes to the commission's reviewer."""
    form_data = request.form
    values = {"case_no": (form_data.get("case_no") or "")[:40], "satisfied": form_data.get("satisfied") or "",
              "reasons": [r for r in form_data.getlist("reasons") if r in REASONS],
              "comment": (form_data.get("comment") or "")[:MAX_COMMENT + 100]}
    if not _token_ok():
        return _survey_page(values, 400, _("The page had expired. Please send the form again."))
    if values["satisfied"] not in ("yes", "no"):
        return _survey_page(values, 422, _("Please correct the fields marked below."),
                            {"satisfied": [_("required")]})
    try:
        limits.check_lookup()
        done = run(answer_survey, AnswerSurvey(values["case_no"], (form_data.get("code") or "")[:40],
                                               values["satisfied"] == "yes", tuple(values["reasons"]),
                                               values["comment"]))
    except TooManyRequests:
        return _survey_page(values, 429, _("Too many wrong case numbers or codes from this address. Please wait "
                                           "and try again later."))
    except NotFound:
        limits.count_wrong_lookup()
        return _survey_page(values, 404, _("No case has this case number and lookup code."))
    except Conflict as refused:
        messages = {"answered already": _("This case's survey has been answered already: a case takes one answer."),
                    "opens once": _("The survey opens once the reply has been sent."),
                    "has closed": _("This case's survey has closed.")}
        text = next((t for key, t in messages.items() if key in refused.message), refused.message)
        return _survey_page(values, 409, text)
    except InvalidInput as refused:
        errors = {key: [_message(m) for m in found]
                  for key, found in ((refused.details or {}).get("fields") or {}).items()}
        return _survey_page(values, 422, _("Please correct the fields marked below."), errors)
    page = render_template("web/mailbox_thanks.html", done=done)
    return _headers(make_response(page, 200))

"""Files attached to a case: uploaded as multipart/form-data, listed, described, and downloaded.

A download is always sent as an attachment (never shown inline), with the media type found in its
content, `X-Content-Type-Options: nosniff` (every response has it) and a sandboxing content
security policy, so that even a file a browser opened by mistake could run nothing.
"""
from __future__ import annotations

from urllib.parse import quote

import marshmallow as ma
from flask import send_file
from flask_smorest.fields import Upload

from engine.queries.attachments import attachment_file, attachments_of, get_attachment
from engine.services.attachments import MEDIA_TYPES, AddAttachment, add_attachment

from .. import auth
from ..units import read, run
from .common import SIGNED_IN, Blueprint

PATH = ""  # its routes sit under /cases/<id>/attachments and /attachments

blp = Blueprint("attachments", __name__, description="Files attached to cases: photos, letters, replies.")

#: The content security policy of a download: no script, no plugin, no form, no same-origin access.
DOWNLOAD_POLICY = "sandbox; default-src 'none'"


class UploadSchema(ma.Schema):
    """The file to attach, as the `file` part of a multipart/form-data body."""

    file = Upload(required=True, metadata={
        "description": "The file: a photo (JPEG, PNG, GIF, WebP, HEIC/HEIF), a PDF, plain UTF-8 text, or a Word, "
                       "Excel, PowerPoint or OpenDocument file. Its type is told from its content, never from its "
                       "name or the Content-Type sent with it."})


class AttachmentSchema(ma.Schema):
    """A file attached to a case."""

    attachment_id = ma.fields.Integer(required=True)
    case_id = ma.fields.Integer(required=True)
    filename = ma.fields.String(required=True, metadata={"description": "The name it came with, without path parts"})
    media_type = ma.fields.String(required=True, metadata={"description": "As found in its content"})
    size = ma.fields.Integer(required=True, metadata={"description": "Bytes"})
    sha256 = ma.fields.String(required=True, metadata={"description": "Of its content, in hex; its download's ETag"})
    uploaded_by = ma.fields.String(allow_none=True, metadata={"description": "Who attached it; null for the engine"})
    uploaded_at = ma.fields.DateTime(required=True)
    content_url = ma.fields.Function(lambda a: f"/api/v1/attachments/{a.attachment_id}/content", required=True)


def content_disposition(filename: str) -> str:
    """`attachment`, with an ASCII stand-in name and the real one in RFC 5987's filename*."""
    fallback = "".join(ch if " " <= ch < "\x7f" and ch not in '"\\%' else "_" for ch in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


@blp.route("/cases/<id:case_id>/attachments", methods=["POST"])
@blp.doc(security=SIGNED_IN)
@blp.arguments(UploadSchema, location="files")
@blp.response(201, AttachmentSchema, headers={"Location": {"description": "The attachment's record",
                                                           "schema": {"type": "string"}}})
@blp.alt_response(400, response="DEFAULT_ERROR", description="The content is of a kind cases do not take (named)")
@blp.alt_response(409, response="DEFAULT_ERROR", description="The case is closed, or has the most attachments it may")
@blp.alt_response(413, response="DEFAULT_ERROR", description="The file or the request is larger than allowed")
def upload(files, case_id):
    """Attach a file to a case I may see; it is recorded in the case's history."""
    given = files["file"]
    added = run(add_attachment, AddAttachment(auth.principal(), case_id, given.filename, given.stream))
    return added, {"Location": f"/api/v1/attachments/{added.attachment_id}"}


@blp.route("/cases/<id:case_id>/attachments")
@blp.doc(security=SIGNED_IN)
@blp.response(200, AttachmentSchema(many=True))
def list_attachments(case_id):
    """The files attached to a case I may see, oldest first."""
    return list(read(attachments_of, auth.principal(), case_id))  # a tuple would read as (body, status)


@blp.route("/attachments/<id:attachment_id>")
@blp.doc(security=SIGNED_IN)
@blp.response(200, AttachmentSchema)
def attachment(attachment_id):
    """One attachment's record (of a case I may see)."""
    return read(get_attachment, auth.principal(), attachment_id)


_FILE = {"schema": {"type": "string", "format": "binary"}}


@blp.route("/attachments/<id:attachment_id>/content")
@blp.doc(security=SIGNED_IN, responses={
    "200": {"description": "The file, as an attachment, with the media type found in its content; "
                           "its ETag is its SHA-256",
            "content": {media_type: _FILE for media_type in MEDIA_TYPES}},
    "304": {"description": "Not modified: If-None-Match named its ETag"}})
@blp.alt_response(404, response="DEFAULT_ERROR", description="No such attachment of a case I may see")
@blp.alt_response(503, response="DEFAULT_ERROR", description="Its file is missing from the attachments folder")
def content(attachment_id):
    """Download the file."""
    found = read(attachment_file, auth.principal(), attachment_id)
    record = found.attachment
    response = send_file(found.path, mimetype=record.media_type, etag=record.sha256, conditional=True)
    response.headers["Content-Disposition"] = content_disposition(record.filename)
    response.headers["Content-Security-Policy"] = DOWNLOAD_POLICY
    response.headers["Cache-Control"] = "no-store"  # personal data, as JSON answers
    return response

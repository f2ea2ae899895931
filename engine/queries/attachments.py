"""The files attached to a case: their list, one's record, and where its content is kept.

Whoever may see a case (engine.queries.visibility's case scope) may read its attachments; an
attachment of a case outside that scope is NotFound, exactly as one that does not exist. A photo
filed on the public web mailbox is shown without its EXIF location and camera data; the file as
it came (`original_sha256`) is read only by the staff of the agency handling the case.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from sqlalchemy import bindparam, select

from engine.accounts.identity import Principal
from engine.errors import NotFound, NotReady
from engine.store.schema import attachments, cases, users

from .cases import may_see_case

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Attachment:
    """A file attached to a case: its name as given, its media type as sniffed, size, SHA-256, who added it when."""

    attachment_id: int
    case_id: int
    filename: str
    media_type: str
    size: int
    sha256: str
    uploaded_by: str | None  # username; None for the engine itself
    uploaded_at: datetime


@dataclass(frozen=True)
class AttachmentFile:
    """An attachment and the file on disk holding its content."""

    attachment: Attachment
    path: Path


_columns = (select(attachments.c.id, attachments.c.case_id, attachments.c.filename, attachments.c.media_type,
                   attachments.c.size, attachments.c.sha256, users.c.username, attachments.c.uploaded_at)
            .select_from(attachments.outerjoin(users, users.c.id == attachments.c.uploaded_by)))
_of_case = _columns.where(attachments.c.case_id == bindparam("b_case")).order_by(attachments.c.id)
_by_id = _columns.where(attachments.c.id == bindparam("b_id"))


def attachments_of(uow, principal: Principal, case_id: int) -> tuple:
    """The case's attachments, oldest first; raises NotFound for a case the principal may not see."""
    if not may_see_case(uow, principal, case_id):
        raise NotFound(f"case {case_id} does not exist")
    return tuple(Attachment(*row) for row in uow.conn.execute(_of_case, {"b_case": case_id}))


def get_attachment(uow, principal: Principal, attachment_id: int) -> Attachment:
    """One attachment's record; raises NotFound when there is none of a case the principal may see."""
    row = uow.conn.execute(_by_id, {"b_id": attachment_id}).one_or_none()
    if row is None or not may_see_case(uow, principal, row.case_id):
        raise NotFound(f"attachment {attachment_id} does not exist")
    return Attachment(*row)


_original = (select(attachments.c.original_sha256, cases.c.agency_id)
             .join(cases, cases.c.id == attachments.c.case_id).where(attachments.c.id == bindparam("b_id")))


def handles_case_of(principal: Principal, agency_id: int | None) -> bool:
    """True if the principal is staff of the agency handling the case (or an administrator)."""
    return principal.is_admin or (agency_id is not None and any(agency == agency_id for _, agency in principal.roles))


def attachment_file(uow, principal: Principal, attachment_id: int) -> AttachmentFile:
    """An attachment and its file; raises NotFound as get_attachment, NotReady when the file is missing
    from the attachments folder (lost with a disk, or not restored with the database).

    The staff handling the case get a citizen's photo as it came (with its EXIF data), and its
    size and digest; everyone else the copy without it.
    """
    found = get_attachment(uow, principal, attachment_id)
    original = uow.conn.execute(_original, {"b_id": attachment_id}).one()
    if original.original_sha256 and handles_case_of(principal, original.agency_id):
        path = uow.attachments.path_of(original.original_sha256)
        if path.is_file():
            found = replace(found, sha256=original.original_sha256, size=path.stat().st_size)
    path = uow.attachments.path_of(found.sha256)
    if not path.is_file():
        log.error("attachment %s of case %s: its file %s is missing", attachment_id, found.case_id, path)
        raise NotReady(f"the file of attachment {attachment_id} is missing from the attachments folder; "
                       "an administrator must restore it from the backup")
    return AttachmentFile(found, path)

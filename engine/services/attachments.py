"""Attach a file to a case: its kind told from its content, its size limited, the file kept on disk
by its SHA-256 (engine/store/files.py), a row in `attachments` and `attachment_added` in the history.

The file is received and checked first, then the row and the event are written, then the file is
put in place under its final name, all before the unit of work commits: a committed row always has
its file. When the database write fails, the received file is deleted; when the unit of work is
rolled back or its commit fails after the file was put in place, the file is taken away again
(engine.store.files.keep_in_unit), unless an upload of the same content used it meanwhile. What a crash leaves, and
the files of rows deleted, `petiflow attachments sweep` removes (engine.services.attachment_sweep).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import BinaryIO

from sqlalchemy import func, insert, select

from engine.accounts.identity import Principal
from engine.cases.history import event
from engine.cases.sniffing import ACCEPTED_MEDIA_TYPES, sniff
from engine.errors import Conflict, Forbidden, InvalidInput, NotFound
from engine.queries.attachments import Attachment
from engine.queries.cases import may_see_case
from engine.queries.visibility import ROLES_WITHOUT_CASES
from engine.store.files import keep_in_unit
from engine.store.schema import attachments, case_events, cases

#: The most files one case may have attached.
MAX_PER_CASE = 50

#: The longest file name kept, in characters (the column's length); a longer one keeps its extension.
MAX_FILENAME = attachments.c.filename.type.length

#: The name an attachment is given when it came with none that can be kept.
DEFAULT_FILENAME = "attachment"

#: What may be attached, for the message of a refusal.
ACCEPTED_KINDS = ("photos (JPEG, PNG, GIF, WebP, HEIC/HEIF), PDF, plain UTF-8 text, and Word, Excel, PowerPoint "
                  "or OpenDocument files")

#: The media types attachments are stored and sent with (what the content of each kind accepted is).
MEDIA_TYPES = ACCEPTED_MEDIA_TYPES

#: Unicode categories dropped from file names: controls (NUL included), format characters (such as
#: the right-to-left override that makes `gpj.exe` read as `exe.jpg`), surrogates, unassigned.
_DROPPED = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_LONGEST_EXTENSION = 16


@dataclass(frozen=True)
class AddAttachment:
    """Attach a file, read from a binary stream, to a case under the name it came with."""

    principal: Principal
    case_id: int
    filename: str | None
    content: BinaryIO


def clean_filename(name: str | None) -> str:
    """The name to keep: its last path part, without control or format characters, at most MAX_FILENAME long."""
    name = re.split(r"[/\\]", name or "")[-1]
    name = "".join(ch for ch in unicodedata.normalize("NFC", name) if unicodedata.category(ch) not in _DROPPED)
    name = name.strip()
    if name in ("", ".", ".."):
        return DEFAULT_FILENAME
    if len(name) > MAX_FILENAME:
        stem, dot, extension = name.rpartition(".")
        if dot and stem and len(extension) <= _LONGEST_EXTENSION:
            name = stem[:MAX_FILENAME - len(extension) - 1].rstrip() + "." + extension
        else:
            name = name[:MAX_FILENAME]
    return name


def handles_cases(principal: Principal) -> bool:
    """True if the principal holds a role that handles cases (not only one such as process designer)."""
    return principal.is_admin or any(role not in ROLES_WITHOUT_CASES for role, _ in principal.roles)


def add_attachment(cmd: AddAttachment, uow) -> Attachment:
    """Attach the file to the case; returns its record.

    Raises Forbidden for a principal who handles no cases; NotFound for a case the principal may
    not see, exactly as for one that does not exist; Conflict for a closed case or one holding
    MAX_PER_CASE files; TooLarge past the size limit; InvalidInput for content of a kind cases do
    not take, naming the kind found. Nothing is kept when it raises.
    """
    if not handles_cases(cmd.principal):
        raise Forbidden("files are attached to cases by the staff who handle them")
    filename = clean_filename(cmd.filename)
    if not may_see_case(uow, cmd.principal, cmd.case_id):
        raise NotFound(f"case {cmd.case_id} does not exist")
    # The case's row is held until commit, so two uploads at once cannot both take the last place.
    case = uow.conn.execute(select(cases.c.case_no, cases.c.status).where(cases.c.id == cmd.case_id)
                            .with_for_update(key_share=True)).one()
    if case.status != "open":
        raise Conflict(f"case {case.case_no} is {case.status}; it takes no new attachments")
    held = uow.conn.execute(select(func.count()).select_from(attachments)
                            .where(attachments.c.case_id == cmd.case_id)).scalar_one()
    if held >= MAX_PER_CASE:
        raise Conflict(f"case {case.case_no} has {held} attachments, the most a case may have")
    store = uow.attachments
    staged = store.receive(cmd.content, uow.clock.now())
    try:
        with staged.path.open("rb") as file:
            found = sniff(file)
        if not found.allowed:
            raise InvalidInput(f"the file cannot be attached to a case: its content is of a kind cases do not take "
                               f"({found.kind}); attach {ACCEPTED_KINDS}",
                               details={"fields": {"file": [f"{found.kind} is not accepted"]}})
        now, user_id = uow.clock.now(), cmd.principal.user_id
        attachment_id = uow.conn.execute(insert(attachments).returning(attachments.c.id), {
            "case_id": cmd.case_id, "filename": filename, "media_type": found.media_type, "size": staged.size,
            "sha256": staged.sha256, "uploaded_by": user_id, "uploaded_at": now}).scalar_one()
        uow.conn.execute(insert(case_events), event(
            cmd.case_id, now, "attachment_added", actor_id=user_id, attachment_id=attachment_id,
            filename=filename, size=staged.size, media_type=found.media_type))
        keep_in_unit(uow, staged)
    except BaseException:
        store.discard(staged)
        raise
    return Attachment(attachment_id, cmd.case_id, filename, found.media_type, staged.size, staged.sha256,
                      cmd.principal.username if user_id is not None else None, now)

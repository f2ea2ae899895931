"""Telling what an attached file is from its content: the kinds cases accept, and everything refused."""
from __future__ import annotations

import io

import pytest

from engine.cases.sniffing import TEXT_PLAIN, sniff
from tests.unit import attachment_samples as s

ACCEPTED = [
    (s.JPEG, "image/jpeg"), (s.PNG, "image/png"), (s.GIF, "image/gif"), (s.WEBP, "image/webp"),
    (s.HEIC, "image/heic"), (s.HEIF, "image/heif"), (s.PDF, "application/pdf"), (s.TEXT, TEXT_PLAIN),
    (b"\xef\xbb\xbf" + s.TEXT, TEXT_PLAIN),
    (s.DOCX, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    (s.XLSX, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    (s.PPTX, "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
    (s.ODT, "application/vnd.oasis.opendocument.text"),
    (s.ODS, "application/vnd.oasis.opendocument.spreadsheet"),
]

REFUSED = [
    (s.HTML, "HTML document"), (s.HTML_LATE, "HTML document"), (b"  \n<p>hello</p>", "HTML document"),
    (s.SVG, "SVG image"), (s.SVG_WITH_PROLOG, "SVG image"), (s.XML, "XML document"),
    (s.EXE, "Windows executable"), (s.ELF, "ELF executable"), (s.SCRIPT, "script (#!)"),
    (s.BIG5, "binary data, or text not in UTF-8"), (s.BINARY, "binary data, or text not in UTF-8"),
    (b"", "empty file"), (s.AVIF, "AVIF image"), (s.MP4, "video or audio file (ISO base media)"),
    (s.OLE_DOC, "legacy Office document (OLE compound file)"), (s.DOCM, "macro-enabled Office document"),
    (s.EPUB, "ZIP archive declaring 'application/epub+zip'"), (s.ZIP, "ZIP archive"),
    (s.DAMAGED_ZIP, "damaged or unreadable ZIP archive"),
]


@pytest.mark.parametrize(("content", "media_type"), ACCEPTED, ids=[m for _, m in ACCEPTED])
def test_each_kind_cases_accept_is_known_by_its_content(content, media_type):
    found = sniff(io.BytesIO(content))
    assert (found.allowed, found.media_type) == (True, media_type)


@pytest.mark.parametrize(("content", "kind"), REFUSED, ids=[k for _, k in REFUSED])
def test_what_a_browser_could_run_and_what_is_unknown_is_refused_by_name(content, kind):
    found = sniff(io.BytesIO(content))
    assert (found.allowed, found.kind) == (False, kind)


def test_a_file_is_read_from_its_start_wherever_it_was_left():
    file = io.BytesIO(s.PNG)
    file.seek(0, io.SEEK_END)
    assert sniff(file).media_type == "image/png"


def test_text_whose_bad_byte_comes_after_the_first_chunk_is_still_refused():
    content = b"a" * (200 * 1024) + b"\x00" + b"b" * 10
    assert sniff(io.BytesIO(content)).allowed is False
    assert sniff(io.BytesIO(b"a" * (200 * 1024))).allowed is True


def test_a_character_split_across_chunks_is_still_text():
    content = b"a" * (64 * 1024 - 1) + "路".encode() * 10
    assert sniff(io.BytesIO(content)).media_type == TEXT_PLAIN

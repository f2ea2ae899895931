"""What a file attached to a case is, told from its content (magic bytes), never from its name.

A case's attachments are photos, scanned letters, PDF replies, plain text and office documents.
Anything a browser could run or render as a page (HTML, SVG, XML, scripts, executables) and
anything unknown is refused, whatever the file is called and whatever the client claimed. Office
Open XML and OpenDocument files are ZIP containers: the sniffer reads their `[Content_Types].xml`
or `mimetype` entry (a few kilobytes at most, in memory) with the standard zipfile module and
extracts nothing.
"""
from __future__ import annotations

import codecs
import re
import zipfile
from dataclasses import dataclass
from typing import BinaryIO

#: How much of the start of a file the magic numbers and markup checks look at.
HEAD_BYTES = 1024

#: How much of a ZIP container's type entry is read, at most (a real one is a few KB).
TYPE_ENTRY_LIMIT = 256 * 1024

#: The media type stored and sent for plain text (the only text accepted is UTF-8).
TEXT_PLAIN = "text/plain; charset=utf-8"


@dataclass(frozen=True)
class Sniffed:
    """What the content is: its media type, a name a person reads, and whether cases accept it."""

    media_type: str
    kind: str
    allowed: bool


def _ok(media_type: str, kind: str) -> Sniffed:
    return Sniffed(media_type, kind, True)


def _no(kind: str, media_type: str = "application/octet-stream") -> Sniffed:
    return Sniffed(media_type, kind, False)


#: Binary signatures at offset 0, checked in order: (prefix, what it is).
_SIGNATURES = (
    (b"\xff\xd8\xff", _ok("image/jpeg", "JPEG image")),
    (b"\x89PNG\r\n\x1a\n", _ok("image/png", "PNG image")),
    (b"GIF87a", _ok("image/gif", "GIF image")),
    (b"GIF89a", _ok("image/gif", "GIF image")),
    (b"%PDF-", _ok("application/pdf", "PDF document")),
    (b"MZ", _no("Windows executable", "application/vnd.microsoft.portable-executable")),
    (b"\x7fELF", _no("ELF executable", "application/x-executable")),
    (b"\xfe\xed\xfa\xce", _no("Mach-O executable")),
    (b"\xfe\xed\xfa\xcf", _no("Mach-O executable")),
    (b"\xce\xfa\xed\xfe", _no("Mach-O executable")),
    (b"\xcf\xfa\xed\xfe", _no("Mach-O executable")),
    (b"\xca\xfe\xba\xbe", _no("Mach-O or Java class file")),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", _no("legacy Office document (OLE compound file)",
                                              "application/x-ole-storage")),
    (b"\x1f\x8b", _no("gzip archive", "application/gzip")),
    (b"Rar!\x1a\x07", _no("RAR archive", "application/vnd.rar")),
    (b"7z\xbc\xaf\x27\x1c", _no("7-Zip archive", "application/x-7z-compressed")),
    (b"II*\x00", _no("TIFF image", "image/tiff")),
    (b"MM\x00*", _no("TIFF image", "image/tiff")),
    (b"\x00asm", _no("WebAssembly module", "application/wasm")),
    (b"#!", _no("script (#!)", "text/x-script")),
)

#: ISO base media brands (bytes 8-12 after `ftyp`) of HEIF still images and sequences.
_HEIF_BRANDS = {b"heic": "image/heic", b"heix": "image/heic", b"heim": "image/heic", b"heis": "image/heic",
                b"hevc": "image/heic-sequence", b"hevx": "image/heic-sequence", b"hevm": "image/heic-sequence",
                b"hevs": "image/heic-sequence", b"mif1": "image/heif", b"msf1": "image/heif-sequence"}

#: Office Open XML main parts cases accept, by the content type [Content_Types].xml gives them.
_OOXML = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml":
        _ok("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "Word document"),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml":
        _ok("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "Excel workbook"),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml":
        _ok("application/vnd.openxmlformats-officedocument.presentationml.presentation", "PowerPoint presentation"),
}

#: Main parts that carry macros: refused by name (a macro is a program).
_OOXML_MACROS = ("application/vnd.ms-word.document.macroenabled", "application/vnd.ms-excel.sheet.macroenabled",
                 "application/vnd.ms-powerpoint.presentation.macroenabled")

#: OpenDocument kinds cases accept, by their `mimetype` entry.
_ODF = {
    "application/vnd.oasis.opendocument.text": "OpenDocument text",
    "application/vnd.oasis.opendocument.spreadsheet": "OpenDocument spreadsheet",
    "application/vnd.oasis.opendocument.presentation": "OpenDocument presentation",
    "application/vnd.oasis.opendocument.graphics": "OpenDocument drawing",
}

#: Every media type an accepted file is stored and sent with.
ACCEPTED_MEDIA_TYPES = tuple(dict.fromkeys(
    [found.media_type for _, found in _SIGNATURES if found.allowed] + ["image/webp", *_HEIF_BRANDS.values()]
    + [found.media_type for found in _OOXML.values()] + list(_ODF) + [TEXT_PLAIN]))

#: Markup a browser takes for a page when it begins a file (the WHATWG MIME sniffing patterns),
#: and tags refused anywhere in a text file's start, as older browsers sniffed them.
_HTML_START = re.compile(rb"<(!doctype\s+html|html|head|script|iframe|h1|div|font|table|a|style|title|b|body|br|p"
                         rb"|!--)[\s>]", re.IGNORECASE)
_HTML_ANYWHERE = re.compile(rb"<(html|head|body|script|iframe|frameset|object|embed|meta|img|form)[\s>/]",
                            re.IGNORECASE)
_SVG = re.compile(rb"<svg[\s>/:]", re.IGNORECASE)
_CONTENT_TYPE = re.compile(r'ContentType\s*=\s*"([^"]+)"')

#: Control characters plain text may not hold: all but tab, line feed, vertical tab, form feed, carriage return.
_NOT_TEXT = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")


def sniff(file: BinaryIO) -> Sniffed:
    """What the seekable binary file holds, read from its start whatever its position; raises nothing."""
    file.seek(0)
    head = file.read(HEAD_BYTES)
    if not head:
        return _no("empty file", "application/x-empty")
    for prefix, found in _SIGNATURES:
        if head.startswith(prefix):
            return found
    if head.startswith(b"BM") and len(head) >= 14 and head[6:10] == b"\x00\x00\x00\x00":
        return _no("BMP image", "image/bmp")
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return _ok("image/webp", "WebP image")
    if head[4:8] == b"ftyp":
        return _iso_media(head)
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return _zip_container(file)
    return _text(file, head)


def _iso_media(head: bytes) -> Sniffed:
    """HEIF/HEIC images; other ISO base media files (MP4, QuickTime, AVIF) are refused."""
    brand = head[8:12]
    if brand in _HEIF_BRANDS:
        compatible = head[16:int.from_bytes(head[:4], "big")]
        if brand == b"mif1" and b"avif" in compatible:
            return _no("AVIF image", "image/avif")
        media_type = _HEIF_BRANDS[brand]
        return _ok(media_type, "HEIF image" if "sequence" not in media_type else "HEIF image sequence")
    if brand in (b"avif", b"avis"):
        return _no("AVIF image", "image/avif")
    return _no("video or audio file (ISO base media)", "video/mp4")


def _zip_container(file: BinaryIO) -> Sniffed:
    """An Office Open XML or OpenDocument file, by its type entry; any other ZIP archive is refused."""
    try:
        file.seek(0)
        with zipfile.ZipFile(file) as archive:
            names = set(archive.namelist())
            if "mimetype" in names:
                declared = _entry(archive, "mimetype").decode("ascii", "replace").strip()
                if declared in _ODF:
                    return _ok(declared, _ODF[declared])
                return _no(f"ZIP archive declaring {declared[:100]!r}", "application/zip")
            if "[Content_Types].xml" in names:
                return _office_open_xml(_entry(archive, "[Content_Types].xml").decode("utf-8", "replace"))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError, EOFError, OSError,
            ValueError, KeyError):
        # Damaged, encrypted, split or compressed in a way zipfile cannot read: nothing to vouch for.
        return _no("damaged or unreadable ZIP archive", "application/zip")
    return _no("ZIP archive", "application/zip")


def _entry(archive: zipfile.ZipFile, name: str) -> bytes:
    with archive.open(name) as entry:
        return entry.read(TYPE_ENTRY_LIMIT)


def _office_open_xml(content_types: str) -> Sniffed:
    declared = [value.strip().lower() for value in _CONTENT_TYPE.findall(content_types)]
    for value in declared:
        if value.startswith(_OOXML_MACROS):
            return _no("macro-enabled Office document", "application/vnd.ms-office.macroenabled")
    for value in declared:
        if value in _OOXML:
            return _OOXML[value]
    return _no("Office Open XML package of another kind", "application/zip")


def _text(file: BinaryIO, head: bytes) -> Sniffed:
    """Plain UTF-8 text; markup a browser would render (HTML, SVG, XML) and binary data are refused."""
    start = head.removeprefix(codecs.BOM_UTF8).lstrip(b" \t\r\n\x0c")
    if _SVG.search(head):
        return _no("SVG image", "image/svg+xml")
    if _HTML_START.match(start) or _HTML_ANYWHERE.search(head):
        return _no("HTML document", "text/html")
    if start.startswith(b"<?xml"):
        return _no("XML document", "application/xml")
    unknown = _no("binary data, or text not in UTF-8")
    decoder = codecs.getincrementaldecoder("utf-8")()
    file.seek(0)
    try:
        while chunk := file.read(64 * 1024):
            if not _plain(decoder.decode(chunk)):
                return unknown
        if not _plain(decoder.decode(b"", final=True)):
            return unknown
    except UnicodeDecodeError:
        return unknown
    return _ok(TEXT_PLAIN, "plain text")


def _plain(text: str) -> bool:
    return _NOT_TEXT.search(text) is None

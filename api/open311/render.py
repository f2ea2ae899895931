"""GeoReport v2's two formats: XML (required by the spec) and JSON (its Spark convention mapping)."""
from __future__ import annotations

from datetime import datetime
from xml.etree.ElementTree import Element, SubElement, tostring

from flask import Response, json

#: The content types of the two formats, UTF-8 as the spec requires.
CONTENT_TYPES = {"xml": "text/xml; charset=utf-8", "json": "application/json; charset=utf-8"}

#: The XML element of each item of a list, by the list's element.
ITEMS = {"services": "service", "service_requests": "request", "errors": "error", "attributes": "attribute",
         "values": "value", "endpoints": "endpoint", "formats": "format"}


def w3_time(at: datetime | None, zone) -> str | None:
    """A moment in the w3 subset of ISO 8601, in the city's time with its offset: 2026-11-26T09:00:00+08:00."""
    return None if at is None else at.astimezone(zone).isoformat(timespec="seconds")


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _fill(parent: Element, name: str, value) -> None:
    node = SubElement(parent, name)
    if isinstance(value, dict):
        for key, item in value.items():
            _fill(node, key, item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _fill(node, ITEMS.get(name, "item"), item)
    else:
        node.text = _text(value)


def to_xml(root: str, value) -> bytes:
    """The value as GeoReport v2 XML under the root element, with the UTF-8 declaration."""
    holder = Element("holder")
    _fill(holder, root, value)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + tostring(holder[0], encoding="utf-8", xml_declaration=False)


def respond(fmt: str, root: str, value, status: int = 200) -> Response:
    """The value in the format asked for; root names the XML root element (the JSON is the value itself)."""
    if fmt == "xml":
        body = to_xml(root, value)
    else:
        body = json.dumps(value, ensure_ascii=False).encode("utf-8")
    response = Response(body, status=status, content_type=CONTENT_TYPES[fmt])
    response.headers["Cache-Control"] = "no-store"
    return response

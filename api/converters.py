"""Path parameters: a record id is a whole number the databases can hold, or the path matches nothing (404)."""
from __future__ import annotations

from flask import Flask
from flask_smorest import Api
from werkzeug.routing import IntegerConverter

#: The largest id either database holds (a signed 64-bit integer).
MAX_ID = 2**63 - 1


class IdConverter(IntegerConverter):
    """`<id:name>`: 1 to MAX_ID, written without sign or leading zeros."""

    def __init__(self, url_map, *args, **kwargs):
        super().__init__(url_map, min=1, max=MAX_ID)


def _id_schema(converter) -> dict:
    return {"type": "integer", "minimum": 1, "maximum": MAX_ID}


def install(app: Flask, api: Api) -> None:
    """Make `<id:...>` known to the URL map and to the OpenAPI document (before any route)."""
    app.url_map.converters["id"] = IdConverter
    api.register_converter(IdConverter, _id_schema)

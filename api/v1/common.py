"""What the staff API's blueprints share: who may call, and the shapes of paged lists."""
from __future__ import annotations

import marshmallow as ma
from flask_smorest import Blueprint as SmorestBlueprint
from webargs.flaskparser import FlaskParser


class _ArgumentsParser(FlaskParser):
    """flask-smorest's argument parser, making each schema class's instance once, not per request.

    webargs instantiates a Schema class on every call it parses (its declared fields deep-copied
    each time); a schema instance is shared between requests, as the response schemas already are.
    """

    def __init__(self):
        super().__init__()
        self._schemas: dict[type, ma.Schema] = {}

    def _get_schema(self, argmap, req):
        if isinstance(argmap, type) and issubclass(argmap, ma.Schema):
            schema = self._schemas.get(argmap)
            if schema is None:
                schema = self._schemas.setdefault(argmap, argmap())
            return schema
        return super()._get_schema(argmap, req)


class Blueprint(SmorestBlueprint):
    """The blueprint of each part of the API (flask-smorest's, with the parser above)."""

    ARGUMENTS_PARSER = _ArgumentsParser()


#: Documents an operation as needing a signed-in caller (session cookie or bearer token).
SIGNED_IN = [{"session": []}, {"token": []}]

#: Documents an operation as open to anyone.
PUBLIC: list = []


class PageArgs(ma.Schema):
    """Where a page starts, and how long it is."""

    cursor = ma.fields.String(load_default=None, validate=ma.validate.Length(max=100),
                              metadata={"description": "The `next_cursor` of the page before"})
    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=200))


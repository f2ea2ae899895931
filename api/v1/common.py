"""What the staff API's blueprints share: who may call, and the shapes of paged lists."""
from __future__ import annotations

import marshmallow as ma

#: Documents an operation as needing a signed-in caller (session cookie or bearer token).
SIGNED_IN = [{"session": []}, {"token": []}]

#: Documents an operation as open to anyone.
PUBLIC: list = []


class PageArgs(ma.Schema):
    """Where a page starts, and how long it is."""

    cursor = ma.fields.String(load_default=None, validate=ma.validate.Length(max=100),
                              metadata={"description": "The `next_cursor` of the page before"})
    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=200))


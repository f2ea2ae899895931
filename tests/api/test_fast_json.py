"""The lists written without marshmallow are exactly what their documented schemas would write."""
from __future__ import annotations

import json

from api.v1.cases import CasePageSchema
from api.v1.escalation import QueueSchema
from api.v1.fast_json import plain
from api.v1.inbox import InboxPageSchema
from engine.queries.case_search import CaseSearch, search_cases
from engine.queries.escalation import escalation_queue
from engine.queries.inbox import inbox
from tests.unit.queries_city import taipei


def _same(schema, value):
    assert json.loads(json.dumps(plain(value))) == json.loads(json.dumps(schema().dump(value)))


def test_inbox_queue_and_search_pages_match_their_schemas(api):
    for day in (16, 20, 24):
        api.open_case(taipei(day), process="form_reply", subject="中山路路燈不亮")
    api.assign(1, "cw.roads")
    api.clock.set(taipei(26, 10))
    with api.runtime.uow(read_only=True) as uow:
        page = inbox(uow, api.principal("cw.roads"))
        queue = escalation_queue(uow, api.principal("chief.roads"))
        found = search_cases(uow, api.principal("cw.roads"), CaseSearch(text="路燈"))
    assert page.items and queue.items and queue.counts and found.rows
    _same(InboxPageSchema, page)
    _same(QueueSchema, queue)
    _same(CasePageSchema, found)

"""The lists written without marshmallow are exactly what their documented schemas would write."""
from __future__ import annotations

import json

from api.v1.cases import CasePageSchema, CaseSchema
from api.v1.escalation import QueueSchema
from api.v1.fast_json import as_json, plain
from api.v1.inbox import InboxPageSchema
from engine.queries.case_search import CaseSearch, search_cases
from engine.queries.cases import get_case
from engine.queries.escalation import escalation_queue
from engine.queries.inbox import inbox
from tests.unit.queries_city import taipei


def _same(schema, value):
    """The response as_json sends, plain() and the documented schema all say the same."""
    documented = json.loads(json.dumps(schema().dump(value)))
    assert json.loads(json.dumps(plain(value))) == documented
    from flask import Flask
    with Flask(__name__).app_context():
        assert json.loads(as_json(value).get_data()) == documented


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


def test_a_case_page_matches_its_schema(api):
    started = api.open_case(taipei(16), process="form_reply", subject="中山路路燈不亮",
                            petitioner={"name": "王小明", "phone": "0912345678"})
    api.assign(1, "cw.roads")
    api.clock.set(taipei(26, 10))
    with api.runtime.uow(read_only=True) as uow:
        for who in ("cw.roads", "auditor"):  # with the petitioner, and without it
            case = get_case(uow, api.principal(who), started.case_id, personal_data=True)
            assert case.open_work and case.pending_timers and case.timeline
            assert (case.petitioner is not None) == (who == "cw.roads")
            _same(CaseSchema, case)

"""A small city whose report figures are counted by hand in the tests: cases driven through the real
services, each step at a set moment of November and December 2026 (Taipei time)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import insert, select, update

from engine.accounts.identity import SYSTEM
from engine.services.reports import CatchUpRollups, catch_up_rollups
from engine.store.schema import units, users

TAIPEI = timezone(timedelta(hours=8))

SUBMIT = {"draft_action": "submit_reply", "reply_text": "本局已完成路面修補。", "legal_basis": "市區道路條例第 9 條"}
APPROVE = {"approval_decision": "approve"}
SATISFIED = {"satisfaction": "satisfied", "survey_channel": "web"}
UNSATISFIED = {"satisfaction": "unsatisfied", "survey_channel": "phone", "survey_comment": "仍未修好"}
CALL = {"call_topic": "consultation", "call_summary": "詢問垃圾車收運時間", "callback_promised": False}


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=TAIPEI)


@dataclass
class City:
    """The cases of the hand-built city, by letter, and the people who worked them."""

    ids: dict
    roads_unit: int
    cw_roads: object
    cw_env: object
    cw_police: object


def _unit(library, agency_code: str, code: str, name: str) -> int:
    """The agency's unit of this code (the library seeds the organisation's), made when missing."""
    agency_id = library.agency_id(agency_code)
    with library.runtime.uow() as uow:
        unit_id = uow.conn.execute(select(units.c.id).where(units.c.agency_id == agency_id,
                                                            units.c.code == code)).scalar_one_or_none()
        if unit_id is None:
            unit_id = uow.conn.execute(insert(units).returning(units.c.id), {
                "agency_id": agency_id, "code": code, "name": name}).scalar_one()
        uow.commit()
    return unit_id


def _place(library, principal, unit_id: int) -> None:
    with library.runtime.uow() as uow:
        uow.conn.execute(update(users).where(users.c.id == principal.user_id).values(unit_id=unit_id))
        uow.commit()


def catch_up(library) -> int:
    """Run the rollups' catch-up until no case waits, as the workers do."""
    total = 0
    while True:
        with library.runtime.uow() as uow:
            done = catch_up_rollups(CatchUpRollups(), uow).cases
        if not done:
            return total
        total += done


def petitioner_of(library, case_id: int) -> int:
    from engine.store.schema import cases
    with library.runtime.db.connect() as conn:
        return conn.execute(select(cases.c.petitioner_id).where(cases.c.id == case_id)).scalar_one()


def build(library, clock, *, catch_up_between: bool = True) -> City:
    """Every case of the city, steps in time order; the rollups caught up after each step when asked."""
    roads = _unit(library, "public_works", "roads", "養護工程科")
    cw_roads = library.staff("cw.roads", "caseworker", "public_works")
    _place(library, cw_roads, roads)
    cw_env = library.staff("cw.env", "caseworker", "environment")
    cw_police = library.staff("cw.police", "caseworker", "police")
    ids = {}

    def step(moment, action):
        clock.set(moment)
        result = action()
        if catch_up_between:
            catch_up(library)
        return result

    def start(letter, moment, case_type, **kw):
        ids[letter] = step(moment, lambda: library.start(case_type, **kw)).case_id

    def complete(moment, letter, task, data, principal=SYSTEM):
        step(moment, lambda: library.complete(library.item(ids[letter], task).id, data, principal))

    citizen = {"name": "王小明", "email": "wang@example.tw"}
    # A: a pothole petition, replied the next day by the roads unit, the citizen satisfied two days on.
    start("A", at(11, 2, 9), "petition", channel="web", category="road_pothole", district="桃園",
          subject="中正路坑洞", petitioner=citizen)
    complete(at(11, 3, 10), "A", "draft_reply", SUBMIT, cw_roads)
    complete(at(11, 3, 11), "A", "approve_reply", APPROVE)
    complete(at(11, 5, 10), "A", "record_survey", SATISFIED)
    # B: extended by five working days, replied within them, unsatisfied, the reviewer closes it.
    start("B", at(11, 3, 9), "petition", channel="web", category="road_pothole", district="中壢", subject="環中東路坑洞")
    complete(at(11, 4, 10), "B", "draft_reply", {"draft_action": "request_extension", "extension_days": 5,
                                                   "extension_reason": "需會同台電現場確認"}, cw_roads)
    complete(at(11, 4, 11), "B", "approve_extension", {"extension_decision": "approve"})
    complete(at(11, 17, 10), "B", "draft_reply", SUBMIT, cw_roads)
    complete(at(11, 17, 11), "B", "approve_reply", APPROVE)
    complete(at(11, 18, 10), "B", "record_survey", UNSATISFIED)
    complete(at(11, 19, 10), "B", "review_unsatisfied", {"review_decision": "close", "review_note": "答復妥適"})
    # C: by mail, routed by the dispatcher to 環保局, transferred to 警察局, replied late.
    start("C", at(11, 4, 10), "petition", channel="mail", category="noise", district="中壢", subject="夜間噪音")
    complete(at(11, 4, 11), "C", "confirm_routing", {"routing_decision": "route", "agency_code": "environment",
                                                      "unit_code": "noise", "routing_note": "噪音"})
    complete(at(11, 5, 9), "C", "draft_reply", {"draft_action": "request_transfer", "transfer_reason": "住宅噪音由警察局處理",
                                                 "suggested_agency": "police"}, cw_env)
    complete(at(11, 5, 10), "C", "confirm_transfer", {"transfer_decision": "transfer", "transfer_to_agency": "police",
                                                       "transfer_to_unit": "patrol"})
    complete(at(11, 16, 10), "C", "draft_reply", SUBMIT, cw_police)
    complete(at(11, 16, 11), "C", "approve_reply", APPROVE)
    complete(at(11, 16, 12), "C", "record_survey", SATISFIED)
    # D: no content: closed without processing by the dispatcher the same morning.
    start("D", at(11, 6, 10), "petition", channel="email", category="other", district="桃園", subject="無內容")
    complete(at(11, 6, 10, 30), "D", "confirm_routing", {"routing_decision": "close",
                                                          "close_ground": "no_content_or_identity"})
    # E: a duplicate of A, merged into it.
    start("E", at(11, 9, 9), "petition", channel="web", category="other", district="桃園", subject="中正路坑洞又來")
    complete(at(11, 9, 10), "E", "confirm_routing", {"routing_decision": "merge",
                                                      "duplicate_of": library.case(ids["A"]).case_no})
    # F, G: 1999 calls, one answered at 14:20, one transferred at 22:05.
    start("F", at(11, 10, 14, 20), "hotline", channel="1999")
    complete(at(11, 10, 14, 25), "F", "record_call", {**CALL, "call_outcome": "answered"})
    start("G", at(11, 10, 22, 5), "hotline", channel="1999")
    complete(at(11, 10, 22, 9), "G", "record_call", {**CALL, "call_topic": "transfer_request",
                                                      "call_outcome": "transferred", "transferred_to": "地政局"})
    # I: a dispatch report of a pothole in 中壢, still open.
    start("I", at(11, 12, 8), "dispatch", channel="1999", category="road_pothole", district="中壢",
          subject="中山路坑洞", data={"address": "中壢區中山路 100 號", "lat": 24.95, "lon": 121.22,
                                          "photo_ref": "photos/report-001.jpg", "road_width_m": 20})
    # H: A's petitioner again about a pothole: a repeat, still open (and overdue by December).
    start("H", at(11, 23, 9), "petition", channel="web", category="road_pothole", district="桃園",
          subject="中正路又有坑洞", petitioner_id=petitioner_of(library, ids["A"]))
    # J: December: a pothole petition replied and closed the next day.
    start("J", at(12, 1, 9), "petition", channel="web", category="road_pothole", district="中壢", subject="新生路坑洞")
    complete(at(12, 2, 10), "J", "draft_reply", SUBMIT, cw_roads)
    complete(at(12, 2, 11), "J", "approve_reply", APPROVE)
    complete(at(12, 2, 12), "J", "record_survey", SATISFIED)
    clock.set(at(12, 10, 9))
    return City(ids, roads, cw_roads, cw_env, cw_police)

"""Petitions of the shipped library at the moments where who may see a work item is not who may see its case.

Used by the tests of the one rule the item's page and its commands share (tests/unit/test_work_item_rule.py,
tests/api/test_work_item_rule.py).
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import insert, select

from engine.store.schema import group_members, groups, users
from tests.unit.queries_city import taipei

REPLY = {"draft_action": "submit_reply", "reply_text": "本局已於 11 月 27 日完成路面修補。",
         "legal_basis": "市區道路條例第 9 條"}
ASK_TRANSPORT = {"draft_action": "request_co_handling", "co_agencies": ["transport"],
                 "co_request": "請提供交通維持意見"}
OPINION = {"co_opinion": "無意見", "contact_person": "簡先生"}


def add_staff(city, username: str, role: str, agency_code: str) -> None:
    """One more member of a group the city has (its code is role@agency)."""
    with city.runtime.db.begin() as conn:
        user = conn.execute(insert(users).returning(users.c.id), {
            "username": username, "display_name": username, "created_at": city.clock.now()}).scalar_one()
        group = conn.execute(select(groups.c.id).where(groups.c.code == f"{role}@{agency_code}")).scalar_one()
        conn.execute(insert(group_members), {"group_id": group, "user_id": user})


def pothole(city):
    """A pothole petition filed on the web, routed by the rules to 工務局: its draft open to the caseworkers."""
    return city.open_case(taipei(26), process="petition", agency=None, channel="web", category="road_pothole",
                          district="桃園", subject="中正路路面坑洞")


@dataclass(frozen=True)
class CoHandled:
    """A petition of 工務局 whose opinion was asked of 交通局: the draft that asked, and the opinion item."""

    case_id: int
    draft: int
    opinion: int


def co_handled(city) -> CoHandled:
    """工務局's caseworker asks 交通局 for its opinion; the opinion item is open to 交通局's liaisons."""
    started = pothole(city)
    (draft,) = started.work_item_ids
    (opinion,) = city.complete(draft, "cw.roads", ASK_TRANSPORT).opened
    return CoHandled(started.case_id, draft, opinion)


def transferred(city) -> tuple[int, int]:
    """A petition cw.roads asked to move to 交通局 and the dispatcher moved: (case id, cw.roads's completed draft)."""
    started = pothole(city)
    (draft,) = started.work_item_ids
    (confirm,) = city.complete(draft, "cw.roads", {
        "draft_action": "request_transfer", "transfer_reason": "號誌屬交通局權責", "suggested_agency": "transport"}).opened
    city.complete(confirm, "dispatcher", {"transfer_decision": "transfer", "transfer_to_agency": "transport",
                                          "transfer_to_unit": "signals"})
    return started.case_id, draft

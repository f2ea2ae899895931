"""The citizen is told: the reply, a request for more (補陳), a dispatch outcome, by e-mail when on file."""
from sqlalchemy import select

from engine.store.schema import outbox
from tests.scenarios.test_dispatch import FIXED
from tests.scenarios.test_petition import SUBMIT, open_pothole_petition, reply_approve

CITIZEN = {"name": "王小明", "email": "xiaoming@example.tw", "phone": "0912345678"}


def emails(library, case_id) -> list[dict]:
    with library.runtime.db.connect() as conn:
        rows = conn.execute(select(outbox.c.topic, outbox.c.payload).where(outbox.c.topic == "email")
                            .order_by(outbox.c.id)).all()
    return [r.payload for r in rows if r.payload.get("case_id") == case_id]


def test_the_approved_reply_is_e_mailed_to_the_petitioner(library):
    started = open_pothole_petition(library, petitioner=CITIZEN)
    case_no = library.case(started.case_id).case_no
    reply_approve(library, started.case_id)
    (mail,) = emails(library, started.case_id)
    assert mail["to"] == CITIZEN["email"] and case_no in mail["subject"]
    assert SUBMIT["reply_text"] in mail["body"] and case_no in mail["body"]
    (told,) = library.events(started.case_id, "citizen_notified")
    # The address stays out of the history; the reply's text is kept (the mailbox's status page shows it).
    assert told == {"notice": "reply", "channel": "email", "text": mail["body"]}


def test_without_an_address_on_file_the_history_says_no_e_mail_went_out(library):
    started = open_pothole_petition(library, petitioner={"name": "匿名"})
    reply_approve(library, started.case_id)
    assert emails(library, started.case_id) == []
    (told,) = library.events(started.case_id, "citizen_notified")
    assert (told["notice"], told["channel"]) == ("reply", "no_email") and SUBMIT["reply_text"] in told["text"]


def test_a_request_for_more_tells_the_citizen_what_to_send_by_when(library):
    started = open_pothole_petition(library, petitioner=CITIZEN)
    library.complete(library.item(started.case_id, "draft_reply").id, {
        "draft_action": "request_supplement", "supplement_request": "請提供坑洞的確切位置或照片",
        "supplement_due": "2026-12-10T17:30:00+08:00"})
    (mail,) = emails(library, started.case_id)
    assert "請提供坑洞的確切位置或照片" in mail["body"] and "2026-12-10 17:30" in mail["body"]  # local time
    assert "+08:00" not in mail["body"]
    assert [e["notice"] for e in library.events(started.case_id, "citizen_notified")] == ["supplement_request"]


def test_the_reporter_of_a_street_problem_is_told_it_was_fixed(library):
    started = library.start("dispatch", channel="app", category="road_pothole", district="桃園",
                            subject="路面坑洞", petitioner=CITIZEN,
                            data={"address": "桃園區中正路 100 號", "road_width_m": 20})
    library.complete(library.item(started.case_id, "repair").id, FIXED)
    (mail,) = emails(library, started.case_id)
    assert "已處理完成" in mail["body"] and mail["to"] == CITIZEN["email"]
    assert library.data(started.case_id)["reporter_told"] == {"notice": "outcome", "channel": "email"}

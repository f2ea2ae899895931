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
    received, mail = emails(library, started.case_id)
    assert "已受理" in received["body"]
    assert "已處理完成" in mail["body"] and mail["to"] == CITIZEN["email"]
    # Taken in by the engine, not a signed-in reporter: nobody to tell in the app.
    assert library.data(started.case_id)["reporter_told"] == {"notice": "outcome", "channel": "email", "sms": "sms",
                                                              "in_app": "no_reporter"}


def messages(library, case_id, topic) -> list[dict]:
    with library.runtime.db.connect() as conn:
        rows = conn.execute(select(outbox.c.payload).where(outbox.c.topic == topic).order_by(outbox.c.id)).scalars()
        return [p for p in rows if p.get("case_id") == case_id]


def test_a_reporter_in_the_app_is_told_of_receipt_and_repair_by_e_mail_sms_and_in_the_app(library):
    reporter = library.staff("village_chief", "caseworker", "public_works")  # 里長 reporting from the app
    started = library.start("dispatch", channel="app", category="road_pothole", district="桃園",
                            subject="路面坑洞", petitioner=CITIZEN, principal=reporter,
                            data={"address": "桃園區中正路 100 號", "road_width_m": 20})
    case_no = library.case(started.case_id).case_no
    texts = [f"您的查報（{case_no}）已受理，處理完成後將再通知您。"]
    assert [m["body"] for m in emails(library, started.case_id)] == texts
    assert messages(library, started.case_id, "sms") == [{"to": "+886912345678", "text": texts[0],
                                                          "case_id": started.case_id}]
    (app,) = messages(library, started.case_id, "in_app")
    assert (app["user_id"], app["kind"], app["body"]) == (reporter.user_id, "citizen_received", texts[0])

    library.complete(library.item(started.case_id, "repair").id, FIXED)
    texts.append(f"您的查報（{case_no}）已處理完成。")
    assert [m["body"] for m in emails(library, started.case_id)] == texts
    assert [m["text"] for m in messages(library, started.case_id, "sms")] == texts
    assert [(m["user_id"], m["body"]) for m in messages(library, started.case_id, "in_app")] == [
        (reporter.user_id, text) for text in texts]
    assert library.events(started.case_id, "citizen_notified") == [
        {"notice": notice, "channel": "email", "sms": "sms", "in_app": "in_app"} for notice in ("received", "outcome")]


def test_a_report_found_not_the_citys_tells_the_reporter_so(library):
    started = library.start("dispatch", channel="1999", category="unknown_thing", district="桃園",
                            subject="國道路燈不亮", petitioner={"name": "陳先生", "phone": "03-3322101"})
    library.complete(library.item(started.case_id, "confirm_dispatch").id, {
        "dispatch_decision": "reject", "reject_ground": "not_city", "reject_reason": "國道路燈由高速公路局養護"})
    case_no = library.case(started.case_id).case_no
    data = library.data(started.case_id)
    assert data["reporter_notice"] == f"您的查報（{case_no}）經查非屬本府權責：國道路燈由高速公路局養護"
    # A landline and no e-mail: no message goes out, and the history says why.
    assert messages(library, started.case_id, "sms") == [] and emails(library, started.case_id) == []
    assert [e["sms"] for e in library.events(started.case_id, "citizen_notified")] == ["no_mobile", "no_mobile"]
    assert data["reporter_told"] == {"notice": "outcome", "channel": "no_email", "sms": "no_mobile",
                                     "in_app": "no_reporter"}

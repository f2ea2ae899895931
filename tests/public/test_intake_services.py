"""The web mailbox's services: a petition filed, looked up with its code, surveyed; photos without EXIF."""
from __future__ import annotations

import io
from datetime import datetime, timezone

import pytest
from PIL import Image
from sqlalchemy import select

from engine.errors import Conflict, InvalidInput, NotFound
from engine.queries import get_case, inbox, load_principal
from engine.queries.attachments import attachment_file, attachments_of
from engine.queries.public_status import NO_SUCH_CASE, public_status
from engine.services.surveys import AnswerSurvey, answer_survey
from engine.store.schema import case_lookup_codes, outbox, petitioners

from .conftest import complete_as, open_item, photo_with_exif, reply, submit


def status(runtime, case_no, code):
    with runtime.uow(read_only=True) as uow:
        return public_status(uow, case_no, code)


def answer(runtime, case_no, code, satisfied=True, **kw):
    with runtime.uow() as uow:
        done = answer_survey(AnswerSurvey(case_no, code, satisfied, **kw), uow)
        uow.commit()
    return done


def test_a_mailbox_petition_is_routed_to_the_agency_inbox_with_the_rules_due_date(city):
    # Given Thursday 2026-11-26 09:00 in Taipei: six working days from the next working day, to Friday 17:30
    done = submit(city)
    with city.uow(read_only=True) as uow:
        caseworker = load_principal(uow, username="cw.roads")
        rows = [i for i in inbox(uow, caseworker).items if i.case_no == done.case_no]
        case = get_case(uow, load_principal(uow, username="admin"), done.case_id)
        kept = uow.conn.execute(select(case_lookup_codes.c.code_sha256)
                                .where(case_lookup_codes.c.case_id == done.case_id)).scalar_one()
    assert [(r.task_spec, r.agency_name) for r in rows] == [("draft_reply", "工務局")]
    assert (case.channel, case.category, case.district) == ("web", "road_pothole", "桃園")
    assert case.due_at == rows[0].due_at == datetime(2026, 12, 4, 9, 30, tzinfo=timezone.utc)
    assert done.lookup_code.replace("-", "") not in kept and len(kept) == 64


def test_the_receipt_email_carries_the_case_number_and_code(city):
    done = submit(city)
    with city.uow(read_only=True) as uow:
        payloads = [r.payload for r in uow.conn.execute(select(outbox.c.payload)
                                                        .where(outbox.c.dedup_key == f"citizen:{done.case_id}:receipt"))]
    assert len(payloads) == 1 and payloads[0]["to"] == "ming@example.tw"
    assert done.case_no in payloads[0]["body"] and done.lookup_code in payloads[0]["body"]
    assert f"https://mailbox.city.example/mailbox/status?case_no={done.case_no}" in payloads[0]["body"]


def test_an_anonymous_petition_is_taken_in_and_marked_for_the_workflow(city):
    done = submit(city, name="", email="", site_url=None)
    with city.uow(read_only=True) as uow:
        case = get_case(uow, load_principal(uow, username="admin"), done.case_id)
        mails = uow.conn.execute(select(outbox.c.id).where(outbox.c.dedup_key.like(f"citizen:{done.case_id}:%"))).all()
    assert done.anonymous and case.status == "open" and mails == []
    assert [e.data["anonymous"] for e in case.timeline if e.kind == "filed_on_web_mailbox"] == [True]


def test_an_anonymous_petition_goes_to_the_dispatcher_who_may_close_it_under_article_173(city):
    # Given a pothole, a category and district the routing rules trust, but no name or contact
    done = submit(city, name="", email="")
    assert open_item(city, done.case_id, "draft_reply") is None
    confirm = open_item(city, done.case_id, "confirm_routing")
    assert confirm is not None and confirm.role == "dispatcher"
    complete_as(city, "dispatcher", done.case_id, "confirm_routing",
                {"routing_decision": "close", "close_ground": "no_content_or_identity"})
    assert status(city, done.case_no, done.lookup_code).stage == "closed"


def test_a_refused_petition_names_every_field_and_keeps_nothing(city):
    with city.uow() as uow, pytest.raises(InvalidInput) as refused:
        from engine.services.public_intake import submit_petition
        from tests.public.conftest import petition
        submit_petition(petition(subject="", description="x" * 5001, category="nope", district="台北",
                                 email="not-an-address", latitude="95", longitude="121"), uow)
    fields = refused.value.details["fields"]
    assert set(fields) == {"subject", "description", "category", "district", "email", "latitude"}
    with city.uow(read_only=True) as uow:
        assert uow.conn.execute(select(petitioners.c.id).where(petitioners.c.email == "not-an-address")).all() == []


def test_lookup_shows_the_status_and_the_reply_once_sent(city):
    done = submit(city)
    before = status(city, done.case_no, done.lookup_code)
    assert (before.stage, before.agency_name, before.reply_text, before.survey) == ("in_progress", "工務局", None, "not_yet")
    reply(city, done.case_id)
    after = status(city, done.case_no.lower(), done.lookup_code.lower().replace("-", " "))
    assert after.stage == "replied" and "完成路面修補" in after.reply_text and after.survey == "open"


def test_a_wrong_code_and_a_missing_case_get_the_same_answer(city):
    done = submit(city)
    answers = []
    for case_no, code in ((done.case_no, "AAAA-BBBB-CCCC-DDDD"), ("P20261126999999", done.lookup_code),
                          ("P20261126000001", done.lookup_code), ("", "")):
        with pytest.raises(NotFound) as missing:
            status(city, case_no, code)
        answers.append(missing.value.message)
    assert answers == [NO_SUCH_CASE] * 4


def test_a_satisfied_answer_closes_the_case_and_a_second_answer_is_refused(city):
    done = submit(city)
    reply(city, done.case_id)
    answered = answer(city, done.case_no, done.lookup_code, satisfied=True)
    assert not answered.follow_up and status(city, done.case_no, done.lookup_code).stage == "closed"
    with pytest.raises(Conflict, match="answered already"):
        answer(city, done.case_no, done.lookup_code, satisfied=False)


def test_an_unsatisfied_answer_reaches_the_reviewer(city):
    done = submit(city)
    reply(city, done.case_id)
    answered = answer(city, done.case_no, done.lookup_code, satisfied=False, reasons=("not_solved",),
                      comment="坑洞仍在")
    review = open_item(city, done.case_id, "review_unsatisfied")
    assert answered.follow_up and review is not None and review.role == "reviewer"
    with city.uow(read_only=True) as uow:
        reviewer = load_principal(uow, username="reviewer")
        assert done.case_no in [i.case_no for i in inbox(uow, reviewer).items]
    assert status(city, done.case_no, done.lookup_code).survey == "answered"


def test_a_survey_before_the_reply_is_refused_and_a_wrong_code_is_not_found(city):
    done = submit(city)
    with pytest.raises(Conflict, match="once the reply has been sent"):
        answer(city, done.case_no, done.lookup_code)
    reply(city, done.case_id)
    with pytest.raises(NotFound):
        answer(city, done.case_no, "0000-0000-0000-0000")
    assert open_item(city, done.case_id, "record_survey") is not None


@pytest.mark.parametrize("fmt, media_type", [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp")])
def test_photos_are_shown_without_exif_and_kept_whole_for_the_handling_staff(city, fmt, media_type):
    from engine.services.public_intake import Photo
    original = photo_with_exif(fmt)
    done = submit(city, photos=(Photo("pothole.jpg", io.BytesIO(original)),))
    with city.uow(read_only=True) as uow:
        admin_view = attachments_of(uow, load_principal(uow, username="admin"), done.case_id)
        assert [a.media_type for a in admin_view] == [media_type]
        other = attachment_file(uow, load_principal(uow, username="reviewer"), admin_view[0].attachment_id)
        handling = attachment_file(uow, load_principal(uow, username="cw.roads"), admin_view[0].attachment_id)
    with Image.open(other.path) as shown, Image.open(handling.path) as whole:
        assert dict(shown.getexif()) == {} and whole.getexif()[0x010F] == "Acme"
    assert b"Acme" not in other.path.read_bytes() and handling.path.read_bytes() == original


def test_a_file_that_is_not_a_photo_is_refused_whatever_it_is_called(city):
    from engine.services.public_intake import Photo
    for content in (b"<html><script>alert(1)</script></html>", b"%PDF-1.7 not a photo", b"MZ\x90\x00"):
        with pytest.raises(InvalidInput) as refused:
            submit(city, photos=(Photo("pothole.jpg", io.BytesIO(content)),))
        assert "photos" in refused.value.details["fields"]


def test_the_reply_email_invites_to_the_survey_on_the_mailbox(city):
    done = submit(city)
    reply(city, done.case_id)
    with city.uow(read_only=True) as uow:
        bodies = [r.payload["body"] for r in uow.conn.execute(select(outbox.c.payload, outbox.c.dedup_key)
                                                              .where(outbox.c.dedup_key.like(f"citizen:{done.case_id}:reply%")))]
    assert len(bodies) == 1 and "完成路面修補" in bodies[0]
    assert f"https://mailbox.city.example/mailbox/survey?case_no={done.case_no}" in bodies[0]
    assert done.lookup_code not in bodies[0]  # the code is never kept, so never sent again


def test_the_place_and_point_of_a_mailbox_petition_are_the_cases(city):
    """The point the citizen gave is the case's own (the columns Open311 reports and duplicates read)."""
    from engine.store.schema import cases

    done = submit(city, location="桃園區中正路 1 號前", latitude="24.99368", longitude="121.30100")
    plain = submit(city)
    with city.uow(read_only=True) as uow:
        rows = {r.id: r for r in uow.conn.execute(select(cases.c.id, cases.c.address, cases.c.latitude,
                                                         cases.c.longitude, cases.c.geo_cell)
                                                  .where(cases.c.id.in_([done.case_id, plain.case_id])))}
    placed = rows[done.case_id]
    assert placed.address == "桃園區中正路 1 號前"
    assert (round(placed.latitude, 5), round(placed.longitude, 5)) == (24.99368, 121.30100)
    assert placed.geo_cell is not None
    assert rows[plain.case_id].latitude is None and rows[plain.case_id].geo_cell is None


def test_the_receipt_row_forgets_the_lookup_code_once_the_email_is_sent(city):
    """Only a digest of the code is kept: its receipt's outbox row holds it until the e-mail is sent."""
    from engine.services.notifications import WITHHELD, MarkDelivered, mark_delivered

    done = submit(city)
    query = select(outbox.c.id, outbox.c.payload).where(outbox.c.dedup_key == f"citizen:{done.case_id}:receipt")
    with city.uow(read_only=True) as uow:
        row = uow.conn.execute(query).one()
    assert done.lookup_code in row.payload["body"]  # what the mailer sends
    with city.uow() as uow:
        assert mark_delivered(MarkDelivered(row.id), uow)
        uow.commit()
    with city.uow(read_only=True) as uow:
        sent = uow.conn.execute(query).one().payload
    assert done.lookup_code not in str(sent) and WITHHELD in sent["body"] and "secrets" not in sent
    assert done.case_no in sent["body"] and sent["to"] == "ming@example.tw"
    # The code still opens the status page: its digest is kept.
    assert status(city, done.case_no, done.lookup_code).case_no == done.case_no

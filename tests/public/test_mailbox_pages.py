"""The web mailbox's pages through HTTP, as a browser without JavaScript uses them."""
from __future__ import annotations

import io
import re

import pytest

from tests.web.conftest import csrf_of, text_of

from .conftest import photo_with_exif, reply

PETITION = {"subject": "中正路路面坑洞", "description": "中正路 100 號前有大坑洞。", "category": "road_pothole",
            "district": "桃園", "location": "桃園區中正路 100 號", "name": "王小明", "email": "ming@example.tw"}
_CODE = re.compile(r'id="lookup-code"[^>]*>([^<]+)<')
_CASE = re.compile(r'id="case-no"[^>]*>([^<]+)<')


@pytest.fixture
def citizen(web):
    """A browser on the mailbox: its client and the CSRF token of its forms."""
    client = web.test_client()
    token = csrf_of(client.get("/mailbox").get_data(as_text=True))
    return client, token


def file_petition(citizen, **fields):
    client, token = citizen
    sent = client.post("/mailbox", data={"csrf_token": token, **PETITION, **fields},
                       content_type="multipart/form-data")
    page = sent.get_data(as_text=True)
    assert sent.status_code == 201, text_of(page)[:500]
    return _CASE.search(page).group(1), _CODE.search(page).group(1)


def look_up(citizen, case_no, code, **kw):
    client, token = citizen
    return client.post("/mailbox/status", data={"csrf_token": token, "case_no": case_no, "code": code}, **kw)


def test_the_form_works_without_javascript_and_carries_the_apps_security_headers(citizen):
    client, _ = citizen
    page = client.get("/mailbox")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and '<html lang="zh-Hant-TW">' in html and "陳情" in text_of(html)
    assert "script-src 'self'" in page.headers["Content-Security-Policy"] and page.headers["X-Frame-Options"] == "DENY"
    assert "<script" not in html and 'id="map"' not in html  # no tile server set: no map, plain fields
    assert 'name="latitude"' in html and 'enctype="multipart/form-data"' in html


def test_a_refused_form_keeps_what_was_typed_and_names_each_fields_error(citizen):
    client, token = citizen
    refused = client.post("/mailbox", data={"csrf_token": token, **PETITION, "subject": "", "email": "not-an-address",
                                            "latitude": "95", "longitude": "121.3", "description": "我家門前的坑洞"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "我家門前的坑洞</textarea>" in html and 'value="not-an-address"' in html and 'value="王小明"' in html
    assert 'id="subject-errors"' in html and 'id="email-errors"' in html and 'id="latitude-errors"' in html
    assert "必填" in text_of(html) and "請修正下列標示的欄位" in text_of(html)


def test_a_form_without_its_token_is_refused_and_keeps_the_text(citizen):
    client, _ = citizen
    refused = client.post("/mailbox", data={**PETITION, "csrf_token": "forged"})
    assert refused.status_code == 400 and 'value="中正路路面坑洞"' in refused.get_data(as_text=True)


def test_a_filed_petition_shows_its_number_and_code_once_and_is_cached_nowhere(citizen):
    client, token = citizen
    sent = client.post("/mailbox", data={"csrf_token": token, **PETITION})
    assert sent.status_code == 201 and sent.headers["Cache-Control"] == "no-store"
    assert re.fullmatch(r"P20261126\d{6}", _CASE.search(sent.get_data(as_text=True)).group(1))
    assert re.fullmatch(r"[0-9A-Z]{4}(-[0-9A-Z]{4}){3}", _CODE.search(sent.get_data(as_text=True)).group(1))


def test_a_photo_that_is_not_one_is_refused_with_the_text_kept(citizen):
    client, token = citizen
    refused = client.post("/mailbox", data={"csrf_token": token, **PETITION,
                                            "photos": (io.BytesIO(b"<svg onload=alert(1)>"), "pothole.jpg")},
                          content_type="multipart/form-data")
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and 'id="photos-errors"' in html and 'value="中正路路面坑洞"' in html


def test_a_photo_is_taken(citizen):
    case_no, code = file_petition(citizen, photos=(io.BytesIO(photo_with_exif()), "pothole.jpg"))
    assert look_up(citizen, case_no, code).status_code == 200


def test_lookup_with_the_right_code_shows_status_agency_due_date_and_nothing_personal(city, citizen):
    case_no, code = file_petition(citizen)
    found = look_up(citizen, case_no, code)
    shown = text_of(found.get_data(as_text=True))
    assert found.status_code == 200 and "工務局" in shown and "處理中" in shown and "2026-12-04 17:30" in shown
    assert "王小明" not in shown and "ming@example.tw" not in shown and "cw.roads" not in shown


def test_a_wrong_code_and_a_missing_case_read_the_same(citizen):
    case_no, code = file_petition(citizen)
    wrong = look_up(citizen, case_no, "AAAA-BBBB-CCCC-DDDD")
    missing = look_up(citizen, "P20261126999999", code)
    assert wrong.status_code == missing.status_code == 404
    assert (wrong.get_data(as_text=True).replace(case_no, "N")
            == missing.get_data(as_text=True).replace("P20261126999999", "N"))


def test_the_json_lookup_gives_the_status_and_the_same_404_for_wrong_and_missing(city, citizen):
    client, _ = citizen
    case_no, code = file_petition(citizen)
    found = client.post("/mailbox/status", json={"case_no": case_no, "code": code})
    assert found.status_code == 200 and found.headers["Cache-Control"] == "no-store"
    assert set(found.json) == {"case_no", "stage", "agency", "received_at", "due_at", "closed_at", "reply",
                               "replied_at", "survey"}
    assert (found.json["stage"], found.json["agency"], found.json["due_at"]) == (
        "in_progress", "工務局", "2026-12-04T09:30:00+00:00")
    wrong = client.post("/mailbox/status", json={"case_no": case_no, "code": "X"})
    missing = client.post("/mailbox/status", json={"case_no": "P20261126999999", "code": code})
    assert wrong.status_code == missing.status_code == 404 and wrong.json == missing.json


def test_wrong_codes_are_rate_limited_per_address_even_for_the_right_code_after(citizen):
    case_no, code = file_petition(citizen)
    statuses = [look_up(citizen, case_no, f"WRONG{n}").status_code for n in range(10)]
    locked = look_up(citizen, case_no, code)
    assert statuses == [404] * 10 and locked.status_code == 429 and int(locked.headers["Retry-After"]) >= 1
    other = look_up(citizen, case_no, code, environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other.status_code == 200


def survey(citizen, case_no, code, satisfied, **fields):
    client, token = citizen
    return client.post("/mailbox/survey", data={"csrf_token": token, "case_no": case_no, "code": code,
                                                "satisfied": satisfied, **fields})


def test_the_survey_before_the_reply_is_refused_then_a_satisfied_answer_closes_the_case(city, citizen):
    case_no, code = file_petition(citizen)
    early = survey(citizen, case_no, code, "yes")
    assert early.status_code == 409 and "答復寄出後" in text_of(early.get_data(as_text=True))
    reply(city, int(case_no[-6:]))
    status_page = text_of(look_up(citizen, case_no, code).get_data(as_text=True))
    assert "完成路面修補" in status_page and "填寫滿意度調查" in status_page
    done = survey(citizen, case_no, code, "yes")
    assert done.status_code == 200 and "結案" in text_of(done.get_data(as_text=True))
    again = survey(citizen, case_no, code, "no")
    assert again.status_code == 409 and "已填答" in text_of(again.get_data(as_text=True))
    assert "狀態 結案" in text_of(look_up(citizen, case_no, code).get_data(as_text=True))


def test_an_unsatisfied_answer_goes_to_the_reviewers_inbox(city, citizen, sign_in):
    case_no, code = file_petition(citizen)
    reply(city, int(case_no[-6:]))
    done = survey(citizen, case_no, code, "no", reasons=["not_solved", "too_slow"], comment="坑洞仍在")
    assert done.status_code == 200
    reviewer_inbox = text_of(sign_in("reviewer").get("/inbox").get_data(as_text=True))
    assert case_no in reviewer_inbox and "不滿意案件檢核" in reviewer_inbox


def test_a_survey_without_an_answer_keeps_the_comment_and_says_what_is_missing(citizen):
    case_no, code = file_petition(citizen)
    refused = survey(citizen, case_no, code, "", comment="我的意見")
    assert refused.status_code == 422 and "我的意見</textarea>" in refused.get_data(as_text=True)


def test_the_pages_switch_to_english(citizen):
    client, _ = citizen
    client.get("/language/en?next=/mailbox")
    html = client.get("/mailbox").get_data(as_text=True)
    assert '<html lang="en">' in html and "File a petition" in html


def test_with_a_tile_server_the_form_offers_the_map_and_lets_its_tiles_in(city):
    from api.app import create_app
    city.settings = city.settings.but(map_tile_url="https://tiles.city.example/{z}/{x}/{y}.png")
    page = create_app(runtime=city).test_client().get("/mailbox")
    html = page.get_data(as_text=True)
    assert 'id="map"' in html and 'data-tiles="https://tiles.city.example/{z}/{x}/{y}.png"' in html
    assert '<script src="/static/build/mailbox.js" defer></script>' in html and 'name="latitude"' in html
    assert "img-src 'self' data: https://tiles.city.example;" in page.headers["Content-Security-Policy"]
    assert "script-src 'self';" in page.headers["Content-Security-Policy"]


def test_past_the_hours_petitions_from_one_address_the_form_is_refused_and_kept(city):
    from api.app import create_app
    city.settings = city.settings.but(mailbox_submissions_per_hour=2)
    client = create_app(runtime=city).test_client()
    token = csrf_of(client.get("/mailbox").get_data(as_text=True))
    sent = [client.post("/mailbox", data={"csrf_token": token, **PETITION}).status_code for _ in range(3)]
    refused = client.post("/mailbox", data={"csrf_token": token, **PETITION})
    assert sent == [201, 201, 429] and refused.status_code == 429
    assert 'value="中正路路面坑洞"' in refused.get_data(as_text=True)

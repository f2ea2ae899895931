"""Cases through the API: staff intake, a case's page, and what a refusal leaks (nothing)."""
from __future__ import annotations

from tests.unit.queries_city import taipei

PETITIONER = {"name": "王小明", "phone": "0912345678", "email": "wang@example.tw"}


def intake(caller, **fields):
    body = {"case_type": "petition", "process_key": "simple", "subject": "中山路路燈不亮", "channel": "web",
            "agency_code": "public_works", "petitioner": PETITIONER, **fields}
    return caller.post("/api/v1/cases", json=body)


def test_a_dispatcher_takes_a_case_in_and_it_lands_in_the_agency_s_inbox(api):
    api.clock.set(taipei(26, 10))
    answer = intake(api.as_("dispatcher"))
    assert answer.status_code == 201
    started = answer.get_json()
    assert started["case_no"].startswith("P20261126") and len(started["work_item_ids"]) == 1
    inbox = api.as_("cw.roads").get("/api/v1/inbox").get_json()["items"]
    assert [item["case_no"] for item in inbox] == [started["case_no"]]


def test_a_process_designer_may_not_take_cases_in(api):
    answer = intake(api.as_("designer"))
    assert answer.status_code == 403
    assert api.as_("admin").get("/api/v1/inbox", query_string={"view": "supervised"}).get_json()["items"] == []


def test_intake_refuses_bad_fields_naming_each_and_opens_nothing(api):
    answer = intake(api.as_("dispatcher"), subject="", received_at="2026-11-26 09:00", petitioner={"nickname": "x"})
    assert answer.status_code == 422
    assert set(answer.get_json()["errors"]["json"]) == {"subject", "received_at", "petitioner"}
    assert api.as_("admin").get("/api/v1/inbox", query_string={"view": "supervised"}).get_json()["items"] == []


def test_the_case_page_shows_the_timeline_open_work_and_the_petitioner_to_its_agency(api):
    started = intake(api.as_("dispatcher")).get_json()
    page = api.as_("cw.roads").get(f"/api/v1/cases/{started['case_id']}").get_json()
    assert page["case_no"] == started["case_no"] and page["subject"] == "中山路路燈不亮"
    assert page["petitioner"]["name"] == "王小明" and page["petitioner_hidden"] is False
    assert [w["work_item_id"] for w in page["open_work"]] == started["work_item_ids"]
    assert page["timeline"][0]["kind"] == "case_received" and page["timeline"][0]["actor"] == "dispatcher"
    by_number = api.as_("cw.roads").get(f"/api/v1/cases/by-number/{started['case_no']}").get_json()
    assert by_number["case_id"] == started["case_id"]


def test_a_confidential_petitioner_is_hidden_from_the_handling_agency(api):
    started = intake(api.as_("dispatcher"), confidential=True).get_json()
    page = api.as_("cw.roads").get(f"/api/v1/cases/{started['case_id']}").get_json()
    assert page["petitioner"] is None and page["petitioner_hidden"] is True
    assert "王小明" not in str(page)


def test_another_agency_s_case_is_not_found_exactly_like_a_missing_one(api):
    started = intake(api.as_("dispatcher")).get_json()
    caller = api.as_("cw.signals")
    theirs, missing = caller.get(f"/api/v1/cases/{started['case_id']}"), caller.get("/api/v1/cases/999999")
    assert theirs.status_code == missing.status_code == 404
    assert theirs.get_json()["error"] == missing.get_json()["error"] == "not_found"
    by_number = caller.get(f"/api/v1/cases/by-number/{started['case_no']}")
    assert by_number.status_code == 404 and "王小明" not in by_number.get_data(as_text=True)


def test_text_search_finds_a_two_character_chinese_word_inside_subjects_and_descriptions(api):
    dispatcher = api.as_("dispatcher")
    lamp = intake(dispatcher, subject="中山路路燈不亮").get_json()
    described = intake(dispatcher, subject="夜間照明", description="這盞路燈已經壞了三天").get_json()
    intake(dispatcher, subject="路口燈號故障")
    found = api.as_("cw.roads").get("/api/v1/cases", query_string={"text": "路燈"}).get_json()
    assert {row["case_no"] for row in found["rows"]} == {lamp["case_no"], described["case_no"]}
    assert "petitioner" not in found["rows"][0]
    assert api.as_("cw.signals").get("/api/v1/cases", query_string={"text": "路燈"}).get_json()["rows"] == []
    too_short = api.as_("cw.roads").get("/api/v1/cases", query_string={"text": "路"})
    assert too_short.status_code == 400 and "text" in too_short.get_json()["errors"]["fields"]


def test_every_showing_of_a_petitioner_is_recorded_and_auditors_read_the_record(api):
    started = intake(api.as_("dispatcher")).get_json()
    api.as_("cw.roads").get(f"/api/v1/cases/{started['case_id']}")
    api.as_("cw.signals").get(f"/api/v1/cases/{started['case_id']}")  # not theirs: nothing shown, nothing recorded
    record = api.as_("admin").get("/api/v1/audit/personal-data-reads",
                                  query_string={"case_id": started["case_id"]}).get_json()
    [row] = record["rows"]
    assert (row["username"], row["case_no"], row["via"]) == ("cw.roads", started["case_no"], "api")
    assert set(row["fields"]) == {"name", "phone", "email"}
    assert api.as_("cw.roads").get("/api/v1/audit/personal-data-reads").status_code == 403

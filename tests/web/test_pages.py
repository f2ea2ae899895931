"""The staff pages through a browser's eyes (Flask test client): sign-in, the inbox, a task's form,
the escalation queue; every refusal a page in the user's language, nothing changed by it."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from engine.services.cases import StartCase, start_case
from tests.web.conftest import csrf_of, text_of

#: Tuesday 2026-12-08 09:00 in Taipei: the demo's first petition (due Friday 12-04 17:30) is two working days late.
LATE = datetime(2026, 12, 8, 1, 0, tzinfo=timezone.utc)


def test_a_page_asked_for_before_signing_in_sends_the_browser_to_sign_in_and_back(web):
    client = web.test_client()
    response = client.get("/inbox?view=mine")
    assert response.status_code == 302 and response.location == "/sign-in?next=/inbox?view%3Dmine"
    page = client.get(response.location).get_data(as_text=True)
    assert 'name="next" value="/inbox?view=mine"' in page
    signed = client.post("/sign-in", data={"csrf_token": csrf_of(page), "username": "cw.roads",
                                           "password": "petiflow-demo", "next": "/inbox?view=mine"})
    assert signed.status_code == 302 and signed.location == "/inbox?view=mine"


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"])
def test_sign_in_never_sends_the_browser_to_another_site(web, target):
    client = web.test_client()
    page = client.get("/sign-in").get_data(as_text=True)
    signed = client.post("/sign-in", data={"csrf_token": csrf_of(page), "username": "cw.roads",
                                           "password": "petiflow-demo", "next": target})
    assert signed.status_code == 302 and signed.location == "/"
    assert client.get(f"/language/en?next={target}").location == "/"


def test_a_wrong_password_and_an_unknown_account_get_the_same_answer(web):
    answers = []
    for username in ("cw.roads", "nobody.here"):
        client = web.test_client()
        page = client.get("/sign-in").get_data(as_text=True)
        wrong = client.post("/sign-in", data={"csrf_token": csrf_of(page), "username": username, "password": "nope"})
        answers.append((wrong.status_code, text_of(wrong.get_data(as_text=True)).replace(username, "…")))
        assert client.get("/inbox").status_code == 302  # still not signed in
    assert answers[0] == answers[1] and answers[0][0] == 401 and "帳號或密碼錯誤" in answers[0][1]


def test_a_sign_in_form_from_another_site_is_refused(web):
    client = web.test_client()
    refused = client.post("/sign-in", data={"username": "cw.roads", "password": "petiflow-demo"})
    assert refused.status_code == 400 and "頁面已逾時" in text_of(refused.get_data(as_text=True))
    assert client.get("/inbox").status_code == 302


def test_a_form_posted_without_the_sessions_token_changes_nothing(sign_in):
    caseworker = sign_in("cw.roads")
    refused = caseworker.post("/work/1/claim", csrf=False)
    assert refused.status_code == 403 and "沒有權限" in text_of(refused.get_data(as_text=True))
    assert "群組待領" in text_of(caseworker.get("/work/1").get_data(as_text=True))  # nobody holds it


def test_the_home_page_counts_are_the_apis_badges(sign_in):
    caseworker = sign_in("cw.roads")
    page = caseworker.get("/").get_data(as_text=True)
    counts = caseworker.get("/api/v1/inbox/counts", headers={"X-CSRF-Token": caseworker.csrf}).get_json()
    for badge, key in (("count-mine", "assigned_to_me"), ("count-groups", "open_to_my_groups"),
                       ("count-overdue", "overdue"), ("count-due-today", "due_today"), ("count-at-risk", "at_risk")):
        assert f'id="{badge}">{counts[key]}<' in page
    assert counts["open_to_my_groups"] == 1


def test_another_agencys_work_item_is_not_found_exactly_as_one_that_does_not_exist(sign_in):
    other = sign_in("cw.signals")
    theirs, missing = other.get("/work/1"), other.get("/work/999999")
    assert theirs.status_code == missing.status_code == 404
    assert "中正路" not in theirs.get_data(as_text=True)
    assert text_of(theirs.get_data(as_text=True)).replace("1", "#") == text_of(missing.get_data(as_text=True)).replace(
        "999999", "#")


def test_a_claimed_item_is_completed_at_the_version_the_page_showed(sign_in):
    caseworker = sign_in("cw.roads")
    assert caseworker.post("/work/1/claim").location == "/work/1"
    page = caseworker.get("/work/1").get_data(as_text=True)
    version = page.split('name="version" value="')[1].split('"')[0]
    caseworker.post("/work/1/unclaim", {"version": version})
    stale = caseworker.post("/work/1/complete", {"version": version, "draft_action": "submit_reply",
                                                "reply_text": "已修復"})
    assert stale.status_code == 302 and stale.location == "/work/1"
    assert "這期間已有人變更" in text_of(caseworker.get("/work/1").get_data(as_text=True))


def test_citizens_text_is_shown_as_text_never_run_as_script(demo_runtime, sign_in):
    attack = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    with demo_runtime.uow() as uow:
        start_case(StartCase("petition", channel="web", category="road_pothole", district="桃園", subject=attack,
                             agency_code="public_works"), uow)
        uow.commit()
    caseworker = sign_in("cw.roads")
    for path in ("/", "/inbox", "/work/2"):
        page = caseworker.get(path).get_data(as_text=True)
        assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in caseworker.get("/inbox").get_data(as_text=True)


def test_a_section_chief_sees_late_work_and_reassigns_it_from_the_escalation_queue(demo_runtime, sign_in):
    demo_runtime.clock.set(LATE)
    chief = sign_in("chief.roads")
    page = chief.get("/escalation")
    shown = text_of(page.get_data(as_text=True))
    assert page.status_code == 200 and "P20261126000001" in shown and "逾期 2 個工作日" in shown
    assert "P20261126000002" not in shown  # the signals unit's late petition is not this chief's
    people = page.get_data(as_text=True)
    assert ">cw.roads (cw.roads)<" in people or "(cw.roads)" in people
    user_id = people.split("(cw.roads)")[0].rsplit('<option value="', 1)[1].split('"')[0]
    moved = chief.post("/escalation/act", {"item": "1", "action": "reassign", "assignee": user_id})
    assert moved.status_code == 302 and moved.location == "/escalation"
    assert "已改派 1 項工作" in text_of(chief.get("/escalation").get_data(as_text=True))
    assert "cw.roads" in text_of(chief.get("/work/1").get_data(as_text=True))


def test_a_section_chiefs_queue_counts_late_work_per_unit_of_the_agency(demo_runtime, sign_in):
    """The agency's late work counted by the unit (科) its cases were routed to."""
    demo_runtime.clock.set(LATE)
    html = sign_in("chief.roads").get("/escalation").get_data(as_text=True)
    table = html.split('<table class="counts units">')[1].split("</table>")[0]
    assert "依科別與督導層級統計" in text_of(table)
    rows = {text_of(r.split("</th>")[0]): text_of(r.split("</th>", 1)[1])
            for r in table.split("<tbody>")[1].split("<tr>")[1:]}
    assert rows and all(name for name in rows)
    assert any(name == "養護工程科" for name in rows), rows


def test_the_queue_s_rows_are_in_the_reader_s_language_whatever_the_page_before_was_in(demo_runtime, sign_in):
    demo_runtime.clock.set(LATE)
    chief, reviewer = sign_in("chief.roads"), sign_in("reviewer")
    chief.get("/language/en?next=/escalation")
    english = chief.get("/escalation").get_data(as_text=True)
    chinese = reviewer.get("/escalation").get_data(as_text=True)
    assert "2 working days late" in english and 'placeholder="What is being done"' in english
    assert ">Acknowledge</button>" in english and "確認處理" not in english
    assert "逾期 2 個工作日" in chinese and 'placeholder="處理情形"' in chinese and ">確認處理</button>" in chinese


def test_reassigning_with_nothing_chosen_says_so_and_changes_nothing(demo_runtime, sign_in):
    demo_runtime.clock.set(LATE)
    chief = sign_in("chief.roads")
    chief.post("/escalation/act", {"action": "remind"})
    assert "請先勾選至少一項工作" in text_of(chief.get("/escalation").get_data(as_text=True))


def test_a_caseworker_has_no_escalation_queue_in_the_menu_and_is_refused_it(sign_in):
    caseworker = sign_in("cw.roads")
    assert "/escalation" not in caseworker.get("/inbox").get_data(as_text=True)
    refused = caseworker.get("/escalation")
    assert refused.status_code == 403 and "沒有權限" in text_of(refused.get_data(as_text=True))


def test_the_language_is_chinese_by_default_and_english_when_chosen(sign_in):
    caseworker = sign_in("cw.roads")
    assert '<html lang="zh-Hant-TW">' in caseworker.get("/inbox").get_data(as_text=True)
    switched = caseworker.get("/language/en?next=/inbox")
    assert switched.location == "/inbox" and "petiflow_lang=en" in switched.headers["Set-Cookie"]
    page = caseworker.get("/inbox").get_data(as_text=True)
    assert '<html lang="en">' in page and "Inbox" in page and "Claim" in page
    assert "petiflow_lang" not in caseworker.get("/language/xx?next=/inbox").headers.get("Set-Cookie", "")


def test_a_bad_filter_is_a_400_page_naming_it(sign_in):
    refused = sign_in("cw.roads").get("/inbox?due_before=tomorrow")
    assert refused.status_code == 400 and "期限早於" in text_of(refused.get_data(as_text=True))


def _failed_reminder(runtime, case_id: int = 1) -> int:
    from sqlalchemy import insert, select

    from engine.store.schema import incidents, timers, workflow_instances
    now = runtime.clock.now()
    with runtime.db.begin() as conn:
        instance = conn.execute(select(workflow_instances.c.id).where(workflow_instances.c.case_id == case_id)).scalar()
        timer = conn.execute(insert(timers).returning(timers.c.id), {
            "kind": "reminder", "instance_id": instance, "case_id": case_id, "due_at": now, "status": "failed",
            "attempts": 5, "created_at": now}).scalar_one()
        return conn.execute(insert(incidents).returning(incidents.c.id), {
            "kind": "timer_failed", "subject_table": "timers", "subject_id": timer, "case_id": case_id,
            "message": "the mail server refused", "attempts": 5, "created_at": now}).scalar_one()


def test_a_section_chief_retries_one_failed_reminder_and_marks_another_handled(demo_runtime, sign_in):
    first, second = _failed_reminder(demo_runtime), _failed_reminder(demo_runtime)
    chief = sign_in("chief.roads")
    shown = text_of(chief.get("/escalation").get_data(as_text=True))
    assert shown.count("the mail server refused") == 2
    assert "the mail server refused" not in text_of(sign_in("chief.signals").get("/escalation").get_data(as_text=True))
    assert sign_in("chief.signals").post(f"/escalation/incidents/{first}/retry").location == "/escalation#incidents"
    assert chief.post(f"/escalation/incidents/{first}/retry").location == "/escalation#incidents"
    assert chief.post(f"/escalation/incidents/{second}/resolve", {"resolution": ""}).status_code == 302
    assert "請說明" in text_of(chief.get("/escalation").get_data(as_text=True))
    chief.post(f"/escalation/incidents/{second}/resolve", {"resolution": "已電話通知承辦人"})
    assert "the mail server refused" not in text_of(chief.get("/escalation").get_data(as_text=True))


def test_the_commissions_reviewer_reads_every_agencys_queue_without_handing_out_their_work(demo_runtime, sign_in):
    demo_runtime.clock.set(LATE)
    page = sign_in("reviewer").get("/escalation")
    shown = text_of(page.get_data(as_text=True))
    assert page.status_code == 200
    assert all(no in shown for no in ("P20261126000001", "P20261126000002", "P20261126000003"))


def test_signing_out_of_the_pages_ends_the_session_for_every_copy_of_its_cookie(sign_in, web):
    staff = sign_in("cw.roads")
    cookie = staff.client.get_cookie("petiflow_session")
    copy = web.test_client()
    copy.set_cookie("petiflow_session", cookie.value)
    assert copy.get("/inbox").status_code == 200
    assert staff.post("/sign-out").status_code == 302
    assert staff.get("/inbox").status_code == 302  # to the sign-in page
    gone = copy.get("/inbox")
    assert gone.status_code == 302 and "/sign-in" in gone.headers["Location"]

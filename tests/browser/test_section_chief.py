"""A section chief's day in the browser: approve one reply, return another to its drafter, reassign late work."""
from __future__ import annotations

import re
from datetime import datetime, timezone

from playwright.sync_api import expect

from engine.services.cases import StartCase, start_case
from tests.browser.conftest import sign_in

#: Tuesday 2026-12-08 09:00 in Taipei: replies due Friday 12-04 are two working days late.
LATE = datetime(2026, 12, 8, 1, 0, tzinfo=timezone.utc)

def _second_pothole(runtime) -> str:
    """Open a second pothole petition after the demo's cases; returns its case number."""
    with runtime.uow() as uow:
        started = start_case(StartCase("petition", channel="web", category="road_pothole", district="桃園",
                                       subject="民生路人孔蓋下陷", agency_code="public_works"), uow)
        uow.commit()
    return started.case_no


def _draft_reply(page, base, subject, text):
    page.goto(f"{base}/inbox")
    page.get_by_role("row").filter(has_text=subject).get_by_role("button", name=re.compile("^領取")).click()
    page.get_by_label("辦理方式").select_option(label="擬復送核")
    page.get_by_label("答復內容").fill(text)
    page.get_by_role("button", name="送出").click()
    expect(page.get_by_role("status")).to_contain_text("已完成")


def test_a_section_chief_approves_one_reply_returns_another_to_its_drafter_and_reassigns_late_work(
        demo_runtime, live_server, browser, shoot):
    second = _second_pothole(demo_runtime)
    caseworker = browser.new_page(viewport={"width": 1366, "height": 768})
    sign_in(caseworker, live_server, "cw.roads", next_path="/inbox")
    _draft_reply(caseworker, live_server, "中正路與復興路口路面坑洞", "已派員於 11/27 完成修補。")
    _draft_reply(caseworker, live_server, "民生路人孔蓋下陷", "將於下週處理。")

    chief = browser.new_page(viewport={"width": 1366, "height": 768})
    sign_in(chief, live_server, "chief.roads", next_path="/inbox")
    chief.get_by_role("row").filter(has_text="中正路與復興路口路面坑洞").get_by_role(
        "button", name=re.compile("^領取")).click()
    expect(chief.get_by_text("已派員於 11/27 完成修補。")).to_be_visible()  # the reply to approve is shown
    chief.get_by_role("combobox", name="決行").select_option(label="核可發文")
    chief.get_by_role("button", name="送出").click()
    expect(chief.get_by_role("status")).to_contain_text("已完成")

    chief.get_by_role("row").filter(has_text="民生路人孔蓋下陷").get_by_role("button", name=re.compile("^領取")).click()
    chief.get_by_role("combobox", name="決行").select_option(label="退回修正")
    chief.get_by_role("button", name="送出").click()  # a return needs a comment: refused at the field
    expect(chief.locator("#f-approval_comment-errors")).to_have_text("必填")
    shoot("work-approve-reply-error-zh", chief)
    chief.get_by_label("意見").fill("請寫明預定修復日期。")
    chief.get_by_role("button", name="送出").click()
    expect(chief.get_by_role("status")).to_contain_text("已完成")

    # The returned reply is back with its drafter, not with the whole group.
    caseworker.goto(f"{live_server}/inbox?view=mine")
    row = caseworker.get_by_role("row").filter(has_text="民生路人孔蓋下陷")
    expect(row).to_contain_text("cw.roads")
    row.get_by_role("link", name=re.compile("^開啟")).click()
    expect(caseworker.get_by_text("請寫明預定修復日期。")).to_be_visible()
    expect(caseworker.get_by_label("答復內容")).to_have_value("將於下週處理。")  # the draft returned to fix

    # Late work shows in the chief's escalation queue, and is reassigned from there.
    demo_runtime.clock.set(LATE)
    chief.goto(f"{live_server}/escalation")
    late = chief.get_by_role("row").filter(has_text=second)
    expect(late).to_contain_text("逾期 2 個工作日")
    shoot("escalation-queue-zh", chief)
    late.get_by_role("checkbox").check()
    to = chief.get_by_label("改派給")
    to.select_option(value=to.locator("option", has_text="(cw.roads2)").get_attribute("value"))
    chief.get_by_role("button", name="改派", exact=True).click()
    expect(chief.get_by_role("status")).to_contain_text("已改派 1 項工作")
    expect(chief.get_by_role("row").filter(has_text=second)).to_contain_text("cw.roads2")

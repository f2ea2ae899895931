"""A caseworker's day in the browser: sign in, claim, a form refused at the field, fixed, completed."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import sign_in


def test_a_caseworker_claims_an_item_sees_a_form_error_at_its_field_fixes_it_and_completes(live_server, page, shoot):
    sign_in(page, live_server, "cw.roads", next_path="/inbox")
    expect(page).to_have_url(re.compile(r"/inbox$"))
    expect(page.get_by_role("heading", name="待辦工作")).to_be_visible()
    row = page.get_by_role("row").filter(has_text="中正路與復興路口路面坑洞")
    expect(row).to_contain_text("期限內")  # due 12-04, six working days away: on time
    expect(row).to_contain_text("尚餘 6 個工作日")
    shoot("inbox-zh")

    row.get_by_role("button", name=re.compile("^領取")).click()
    expect(page.get_by_role("status")).to_contain_text("已領取")
    expect(page.get_by_role("heading", level=1, name=re.compile("擬辦答復"))).to_be_visible()

    # Submitting a reply with no text: the server's error is shown at the reply's field.
    page.get_by_role("combobox", name="辦理方式").select_option(label="擬復送核")
    page.get_by_role("button", name="送出").click()
    expect(page.get_by_role("alert")).to_contain_text("請修正")
    reply = page.get_by_label("答復內容")
    expect(reply).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#f-reply_text-errors")).to_have_text("必填")
    expect(page.get_by_role("combobox", name="辦理方式")).to_have_value("submit_reply")  # what was chosen is kept
    shoot("work-form-error-zh")

    reply.fill("已派員於 11/27 完成坑洞修補，謝謝您的反映。")
    page.get_by_role("button", name="送出").click()
    expect(page).to_have_url(re.compile(r"/inbox$"))
    expect(page.get_by_role("status")).to_contain_text("已完成")
    expect(page.get_by_text("中正路與復興路口路面坑洞")).to_have_count(0)


def test_a_saved_draft_is_there_when_the_caseworker_comes_back(live_server, page):
    sign_in(page, live_server, "cw.roads", next_path="/inbox")
    page.get_by_role("row").filter(has_text="中正路與復興路口路面坑洞").get_by_role("button", name=re.compile("^領取")).click()
    expect(page.get_by_label("答復內容")).to_be_hidden()  # needed only for a reply: shown when one is chosen
    page.get_by_role("combobox", name="辦理方式").select_option(label="擬復送核")
    page.get_by_label("答復內容").fill("初稿：將派員查看")
    page.get_by_role("button", name="暫存").click()
    expect(page.get_by_role("status")).to_contain_text("已暫存")
    page.goto(f"{live_server}/inbox")
    page.get_by_role("link", name=re.compile("^開啟")).first.click()
    expect(page.get_by_label("答復內容")).to_have_value("初稿：將派員查看")


def test_the_pages_switch_to_english_and_stay_there(live_server, page, shoot):
    sign_in(page, live_server, "cw.roads", next_path="/inbox")
    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.goto(f"{live_server}/")
    expect(page.get_by_role("heading", name="What needs me now")).to_be_visible()
    shoot("home-en")
    page.goto(f"{live_server}/inbox")
    shoot("inbox-en")
    page.get_by_role("link", name="中文").click()
    expect(page.get_by_role("heading", name="待辦工作")).to_be_visible()

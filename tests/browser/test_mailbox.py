"""A citizen in the browser: files a petition on the web mailbox, then looks it up with its number and code."""
from __future__ import annotations

import re

from playwright.sync_api import expect


def test_a_citizen_files_a_petition_and_looks_it_up_with_the_code_shown(live_server, browser, shoot):
    citizen = browser.new_page(viewport={"width": 1366, "height": 768})
    citizen.goto(f"{live_server}/mailbox")
    expect(citizen.get_by_role("heading", level=1)).to_have_text("我要陳情")
    citizen.get_by_label("主旨").fill("中正路路面坑洞")
    # Sent empty first: the form comes back with what was typed and the field's error.
    citizen.get_by_role("button", name="送出陳情").click()
    expect(citizen.get_by_role("alert")).to_contain_text("請修正下列標示的欄位")
    expect(citizen.get_by_label("主旨")).to_have_value("中正路路面坑洞")
    expect(citizen.locator("#description-errors")).to_contain_text("必填")
    citizen.get_by_label("陳情內容").fill("中正路 100 號前有大坑洞，機車經過危險。")
    citizen.get_by_role("combobox", name="類別").select_option(label="道路坑洞")
    citizen.get_by_role("combobox", name="行政區").select_option("桃園")
    citizen.get_by_label("地址或地標").fill("桃園區中正路 100 號")
    citizen.get_by_label("姓名").fill("王小明")
    citizen.get_by_label("電子郵件").fill("ming@example.tw")
    shoot("mailbox-form-zh", citizen)
    citizen.get_by_role("button", name="送出陳情").click()

    expect(citizen.get_by_role("heading", level=1)).to_have_text("陳情已受理")
    case_no = citizen.locator("#case-no").inner_text()
    code = citizen.locator("#lookup-code").inner_text()
    assert re.fullmatch(r"P20261126\d{6}", case_no) and re.fullmatch(r"[0-9A-Z]{4}(-[0-9A-Z]{4}){3}", code)
    shoot("mailbox-received-zh", citizen)

    citizen.get_by_role("link", name="查詢本案").click()
    expect(citizen.get_by_label("案號")).to_have_value(case_no)
    citizen.get_by_label("查詢碼").fill("AAAA-BBBB-CCCC-DDDD")
    citizen.get_by_role("button", name="查詢", exact=True).click()
    expect(citizen.get_by_role("alert")).to_have_text("查無此案件編號及查詢碼的案件。")
    citizen.get_by_label("案號").fill(case_no)
    citizen.get_by_label("查詢碼").fill(code.lower())
    citizen.get_by_role("button", name="查詢", exact=True).click()
    expect(citizen.locator("#stage")).to_have_text("處理中")
    expect(citizen.locator("#agency")).to_have_text("工務局")
    expect(citizen.locator("#due")).to_have_text("2026-12-04 17:30")
    shoot("mailbox-status-zh", citizen)

    citizen.get_by_role("link", name="English").click()
    expect(citizen.get_by_role("heading", level=1)).to_have_text("Look up a case")
    shoot("mailbox-lookup-en", citizen)

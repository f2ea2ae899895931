"""The 1999 operator in the browser: a call becomes a dispatch case, routed before saving, in the right unit's inbox."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import sign_in


def test_an_operator_turns_a_call_into_a_dispatch_case_that_reaches_the_right_units_inbox(live_server, browser, shoot):
    operator = browser.new_page(viewport={"width": 1366, "height": 768})
    sign_in(operator, live_server, "operator", next_path="/console")
    expect(operator.get_by_role("heading", level=1)).to_contain_text("1999")
    operator.get_by_label("姓名", exact=True).fill("李先生")
    operator.get_by_label("電話", exact=True).fill("0911-222-333")
    operator.get_by_role("combobox", name="來電類別").select_option(label="查報派工")
    operator.get_by_label("來電摘要").fill("民眾反映桃園區中山路 120 號前路燈不亮已三天。")
    operator.get_by_role("combobox", name="處理結果").select_option(label="開立派工案")
    operator.get_by_role("combobox", name="案件類別").select_option(label="路燈故障")
    operator.get_by_role("combobox", name="行政區").select_option("桃園")
    # The routing the rules give is shown before saving.
    expect(operator.locator("#routing")).to_have_text("桃園區公所 · 工務課")
    operator.get_by_label("案件主旨").fill("中山路 120 號前路燈不亮")
    shoot("console-zh", operator)
    operator.get_by_role("button", name="儲存來電").click()
    expect(operator.get_by_role("status").first).to_contain_text(re.compile(r"已開立.*D20261126\d{6}"))

    district = browser.new_page(viewport={"width": 1366, "height": 768})
    sign_in(district, live_server, "cw.taoyuan", next_path="/inbox")
    row = district.get_by_role("row").filter(has_text="中山路 120 號前路燈不亮")
    expect(row).to_contain_text("派工處理")
    expect(row).to_contain_text("桃園區公所")

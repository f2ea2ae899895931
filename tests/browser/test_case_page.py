"""The case page in the browser: the diagram drawn with where the case stands, under the app's security policy."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import sign_in


def test_the_case_page_draws_the_diagram_with_the_open_task_marked_and_breaks_no_policy(live_server, page, shoot):
    problems = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    sign_in(page, live_server, "cw.roads", next_path="/cases")
    page.get_by_label("主旨或內容的字詞").fill("坑洞")
    page.get_by_role("button", name="搜尋").click()
    page.get_by_role("link", name="P20261126000001").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("中正路與復興路口路面坑洞")
    expect(page.locator("#case-diagram")).to_have_attribute("data-ready", "true")
    expect(page.locator('[data-element-id="draft_reply"].pf-open')).to_have_count(1)
    expect(page.get_by_text("王小明")).to_be_visible()  # the handling caseworker needs the petitioner
    expect(page.get_by_role("link", name=re.compile("申請改分"))).to_be_visible()
    shoot("case-zh")
    assert problems == []  # no script error, nothing refused by the content security policy

    page.get_by_role("link", name=re.compile("申請展延")).click()  # a case action opens its task's form, chosen
    expect(page.get_by_role("combobox", name="辦理方式")).to_have_value("request_extension")

"""A process designer edits a decision table in the browser (dmn-js): changes a rule's agency,
checks it with the server, deploys it with the petition process, and sees the new version listed."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import sign_in


def test_a_designer_changes_a_rule_checks_and_deploys_the_table(live_server, page, shoot):
    page.add_init_script("window.__csp = []; document.addEventListener('securitypolicyviolation', "
                         "e => window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || '')));")
    sign_in(page, live_server, "designer", next_path="/designer")
    page.get_by_role("link", name="編輯最新版本: routing.dmn").click()
    expect(page.locator("#decisions.ready")).to_have_count(1)
    table = page.locator("#table .tjs-table")
    expect(table).to_be_visible()
    expect(page.locator("#deploy")).to_be_disabled()
    expect(page.locator("#table .hit-policy .dms-label")).to_have_text("命中規則：")  # dmn-js speaks the page's language
    expect(page.locator("#table .annotations-header, #table th.annotation").first).to_contain_text("註解")
    shoot("decision-table-editor-zh")

    # The first rule sends Taoyuan's streetlights to the district office: send them to the public works bureau.
    public_works = page.locator("#table td.output-cell").filter(has_text='"public_works"')
    before = public_works.count()
    cell = page.locator("#table td.output-cell").filter(has_text='"district_taoyuan"').first
    cell.click()
    page.keyboard.press("Control+A")
    page.keyboard.type('"public_works"')
    page.locator("#table h3, #table .decision-table-name").first.click()  # leave the cell
    expect(public_works).to_have_count(before + 1)

    page.get_by_role("button", name="送伺服器檢查").click()
    expect(page.locator("#designer-status")).to_contain_text("petition")
    expect(page.locator("#deploy")).to_be_enabled()
    shoot("decision-table-checked-zh")

    page.locator("#deploy").click()
    expect(page).to_have_url(re.compile(r"/designer$"))
    expect(page.locator(".flash.done")).to_contain_text("petition v2")
    expect(page.locator("table.decisions")).to_contain_text("petition v2")
    assert page.evaluate("window.__csp") == []

"""The reports in the browser: the charts draw under the content security policy, in Chinese."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from engine.services.reports import catch_up_all
from tests.browser.conftest import sign_in


def test_the_reviewer_sees_the_agency_report_drawn_as_charts_with_no_policy_refusal(
        demo_runtime, live_server, page, shoot):
    catch_up_all(demo_runtime)
    refused = []
    page.on("console", lambda message: refused.append(message.text) if message.type == "error" else None)
    sign_in(page, live_server, "reviewer", next_path="/reports/agencies?period=2026-11")
    expect(page.get_by_role("heading", level=1)).to_contain_text("機關與單位統計")
    charts = page.locator("figure.chart canvas")
    expect(charts).to_have_count(2)
    box = charts.first.bounding_box()
    assert box["width"] > 300 and box["height"] > 200
    expect(page.get_by_role("row").filter(has_text="全市合計")).to_be_visible()
    expect(page.get_by_role("button", name="列印")).to_be_visible()
    shoot("reports-agencies")
    page.get_by_role("link", name="民怨熱點").click()
    expect(page.locator("figure.chart canvas")).to_have_count(2)
    shoot("reports-hotspots")
    assert [text for text in refused if re.search("Content Security Policy|Refused", text)] == []

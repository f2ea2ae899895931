"""Every main screen, in Chinese and in English, checked by axe-core: no serious or critical violation.

axe-core comes from npm (node_modules/axe-core, installed by `make setup`) and is put into the page by
the test; the context bypasses the content security policy for that alone (other tests hold the pages
to the policy).
"""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from engine.settings import PROJECT_ROOT
from tests.browser.conftest import sign_in

AXE = PROJECT_ROOT / "node_modules" / "axe-core" / "axe.min.js"

#: Tuesday 2026-12-08 09:00 in Taipei: the demo's petitions are late, so the queue has rows.
LATE = datetime(2026, 12, 8, 1, 0, tzinfo=timezone.utc)

#: (screen, who looks at it, where)
SCREENS = [
    ("sign-in", None, "/sign-in"),
    ("welcome", None, "/"),
    ("home", "cw.roads", "/"),
    ("inbox", "cw.roads", "/inbox"),
    ("work", "cw.roads", "/work/1"),
    ("cases", "cw.roads", "/cases?text=路"),
    ("case", "cw.roads", "/cases/1"),
    ("escalation", "chief.roads", "/escalation"),
    ("console", "operator", "/console"),
    ("designer", "designer", "/designer"),
    ("migration", "designer", "/designer/processes/petition/migration?from_version=1&to_version=1"),
    ("decision-table", "designer", "/designer/decisions/routing.dmn/edit"),
    ("account", "cw.roads", "/account"),
    ("mailbox", None, "/mailbox"),
    ("mailbox-status", None, "/mailbox/status"),
    ("mailbox-survey", None, "/mailbox/survey"),
]

SERIOUS = """async () => {
  const found = await axe.run(document, {resultTypes: ["violations"]});
  return found.violations.filter(v => ["serious", "critical"].includes(v.impact))
    .map(v => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.slice(0, 3).map(n => n.target.join(" ")).join(", ")}`);
}"""


@pytest.mark.parametrize("language", ["zh", "en"])
def test_no_main_screen_has_a_serious_accessibility_violation(demo_runtime, live_server, browser, screenshots, language):
    assert AXE.exists(), "axe-core is installed by `make setup` (npm ci)"
    demo_runtime.clock.set(LATE)
    context = browser.new_context(bypass_csp=True, viewport={"width": 1366, "height": 768}, locale="zh-TW",
                                  timezone_id="Asia/Taipei")
    found = {}
    try:
        for screen, who, path in SCREENS:
            page = context.new_page()
            if who is not None:
                context.clear_cookies()
                sign_in(page, live_server, who)
            if language == "en":
                page.goto(f"{live_server}/language/en?next={path}")
            else:
                page.goto(f"{live_server}/language/zh_Hant_TW?next={path}")
            page.wait_for_load_state("networkidle")
            page.add_script_tag(path=str(AXE))
            violations = page.evaluate(SERIOUS)
            page.screenshot(path=str(screenshots / f"{screen}-{language}.png"), full_page=True)
            if violations:
                found[screen] = violations
            page.close()
    finally:
        context.close()
    assert found == {}

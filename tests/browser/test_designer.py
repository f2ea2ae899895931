"""A process designer in the browser: opens the petition diagram, adds a task, sees a lint error and
the server's error on the element, fixes both, looks at the changes, deploys version 2, and sees the
running cases stay on version 1."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import sign_in

#: A straight flow of the petition diagram: from merging a duplicate (併案) to its end.
FLOW = "f_merged"


def _middle_of(page, element_id: str) -> tuple[float, float]:
    """Where on the screen the middle of a flow's line is."""
    return page.evaluate("""(id) => {
        const box = document.querySelector(`g.djs-connection[data-element-id="${id}"] .djs-visual > path`)
          .getBoundingClientRect();
        return [box.x + box.width / 2, box.y + box.height / 2];
    }""", element_id)


def _open_group(page, title: str) -> None:
    """Open a group of the properties panel by its title (a click on its header, as a person does)."""
    header = page.locator(".bio-properties-panel-group-header").filter(
        has=page.locator(".bio-properties-panel-group-header-title", has_text=re.compile(f"^{re.escape(title)}$")))
    if "open" not in (header.get_attribute("class") or ""):
        header.click()


def _record_csp_violations(page) -> None:
    """Keep what each page's content security policy refused in window.__csp."""
    page.add_init_script("window.__csp = []; document.addEventListener('securitypolicyviolation', "
                         "e => window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || '')));")


def test_a_designer_adds_a_task_fixes_lint_and_server_errors_reviews_changes_and_deploys(live_server, page, shoot):
    _record_csp_violations(page)
    sign_in(page, live_server, "designer", next_path="/designer")
    expect(page.get_by_role("heading", level=1, name="流程")).to_be_visible()
    petition = page.locator("table.versions").filter(has=page.locator("#p-petition"))
    expect(petition.locator("tr[data-version='1'] td.running")).to_have_text("3")
    shoot("designer-processes-zh")

    page.get_by_role("link", name=re.compile("編輯最新版本: 人民陳情")).click()
    expect(page.locator("#designer.ready")).to_have_count(1)
    expect(page.locator("#problems-count")).to_have_text("0 個錯誤、1 個警告")  # the shipped diagram: a warning only

    # Add a task on the flow from 併案 to its end: zoom in there, take the palette's task, drop it on the line.
    x, y = _middle_of(page, FLOW)
    page.mouse.move(x, y)
    page.keyboard.down("Control")
    for _ in range(4):
        page.mouse.wheel(0, -120)
    page.keyboard.up("Control")
    page.wait_for_function("document.querySelector('.djs-container .viewport').transform.baseVal"
                           ".consolidate().matrix.a > 0.6")
    x, y = _middle_of(page, FLOW)
    page.locator(".djs-palette [data-action='create.task']").click()
    page.mouse.move(x - 30, y + 40)
    page.mouse.move(x - 5, y + 5, steps=5)
    page.mouse.move(x, y, steps=2)
    page.mouse.click(x, y)
    added = page.locator("g.djs-shape[data-element-id^='Activity_']")
    expect(added).to_have_count(1)
    task_id = added.get_attribute("data-element-id")
    page.keyboard.press("Escape")  # leave the name for later

    # Lint: a task without a name is an error, listed and reachable from the keyboard.
    problem = page.locator("#problems li.error").filter(has_text=task_id)
    expect(problem).to_have_count(1)
    expect(page.locator("#problems-count")).to_contain_text("1 個錯誤")

    # Give it a script to run afterwards that is not Python: only the server's check can tell. The task is
    # chosen from the list of problems (a button: the keyboard's way to an element of the diagram).
    problem.get_by_role("button", name=task_id).click()
    _open_group(page, "前後腳本")
    after = page.get_by_label("任務完成後（postScript）")
    after.fill("reviewed = (")
    page.get_by_role("button", name="送伺服器檢查").click()
    expect(page.locator("#designer-status")).to_contain_text("部署會拒絕")
    expect(page.locator(f"g.djs-shape[data-element-id='{task_id}'].petiflow-server-error")).to_have_count(1)
    expect(page.locator("#problems li.server")).to_contain_text(task_id)
    shoot("designer-errors-zh")

    # Fix both: a script that compiles, and a name.
    after.fill("reviewed = True")
    _open_group(page, "一般")  # the properties panel speaks the page's language
    page.locator("#bio-properties-panel-name").fill("複核併案")
    expect(page.locator("#problems li.error")).to_have_count(0)
    expect(page.locator("#problems li.server")).to_have_count(0)
    page.get_by_role("button", name="送伺服器檢查").click()
    expect(page.locator("#designer-status")).to_contain_text("通過部署的所有檢查")
    expect(page.locator(".petiflow-server-error")).to_have_count(0)

    # What changed against version 1, then deploy.
    expect(page.get_by_role("button", name="部署為第 2 版")).to_be_disabled()
    page.get_by_role("button", name="顯示變更").click()
    changes = page.locator("#changes-list")
    expect(changes.locator("li.added").filter(has_text="複核併案")).to_have_count(1)
    expect(changes.locator("li.changed").filter(has_text=FLOW)).to_have_count(1)
    expect(page.locator(f"g.djs-shape[data-element-id='{task_id}'].petiflow-diff-added")).to_have_count(1)
    shoot("designer-changes-zh")
    page.get_by_role("button", name="部署為第 2 版").click()

    expect(page).to_have_url(re.compile(r"/designer$"))
    expect(page.get_by_role("status")).to_contain_text("已部署為第 2 版")
    expect(petition.locator("tr[data-version='2'] td.running")).to_have_text("0")
    expect(petition.locator("tr[data-version='1'] td.running")).to_have_text("3")
    shoot("designer-deployed-zh")

    # Version 1 is read-only now.
    petition.get_by_role("link", name=re.compile("檢視 人民陳情.* 第 1 版")).click()
    expect(page.locator("#designer.ready")).to_have_count(1)
    expect(page.locator("#read-only-note")).to_contain_text("較早的版本不能修改")
    expect(page.locator(".djs-palette")).to_have_count(0)
    shoot("designer-version-1-read-only-zh")
    # The one inline style refused is the properties panel's own (petiflow.css sets it instead).
    assert all("style-src-attr" in v for v in page.evaluate("window.__csp"))

    # The running cases move to version 2 after a dry run.
    page.goto(f"{live_server}/designer")
    petition.get_by_role("link", name=re.compile("移轉進行中案件.*第 1 版")).click()
    expect(page.get_by_role("heading", level=2, name=re.compile("第 1 版有 3 件進行中"))).to_be_visible()
    movable = page.get_by_role("checkbox", name=re.compile("^移轉 P"))
    expect(movable).to_have_count(3)
    shoot("designer-migration-dry-run-zh")
    page.get_by_role("button", name="移轉勾選的 3 件").click()
    expect(page.get_by_role("heading", name=re.compile("已移轉 3 件，不能移轉 0 件，失敗 0 件"))).to_be_visible()
    page.goto(f"{live_server}/designer")
    expect(petition.locator("tr[data-version='2'] td.running")).to_have_text("3")
    expect(petition.locator("tr[data-version='1'] td.running")).to_have_text("0")


def test_the_designer_pages_work_in_english(live_server, page, shoot):
    sign_in(page, live_server, "designer", next_path="/designer")
    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("heading", level=1, name="Processes")).to_be_visible()
    page.get_by_role("link", name=re.compile("Edit the latest version: 人民陳情")).click()
    expect(page.locator("#designer.ready")).to_have_count(1)
    expect(page.get_by_role("button", name="Check with the server")).to_be_visible()
    page.locator("g.djs-shape[data-element-id='draft_reply']").click()
    _open_group(page, "Form and assignment")
    expect(page.get_by_label("Form (JSON Schema)")).to_have_value("petition_draft_reply.json")
    shoot("designer-edit-en")


def test_others_are_refused_the_designer(live_server, page):
    sign_in(page, live_server, "cw.roads", next_path="/inbox")
    expect(page.get_by_role("link", name="流程")).to_have_count(0)
    answer = page.goto(f"{live_server}/designer")
    assert answer.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("沒有權限")


def test_the_properties_panel_shows_what_petiflow_reads(live_server, page, shoot):
    sign_in(page, live_server, "designer", next_path="/designer/petition/edit")
    expect(page.locator("#designer.ready")).to_have_count(1)

    # A service task: its engine action, described, and its parameters.
    page.locator("g.djs-shape[data-element-id='log_closure']").click()
    _open_group(page, "引擎動作")
    expect(page.locator("#bio-properties-panel-petiflow-action-name")).to_have_value("record_event")
    expect(page.locator("#bio-properties-panel-petiflow-result-variable")).to_have_value("action_result")
    _open_group(page, "動作參數")
    expect(page.locator("#bio-properties-panel-petiflow-parameter-0-name")).to_have_value("kind")
    expect(page.locator("#bio-properties-panel-petiflow-parameter-0-value")).to_have_value('"closed_without_processing"')
    shoot("designer-service-task-zh")

    # Choosing an action that is not there is impossible; emptying one is a lint error on the task.
    page.locator("#bio-properties-panel-petiflow-action-name").select_option("")
    expect(page.locator("#problems li.error").filter(has_text="log_closure")) \
        .to_contain_text("服務任務必須呼叫一個引擎動作")
    page.locator("#bio-properties-panel-petiflow-action-name").select_option("record_event")
    expect(page.locator("#problems li.error")).to_have_count(0)

    # A timer: when it fires, as an expression over the task data.
    page.locator("g.djs-shape[data-element-id='reply_overdue']").click()
    _open_group(page, "計時器")
    expect(page.locator("#bio-properties-panel-petiflow-timer-kind")).to_have_value("timeDate")
    expect(page.locator("#bio-properties-panel-petiflow-timer-expression")).to_have_value("reply_due")

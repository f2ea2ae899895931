"""The tracked items page: the agenda, the counts, and the list, each reader seeing what is theirs."""
from __future__ import annotations

import json
from zoneinfo import ZoneInfo

from werkzeug.datastructures import MultiDict

from api.web.form_fields import data_from
from engine.settings import PROJECT_ROOT
from tests.web.conftest import text_of


def test_the_commission_sees_every_item_the_agenda_and_the_counts(sign_in):
    page = sign_in("reviewer").get("/tracked")
    assert page.status_code == 200
    text = text_of(page.get_data(as_text=True))
    assert "列管案件" in text and "重大工程進度管制研商會議議程" in text
    agenda = text.split("重大工程進度管制研商會議議程")[1].split("全部列管案件")[0]
    assert "大園區污水下水道系統第二期工程 應提專案檢討報告" in agenda and "龜山區文化一路拓寬工程" in agenda
    assert "中壢火車站前廣場改善工程" not in agenda
    assert "原楊梅國中報廢宿舍A棟" in text and "公共運輸發展策略委託研究" in text


def test_an_agency_sees_its_own_items_and_the_filters_narrow_the_list(sign_in):
    staff = sign_in("cw.roads")
    text = text_of(staff.get("/tracked").get_data(as_text=True))
    assert "中壢火車站前廣場改善工程" in text and "智慧路燈汰換計畫" in text
    assert "大園區污水下水道系統第二期工程" not in text
    listed = text_of(staff.get("/tracked?kind=project_manager&status=tracking").get_data(as_text=True))
    assert "智慧路燈汰換計畫" in listed.split("全部列管案件")[1]
    assert "中壢火車站前廣場改善工程" not in listed.split("全部列管案件")[1]
    assert staff.get("/tracked?kind=nonsense").status_code == 200


def test_a_plan_and_a_report_in_percent_are_read_from_the_task_form_as_numbers():
    forms = PROJECT_ROOT / "workflows" / "forms"
    plan = json.loads((forms / "tracked_plan.json").read_text(encoding="utf-8"))
    report = json.loads((forms / "tracked_progress.json").read_text(encoding="utf-8"))
    zone = ZoneInfo("Asia/Taipei")
    assert data_from(plan, MultiDict({"planned_percents": "10\n25.5\n 100 \n"}), zone)["planned_percents"] == [
        10, 25.5, 100]
    assert data_from(report, MultiDict({"actual_percent": "45.5"}), zone)["actual_percent"] == 45.5
    assert data_from(report, MultiDict({"actual_percent": "nan"}), zone)["actual_percent"] == "nan"

"""The tracked-item endpoints (/api/v1/tracked-items): register, plan, report, visit, release, agenda, counts."""
from __future__ import annotations

import pytest

from api.app import create_app
from engine.services.steps import RunInstance, run_instance
from engine.settings import PROJECT_ROOT
from engine.store.schema import workflow_instances
from tests.api.conftest import ApiCity
from tests.unit.queries_city import build_city, taipei

BASE = "/api/v1/tracked-items"
REGISTER = {"kind": "major_project", "title": "中壢火車站前廣場改善工程", "agency_code": "public_works",
            "start_month": "2026-11", "end_month": "2027-01", "budget": 480_000_000}


@pytest.fixture
def api(runtime, clock) -> ApiCity:
    """The small city with the shipped tracked_item process deployed."""
    source = (PROJECT_ROOT / "workflows" / "tracked_item.bpmn").read_text(encoding="utf-8")
    city = build_city(runtime, clock, {"tracked_item.bpmn": source})
    return ApiCity(city.runtime, city.clock, app=create_app(runtime=runtime))


def _open_rounds(api):
    """The scheduler's part: fire the rounds that are due."""
    api.clock.set(taipei(1, 8, 31, month=12))
    with api.runtime.db.connect() as conn:
        ids = conn.execute(workflow_instances.select().with_only_columns(workflow_instances.c.id)).scalars().all()
    for instance_id in ids:
        with api.runtime.uow() as uow:
            run_instance(RunInstance(instance_id, reason="timer"), uow)
            uow.commit()


def test_an_item_is_registered_planned_reported_and_released_over_the_api(api):
    reviewer, caseworker = api.as_("reviewer"), api.as_("cw.roads")
    made = reviewer.post(BASE, json=REGISTER)
    assert made.status_code == 201, made.json
    case_id = made.json["case_id"]
    assert made.json["case_no"].startswith("T")
    assert caseworker.post(f"{BASE}/{case_id}/plan", json={"planned_percents": [30, 60, 100]}).status_code == 200
    approved = reviewer.post(f"{BASE}/{case_id}/plan/review", json={"approve": True})
    assert approved.status_code == 200 and approved.json["opened"] == []
    early = caseworker.post(f"{BASE}/{case_id}/progress", json={"actual_percent": 10})
    assert early.status_code == 409 and "progress_report" in early.json["message"]
    _open_rounds(api)
    reported = caseworker.post(f"{BASE}/{case_id}/progress", json={"actual_percent": 15, "note": "基礎開挖"})
    assert reported.status_code == 200
    # 30 planned, 15 done: on the meeting's agenda, behind by 15
    (on_agenda,) = reviewer.get(f"{BASE}/agenda").json
    assert (on_agenda["case_id"], on_agenda["gap_percent"], on_agenda["bucket"]) == (case_id, 15, "behind_10_or_more")
    shown = reviewer.get(f"{BASE}/{case_id}").json
    assert [p["planned_percent"] for p in shown["plan"]] == [30, 60, 100]
    assert [(r["period"], r["actual_percent"]) for r in shown["reports"]] == [("2026-11-01", 15)]
    visit = reviewer.post(f"{BASE}/{case_id}/site-visits", json={"visited_on": "2026-12-02", "findings": "工地整潔"})
    assert visit.status_code == 201
    counts = reviewer.get(f"{BASE}/counts", query_string={"year": 2026}).json
    assert counts["total"]["behind_10_or_more"] == 1 and counts["by_agency"]["public_works"]["tracked"] == 1


def test_a_release_asked_and_approved_closes_the_item(api):
    reviewer, caseworker = api.as_("reviewer"), api.as_("cw.roads")
    case_id = reviewer.post(BASE, json=REGISTER).json["case_id"]
    caseworker.post(f"{BASE}/{case_id}/plan", json={"planned_percents": [30, 60, 100]})
    reviewer.post(f"{BASE}/{case_id}/plan/review", json={"approve": True})
    _open_rounds(api)
    asked = caseworker.post(f"{BASE}/{case_id}/progress", json={
        "actual_percent": 100, "closure_request": "release", "closure_reason": "提前完工"})
    assert asked.status_code == 200
    assert reviewer.post(f"{BASE}/{case_id}/cancel", json={}).status_code == 409
    released = reviewer.post(f"{BASE}/{case_id}/release", json={"comment": "同意"})
    assert released.status_code == 200 and released.json["status"] == "completed"
    assert reviewer.get(BASE, query_string={"status": "released"}).json[0]["case_id"] == case_id
    assert reviewer.get(f"{BASE}/counts").json["total"]["released"] == 1


def test_bad_input_and_the_wrong_caller_are_refused_and_change_nothing(api):
    reviewer, caseworker = api.as_("reviewer"), api.as_("cw.roads")
    assert reviewer.post(BASE, json={**REGISTER, "start_month": "2026-13"}).status_code == 422
    small = reviewer.post(BASE, json={**REGISTER, "budget": 5_000_000})
    assert small.status_code == 400, small.json
    assert "budget" in small.json["errors"]["fields"]
    assert reviewer.post(BASE, json={**REGISTER, "agency_code": "nowhere"}).status_code == 400
    assert caseworker.post(BASE, json=REGISTER).status_code == 403
    assert reviewer.get(BASE).json == []
    case_id = reviewer.post(BASE, json=REGISTER).json["case_id"]
    bad_plan = caseworker.post(f"{BASE}/{case_id}/plan", json={"planned_percents": [60, 30, 100]})
    assert bad_plan.status_code == 400 and "planned_percents" in bad_plan.json["errors"]["fields"]
    assert api.as_("cw.signals").get(f"{BASE}/{case_id}").status_code == 404
    assert reviewer.get(f"{BASE}/999999").status_code == 404

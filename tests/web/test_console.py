"""The 1999 console: a call recorded and acted on in one step, its routing shown first, a refused form keeping nothing."""
from __future__ import annotations

from sqlalchemy import func, select

from engine.store.schema import cases, petitioners
from tests.web.conftest import text_of

CALL = {"call_topic": "dispatch_report", "call_summary": "交通號誌不亮", "call_outcome": "dispatch",
        "case_category": "traffic_signal", "case_district": "中壢", "case_subject": "環中東路號誌不亮",
        "caller_name": "李先生", "caller_phone": "0911-222-333"}


def _counts(runtime):
    with runtime.uow(read_only=True) as uow:
        return (uow.conn.execute(select(func.count()).select_from(cases)).scalar(),
                uow.conn.execute(select(func.count()).select_from(petitioners)).scalar())


def test_the_routing_a_case_would_get_is_the_decision_tables(sign_in):
    operator = sign_in("operator")
    found = operator.get("/console/routing?call_outcome=dispatch&case_category=traffic_signal&case_district=中壢")
    assert found.get_json() == {"found": True, "agency": "交通局", "unit": "交通工程科", "trusted": True}
    assert operator.get("/console/routing?call_outcome=answered&case_category=traffic_signal").get_json() == {
        "found": False}
    without_js = operator.post("/console", {**CALL, "action": "suggest"})
    assert without_js.status_code == 200 and "交通局 · 交通工程科" in text_of(without_js.get_data(as_text=True))


def test_a_call_that_opens_a_dispatch_case_records_both_at_once(demo_runtime, sign_in):
    before = _counts(demo_runtime)
    operator = sign_in("operator")
    saved = operator.post("/console", {**CALL, "action": "save"})
    assert saved.status_code == 302 and saved.location == "/console"
    told = text_of(operator.get("/console").get_data(as_text=True))
    # The call and its dispatch case are the next two cases after the demo's
    assert f"H20261126{before[0] + 1:06d}" in told and f"D20261126{before[0] + 2:06d}" in told
    assert _counts(demo_runtime) == (before[0] + 2, before[1] + 1)  # the call, the dispatch case, one caller
    signals = text_of(sign_in("cw.signals").get("/inbox").get_data(as_text=True))
    assert "環中東路號誌不亮" in signals


def test_a_refused_call_form_comes_back_at_its_fields_and_keeps_nothing(demo_runtime, sign_in):
    before = _counts(demo_runtime)
    refused = sign_in("operator").post("/console", {**CALL, "case_subject": "", "action": "save"})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422 and 'id="f-case_subject-errors"' in page and "必填" in page
    assert 'value="李先生"' in page  # what the operator typed is still there
    assert _counts(demo_runtime) == before


def test_only_operators_have_the_console(sign_in):
    caseworker = sign_in("cw.roads")
    assert "/console" not in caseworker.get("/inbox").get_data(as_text=True)
    assert caseworker.get("/console").status_code == 403
    assert caseworker.post("/console", {**CALL, "action": "save"}).status_code == 403

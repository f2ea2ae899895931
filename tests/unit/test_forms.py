"""Form validation: JSON Schemas from workflows/forms, every invalid field reported at once."""
import json
import os

import pytest
from sqlalchemy import select

from engine.accounts.identity import SYSTEM
from engine.errors import InvalidDefinition, InvalidInput
from engine.services.cases import StartCase, start_case
from engine.services.deployment import DeployBundle, deploy_bundle
from engine.services.work import CompleteWorkItem, complete_work_item
from engine.settings import PROJECT_ROOT
from engine.store.schema import work_items, workflow_instances
from engine.workflow import forms

FORM = {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "測試", "type": "object",
        "additionalProperties": False, "required": ["name"],
        "properties": {"name": {"type": "string", "title": "姓名", "maxLength": 5}}}


def fields(form_key, data, forms_dir=None) -> dict:
    with pytest.raises(InvalidInput) as caught:
        forms.validate_form(form_key, data, forms_dir)
    return caught.value.details["fields"]


def test_valid_data_passes():
    forms.validate_form("petition_approve_reply.json", {"approval_decision": "approve"})


def test_no_form_key_means_nothing_to_check():
    forms.validate_form(None, {"anything": object()})
    forms.validate_form("", {})


def test_an_unknown_form_is_refused_by_name():
    with pytest.raises(InvalidInput) as caught:
        forms.validate_form("no_such_form.json", {})
    assert "no_such_form.json" in caught.value.message


@pytest.mark.parametrize("key", ["../settings.json", "forms/x.json", "x.yaml", ".hidden.json"])
def test_a_form_key_that_is_not_a_plain_file_name_is_refused(key):
    with pytest.raises(InvalidInput):
        forms.validate_form(key, {})


def test_every_invalid_field_is_reported_at_once():
    assert fields("petition_draft_reply.json", {
        "draft_action": "request_co_handling", "co_agencies": ["water", "Water!", "water"],
        "reply_text": "x" * 4001, "trusted": True}) == {
        "co_agencies": ["items must not repeat"],
        "co_agencies.1": ["does not match the pattern ^[a-z][a-z0-9_]{1,39}$"],
        "reply_text": ["at most 4000 characters"],
        "trusted": ["not a field of this form"]}


def test_missing_fields_are_named_themselves_including_conditional_ones():
    assert fields("petition_confirm_routing.json", {"routing_decision": "merge"}) == {"duplicate_of": ["required"]}
    assert fields("petition_survey.json", {}) == {"satisfaction": ["required"], "survey_channel": ["required"]}


def test_errors_inside_lists_of_objects_name_their_position():
    assert fields("site_minutes.json", {"minutes": "紀錄", "follow_up_items": [
        {"item": "加蓋", "agency_code": "water"}, {"item": "", "due_date": "12/31"}]}) == {
        "follow_up_items.1.agency_code": ["required"],
        "follow_up_items.1.due_date": ["must be a valid date"],
        "follow_up_items.1.item": ["must not be empty"]}


@pytest.mark.parametrize("value, ok", [("2026-12-01T17:30:00+08:00", True), ("2026-12-01T09:30:00Z", True),
                                       ("2026-12-01T17:30:00", False), ("2026-12-01", False), ("明天", False)])
def test_date_times_need_a_time_zone(value, ok):
    data = {"draft_action": "request_supplement", "supplement_request": "請補地址", "supplement_due": value}
    if ok:
        forms.validate_form("petition_draft_reply.json", data)
    else:
        assert fields("petition_draft_reply.json", data) == {
            "supplement_due": ["must be an ISO 8601 date and time with a time zone"]}


def test_enum_and_type_errors_say_what_is_allowed():
    assert fields("council_review_reply.json", {"review_decision": "maybe", "comment": "", "keep_tracking": "yes",
                                                "follow_up_kind": "none"}) == {
        "keep_tracking": ["must be of type boolean"], "review_decision": ["must be one of: accept, send_back"]}


def test_forms_are_read_from_the_configured_folder_and_reloaded_when_changed(tmp_path, monkeypatch):
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(FORM), encoding="utf-8")
    monkeypatch.setattr(forms, "FORMS_DIR", tmp_path)
    forms.validate_form("mine.json", {"name": "王"})
    assert fields("mine.json", {"name": "王小明先生你好"}) == {"name": ["at most 5 characters"]}

    path.write_text(json.dumps({**FORM, "properties": {"name": {**FORM["properties"]["name"], "maxLength": 50}}}),
                    encoding="utf-8")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    forms.validate_form("mine.json", {"name": "王小明先生你好"})


def test_a_broken_schema_is_a_definition_error_naming_the_file(tmp_path):
    (tmp_path / "broken.json").write_text(json.dumps({"type": "object", "required": "name"}), encoding="utf-8")
    (tmp_path / "garbled.json").write_text("{not json", encoding="utf-8")
    for name in ("broken.json", "garbled.json"):
        with pytest.raises(InvalidDefinition) as caught:
            forms.validate_form(name, {}, tmp_path)
        assert caught.value.file == f"forms/{name}"


def test_the_default_folder_is_the_shipped_forms():
    assert forms.FORMS_DIR == PROJECT_ROOT / "workflows" / "forms"


def test_completing_a_work_item_checks_its_form_before_touching_the_case(runtime):
    hotline = (PROJECT_ROOT / "workflows" / "hotline.bpmn").read_text(encoding="utf-8")
    with runtime.uow() as uow:
        deploy_bundle(DeployBundle({"hotline.bpmn": hotline}), uow)
        started = start_case(StartCase("hotline", channel="1999"), uow)
        uow.commit()
    item_id = started.work_item_ids[0]
    with pytest.raises(InvalidInput) as caught:
        with runtime.uow() as uow:
            complete_work_item(CompleteWorkItem(item_id, {"call_outcome": "petition"}, SYSTEM), uow)
    assert set(caught.value.details["fields"]) == {
        "call_topic", "call_summary", "callback_promised", "case_category", "case_district", "case_subject"}
    with runtime.db.connect() as conn:
        assert conn.execute(select(work_items.c.status)).scalar_one() == "open"
        assert conn.execute(select(workflow_instances.c.version)).scalar_one() == 1

    with runtime.uow() as uow:
        done = complete_work_item(CompleteWorkItem(item_id, {
            "call_topic": "consultation", "call_summary": "詢問停車費", "call_outcome": "answered",
            "callback_promised": False}, SYSTEM), uow)
        uow.commit()
    assert done.status == "completed"

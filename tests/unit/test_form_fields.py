"""Task forms as HTML fields and back: what a caseworker types reaches the schema unchanged in meaning."""
from __future__ import annotations

import json
from zoneinfo import ZoneInfo

import pytest
from werkzeug.datastructures import MultiDict

from api.web.form_fields import data_from, fields_of, unplaced
from engine.errors import InvalidForm
from engine.workflow.forms import FORMS_DIR, validate_form

TAIPEI = ZoneInfo("Asia/Taipei")


def schema(name: str) -> dict:
    return json.loads((FORMS_DIR / name).read_text(encoding="utf-8"))


def by_name(fields):
    return {f.name: f for f in fields}


def test_each_kind_of_field_of_the_draft_reply_form_gets_the_input_it_needs():
    fields = by_name(fields_of(schema("petition_draft_reply.json"), {}, {}, TAIPEI))
    assert fields["draft_action"].kind == "select" and fields["draft_action"].required
    assert fields["draft_action"].options[0] == ("submit_reply", "擬復送核")  # titled by x-enumTitles
    assert fields["reply_text"].kind == "textarea" and fields["reply_text"].max_length == 4000
    assert fields["supplement_due"].kind == "datetime"
    assert fields["extension_days"].kind == "integer"
    assert fields["co_agencies"].kind == "lines"
    assert fields["suggested_agency"].kind == "text" and fields["suggested_agency"].description


def test_a_posted_form_becomes_the_data_its_schema_checks():
    form = MultiDict({"draft_action": "request_extension", "reply_text": "", "extension_days": " 5 ",
                      "extension_reason": "需會同警察局會勘", "supplement_due": "2026-12-01T17:30",
                      "co_agencies": "police\n\n  transport \n"})
    data = data_from(schema("petition_draft_reply.json"), form, TAIPEI)
    assert data == {"draft_action": "request_extension", "extension_days": 5, "extension_reason": "需會同警察局會勘",
                    "supplement_due": "2026-12-01T17:30:00+08:00", "co_agencies": ["police", "transport"]}
    validate_form("petition_draft_reply.json", data)  # accepted as is


def test_an_empty_required_field_and_a_number_that_is_not_one_are_each_refused_at_their_field():
    form = MultiDict({"draft_action": "request_extension", "extension_days": "五", "extension_reason": ""})
    data = data_from(schema("petition_draft_reply.json"), form, TAIPEI)
    assert data["extension_days"] == "五"  # kept as typed: the schema names the field
    with pytest.raises(InvalidForm) as refused:
        validate_form("petition_draft_reply.json", data)
    errors = refused.value.details["fields"]
    assert set(errors) == {"extension_days", "extension_reason"}
    fields = by_name(fields_of(schema("petition_draft_reply.json"), data, errors, TAIPEI))
    assert fields["extension_days"].value == "五" and fields["extension_days"].errors
    assert fields["extension_reason"].errors == ["required"]
    assert fields["reply_text"].errors == []


def test_list_errors_are_shown_at_the_list_and_errors_of_no_field_are_kept_for_the_top_of_the_form():
    errors = {"co_agencies.1": ["does not match"], "bogus": ["not a field of this form"]}
    fields = fields_of(schema("petition_draft_reply.json"), {"co_agencies": ["police", "警察局"]}, errors, TAIPEI)
    assert by_name(fields)["co_agencies"].errors == ["#2: does not match"]
    assert by_name(fields)["co_agencies"].value == "police\n警察局"
    assert unplaced(fields, errors) == ["bogus: not a field of this form"]


def test_rows_of_a_list_of_objects_drop_blank_rows_and_keep_their_errors_at_the_cell():
    minutes = schema("site_minutes.json")
    form = MultiDict({"minutes": "會勘結論", "follow_up_items.0.item": "", "follow_up_items.0.agency_code": "",
                      "follow_up_items.1.item": "補設路燈", "follow_up_items.1.agency_code": "public_works",
                      "follow_up_items.1.due_date": "2026-12-20", "follow_up_items.2.item": "清除雜草"})
    data = data_from(minutes, form, TAIPEI)
    assert data["follow_up_items"] == [{"item": "補設路燈", "agency_code": "public_works", "due_date": "2026-12-20"},
                                       {"item": "清除雜草"}]
    with pytest.raises(InvalidForm) as refused:
        validate_form("site_minutes.json", data)
    errors = refused.value.details["fields"]
    assert "follow_up_items.1.agency_code" in errors
    rows = by_name(fields_of(minutes, data, errors, TAIPEI))["follow_up_items"].rows
    assert [c.name for c in rows[1]][:2] == ["follow_up_items.1.item", "follow_up_items.1.agency_code"]
    assert by_name(rows[1])["follow_up_items.1.agency_code"].errors == ["required"]
    assert len(rows) == 2 + 2  # the two given and two blank rows to add more


def test_a_checkbox_is_false_when_left_unticked_and_a_stored_time_shows_in_taipei():
    call = schema("hotline_record_call.json")
    booleans = [name for name, sub in call["properties"].items() if sub.get("type") == "boolean"]
    assert booleans
    assert data_from(call, MultiDict({}), TAIPEI)[booleans[0]] is False
    assert data_from(call, MultiDict({booleans[0]: "on"}), TAIPEI)[booleans[0]] is True
    reply = fields_of(schema("petition_draft_reply.json"), {"supplement_due": "2026-12-01T09:30:00+00:00"}, {}, TAIPEI)
    assert by_name(reply)["supplement_due"].value == "2026-12-01T17:30"


@pytest.mark.parametrize("name", sorted(p.name for p in FORMS_DIR.glob("*.json")))
def test_every_shipped_form_renders_and_an_empty_post_reads_back_as_no_data(name):
    form = schema(name)
    fields = fields_of(form, {}, {}, TAIPEI)
    assert {f.name for f in fields} == set(form["properties"])
    posted = MultiDict({f.name: "" for f in fields if f.kind not in ("checkbox", "rows")})
    assert all(value is False for value in data_from(form, posted, TAIPEI).values())


def test_a_field_needed_only_for_some_choices_says_which():
    reply = by_name(fields_of(schema("petition_draft_reply.json"), {}, {}, TAIPEI))
    assert reply["reply_text"].needed_when == "draft_action=submit_reply"
    assert reply["extension_days"].needed_when == "draft_action=request_extension"
    assert reply["draft_action"].needed_when is None and reply["legal_basis"].needed_when is None
    call = by_name(fields_of(schema("hotline_record_call.json"), {}, {}, TAIPEI))
    assert call["case_subject"].needed_when == "call_outcome=petition dispatch"
    assert call["transferred_to"].needed_when == "call_outcome=transferred"


def test_a_recorded_moment_is_shown_in_the_citys_time_and_other_values_as_they_are(runtime):
    from api.app import create_app
    from api.web.pages import shown
    with create_app(runtime=runtime).app_context():
        assert shown("2026-12-04T09:30:00+00:00") == "2026-12-04 17:30"
        assert shown("2026-12-04T09:30:00") == "2026-12-04T09:30:00"  # no offset: not a moment we can place
        assert shown("petition.default") == "petition.default" and shown(6) == "6"

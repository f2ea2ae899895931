"""The 1999 hotline process: every way a call can end, with and without a promised callback."""
import pytest

from engine.errors import InvalidInput

CALL = {"call_topic": "consultation", "call_summary": "詢問垃圾車收運時間", "callback_promised": False}


def record(library, **answers):
    started = library.start("hotline", channel="1999")
    record_call = library.item(started.case_id, "record_call")
    assert (record_call.role, record_call.agency_id) == ("operator", None)
    return started, library.complete(record_call.id, {**CALL, **answers})


def test_a_call_answered_on_the_spot_ends_with_the_call(library):
    started, done = record(library, call_outcome="answered")
    assert done.status == "completed" and library.case(started.case_id).status == "closed"
    assert library.data(started.case_id)["outcome"] == "answered"


def test_a_transferred_call_records_where_it_went(library):
    started, done = record(library, call_topic="transfer_request", call_outcome="transferred",
                           transferred_to="地政局 03-3322101")
    assert done.status == "completed"
    assert library.events(started.case_id, "call_transferred") == [{"to": "地政局 03-3322101"}]
    assert library.data(started.case_id)["outcome"] == "transferred"


@pytest.mark.parametrize("case_type", ["petition", "dispatch"])
def test_a_call_can_ask_for_a_new_linked_case(library, case_type):
    started, done = record(library, call_topic="complaint", call_outcome=case_type, case_category="road_pothole",
                           case_district="龜山", case_subject="文化一路坑洞")
    assert done.status == "completed"
    (opened,) = library.events(started.case_id, "linked_case_opened")
    assert opened["case_type"] == case_type
    data = library.data(started.case_id)
    assert (data["open_case_type"], data["outcome"]) == (case_type, f"opened_{case_type}")
    assert data["linked_case"]["case_no"] == opened["case_no"]
    new = library.case(data["linked_case"]["case_id"])
    assert (new.case_type, new.channel, new.category, new.district, new.subject) == (
        case_type, "1999", "road_pothole", "龜山", "文化一路坑洞")
    assert new.petitioner_id == library.case(started.case_id).petitioner_id
    (first,) = library.open_items(new.id)  # the new case is already at work
    assert library.data(new.id, first)["linked_from"] == library.case(started.case_id).case_no


def test_a_promised_callback_becomes_an_operator_task(library):
    started, done = record(library, call_outcome="answered", callback_promised=True,
                           callback_note="查明收運路線後回電")
    callback = library.item(started.case_id, "call_back")
    assert (callback.role, callback.agency_id) == ("operator", None)
    assert library.case(started.case_id).status == "open"
    done = library.complete(callback.id, {"callback_result": "reached", "callback_note": "已告知週二、五收運"})
    assert done.status == "completed"


def test_a_new_case_is_asked_for_at_once_even_when_a_callback_is_pending(library):
    started, _ = record(library, call_outcome="dispatch", case_category="streetlight", case_district="桃園",
                        case_subject="中山路路燈不亮", callback_promised=True)
    assert library.open_tasks(started.case_id) == ["call_back"]
    assert len(library.events(started.case_id, "linked_case_opened")) == 1
    library.complete(library.item(started.case_id, "call_back").id, {"callback_result": "not_reached"})
    assert library.case(started.case_id).status == "closed"


def test_a_new_case_needs_its_category_district_and_subject(library):
    started = library.start("hotline", channel="1999")
    with pytest.raises(InvalidInput) as caught:
        library.complete(library.item(started.case_id, "record_call").id, {**CALL, "call_outcome": "petition"})
    assert set(caught.value.details["fields"]) == {"case_category", "case_district", "case_subject"}

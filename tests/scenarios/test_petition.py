"""The petition process (陳情), every path, driven through the engine services step by step."""
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import delete, select

from engine.errors import InvalidInput, WorkflowFailed
from engine.store.schema import deadline_rules, timers

SUBMIT = {"draft_action": "submit_reply", "reply_text": "本局已於 11 月 27 日完成路面修補。",
          "legal_basis": "市區道路條例第 9 條"}
APPROVE = {"approval_decision": "approve"}
SATISFIED = {"satisfaction": "satisfied", "survey_channel": "web"}
UNSATISFIED = {"satisfaction": "very_unsatisfied", "survey_channel": "phone", "survey_comment": "坑洞仍在"}


def open_pothole_petition(library, **kw):
    """A web petition whose category and district the routing rules trust: it goes straight to the agency."""
    kw.setdefault("channel", "web")
    kw.setdefault("category", "road_pothole")
    kw.setdefault("district", "桃園")
    return library.start("petition", subject="中正路路面坑洞", **kw)


def reply_approve(library, case_id, draft=SUBMIT):
    """Caseworker drafts, supervisor approves: the reply goes out and the survey opens."""
    library.complete(library.item(case_id, "draft_reply").id, draft)
    return library.complete(library.item(case_id, "approve_reply").id, APPROVE)


def test_trusted_routing_sends_the_case_to_the_agency_and_a_satisfied_citizen_closes_it(library):
    started = open_pothole_petition(library)
    draft = library.item(started.case_id, "draft_reply")
    works = library.agency_id("public_works")
    assert (draft.role, draft.agency_id) == ("caseworker", works)
    assert library.case(started.case_id).agency_id == works
    assert library.events(started.case_id, "case_transferred")[0]["reason"] == "依分文規則"

    library.complete(draft.id, SUBMIT)
    approve = library.item(started.case_id, "approve_reply")
    assert (approve.role, approve.agency_id) == ("supervisor", works)
    library.complete(approve.id, APPROVE)
    survey = library.item(started.case_id, "record_survey")
    assert (survey.role, survey.agency_id) == ("operator", None)
    done = library.complete(survey.id, SATISFIED)

    assert done.status == "completed"
    assert library.case(started.case_id).status == "closed"
    data = library.data(started.case_id)
    assert (data["outcome"], data["reply_round"], data["reply_sent"]) == ("replied", 1, True)


def test_the_reply_deadline_comes_from_the_deadline_rules(library):
    started = open_pothole_petition(library)
    draft = library.item(started.case_id, "draft_reply")
    data = library.data(started.case_id, draft)
    assert data["reply_due"] == data["due_at"] == data["deadline"]["due_at"]
    assert datetime.fromisoformat(data["reply_due"]) == draft.due_at == library.case(started.case_id).due_at


def test_untrusted_routing_asks_the_dispatcher_who_overrides_the_agency(library):
    started = library.start("petition", channel="mail", category="noise", district="中壢")
    confirm = library.item(started.case_id, "confirm_routing")
    assert (confirm.role, confirm.agency_id) == ("dispatcher", None)
    assert library.data(started.case_id, confirm)["agency_code"] == "environment"

    library.complete(confirm.id, {"routing_decision": "route", "agency_code": "police", "unit_code": "traffic",
                                  "routing_note": "鄰居噪音由警察局處理"})
    draft = library.item(started.case_id, "draft_reply")
    assert draft.agency_id == library.agency_id("police")
    assert library.events(started.case_id, "case_transferred")[0]["reason"] == "分文人員確認"


def test_an_unknown_category_falls_to_the_catch_all_rule_and_the_dispatcher(library):
    started = library.start("petition", channel="1999", category="something_new", district="復興")
    confirm = library.item(started.case_id, "confirm_routing")
    data = library.data(started.case_id, confirm)
    assert (data["agency_code"], data["unit_code"], data["trusted"]) == ("rdec", "petitions", False)


def test_dispatcher_closes_a_petition_without_processing_under_article_173(library):
    started = library.start("petition", channel="email", category="other", district="桃園")
    done = library.complete(library.item(started.case_id, "confirm_routing").id,
                            {"routing_decision": "close", "close_ground": "no_content_or_identity"})
    assert done.status == "completed" and library.case(started.case_id).status == "closed"
    assert library.events(started.case_id, "closed_without_processing") == [{"ground": "no_content_or_identity"}]
    assert library.data(started.case_id)["outcome"] == "closed_without_processing"
    assert library.events(started.case_id, "case_closed") == [{"outcome": "closed_without_processing"}]


def test_dispatcher_merges_a_duplicate_into_the_earlier_case(library):
    started = library.start("petition", channel="web", category="other", district="桃園")
    library.complete(library.item(started.case_id, "confirm_routing").id,
                     {"routing_decision": "merge", "duplicate_of": "P20261120000042"})
    assert library.case(started.case_id).status == "closed"
    assert library.events(started.case_id, "merged") == [{"into": "P20261120000042"}]
    data = library.data(started.case_id)
    assert (data["outcome"], data["merged_into"]) == ("merged", "P20261120000042")


def test_supervisor_returns_the_draft_and_approves_the_second(library):
    started = open_pothole_petition(library)
    library.complete(library.item(started.case_id, "draft_reply").id, SUBMIT)
    library.complete(library.item(started.case_id, "approve_reply").id,
                     {"approval_decision": "return", "approval_comment": "請說明修補日期"})
    redraft = library.item(started.case_id, "draft_reply")
    assert redraft.role == "caseworker"
    library.complete(redraft.id, {**SUBMIT, "reply_text": "本局已於 11 月 27 日上午完成修補。"})
    library.complete(library.item(started.case_id, "approve_reply").id, APPROVE)
    assert library.open_tasks(started.case_id) == ["record_survey"]


def test_unsatisfied_citizen_is_reviewed_and_sent_back_for_a_new_reply(library):
    started = open_pothole_petition(library)
    reply_approve(library, started.case_id)
    library.complete(library.item(started.case_id, "record_survey").id, UNSATISFIED)
    review = library.item(started.case_id, "review_unsatisfied")
    assert (review.role, review.agency_id) == ("reviewer", None)
    library.complete(review.id, {"review_decision": "send_back", "review_note": "答復未說明何時修補"})

    reply_approve(library, started.case_id)
    done = library.complete(library.item(started.case_id, "record_survey").id, SATISFIED)
    assert done.status == "completed"
    assert library.data(started.case_id)["reply_round"] == 2


def _send_back(library, clock, case_id):
    """The reply goes out, the citizen answers the survey unsatisfied ten days on, the reviewer sends it back."""
    reply_approve(library, case_id)
    clock.advance(days=10)  # Sunday 2026-12-06, past the first round's due time
    library.complete(library.item(case_id, "record_survey").id, UNSATISFIED)
    library.complete(library.item(case_id, "review_unsatisfied").id,
                     {"review_decision": "send_back", "review_note": "答復未說明何時修補"})
    return library.item(case_id, "draft_reply")


def test_a_reply_sent_back_gets_a_new_round_of_the_rules_deadline_not_an_overdue_one(library, clock):
    started = open_pothole_petition(library)
    first_due = library.case(started.case_id).due_at
    redraft = _send_back(library, clock, started.case_id)
    # 6 working days from the working day after receipt: received Sunday, counted from Tuesday 12-08.
    due = datetime(2026, 12, 15, 9, 30, tzinfo=timezone.utc)  # Tuesday 17:30 in Taipei
    assert first_due < clock.now()
    assert redraft.due_at == library.case(started.case_id).due_at == due
    data = library.data(started.case_id, redraft)
    assert datetime.fromisoformat(data["reply_due"]) == due and data["deadline"]["extensions"] == 0
    (restarted,) = library.events(started.case_id, "deadline_restarted")
    assert (restarted["reason"], restarted["due_at"]) == ("答復未說明何時修補", due.isoformat())
    with library.runtime.db.connect() as conn:  # nothing fires at once: no reminder or rung in the past
        pending = conn.execute(select(timers.c.kind, timers.c.due_at).where(
            timers.c.case_id == started.case_id, timers.c.status == "pending")).all()
    assert {kind for kind, _ in pending} == {"reminder", "escalation", "bpmn_timer"}
    assert min(at for _, at in pending) > clock.now()


def test_a_sent_back_reply_of_a_case_no_rule_covers_gets_the_diagrams_calendar_days(library, clock):
    with library.runtime.db.begin() as conn:
        conn.execute(delete(deadline_rules))
    started = open_pothole_petition(library)
    assert library.case(started.case_id).due_at is None
    redraft = _send_back(library, clock, started.case_id)
    data = library.data(started.case_id, redraft)
    assert data["deadline"] is None and redraft.due_at is None
    assert datetime.fromisoformat(data["reply_due"]) == clock.now() + timedelta(days=6)
    assert library.events(started.case_id, "deadline_restarted") == []


def test_reviewer_closes_an_unsatisfied_case_whose_reply_was_sound(library):
    started = open_pothole_petition(library)
    reply_approve(library, started.case_id)
    library.complete(library.item(started.case_id, "record_survey").id, UNSATISFIED)
    done = library.complete(library.item(started.case_id, "review_unsatisfied").id,
                            {"review_decision": "close", "review_note": "答復內容正確，依法無從辦理"})
    assert done.status == "completed"
    assert library.data(started.case_id)["outcome"] == "closed_after_review"


def test_an_unanswered_survey_closes_the_case_when_the_survey_window_ends(library, clock):
    started = open_pothole_petition(library, data={"survey_days": 7})
    reply_approve(library, started.case_id)
    assert library.open_tasks(started.case_id) == ["record_survey"]
    # Scripts and timers read the step's clock: the survey is due 7 days after the reply went out.
    survey = library.item(started.case_id, "record_survey")
    assert datetime.fromisoformat(library.data(started.case_id, survey)["survey_due"]) == clock.now() + timedelta(days=7)
    clock.advance(days=6, hours=23)
    library.run(started.instance_id)
    assert library.case(started.case_id).status != "closed"
    clock.advance(hours=2)
    library.run(started.instance_id)
    assert library.case(started.case_id).status == "closed"
    data = library.data(started.case_id)
    assert (data["outcome"], data["survey_answered"]) == ("replied", False)


def test_citizen_supplements_the_petition_while_the_clock_stops(library, clock):
    started = open_pothole_petition(library)
    library.complete(library.item(started.case_id, "draft_reply").id, {
        "draft_action": "request_supplement", "supplement_request": "請提供坑洞的確切位置或照片",
        "supplement_due": "2026-12-10T17:30:00+08:00"})
    wait = library.item(started.case_id, "wait_supplement")
    assert (wait.role, wait.agency_id) == ("caseworker", library.agency_id("public_works"))
    assert "2026-12-10T17:30:00+08:00" in library.data(started.case_id, wait)["supplement_notice"]
    assert library.case(started.case_id).due_at is None
    assert library.events(started.case_id, "clock_paused") == [{"reason": "請提供坑洞的確切位置或照片"}]

    clock.advance(days=7)
    library.complete(wait.id, {"supplement_text": "位於中正路 100 號前，附照片", "supplement_received_via": "web"})
    draft = library.item(started.case_id, "draft_reply")
    data = library.data(started.case_id, draft)
    assert data["reply_due"] == data["deadline"]["due_at"]
    assert datetime.fromisoformat(data["reply_due"]) > datetime.fromisoformat(data["due_at"])
    assert library.case(started.case_id).due_at == draft.due_at == datetime.fromisoformat(data["reply_due"])


def test_no_supplement_by_the_due_date_closes_the_case(library, clock):
    started = open_pothole_petition(library)
    library.complete(library.item(started.case_id, "draft_reply").id, {
        "draft_action": "request_supplement", "supplement_request": "請提供地址",
        "supplement_due": "2026-12-03T17:30:00+08:00"})
    wait = library.item(started.case_id, "wait_supplement")
    clock.advance(days=8)
    result = library.run(started.instance_id)
    assert wait.id in result.cancelled and library.open_items(started.case_id) == []
    assert library.case(started.case_id).status == "closed"
    assert library.data(started.case_id)["outcome"] == "closed_no_supplement"


def test_approved_extension_moves_the_deadline_and_tells_the_citizen_why(library):
    started = open_pothole_petition(library)
    library.complete(library.item(started.case_id, "draft_reply").id, {
        "draft_action": "request_extension", "extension_days": 5, "extension_reason": "需會同台電現場確認"})
    approve = library.item(started.case_id, "approve_extension")
    assert approve.role == "supervisor"
    library.complete(approve.id, {"extension_decision": "approve"})

    draft = library.item(started.case_id, "draft_reply")
    data = library.data(started.case_id, draft)
    # Due Friday 4 December 17:30; five working days later is Friday 11 December.
    assert data["due_at"] == "2026-12-04T09:30:00+00:00"
    assert datetime.fromisoformat(data["reply_due"]) == datetime.fromisoformat("2026-12-11T17:30:00+08:00")
    assert library.case(started.case_id).due_at == draft.due_at == datetime.fromisoformat(data["reply_due"])
    assert data["extension_count"] == 1 and "需會同台電現場確認" in data["extension_notice"]
    (extended,) = library.events(started.case_id, "deadline_extended")
    assert extended["reason"] == "需會同台電現場確認"


def test_an_extension_past_the_rule_caps_is_refused_and_changes_nothing(library):
    started = open_pothole_petition(library)
    library.complete(library.item(started.case_id, "draft_reply").id, {
        "draft_action": "request_extension", "extension_days": 24, "extension_reason": "待中央函釋"})
    approve = library.item(started.case_id, "approve_extension")
    version = library.instance(started.case_id).version
    with pytest.raises(WorkflowFailed):
        library.complete(approve.id, {"extension_decision": "approve"})
    assert library.instance(started.case_id).version == version
    assert library.item(started.case_id, "approve_extension").id == approve.id


def test_refused_extension_leaves_the_deadline_alone(library):
    started = open_pothole_petition(library, data={"reply_due": "2026-12-04T17:30:00+08:00"})
    library.complete(library.item(started.case_id, "draft_reply").id, {
        "draft_action": "request_extension", "extension_days": 5, "extension_reason": "案情複雜"})
    library.complete(library.item(started.case_id, "approve_extension").id,
                     {"extension_decision": "refuse", "extension_comment": "請於期限內答復"})
    data = library.data(started.case_id, library.item(started.case_id, "draft_reply"))
    assert data["reply_due"] == "2026-12-04T17:30:00+08:00" and data["extension_count"] == 0


def test_confirmed_transfer_moves_the_case_to_the_other_agency(library):
    started = open_pothole_petition(library, category="traffic_signal")
    assert library.item(started.case_id, "draft_reply").agency_id == library.agency_id("transport")
    library.complete(library.item(started.case_id, "draft_reply").id, {
        "draft_action": "request_transfer", "transfer_reason": "號誌桿位於國道，非本局權責",
        "suggested_agency": "public_works"})
    confirm = library.item(started.case_id, "confirm_transfer")
    assert (confirm.role, confirm.agency_id) == ("dispatcher", None)
    library.complete(confirm.id, {"transfer_decision": "transfer", "transfer_to_agency": "public_works",
                                  "transfer_to_unit": "roads"})

    draft = library.item(started.case_id, "draft_reply")
    assert draft.agency_id == library.agency_id("public_works")
    assert library.case(started.case_id).agency_id == library.agency_id("public_works")
    moved = library.events(started.case_id, "case_transferred")[-1]
    assert moved["reason"] == "號誌桿位於國道，非本局權責"
    data = library.data(started.case_id, draft)
    assert (data["agency_code"], data["previous_agency_code"], data["transfer_count"]) == \
        ("public_works", "transport", 1)


def test_the_case_is_placed_in_the_unit_its_routing_and_transfers_name(library):
    """The routing table's unit (科) is the case's; a transfer names the new agency's, or none."""
    routed = open_pothole_petition(library)
    assert library.unit_code(routed.case_id) == "roads"  # 道路坑洞: 工務局 養護工程科
    lights = open_pothole_petition(library, category="streetlight", district="中壢")
    assert library.unit_code(lights.case_id) == "works"  # 中壢區公所 工務課

    signal = open_pothole_petition(library, category="traffic_signal")
    assert library.unit_code(signal.case_id) == "signals"
    library.complete(library.item(signal.case_id, "draft_reply").id, {
        "draft_action": "request_transfer", "transfer_reason": "號誌桿位於國道，非本局權責"})
    library.complete(library.item(signal.case_id, "confirm_transfer").id,
                     {"transfer_decision": "transfer", "transfer_to_agency": "public_works",
                      "transfer_to_unit": "buildings"})
    assert library.unit_code(signal.case_id) == "buildings"
    assert library.events(signal.case_id, "case_transferred")[-1]["to_unit"]

    # A transfer that names no unit leaves none: the unit of the agency the case left is not one here.
    library.complete(library.item(signal.case_id, "draft_reply").id, {
        "draft_action": "request_transfer", "transfer_reason": "應由交通局處理"})
    library.complete(library.item(signal.case_id, "confirm_transfer").id,
                     {"transfer_decision": "transfer", "transfer_to_agency": "transport"})
    assert library.unit_code(signal.case_id) is None
    assert library.case(signal.case_id).agency_id == library.agency_id("transport")


def test_refused_transfer_returns_the_case_to_the_same_caseworkers(library):
    started = open_pothole_petition(library)
    library.complete(library.item(started.case_id, "draft_reply").id, {
        "draft_action": "request_transfer", "transfer_reason": "應屬區公所"})
    library.complete(library.item(started.case_id, "confirm_transfer").id,
                     {"transfer_decision": "refuse", "transfer_note": "主要道路屬工務局養護"})
    draft = library.item(started.case_id, "draft_reply")
    assert draft.agency_id == library.agency_id("public_works")
    assert len(library.events(started.case_id, "case_transferred")) == 1


def test_co_handling_agencies_each_give_an_opinion_merged_into_one_reply(library):
    started = open_pothole_petition(library)
    library.complete(library.item(started.case_id, "draft_reply").id, {
        "draft_action": "request_co_handling", "co_agencies": ["water", "transport"],
        "co_request": "請提供下水道施工及交通維持意見"})
    opinions = library.items(started.case_id, "co_handle")
    assert [i.role for i in opinions] == ["agency_liaison", "agency_liaison"]
    assert sorted(library.data(started.case_id, i)["liaison_agency_code"] for i in opinions) == \
        ["transport", "water"]
    # Each opinion waits in the inbox of the agency it is asked of, not the lead agency's.
    assert sorted(i.agency_id for i in opinions) == sorted(
        library.agency_id(code) for code in ("transport", "water"))
    for item in opinions:
        code = library.data(started.case_id, item)["liaison_agency_code"]
        library.complete(item.id, {"co_opinion": f"{code} 意見", "contact_person": "王小姐"})

    draft = library.item(started.case_id, "draft_reply")
    data = library.data(started.case_id, draft)
    assert sorted(o["agency_code"] for o in data["co_opinions"]) == ["transport", "water"]
    assert "liaison_agency_code" not in data and data["co_inputs"] == []
    library.complete(draft.id, SUBMIT)
    assert library.open_tasks(started.case_id) == ["approve_reply"]


def test_late_reply_is_chased_by_the_supervisor_while_the_caseworker_keeps_it(library, clock):
    started = open_pothole_petition(library)
    due = datetime.fromisoformat(library.data(started.case_id, library.item(started.case_id, "draft_reply"))["reply_due"])
    clock.set(due + timedelta(minutes=1))
    library.run(started.instance_id)
    assert library.open_tasks(started.case_id) == ["chase_late_reply", "draft_reply"]
    chase = library.item(started.case_id, "chase_late_reply")
    assert (chase.role, chase.agency_id) == ("supervisor", library.agency_id("public_works"))
    library.complete(chase.id, {"chase_action": "reminded", "chase_note": "已電話提醒"})
    assert library.open_tasks(started.case_id) == ["draft_reply"]


def _timer_kinds(library, item_id) -> list[str]:
    with library.runtime.db.connect() as conn:
        return sorted(conn.execute(select(timers.c.kind).where(timers.c.work_item_id == item_id,
                                                                timers.c.status == "pending")).scalars())


def test_work_outside_the_reply_deadline_has_no_due_time_and_is_not_escalated(library, clock):
    started = open_pothole_petition(library)
    due = library.case(started.case_id).due_at
    clock.set(due + timedelta(minutes=1))
    library.run(started.instance_id)
    chase = library.item(started.case_id, "chase_late_reply")
    assert chase.due_at is None and _timer_kinds(library, chase.id) == []  # the draft itself escalates
    assert "escalation" in _timer_kinds(library, library.item(started.case_id, "draft_reply").id)

    # The clock stops for a supplement and starts again: the chase keeps no due time throughout.
    library.complete(library.item(started.case_id, "draft_reply").id, {
        "draft_action": "request_supplement", "supplement_request": "請提供坑洞位置",
        "supplement_due": "2026-12-20T17:30:00+08:00"})
    assert library.item(started.case_id, "chase_late_reply").due_at is None
    library.complete(library.item(started.case_id, "wait_supplement").id,
                     {"supplement_text": "中正路 100 號前", "supplement_received_via": "web"})
    redraft = library.item(started.case_id, "draft_reply")
    assert redraft.due_at == library.case(started.case_id).due_at == due  # overdue when paused: still due then
    chases = library.items(started.case_id, "chase_late_reply")  # the reopened draft is chased again
    assert len(chases) == 2 and all(c.due_at is None and _timer_kinds(library, c.id) == [] for c in chases)

    for chase in chases:
        library.complete(chase.id, {"chase_action": "reminded", "chase_note": "已電話提醒"})
    reply_approve(library, started.case_id)
    survey = library.item(started.case_id, "record_survey")
    assert survey.due_at is None and _timer_kinds(library, survey.id) == []


def test_an_open_chase_is_cancelled_when_the_case_ends(library, clock):
    started = open_pothole_petition(library, data={"reply_due": "2026-11-25T17:30:00+08:00"})
    library.run(started.instance_id)
    chase = library.item(started.case_id, "chase_late_reply")
    reply_approve(library, started.case_id)
    done = library.complete(library.item(started.case_id, "record_survey").id, SATISFIED)
    assert done.status == "completed" and chase.id in done.cancelled


def test_invalid_form_data_is_refused_field_by_field_and_changes_nothing(library):
    started = open_pothole_petition(library)
    draft = library.item(started.case_id, "draft_reply")
    version = library.instance(started.case_id).version
    with pytest.raises(InvalidInput) as caught:
        library.complete(draft.id, {"draft_action": "request_extension", "extension_days": 99,
                                    "agency_code": "police"})
    assert caught.value.details["fields"] == {
        "agency_code": ["not a field of this form"], "extension_days": ["must be at most 24"],
        "extension_reason": ["required"]}
    assert library.instance(started.case_id).version == version
    assert library.item(started.case_id, "draft_reply").id == draft.id


def test_every_step_of_a_long_petition_is_measured(library, clock):
    # Given a petition that goes through the dispatcher, co-handling, an extension, a supplement,
    # a return, an unsatisfied citizen and a second reply: the largest petition state we expect.
    started = library.start("petition", channel="1999", category="noise", district="八德")
    sizes = [library.state_size(started.case_id)]

    def step(task, data):
        library.complete(library.item(started.case_id, task).id, data)
        sizes.append(library.state_size(started.case_id))

    step("confirm_routing", {"routing_decision": "route", "agency_code": "environment", "unit_code": "pollution"})
    step("draft_reply", {"draft_action": "request_co_handling", "co_agencies": ["police"]})
    step("co_handle", {"co_opinion": "夜間噪音可報警處理"})
    step("draft_reply", {"draft_action": "request_extension", "extension_days": 3, "extension_reason": "待夜間稽查"})
    step("approve_extension", {"extension_decision": "approve"})
    step("draft_reply", {"draft_action": "request_supplement", "supplement_request": "請提供噪音發生時段",
                         "supplement_due": "2026-12-20T17:30:00+08:00"})
    step("wait_supplement", {"supplement_text": "每晚 22 時後", "supplement_received_via": "phone"})
    step("draft_reply", SUBMIT)
    step("approve_reply", {"approval_decision": "return", "approval_comment": "請引用噪音管制法"})
    step("draft_reply", SUBMIT)
    step("approve_reply", APPROVE)
    step("record_survey", UNSATISFIED)
    step("review_unsatisfied", {"review_decision": "send_back", "review_note": "請說明稽查結果"})
    step("draft_reply", SUBMIT)
    step("approve_reply", APPROVE)
    step("record_survey", SATISFIED)
    assert library.case(started.case_id).status == "closed"
    print(f"\npetition: {len(sizes) - 1} steps, largest stored state {max(sizes):,} bytes, final {sizes[-1]:,}")


# --- who the work goes to: the drafter of a returned reply, the caseworker the dispatcher names ---


@pytest.fixture
def works(library):
    """Two caseworkers and a section chief of 工務局, and a dispatcher."""
    return {name: library.staff(name, role, agency) for name, role, agency in (
        ("cw.roads", "caseworker", "public_works"), ("cw.bridges", "caseworker", "public_works"),
        ("chief.roads", "supervisor", "public_works"), ("dispatcher", "dispatcher", None))}


def test_a_returned_reply_goes_back_to_its_drafter(library, works):
    from engine.errors import Forbidden
    started = open_pothole_petition(library)
    first = library.item(started.case_id, "draft_reply")
    assert first.assignee_id is None  # the first draft is open to the agency's caseworkers
    library.complete(first.id, SUBMIT, works["cw.roads"])
    library.complete(library.item(started.case_id, "approve_reply").id,
                     {"approval_decision": "return", "approval_comment": "請說明修補日期"}, works["chief.roads"])
    redraft = library.item(started.case_id, "draft_reply")
    assert redraft.assignee_id == works["cw.roads"].user_id
    assert library.events(started.case_id, "task_assigned") == [
        {"task": "draft_reply", "name": "擬辦答復", "to": "cw.roads", "reason": "the last to complete draft_reply"}]
    with pytest.raises(Forbidden):
        library.complete(redraft.id, SUBMIT, works["cw.bridges"])
    library.complete(redraft.id, SUBMIT, works["cw.roads"])
    library.complete(library.item(started.case_id, "approve_reply").id, APPROVE, works["chief.roads"])
    assert library.open_tasks(started.case_id) == ["record_survey"]


def test_a_returned_reply_goes_to_the_group_when_its_drafter_no_longer_holds_the_role(library, works):
    from sqlalchemy import delete

    from engine.store.schema import group_members
    started = open_pothole_petition(library)
    library.complete(library.item(started.case_id, "draft_reply").id, SUBMIT, works["cw.roads"])
    with library.runtime.db.begin() as conn:  # cw.roads leaves 工務局
        conn.execute(delete(group_members).where(group_members.c.user_id == works["cw.roads"].user_id))
    library.complete(library.item(started.case_id, "approve_reply").id,
                     {"approval_decision": "return", "approval_comment": "請補充"}, works["chief.roads"])
    assert library.item(started.case_id, "draft_reply").assignee_id is None
    assert library.events(started.case_id, "task_assigned") == []


def test_the_dispatcher_names_the_caseworker_who_drafts_the_reply(library, works):
    police = library.staff("cw.police", "caseworker", "police")
    started = library.start("petition", channel="mail", category="noise", district="中壢")
    library.complete(library.item(started.case_id, "confirm_routing").id,
                     {"routing_decision": "route", "agency_code": "police", "assignee": "cw.police"},
                     works["dispatcher"])
    draft = library.item(started.case_id, "draft_reply")
    assert (draft.agency_id, draft.assignee_id) == (library.agency_id("police"), police.user_id)
    assert library.events(started.case_id, "task_assigned")[0]["reason"] == "named in the case"


@pytest.mark.parametrize("named", ["cw.roads", "nobody"], ids=["of-another-agency", "unknown"])
def test_a_named_caseworker_who_is_not_one_of_the_chosen_agency_leaves_the_draft_to_the_group(library, works,
                                                                                            named):
    started = library.start("petition", channel="mail", category="noise", district="中壢")
    library.complete(library.item(started.case_id, "confirm_routing").id,
                     {"routing_decision": "route", "agency_code": "police", "assignee": named}, works["dispatcher"])
    assert library.item(started.case_id, "draft_reply").assignee_id is None

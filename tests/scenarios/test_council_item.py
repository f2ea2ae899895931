"""The council item process (議員質詢/議決案): bureau replies, review, and tracking until released."""
import statistics
import time
from datetime import datetime, timedelta

from engine.workflow import state

#: The state size the engine's compaction is to keep a long-tracked item under.
STATE_BUDGET = 16 * 1024

REGISTER = {"item_kind": "interpellation", "session": "第 3 屆第 2 次定期會", "councillor": "李議員",
            "question": "請說明中壢火車站前交通改善進度及時程。", "bureaus": ["transport", "public_works"]}
ACCEPT = {"review_decision": "accept", "comment": "", "keep_tracking": False, "follow_up_kind": "none"}


def register(library, **data):
    started = library.start("council_item", channel="council", subject="中壢火車站前交通改善", data=data)
    item = library.item(started.case_id, "register_item")
    assert (item.role, item.agency_id) == ("council_liaison", None)
    library.complete(item.id, REGISTER)
    return started


def reply_all(library, case_id):
    for item in library.items(case_id, "reply_bureau"):
        code = library.data(case_id, item)["liaison_agency_code"]
        library.complete(item.id, {"reply_text": f"{code} 答復：依期程辦理中", "handled_by": "承辦人"})


def review_all(library, case_id, decisions):
    """decisions: agency code -> review form data."""
    for item in library.items(case_id, "review_reply"):
        code = library.data(case_id, item)["reply_under_review"]["agency_code"]
        library.complete(item.id, decisions[code])


def send(library, case_id):
    item = library.item(case_id, "send_to_council")
    assert item.role == "council_liaison"
    return library.complete(item.id, {"document_no": "府研管字第1150001234號", "sent_on": "2026-12-02"})


def test_each_bureau_replies_and_accepted_replies_go_to_the_council(library):
    started = register(library)
    assert library.case(started.case_id).agency_id == library.agency_id("transport")
    replies = library.items(started.case_id, "reply_bureau")
    assert [i.role for i in replies] == ["agency_liaison", "agency_liaison"]
    assert sorted(library.data(started.case_id, i)["liaison_agency_code"] for i in replies) == \
        ["public_works", "transport"]
    for item in replies:  # each bureau answers from its own inbox
        assert item.agency_id == library.agency_id(library.data(started.case_id, item)["liaison_agency_code"])
    reply_all(library, started.case_id)
    reviews = library.items(started.case_id, "review_reply")
    assert [i.role for i in reviews] == ["reviewer", "reviewer"]
    review_all(library, started.case_id, {"transport": ACCEPT, "public_works": ACCEPT})
    done = send(library, started.case_id)
    assert done.status == "completed"
    data = library.data(started.case_id)
    assert data["outcome"] == "replied"
    assert sorted(r["agency_code"] for r in data["accepted_replies"]) == ["public_works", "transport"]


def test_a_reply_sent_back_is_answered_again_by_that_bureau_only(library):
    started = register(library)
    reply_all(library, started.case_id)
    review_all(library, started.case_id, {
        "transport": ACCEPT,
        "public_works": {**ACCEPT, "review_decision": "send_back", "comment": "未說明完工期程"}})
    again = library.items(started.case_id, "reply_bureau")
    assert [library.data(started.case_id, i)["liaison_agency_code"] for i in again] == ["public_works"]
    assert library.data(started.case_id, again[0])["reply_round"] == 2
    reply_all(library, started.case_id)
    review_all(library, started.case_id, {"public_works": ACCEPT})
    send(library, started.case_id)
    replies = library.data(started.case_id)["accepted_replies"]
    assert sorted((r["agency_code"], r["round"]) for r in replies) == [("public_works", 2), ("transport", 1)]


def test_a_reply_sent_back_goes_to_the_liaison_who_wrote_it(library):
    liaisons = {code: library.staff(f"liaison.{code}", "agency_liaison", code)
                for code in ("transport", "public_works")}
    started = register(library)
    for item in library.items(started.case_id, "reply_bureau"):
        assert item.assignee_id is None  # the first round is open to each bureau's liaisons
        code = library.data(started.case_id, item)["liaison_agency_code"]
        library.complete(item.id, {"reply_text": "依期程辦理中", "handled_by": "承辦人"}, liaisons[code])
    review_all(library, started.case_id, {
        "transport": ACCEPT,
        "public_works": {**ACCEPT, "review_decision": "send_back", "comment": "未說明完工期程"}})
    (again,) = library.items(started.case_id, "reply_bureau")
    assert (again.agency_id, again.assignee_id) == (library.agency_id("public_works"),
                                                     liaisons["public_works"].user_id)


def test_the_reply_deadline_is_seven_days_by_the_rules_and_late_replies_are_chased(library, clock):
    started = register(library)
    data = library.data(started.case_id, library.items(started.case_id, "reply_bureau")[0])
    due = datetime.fromisoformat(data["reply_due"])
    assert due == datetime.fromisoformat(data["due_at"])
    assert timedelta(days=7) <= due - datetime.fromisoformat(data["received_at"]) < timedelta(days=9)
    clock.set(due + timedelta(minutes=1))
    library.run(started.instance_id)
    chase = library.item(started.case_id, "chase_replies")
    assert (chase.role, chase.agency_id) == ("reviewer", None)
    assert len(library.items(started.case_id, "reply_bureau")) == 2
    library.complete(chase.id, {"chase_action": "reminded", "chase_note": "已函催兩局處"})
    reply_all(library, started.case_id)
    assert len(library.items(started.case_id, "review_reply")) == 2


def test_a_reply_sent_back_after_the_deadline_gets_a_new_round_from_that_day(library, clock):
    started = register(library)
    first_due = library.case(started.case_id).due_at
    reply_all(library, started.case_id)
    clock.set(first_due + timedelta(days=2))  # the review takes past the first deadline
    review_all(library, started.case_id, {
        "transport": ACCEPT,
        "public_works": {**ACCEPT, "review_decision": "send_back", "comment": "未說明完工期程"}})
    (again,) = library.items(started.case_id, "reply_bureau")
    new_due = library.case(started.case_id).due_at
    assert again.due_at == new_due and timedelta(days=7) <= new_due - clock.now() < timedelta(days=10)
    assert datetime.fromisoformat(library.data(started.case_id, again)["reply_due"]) == new_due
    (restarted,) = library.events(started.case_id, "deadline_restarted")
    assert restarted["reason"] == "審查退回：public_works"


def track(library):
    started = register(library)
    reply_all(library, started.case_id)
    review_all(library, started.case_id, {
        "transport": {**ACCEPT, "keep_tracking": True, "follow_up_kind": "site_inspection"},
        "public_works": ACCEPT})
    send(library, started.case_id)
    return started


def update(library, case_id, n, decision="keep_tracking"):
    progress = library.item(case_id, "progress_update")
    assert (progress.role, progress.agency_id) == ("caseworker", library.agency_id("transport"))
    library.complete(progress.id, {"progress_note": f"第 {n} 次進度：辦理會勘及協商", "progress_status": "on_track"})
    release = library.item(case_id, "review_progress")
    assert release.role == "reviewer"
    return library.complete(release.id, {"release_decision": decision, "release_comment": ""})


def test_an_item_that_needs_more_stays_tracked_until_released(library, clock):
    started = track(library)
    clock.advance(days=60)  # tracking runs for months past the reply deadline
    progress = library.item(started.case_id, "progress_update")
    assert progress.due_at is None  # reports on a tracked item are not late against the reply deadline
    update(library, started.case_id, 1)
    assert library.item(started.case_id, "progress_update").due_at is None
    done = update(library, started.case_id, 2, decision="release")
    assert done.status == "completed"
    assert library.data(started.case_id)["outcome"] == "released"


def measure(library, case_id) -> tuple[int, float]:
    """Stored state size, and the median time to restore it onto the cached spec."""
    row = library.instance(case_id)
    with library.runtime.db.connect() as conn:
        definition = library.runtime.specs.get(conn, row.definition_id)
    times = []
    for _ in range(50):
        t0 = time.perf_counter()
        state.load(row.state, definition.spec, definition.subprocess_specs, library.runtime.script_engine)
        times.append(time.perf_counter() - t0)
    return len(row.state), statistics.median(times) * 1000


def test_twenty_four_progress_updates_keep_the_item_tracked_and_then_release_it(library):
    started = track(library)
    before, before_ms = measure(library, started.case_id)
    for n in range(1, 25):
        assert update(library, started.case_id, n).status == "waiting"
    size, load_ms = measure(library, started.case_id)
    print(f"\ncouncil_item tracked: state {before:,} bytes ({before_ms:.2f} ms to load); after 24 progress "
          f"updates {size:,} bytes ({load_ms:.2f} ms, median of 50), {(size - before) / 24:,.0f} bytes per update")
    assert library.open_tasks(started.case_id) == ["progress_update"]
    assert size <= STATE_BUDGET
    done = update(library, started.case_id, 25, decision="release")
    assert done.status == "completed" and library.case(started.case_id).status == "closed"


def test_terms_kept_before_they_recorded_how_days_are_counted_restart_the_way_their_rule_counts(library, clock):
    """council_item.default counts calendar days from the day after receipt (next_day)."""
    from engine.actions.deadline_actions import restart_deadline
    from engine.store.changes import StepChanges
    from engine.workflow.service_tasks import StepContext
    started = register(library)
    terms = dict(library.data(started.case_id, library.items(started.case_id, "reply_bureau")[0])["deadline"])
    del terms["first_day"]
    clock.set(datetime.fromisoformat("2026-12-04T11:00:00+08:00"))  # a Friday
    with library.runtime.uow() as uow:
        again = restart_deadline(StepContext(uow, StepChanges(started.case_id, clock.now()), None), {"deadline": terms})
    assert again["first_day"] == "next_day"
    assert again["due_at"] == "2026-12-11T09:30:00+00:00"  # Saturday 12-05 is day 1, Friday 12-11 day 7

"""Council items per session and the execution report on resolutions, against items counted by hand.

Session 第3屆第2次定期會 (items registered 11-02 and 11-03 2026, reply due seven days on):
  X1 interpellation to 交通局 and 工務局: 交通局 replies 11-04 (on time), 工務局 11-20 (late); sent, closed
  X2 resolution to 交通局: replied 11-05, kept tracked, then released
  X3 resolution to 工務局: no reply yet: tracked
Session 第3屆第1次臨時會: X4 interpellation to 警察局, replied 11-06, sent, closed.
"""
import pytest

from engine.accounts.identity import SYSTEM
from engine.queries.tracking_reports import council_report
from engine.services.reports import CheckRollups, check_rollups

from .city import at, catch_up

REGULAR, EXTRA = "第3屆第2次定期會", "第3屆第1次臨時會"
ACCEPT = {"review_decision": "accept", "comment": "", "keep_tracking": False, "follow_up_kind": "none"}


def _register(library, clock, moment, kind, session, bureaus):
    clock.set(moment)
    started = library.start("council_item", channel="council", subject=f"{kind} {bureaus}")
    library.complete(library.item(started.case_id, "register_item").id, {
        "item_kind": kind, "session": session, "councillor": "李議員", "question": "請說明辦理情形。",
        "bureaus": bureaus})
    return started.case_id


def _reply(library, clock, moment, case_id, code):
    clock.set(moment)
    for item in library.items(case_id, "reply_bureau"):
        if library.data(case_id, item)["liaison_agency_code"] == code:
            library.complete(item.id, {"reply_text": "依期程辦理中", "handled_by": "承辦人"})


def _review_and_send(library, clock, moment, case_id, keep=False):
    clock.set(moment)
    for item in library.items(case_id, "review_reply"):
        library.complete(item.id, {**ACCEPT, "keep_tracking": keep})
    library.complete(library.item(case_id, "send_to_council").id, {"document_no": "府研管字第1150001234號",
                                                                   "sent_on": moment.date().isoformat()})


@pytest.fixture
def council(library, clock):
    x1 = _register(library, clock, at(11, 2, 9), "interpellation", REGULAR, ["transport", "public_works"])
    x2 = _register(library, clock, at(11, 3, 9), "resolution", REGULAR, ["transport"])
    x3 = _register(library, clock, at(11, 3, 10), "resolution", REGULAR, ["public_works"])
    x4 = _register(library, clock, at(11, 3, 11), "interpellation", EXTRA, ["police"])
    _reply(library, clock, at(11, 4, 10), x1, "transport")
    _reply(library, clock, at(11, 5, 10), x2, "transport")
    _reply(library, clock, at(11, 6, 10), x4, "police")
    _review_and_send(library, clock, at(11, 9, 10), x2, keep=True)
    _review_and_send(library, clock, at(11, 9, 11), x4)
    _reply(library, clock, at(11, 20, 10), x1, "public_works")
    _review_and_send(library, clock, at(11, 23, 10), x1)
    clock.set(at(12, 1, 10))
    library.complete(library.item(x2, "progress_update").id, {"progress_note": "已完成", "progress_status": "done"})
    library.complete(library.item(x2, "review_progress").id, {"release_decision": "release", "release_comment": ""})
    clock.set(at(12, 10, 9))
    catch_up(library)
    return {"X1": x1, "X2": x2, "X3": x3, "X4": x4}


def _report(library, principal=SYSTEM, session=None):
    with library.runtime.uow(read_only=True) as uow:
        return council_report(uow, principal, session)


def test_each_session_counts_its_items_and_each_bureaus_replies_on_time(library, council):
    report = _report(library)
    extra, regular = report.sessions
    assert (regular.session, regular.interpellations, regular.resolutions) == (REGULAR, 1, 2)
    assert (regular.tracked, regular.released, regular.replied_closed) == (1, 1, 1)
    assert [(b.agency_name, b.assigned, b.replied, b.replied_on_time, b.on_time_pct) for b in regular.bureaus] == [
        ("交通局", 2, 2, 2, 100.0), ("工務局", 2, 1, 0, 0.0)]
    assert (extra.session, extra.interpellations, extra.resolutions, extra.replied_closed) == (EXTRA, 1, 0, 1)
    assert [(b.agency_name, b.assigned, b.replied, b.replied_on_time) for b in extra.bureaus] == [("警察局", 1, 1, 1)]


def test_the_execution_report_lists_the_sessions_resolutions_with_each_bureau(library, council):
    report = _report(library, session=REGULAR)
    assert [(r.case_id, r.status, r.bureaus) for r in report.resolutions] == [
        (council["X2"], "released", (("交通局", True, True),)),
        (council["X3"], "tracked", (("工務局", False, False),))]
    assert all(r.case_no.startswith("C") for r in report.resolutions)


def test_a_bureau_head_sees_the_items_assigned_to_the_bureau(library, council):
    head = library.staff("head.works", "agency_head", "public_works")
    (regular,) = _report(library, head).sessions
    assert (regular.interpellations, regular.resolutions, regular.tracked, regular.replied_closed) == (1, 1, 1, 1)
    assert [b.agency_name for b in regular.bureaus] == ["工務局"]


def test_the_council_rollups_agree_with_the_records(library, council):
    with library.runtime.uow(read_only=True) as uow:
        assert check_rollups(CheckRollups(), uow).agree

"""A case's page: who may open it, whose identity it shows, its open work, timers and timeline."""
import pytest
from sqlalchemy import select

from engine.errors import NotFound
from engine.queries import get_case, load_principal
from engine.queries.case_search import CaseSearch, search_cases
from engine.services.case_views import ViewCase, view_case
from engine.settings import PROJECT_ROOT
from engine.store.schema import case_events
from engine.workflow.definitions import read_bundle
from tests.unit.queries_city import build_city, city, taipei  # noqa: F401

PETITIONER = {"name": "王小明", "phone": "0912345678", "email": "ming@example.tw"}


def view(city, username, case_id=None, case_no=None):
    """The case as its page shows it to the user (the petitioner's data read is recorded)."""
    with city.runtime.uow() as uow:
        case = view_case(ViewCase(load_principal(uow, username=username), case_id, case_no), uow)
        uow.commit()
    return case


def searched(city, username, text) -> list:
    """The ids of the cases the user's search for the text lists (its first page)."""
    with city.runtime.uow(read_only=True) as uow:
        return [row.case_id for row in search_cases(uow, load_principal(uow, username=username),
                                                    CaseSearch(text=text)).rows]


@pytest.fixture
def routed(city):
    """A petition of 工務局 the dispatcher routed on Friday: its draft waits for the caseworkers."""
    started = city.open_case(taipei(26), process="approval", petitioner=PETITIONER, subject="路面坑洞",
                             category="road_pothole", district="桃園")
    city.clock.set(taipei(27, 11))
    (draft,) = city.complete(started.work_item_ids[0], "dispatcher").opened
    city.clock.set(taipei(30, 10))
    return city, started, draft


def test_the_handling_agency_sees_the_case_its_petitioner_open_work_and_timers(routed):
    city, started, draft = routed
    case = view(city, "cw.roads", started.case_id)
    assert (case.case_no, case.agency_name, case.subject, case.status) == (started.case_no, "工務局", "路面坑洞", "open")
    assert (case.process_key, case.process_version, case.due_at) == ("approval", 1, taipei(4, 17, 30, month=12))
    assert case.petitioner.name == "王小明" and case.petitioner.phone == "0912345678"
    assert not case.petitioner_hidden
    (work,) = case.open_work
    assert (work.work_item_id, work.task_spec, work.role, work.agency_name, work.assignee) == (
        draft, "draft", "caseworker", "工務局", None)
    ladder = [(t.kind, t.level) for t in case.pending_timers if t.kind != "bpmn_timer"]
    assert ladder == [("reminder", None), ("escalation", 1), ("escalation", 2), ("escalation", 3)]
    assert any(t.kind == "bpmn_timer" for t in case.pending_timers)  # the diagram's own overdue timer
    assert [t.due_at for t in case.pending_timers] == sorted(t.due_at for t in case.pending_timers)


def test_a_case_is_found_by_its_number_as_by_its_id(routed):
    city, started, _ = routed
    assert view(city, "chief.roads", case_no=started.case_no) == view(city, "chief.roads", started.case_id)


def test_the_timeline_lists_every_event_in_order_with_who_did_it(routed):
    city, started, draft = routed
    city.clock.set(taipei(1, 9, month=12))
    city.complete(draft, "cw.roads")
    timeline = view(city, "reviewer", started.case_id).timeline
    with city.runtime.db.connect() as conn:
        stored = conn.execute(select(case_events.c.id).where(case_events.c.case_id == started.case_id)).scalars().all()
    assert sorted(e.event_id for e in timeline) == sorted(stored)
    assert [(e.at, e.event_id) for e in timeline] == sorted((e.at, e.event_id) for e in timeline)
    done = [(e.actor, e.data["task"]) for e in timeline if e.kind == "task_completed"]
    assert done == [("dispatcher", "confirm"), ("cw.roads", "draft")]
    assert [e.kind for e in timeline][:2] == ["case_received", "deadline_set"] and timeline[0].actor is None
    assert timeline[-1].kind == "task_ready" and timeline[-1].data["task"] == "approve"


@pytest.mark.parametrize("username", ["cw.signals", "chief.signals", "designer"])
def test_a_case_outside_the_readers_agencies_is_not_found_as_if_it_did_not_exist(routed, username):
    city, started, _ = routed
    with pytest.raises(NotFound) as refused:
        view(city, username, started.case_id)
    with pytest.raises(NotFound) as missing:
        view(city, username, 999_999)
    assert str(refused.value) == str(missing.value).replace("999999", str(started.case_id))
    with pytest.raises(NotFound):
        view(city, username, case_no=started.case_no)


@pytest.mark.parametrize("username, shown", [
    ("cw.roads", False), ("chief.roads", False), ("head.works", False),  # the handling agency
    ("dispatcher", True), ("reviewer", True), ("chief.petitions", True), ("admin", True),  # the commission
])
def test_a_confidential_case_hides_the_petitioner_from_the_handling_agency(city, username, shown):
    started = city.open_case(taipei(26), petitioner=PETITIONER, confidential=True)
    case = view(city, username, started.case_id)
    assert case.confidential and case.case_no == started.case_no and len(case.open_work) == 1
    assert (case.petitioner is not None, case.petitioner_hidden) == (shown, not shown)


def test_the_case_query_reads_no_petitioner_unless_asked(routed):
    city, started, _ = routed
    with city.runtime.uow(read_only=True) as uow:
        case = get_case(uow, load_principal(uow, username="cw.roads"), started.case_id)
    assert case.petitioner is None and not case.petitioner_hidden


@pytest.mark.parametrize("username, shown", [
    ("cw.roads", True), ("chief.roads", True), ("head.works", True), ("dispatcher", True), ("reviewer", True),
    ("chief.petitions", True), ("admin", True), ("auditor", False),
])
def test_the_petitioner_is_shown_only_to_roles_that_need_it_for_the_case(routed, username, shown):
    city, started, _ = routed
    case = view(city, username, started.case_id)
    assert case.case_no == started.case_no and case.subject == "路面坑洞"
    assert (case.petitioner is not None, case.petitioner_hidden) == (shown, not shown)


def test_a_co_handling_agency_sees_the_case_while_its_opinion_is_open_and_a_transfer_moves_the_view(runtime, clock):
    city = build_city(runtime, clock, read_bundle(PROJECT_ROOT / "workflows"))
    started = city.open_case(taipei(26), process="petition", channel="web", category="road_pothole",
                             district="桃園", agency=None, petitioner=PETITIONER,  # routed to 工務局 by the rules
                             subject="中正路路面坑洞", description="機車騎士差點跌倒")
    (draft,) = view(city, "cw.roads", started.case_id).open_work
    with pytest.raises(NotFound):
        view(city, "liaison.signals", started.case_id)
    (opinion,) = city.complete(draft.work_item_id, "cw.roads", {
        "draft_action": "request_co_handling", "co_agencies": ["transport"], "co_request": "請提供交通維持意見"}).opened
    case = view(city, "liaison.signals", started.case_id)
    assert case.agency_name == "工務局" and [w.agency_name for w in case.open_work] == ["交通局"]
    assert case.petitioner is None and case.petitioner_hidden  # an opinion is given to 工務局, not to the citizen
    assert searched(city, "liaison.signals", "坑洞") == [started.case_id]  # its search finds the case too
    city.complete(opinion, "liaison.signals", {"co_opinion": "無意見", "contact_person": "簡先生"})
    with pytest.raises(NotFound):
        view(city, "liaison.signals", started.case_id)
    assert searched(city, "liaison.signals", "坑洞") == []

    (draft,) = view(city, "cw.roads", started.case_id).open_work
    (confirm,) = city.complete(draft.work_item_id, "cw.roads", {
        "draft_action": "request_transfer", "transfer_reason": "號誌屬交通局權責", "suggested_agency": "transport"}).opened
    city.complete(confirm, "dispatcher", {"transfer_decision": "transfer", "transfer_to_agency": "transport",
                                          "transfer_to_unit": "signals"})
    assert view(city, "cw.signals", started.case_id).agency_name == "交通局"
    with pytest.raises(NotFound):
        view(city, "cw.roads", started.case_id)
    assert searched(city, "cw.signals", "坑洞") == [started.case_id]
    assert searched(city, "cw.roads", "坑洞") == []

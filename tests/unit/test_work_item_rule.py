"""One rule for a work item's page and every command on it: unseen is NotFound as missing, seen but not mine Forbidden."""
import pytest
from sqlalchemy import func, select

from engine.errors import Conflict, Forbidden, InvalidInput, NotFound
from engine.queries import work_item_view
from engine.services.work import CompleteWorkItem, complete_work_item
from engine.services.work_items import (
    AssignWorkItem,
    ClaimWorkItem,
    DiscardDraft,
    SaveDraft,
    UnclaimWorkItem,
    assign_work_item,
    claim_work_item,
    discard_draft,
    save_draft,
    unclaim_work_item,
)
from engine.settings import PROJECT_ROOT
from engine.store.schema import case_events, work_item_drafts, work_items
from engine.workflow.definitions import read_bundle
from tests.unit.queries_city import build_city
from tests.unit.work_item_scenes import OPINION, REPLY, add_staff, co_handled, pothole, transferred

#: An item id no row has.
MISSING = 987654

#: Each command on an item, as the API and the pages call it.
COMMANDS = {
    "view": lambda uow, p, item: work_item_view(uow, p, item),
    "claim": lambda uow, p, item: claim_work_item(ClaimWorkItem(item, p), uow),
    "unclaim": lambda uow, p, item: unclaim_work_item(UnclaimWorkItem(item, p), uow),
    "assign": lambda uow, p, item: assign_work_item(AssignWorkItem(item, p, None), uow),
    "draft": lambda uow, p, item: save_draft(SaveDraft(item, p, {"reply_text": "草稿"}), uow),
    "discard": lambda uow, p, item: discard_draft(DiscardDraft(item, p), uow),
    "complete": lambda uow, p, item: complete_work_item(CompleteWorkItem(item, REPLY, p), uow),
}


@pytest.fixture
def city(runtime, clock):
    """The small city with the shipped process library."""
    return build_city(runtime, clock, read_bundle(PROJECT_ROOT / "workflows"))


def answers(city, item_id: int, username: str) -> dict:
    """What each command answers the user about the item: "ok" (also a form the data does not fill: the
    rule let it through), or the error's class and message (the item's id written N). Each runs in its own
    unit of work, never committed."""
    principal, found = city.principal(username), {}
    for name, command in COMMANDS.items():
        with city.runtime.uow() as uow:
            try:
                command(uow, principal, item_id)
                found[name] = "ok"
            except InvalidInput:
                found[name] = "ok"
            except (NotFound, Forbidden, Conflict) as exc:
                found[name] = (type(exc).__name__, exc.message.replace(str(item_id), "N"))
    return found


def everything(city):
    """What a refused command must leave as it was: every item's row, every draft, the history's length."""
    with city.runtime.db.connect() as conn:
        return (conn.execute(select(work_items).order_by(work_items.c.id)).all(),
                conn.execute(select(work_item_drafts)).all(),
                conn.execute(select(func.count()).select_from(case_events)).scalar_one())


def assert_hidden(city, item_id: int, username: str) -> None:
    """Every command answers the user about the item exactly as about one that does not exist."""
    hidden = answers(city, item_id, username)
    assert hidden == answers(city, MISSING, username)
    assert set(hidden.values()) == {("NotFound", "work item N does not exist")}


def test_another_agencys_caseworker_is_told_of_no_item_by_any_command(city):
    (draft,) = pothole(city).work_item_ids
    before = everything(city)
    assert_hidden(city, draft, "cw.signals")
    assert everything(city) == before


def test_a_colleague_of_who_completed_it_is_told_of_no_item_once_the_case_left_their_agency(city):
    """A role holder could complete such an item: it used to be a 409 "already completed", telling of it."""
    _, draft = transferred(city)
    before = everything(city)
    assert_hidden(city, draft, "cw.bridges")
    # Who completed it still finds it, among what they did: completed, for every command.
    mine = answers(city, draft, "cw.roads")
    assert mine.pop("view") == "ok" and mine.pop("discard") == "ok"
    assert set(mine.values()) == {("Conflict", "work item N is already completed")}
    assert everything(city) == before


def test_another_liaison_of_the_co_handling_agency_is_told_of_no_opinion_once_it_was_given(city):
    add_staff(city, "liaison.lights", "agency_liaison", "transport")
    asked = co_handled(city)
    assert answers(city, asked.opinion, "liaison.lights")["view"] == "ok"  # open to their group meanwhile
    city.complete(asked.opinion, "liaison.signals", OPINION)
    before = everything(city)
    assert_hidden(city, asked.opinion, "liaison.lights")
    assert_hidden(city, asked.draft, "liaison.signals")  # the draft that asked: the case is no longer theirs to see
    assert answers(city, asked.opinion, "liaison.signals")["view"] == "ok"
    assert everything(city) == before


def test_the_co_handling_agencys_caseworker_sees_the_opinion_asked_and_is_told_it_is_the_liaisons(city):
    asked = co_handled(city)
    before = everything(city)
    found = answers(city, asked.opinion, "cw.signals")
    assert found.pop("view") == "ok" and found.pop("discard") == "ok"  # no draft of theirs to throw away
    why = "it is for the role agency_liaison of its agency, which you do not hold"
    assert found == {
        "claim": ("Forbidden", "you may not claim work item N: it is for agency_liaison of another group"),
        "unclaim": "ok",  # held by no one: giving it back changes nothing
        "assign": ("Forbidden", "only a section chief or head of the item's agency may assign work item N"),
        "draft": ("Forbidden", f"you may not keep a draft of work item N: {why}"),
        "complete": ("Forbidden", f"you may not complete work item N: {why}")}
    assert everything(city) == before


def test_a_section_chief_sees_a_claimed_item_and_is_told_whose_it_is(city):
    (draft,) = pothole(city).work_item_ids
    city.assign(draft, "cw.roads")
    before = everything(city)
    found = answers(city, draft, "chief.roads")
    why = "it is assigned to cw.roads, and only they may work on it"
    assert (found["view"], found["unclaim"], found["assign"]) == ("ok", "ok", "ok")  # a chief may give it back
    assert found["claim"] == ("Conflict", "work item N is already assigned to cw.roads")
    assert found["draft"] == ("Forbidden", f"you may not keep a draft of work item N: {why}")
    assert found["complete"] == ("Forbidden", f"you may not complete work item N: {why}")
    assert everything(city) == before
    with city.runtime.uow(read_only=True) as uow:
        assert work_item_view(uow, city.principal("chief.roads"), draft).may_complete is False


def test_the_page_and_completion_agree_for_every_member_of_the_city(city):
    """For each person: the page is shown exactly when completion is not NotFound."""
    add_staff(city, "liaison.lights", "agency_liaison", "transport")
    asked = co_handled(city)
    city.complete(asked.opinion, "liaison.signals", OPINION)
    (draft,) = pothole(city).work_item_ids
    users = ("cw.roads", "cw.bridges", "chief.roads", "head.works", "cw.signals", "liaison.signals",
             "liaison.lights", "chief.signals", "dispatcher", "reviewer", "chief.petitions", "designer", "admin",
             "auditor")
    for item in (asked.opinion, asked.draft, draft):
        for username in users:
            found = answers(city, item, username)
            if found["view"] == "ok":
                assert found["complete"][0] != "NotFound", (item, username, found)
            else:
                assert set(found.values()) == {("NotFound", "work item N does not exist")}, (item, username)

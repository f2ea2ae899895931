"""One work item's page: the item, its form, what the case and the earlier steps say, my draft."""
import pytest

from engine.errors import NotFound
from engine.queries import work_item_view
from engine.services.work_items import SaveDraft, save_draft
from engine.settings import PROJECT_ROOT
from engine.workflow.definitions import read_bundle
from tests.unit.queries_city import build_city, taipei

REPLY = {"draft_action": "submit_reply", "reply_text": "本局已於 11 月 27 日完成路面修補。",
         "legal_basis": "市區道路條例第 9 條"}


@pytest.fixture
def petition(runtime, clock):
    """The shipped library in the small city, and a pothole petition routed to 工務局."""
    city = build_city(runtime, clock, read_bundle(PROJECT_ROOT / "workflows"))
    started = city.open_case(taipei(26), process="petition", agency=None, channel="web", category="road_pothole",
                             district="桃園", subject="中正路路面坑洞")
    return city, started


def view(city, username, item_id):
    with city.runtime.uow(read_only=True) as uow:
        return work_item_view(uow, city.principal(username), item_id)


def test_the_page_of_a_draft_shows_the_item_its_form_and_the_case(petition):
    city, started = petition
    (item_id,) = started.work_item_ids
    page = view(city, "cw.roads", item_id)
    assert (page.case_id, page.case_no, page.task_spec, page.role, page.agency_name, page.status) == (
        started.case_id, started.case_no, "draft_reply", "caseworker", "工務局", "open")
    assert (page.subject, page.category, page.district) == ("中正路路面坑洞", "road_pothole", "桃園")
    assert page.form["properties"]["reply_text"]["type"] == "string" and page.form_key == "petition_draft_reply.json"
    assert page.due_at == page.case_due_at and page.due_state == "on_time"
    assert (page.version, page.instance_version, page.may_complete, page.draft) == (1, 1, True, None)
    assert page.task_data["agency_code"] == "public_works"
    assert not [name for name in page.task_data if name.startswith("_")]


def test_the_supervisor_approving_sees_the_drafted_reply_and_the_caseworker_may_not_complete_it(petition):
    city, started = petition
    done = city.complete(started.work_item_ids[0], "cw.roads", REPLY)
    (approve,) = done.opened
    chief = view(city, "chief.roads", approve)
    assert (chief.task_spec, chief.may_complete, chief.instance_version) == ("approve_reply", True, 2)
    assert chief.task_data["reply_text"] == REPLY["reply_text"]
    assert view(city, "cw.roads", approve).may_complete is False  # sees the case, does not approve


def test_my_draft_is_on_the_page_and_no_one_elses(petition):
    city, started = petition
    (item_id,) = started.work_item_ids
    cmd = SaveDraft(item_id, city.principal("cw.roads"), {"reply_text": "草稿"})
    with city.runtime.uow() as uow:
        save_draft(cmd, uow)
        uow.commit()
    assert view(city, "cw.roads", item_id).draft.data == {"reply_text": "草稿"}
    assert view(city, "cw.bridges", item_id).draft is None


def test_another_agencys_caseworker_gets_not_found_as_for_an_item_that_does_not_exist(petition):
    city, started = petition
    (item_id,) = started.work_item_ids
    with pytest.raises(NotFound) as hidden:
        view(city, "cw.signals", item_id)
    with pytest.raises(NotFound) as missing:
        view(city, "cw.signals", 9999)
    assert hidden.value.message.replace(str(item_id), "N") == missing.value.message.replace("9999", "N")
    for username in ("chief.roads", "dispatcher", "admin", "chief.petitions"):
        assert view(city, username, item_id).work_item_id == item_id


def test_a_completed_item_is_shown_to_who_completed_it_without_the_task_data(petition):
    city, started = petition
    (item_id,) = started.work_item_ids
    city.complete(item_id, "cw.roads", REPLY)
    page = view(city, "cw.roads", item_id)
    assert (page.status, page.due_state, page.may_complete, page.task_data) == ("completed", None, False, {})
    assert page.version == 2

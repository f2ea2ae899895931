"""A user's inbox: what is mine, what my groups may take, what I supervise, in due order, page by page."""
import pytest

from engine.errors import InvalidInput
from tests.unit.queries_city import city, taipei  # noqa: F401


@pytest.fixture
def work(city):
    """Open work of 工務局 received on different days (so due on different days), one without a
    due time, one item each assigned to cw.roads and cw.bridges, 交通局's and the dispatcher's."""
    def item(at, **kw):
        return city.open_case(at, **kw).work_item_ids[0]

    items = {
        "due_12_07": item(taipei(27)),
        "due_12_01": item(taipei(23)),
        "no_due": item(taipei(25), case_type="inquiry"),  # no deadline rule: no due time
        "transport": item(taipei(26), agency="transport"),
        "bridges": item(taipei(24)),
        "mine": item(taipei(30)),
        "routing": item(taipei(26), process="approval"),  # the dispatcher's, central work
    }
    city.assign(items["bridges"], "cw.bridges")
    city.assign(items["mine"], "cw.roads")
    city.clock.set(taipei(1, 10, month=12))
    return city, items


def test_my_inbox_lists_my_items_and_my_groups_open_items_soonest_due_first_undated_last(work):
    city, items = work
    page = city.page("cw.roads")
    assert [i.work_item_id for i in page.items] == [items[k] for k in ("due_12_01", "due_12_07", "mine", "no_due")]
    assert [i.due_at for i in page.items[:3]] == sorted(i.due_at for i in page.items[:3])
    assert page.items[-1].due_at is None and page.items[-1].due_state is None
    assert page.next_cursor is None
    first = page.items[0]
    assert (first.case_type, first.process_key, first.task_spec, first.role, first.agency_name, first.assignee) == (
        "petition", "simple", "reply", "caseworker", "工務局", None)
    assert (first.due_at, first.due_state) == (taipei(1, 17, 30, month=12), "due_today")
    assert page.items[2].assignee == "cw.roads"


def test_each_view_lists_its_own_items(work):
    city, items = work
    assert city.listed("cw.roads", view="mine") == [items["mine"]]
    assert city.listed("cw.roads", view="groups") == [items[k] for k in ("due_12_01", "due_12_07", "no_due")]
    assert city.listed("cw.bridges") == [items[k] for k in ("due_12_01", "bridges", "due_12_07", "no_due")]
    assert city.listed("cw.roads", view="supervised") == []  # a caseworker supervises nothing


def test_a_supervisor_sees_all_open_work_of_the_agency_assigned_or_not(work):
    city, items = work
    works = [items[k] for k in ("due_12_01", "bridges", "due_12_07", "mine", "no_due")]
    assert city.listed("chief.roads", view="supervised") == works
    assert city.listed("head.works", view="supervised") == works
    assert city.listed("chief.signals", view="supervised") == [items["transport"]]
    assert city.listed("chief.petitions", view="supervised") == [items["routing"]]  # the commission: central work
    assert len(city.listed("admin", view="supervised")) == len(items)
    assert city.listed("chief.roads") == []  # nothing of their own to do


def test_a_caseworker_of_another_agency_does_not_see_the_item(work):
    city, items = work
    assert city.listed("cw.signals") == [items["transport"]]
    assert city.listed("dispatcher") == [items["routing"]]
    assert city.listed("designer") == [] and city.listed("reviewer") == []


@pytest.mark.parametrize("limit", [1, 2, 4])
def test_paging_with_the_cursor_gives_every_item_once_in_order(work, limit):
    city, items = work
    whole = city.page("admin", view="supervised", limit=50).items
    assert city.listed("admin", view="supervised", limit=limit) == [i.work_item_id for i in whole]
    assert city.listed("cw.bridges", limit=limit) == city.listed("cw.bridges", limit=50)


def test_a_page_ends_with_a_cursor_only_when_more_follow(work):
    city, items = work
    first = city.page("cw.roads", limit=3)
    assert len(first.items) == 3 and first.next_cursor is not None
    last = city.page("cw.roads", limit=3, cursor=first.next_cursor)
    assert [i.work_item_id for i in last.items] == [items["no_due"]] and last.next_cursor is None


@pytest.mark.parametrize("cursor", ["", "x", "12.ab", "n.1.2", "99999999999999999999999.1"])
def test_a_cursor_no_page_gave_is_refused(work, cursor):
    city, _ = work
    with pytest.raises(InvalidInput, match="cursor"):
        city.page("cw.roads", cursor=cursor)


def test_an_unknown_view_is_refused(work):
    city, _ = work
    with pytest.raises(InvalidInput, match="unknown inbox view"):
        city.page("cw.roads", view="everything")


def test_completed_work_leaves_the_inbox_and_is_listed_for_who_completed_it(work):
    city, items = work
    from engine.queries import InboxFilter
    city.complete(items["due_12_01"], "cw.roads")
    assert items["due_12_01"] not in city.listed("cw.roads")
    assert city.listed("cw.roads", view="mine", filters=InboxFilter(status="completed")) == [items["due_12_01"]]
    assert city.listed("cw.bridges", view="mine", filters=InboxFilter(status="completed")) == []
    with pytest.raises(InvalidInput, match="open work"):
        city.page("chief.roads", view="supervised", filters=InboxFilter(status="completed"))

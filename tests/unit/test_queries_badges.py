"""The inbox's badge counts are the lengths of the lists the inbox shows."""
import pytest

from engine.queries import InboxFilter
from tests.unit.queries_city import STAFF, city, taipei  # noqa: F401


@pytest.fixture
def work(city):
    """Work of 工務局 and 交通局 on Wednesday 2026-12-02 10:00, late, due today, due later, undated;
    some of it assigned; the dispatcher's routing."""
    def item(at, **kw):
        return city.open_case(at, **kw).work_item_ids[0]

    late, today = item(taipei(23), district="桃園"), item(taipei(24), district="中壢")
    item(taipei(25), case_type="inquiry", district="桃園")
    item(taipei(30), district="桃園")
    city.assign(item(taipei(20)), "cw.roads")  # due 11-30: overdue, and mine
    city.assign(item(taipei(24)), "cw.bridges")
    item(taipei(23), agency="transport")
    item(taipei(26), process="approval")
    city.clock.set(taipei(2, 10, month=12))
    return city, {"late": late, "today": today}


def test_the_badges_of_a_caseworker(work):
    city, _ = work
    counts = city.counts("cw.roads")
    assert (counts.assigned_to_me, counts.open_to_my_groups, counts.overdue, counts.due_today, counts.at_risk,
            counts.supervised) == (1, 4, 2, 1, 1, None)
    assert counts.as_of == taipei(2, 10, month=12)


@pytest.mark.parametrize("username", sorted(STAFF))
@pytest.mark.parametrize("filters", [InboxFilter(), InboxFilter(district="桃園"), InboxFilter(process_key="approval")],
                         ids=["no filter", "district", "process"])
def test_every_count_is_the_length_of_its_list(work, username, filters):
    city, _ = work
    counts = city.counts(username, filters)

    def length(view="inbox", **states):
        return len(city.listed(username, view=view, limit=50, filters=InboxFilter(**{**vars(filters), **states})))

    assert counts.assigned_to_me == length("mine")
    assert counts.open_to_my_groups == length("groups")
    assert counts.overdue == length(overdue=True)
    assert counts.due_today == length(due_today=True)
    assert counts.at_risk == length(at_risk=True)
    assert counts.supervised == (length("supervised") if username.split(".")[0] in ("chief", "head", "admin")
                                 else None)


def test_a_supervisor_counts_all_open_work_of_the_agency(work):
    city, _ = work
    assert city.counts("chief.roads").supervised == 6
    assert city.counts("chief.signals").supervised == 1
    assert city.counts("chief.petitions").supervised == 1  # the commission's: the central routing
    assert city.counts("admin").supervised == 8

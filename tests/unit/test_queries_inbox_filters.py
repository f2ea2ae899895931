"""Each inbox filter keeps exactly the items it names; the due-state filters follow the working days."""
import pytest

from engine.errors import InvalidInput
from engine.queries import InboxFilter
from tests.unit.queries_city import city, taipei  # noqa: F401


@pytest.fixture
def work(city):
    """cw.roads's inbox on Wednesday 2026-12-02 10:00: one item overdue, one due today, one due
    tomorrow, one next Monday, one with no due time; two processes, two tasks, categories and districts."""
    def item(at, **kw):
        return city.open_case(at, **kw).work_item_ids[0]

    items = {
        "overdue": item(taipei(23), category="road_pothole", district="桃園"),  # due 12-01 17:30
        "today": item(taipei(24), category="dirty_spot", district="龜山"),  # due 12-02 17:30
        "monday": item(taipei(27), category="road_pothole", district="八德"),  # due 12-07 17:30
        "no_due": item(taipei(25), case_type="inquiry", district="桃園"),
    }
    routing = item(taipei(25), process="approval", category="streetlight", district="中壢")
    (items["tomorrow"],) = city.complete(routing, "dispatcher").opened  # the draft, due 12-03 17:30
    city.clock.set(taipei(2, 10, month=12))
    return city, items


@pytest.mark.parametrize("filters, expected", [
    (InboxFilter(), ["overdue", "today", "tomorrow", "monday", "no_due"]),
    (InboxFilter(case_type="inquiry"), ["no_due"]),
    (InboxFilter(process_key="approval"), ["tomorrow"]),
    (InboxFilter(task_spec="reply"), ["overdue", "today", "monday", "no_due"]),
    (InboxFilter(category="road_pothole"), ["overdue", "monday"]),
    (InboxFilter(district="桃園"), ["overdue", "no_due"]),
    (InboxFilter(due_before=taipei(2, 17, 30, month=12)), ["overdue"]),  # due strictly before
    (InboxFilter(overdue=True), ["overdue"]),
    (InboxFilter(due_today=True), ["today"]),
    (InboxFilter(at_risk=True), ["today", "tomorrow"]),  # due by the close of the next working day
    (InboxFilter(overdue=True, at_risk=True), ["overdue", "today", "tomorrow"]),  # either
    (InboxFilter(district="桃園", task_spec="reply", process_key="simple"), ["overdue", "no_due"]),
    (InboxFilter(category="nothing"), []),
], ids=lambda v: ",".join(f"{k}={x}" for k, x in vars(v).items() if x not in (None, False, "open"))
   if isinstance(v, InboxFilter) else None)
def test_a_filter_keeps_exactly_the_items_it_names(work, filters, expected):
    city, items = work
    assert city.listed("cw.roads", filters=filters) == [items[k] for k in expected]


def test_due_states_follow_the_working_days(work):
    city, items = work
    page = city.page("cw.roads")
    assert [i.due_state for i in page.items] == ["overdue", "due_today", "at_risk", "on_time", None]
    city.clock.set(taipei(4, 10, month=12))  # Friday: Monday's work is due on the next working day
    assert city.listed("cw.roads", filters=InboxFilter(at_risk=True)) == [items["monday"]]
    assert city.listed("cw.roads", filters=InboxFilter(overdue=True)) == [
        items[k] for k in ("overdue", "today", "tomorrow")]


def test_a_due_before_without_its_utc_offset_is_refused(work):
    city, _ = work
    with pytest.raises(InvalidInput, match="UTC offset"):
        city.page("cw.roads", filters=InboxFilter(due_before=taipei(2, month=12).replace(tzinfo=None)))


def test_filters_apply_to_the_supervisors_view_too(work):
    city, items = work
    assert city.listed("chief.roads", view="supervised", filters=InboxFilter(district="桃園")) == [
        items["overdue"], items["no_due"]]

"""The escalation queue as each reader sees it: late work in working days, per agency and level."""
import pytest

from engine.accounts.identity import Principal
from engine.errors import Forbidden
from engine.queries import QueueCount, escalation_queue, load_principal
from engine.services.timers import ClaimDueTimers, FireTimer, claim_due_timers, fire_timer
from tests.unit.queries_city import city, taipei  # noqa: F401


def queue(city, username, **kw):
    with city.runtime.uow(read_only=True) as uow:
        return escalation_queue(uow, load_principal(uow, username=username), **kw)


def fire_due(city, at):
    """Fire every timer due by `at`, as the scheduler and workers do."""
    city.clock.set(at)
    with city.runtime.uow() as uow:
        ids = claim_due_timers(ClaimDueTimers("test"), uow)
        uow.commit()
    for timer_id in ids:
        with city.runtime.uow() as uow:
            fire_timer(FireTimer(timer_id), uow)
            uow.commit()


@pytest.fixture
def late(city):
    """工務局's reply due Friday 2026-12-04, 交通局's due Monday 12-07, the dispatcher's routing due 12-04."""
    items = {"works": city.open_case(taipei(26)).work_item_ids[0],
             "transport": city.open_case(taipei(27), agency="transport").work_item_ids[0],
             "routing": city.open_case(taipei(26), process="approval").work_item_ids[0]}
    return city, items


def test_working_days_late_skip_the_weekend(late):
    city, items = late
    for at, days in [(taipei(4, 18, month=12), 0), (taipei(5, 12, month=12), 0), (taipei(6, 12, month=12), 0),
                     (taipei(7, 10, month=12), 1), (taipei(8, 10, month=12), 2)]:
        city.clock.set(at)
        works = {i.work_item_id: i for i in queue(city, "head.works").items}[items["works"]]
        assert (works.state, works.working_days_late) == ("overdue", days), at


def test_work_due_on_the_next_working_day_is_at_risk_across_the_weekend(late):
    city, items = late
    city.clock.set(taipei(4, 10, month=12))  # Friday: Monday's reply is due on the next working day
    (item,) = queue(city, "chief.signals").items
    assert (item.work_item_id, item.state, item.working_days_late) == (items["transport"], "at_risk", 0)
    city.clock.set(taipei(3, 10, month=12))
    assert queue(city, "chief.signals").items == ()


def test_the_commission_sees_every_agency_and_an_agency_its_own(late):
    city, items = late
    city.clock.set(taipei(8, 10, month=12))
    everything = sorted(items.values())
    for username in ("reviewer", "chief.petitions", "admin"):
        assert sorted(i.work_item_id for i in queue(city, username).items) == everything
    assert [i.work_item_id for i in queue(city, "head.works").items] == [items["works"]]
    assert [i.work_item_id for i in queue(city, "chief.roads").items] == [items["works"]]
    assert [i.work_item_id for i in queue(city, "chief.signals").items] == [items["transport"]]
    transport = city.agency_id("transport")
    assert [i.work_item_id for i in queue(city, "reviewer", agency_id=transport).items] == [items["transport"]]


@pytest.mark.parametrize("username, kw", [("cw.roads", {}), ("dispatcher", {}), ("designer", {}),
                                          ("chief.roads", {"agency": "transport"})])
def test_a_reader_without_a_queue_or_outside_the_agency_is_refused(late, username, kw):
    city, _ = late
    agency_id = city.agency_id(kw["agency"]) if kw else None
    with pytest.raises(Forbidden):
        queue(city, username, agency_id=agency_id)


def test_the_queue_by_level_with_counts_per_agency_level_and_state(late):
    city, items = late
    fire_due(city, taipei(8, 18, month=12))  # past the first two rungs of 12-04 and 12-08
    city.clock.set(taipei(9, 10, month=12))
    whole = queue(city, "reviewer")
    assert [(i.work_item_id, i.escalation_level, i.working_days_late) for i in whole.items] == [
        (items["works"], 2, 3), (items["routing"], 2, 3), (items["transport"], 1, 2)]
    works, transport = city.agency_id("public_works"), city.agency_id("transport")
    assert whole.counts == (QueueCount(None, None, 2, "overdue", 1), QueueCount(works, "工務局", 2, "overdue", 1),
                            QueueCount(transport, "交通局", 1, "overdue", 1))
    assert [i.work_item_id for i in queue(city, "reviewer", level=1).items] == [items["transport"]]
    assert [i.work_item_id for i in queue(city, "reviewer", min_level=2).items] == [items["works"], items["routing"]]
    limited = queue(city, "reviewer", limit=1)
    assert len(limited.items) == 1 and limited.counts == whole.counts


def test_a_reader_overseeing_two_agencies_sees_both_and_can_narrow_to_one_agency_and_level(late):
    city, items = late
    fire_due(city, taipei(8, 18, month=12))
    city.clock.set(taipei(9, 10, month=12))
    works, transport = city.agency_id("public_works"), city.agency_id("transport")
    both = Principal(city.user_id("head.works"), "head.works",
                     frozenset({("agency_head", works), ("agency_head", transport)}))

    def read(**kw):
        with city.runtime.uow(read_only=True) as uow:
            return escalation_queue(uow, both, **kw)

    whole = read()
    assert [i.work_item_id for i in whole.items] == [items["works"], items["transport"]]
    assert whole.counts == (QueueCount(works, "工務局", 2, "overdue", 1),
                            QueueCount(transport, "交通局", 1, "overdue", 1))
    assert whole.unit_counts == ()  # two agencies: no table per unit
    assert [i.work_item_id for i in read(limit=1).items] == [items["works"]]
    narrowed = read(agency_id=transport, level=1)
    assert [i.work_item_id for i in narrowed.items] == [items["transport"]]
    assert narrowed.counts == (QueueCount(transport, "交通局", 1, "overdue", 1),)
    assert read(agency_id=transport, level=2).items == ()
    with pytest.raises(Forbidden):
        read(agency_id=works + transport + 100)  # an agency outside theirs

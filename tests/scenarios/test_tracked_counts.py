"""The source's 2013 figures for major projects, rebuilt from generated items through the services."""
from datetime import date, timedelta

import pytest

from engine.queries.tracked_items import Counts, meeting_agenda, tracked_item_counts
from engine.services.tracked_items import DecideClosure, cancel_tracked_item, release_tracked_item
from tests.scenarios.tracked_helpers import Tracking, at

#: 2013-08 (民國 102 年 8 月底): 175 tracked, 29 released, 4 cancelled, 142 continuing, of which
#: 90 on schedule or ahead, 24 behind by under 10%, 28 behind by 10% or more.
SOURCE_2013 = Counts(tracked=175, released=29, cancelled=4, continuing=142, on_or_ahead=90, behind_under_10=24,
                     behind_10_or_more=28)

#: Where the generated items are executed, in turn.
AGENCIES = ("public_works", "transport", "water", "environment")


def _outcomes():
    """What each of the 175 items does in its first report: (actual % against a planned 50%, closing)."""
    plan = [(100, "release")] * 29 + [(50, "cancel")] * 4
    plan += [(50 + i % 7, None) for i in range(90)]  # on schedule or ahead
    plan += [(41 + i % 9, None) for i in range(24)]  # behind by 1 to 9
    plan += [(40 - i % 25, None) for i in range(28)]  # behind by 10 to 34
    return plan


@pytest.mark.slow
def test_the_2013_figures_come_back_exactly_from_175_generated_items(library, clock):
    tracking = Tracking(library, clock)
    outcomes = _outcomes()
    assert len(outcomes) == 175
    items = []
    for n, _ in enumerate(outcomes):
        item = tracking.register(title=f"重大工程 {n + 1:03d}", agency=AGENCIES[n % len(AGENCIES)],
                                 start=date(2026, 11, 1), end=date(2026, 11, 1))
        items.append(item)
    for n, item in enumerate(items):
        tracking.caseworker = tracking.library.staff(f"cw.{n}", "caseworker", AGENCIES[n % len(AGENCIES)])
        tracking.plan(item.case_id, [50])
    clock.set(at("2026-12-01 08:31"))
    for item in items:
        library.run(library.instance(item.case_id).id)
    for n, (item, (actual, closing)) in enumerate(zip(items, outcomes)):
        tracking.caseworker = tracking.library.staff(f"cw.report.{n}", "caseworker", AGENCIES[n % len(AGENCIES)])
        tracking.report(item.case_id, actual, closure_request=closing or "none",
                        closure_reason="完工驗收" if closing == "release" else "計畫停辦" if closing else "")
        if closing:
            decide = release_tracked_item if closing == "release" else cancel_tracked_item
            tracking.call(decide, DecideClosure(item.case_id, True, tracking.reviewer))
    clock.set(at("2026-12-31 17:00"))
    with library.runtime.uow() as uow:
        counts = tracked_item_counts(uow, tracking.reviewer, year=2026)
        agenda = meeting_agenda(uow, tracking.reviewer)
    assert counts.total == SOURCE_2013
    assert counts.by_kind == {"major_project": SOURCE_2013}
    assert sum(c.tracked for c in counts.by_agency.values()) == 175
    assert counts.by_agency["public_works"].tracked == 44
    # The meeting's agenda is exactly the 28 behind by 10% or more, the furthest behind first
    assert len(agenda) == 28 and agenda[0].gap_percent == 34 and agenda[-1].gap_percent == 10
    # Counted as of a moment before the closings, every item is still tracked
    with library.runtime.uow() as uow:
        earlier = tracked_item_counts(uow, tracking.reviewer, as_of=at("2026-12-01 08:00") - timedelta(minutes=1))
    assert (earlier.total.tracked, earlier.total.released, earlier.total.continuing) == (175, 0, 175)

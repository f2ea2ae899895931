"""The rollups stay equal to what the case records give: caught up step by step or all at once,
rebuilt, stopped half-way, run twice; the check says when they differ."""
from sqlalchemy import func, select, update

from engine.accounts.identity import SYSTEM
from engine.queries.reports import Period, agency_report, hotspot_report
from engine.services.reports import (
    CheckRollups,
    RebuildRollups,
    catch_up_all,
    check_rollups,
    rebuild_rollups,
)
from engine.store.schema import cases, report_agency_days, report_dirty

from .city import at, build, catch_up

NOVEMBER = Period.month(2026, 11)


def _counters(library) -> dict:
    from engine.cases.rollups import stored_counters
    with library.runtime.uow(read_only=True) as uow:
        return stored_counters(uow)


def _check(library):
    with library.runtime.uow(read_only=True) as uow:
        return check_rollups(CheckRollups(), uow)


def test_every_step_marks_its_case_and_the_catch_up_clears_the_marks(library, clock):
    build(library, clock, catch_up_between=False)
    with library.runtime.db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(report_dirty)).scalar_one() == 10
    assert _check(library).pending == 10 and not _check(library).agree
    assert catch_up(library) == 10
    assert _check(library).agree and catch_up(library) == 0


def test_caught_up_once_at_the_end_or_after_every_step_the_counters_are_the_same(library, clock):
    build(library, clock, catch_up_between=True)
    stepwise = _counters(library)
    with library.runtime.uow() as uow:  # forget them, mark every case, catch up in one go
        from engine.cases.rollups import start_rebuild
        start_rebuild(uow)
        uow.commit()
    catch_up(library)
    assert _counters(library) == stepwise and stepwise


def test_a_rebuild_gives_the_incremental_counters_and_the_check_agrees(library, clock):
    build(library, clock)
    incremental = _counters(library)
    seen = []
    done = rebuild_rollups(RebuildRollups(limit=3), library.runtime, progress=lambda n, left: seen.append((n, left)))
    assert (done.marked, done.recomputed, done.interrupted) == (10, 10, False)
    assert seen == [(3, 7), (6, 4), (9, 1), (10, 0)]
    assert _counters(library) == incremental
    check = _check(library)
    assert check.agree and check.differing == 0 and check.cells == len(incremental)


def test_a_rebuild_stopped_half_way_is_finished_by_the_next_catch_up(library, clock):
    build(library, clock)
    incremental = _counters(library)
    batches = []
    done = rebuild_rollups(RebuildRollups(limit=4), library.runtime, progress=lambda n, left: batches.append(n),
                           stop=lambda: len(batches) >= 1)
    assert (done.recomputed, done.interrupted) == (4, True)
    assert _check(library).pending == 6
    assert catch_up_all(library.runtime) == 6
    assert _counters(library) == incremental and _check(library).agree


def test_the_check_names_a_counter_that_drifted(library, clock):
    build(library, clock)
    with library.runtime.uow() as uow:
        uow.conn.execute(update(report_agency_days).where(report_agency_days.c.received > 0)
                         .values(received=report_agency_days.c.received + 1))
        uow.commit()
    check = _check(library)
    assert not check.agree and check.differing > 0
    table, key, measure, stored, computed = check.first_differences[0]
    assert (table, measure, stored - computed) == ("report_agency_days", "received", 1)
    rebuild_rollups(RebuildRollups(), library.runtime)
    assert _check(library).agree


def test_the_report_totals_agree_with_the_case_records(library, clock):
    build(library, clock)
    with library.runtime.uow(read_only=True) as uow:
        report = agency_report(uow, SYSTEM, NOVEMBER)
        spots = hotspot_report(uow, SYSTEM, NOVEMBER)
        rows = uow.conn.execute(select(cases.c.status, cases.c.received_at, cases.c.closed_at)
                                .where(cases.c.case_type != "hotline")).all()
    start, end = at(11, 1, 0), at(12, 1, 0)
    received = sum(1 for r in rows if start <= r.received_at < end)
    closed = sum(1 for r in rows if r.status == "closed" and start <= r.closed_at < end)
    still_open = sum(1 for r in rows if r.status == "open")
    assert (report.city.received, report.city.closed, report.city.open_now) == (received, closed, still_open) == (7, 5, 2)
    assert spots.received == received == sum(c.received for c in spots.categories)
    assert sum(d.received for d in spots.districts) == received
    assert sum(report.city.by_channel.values()) == received

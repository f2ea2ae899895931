"""On PostgreSQL, a step that commits while a catch-up is under way is never lost, and two catch-ups
never run at once."""
from __future__ import annotations

import pytest

from engine.cases import rollups, shares
from engine.services.calendar_admin import (
    LoadDeadlineRules,
    LoadPublicHolidays,
    load_deadline_rules,
    load_public_holidays,
)
from engine.services.deployment import DeployBundle, deploy_bundle
from engine.workflow.definitions import read_bundle
from tests.scenarios.conftest import WORKFLOWS, Library, _seed_agencies

from .city import at, catch_up

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_library(pg_runtime) -> Library:
    with pg_runtime.uow() as uow:
        _seed_agencies(uow.conn)
        load_public_holidays(LoadPublicHolidays(2026), uow)
        load_deadline_rules(LoadDeadlineRules(), uow)
        deploy_bundle(DeployBundle(read_bundle(WORKFLOWS)), uow)
        uow.commit()
    return Library(pg_runtime)


def _counters(library):
    with library.runtime.uow(read_only=True) as uow:
        return rollups.stored_counters(uow), rollups.computed_counters(uow), rollups.pending(uow)


def test_a_step_committed_while_a_catch_up_runs_keeps_its_mark_and_is_counted_next(pg_library, clock, monkeypatch):
    clock.set(at(11, 2, 9))
    case_id = pg_library.start("petition", channel="web", category="road_pothole", district="桃園",
                               subject="中正路坑洞").case_id
    pg_library.complete(pg_library.item(case_id, "draft_reply").id, {
        "draft_action": "request_extension", "extension_days": 5, "extension_reason": "需會同台電現場確認"})
    approve = pg_library.item(case_id, "approve_extension").id
    compute = shares.compute_shares

    def step_meanwhile(uow, ids):
        # The catch-up has read the case's mark and records; the section chief's approval of an
        # extension commits now, from another connection, before the catch-up clears the mark it read.
        monkeypatch.setattr(shares, "compute_shares", compute)
        found = compute(uow, ids)
        clock.set(at(11, 3, 10))
        pg_library.complete(approve, {"extension_decision": "approve"})
        return found
    monkeypatch.setattr(shares, "compute_shares", step_meanwhile)
    with pg_library.runtime.uow() as uow:
        assert rollups.catch_up(uow)[0] == 1
        uow.commit()
    stored, computed, waiting = _counters(pg_library)
    assert waiting == 1 and stored != computed  # the step is not in the counters yet, but its mark stays
    assert catch_up(pg_library) == 1
    stored, computed, waiting = _counters(pg_library)
    assert (stored, waiting) == (computed, 0)
    assert sum(a.get("extensions", 0) for a in stored.values()) == 1


def test_a_second_catch_up_finds_the_lock_taken_and_does_nothing(pg_library, clock):
    clock.set(at(11, 2, 9))
    pg_library.start("petition", channel="web", category="road_pothole", district="桃園", subject="坑洞")
    with pg_library.runtime.uow() as first, pg_library.runtime.uow() as second:
        assert rollups.lock(first)
        assert rollups.catch_up(second) == (0, 0)
        second.rollback()
        assert rollups.catch_up(first)[0] == 1
        first.commit()
    assert _counters(pg_library)[2] == 0

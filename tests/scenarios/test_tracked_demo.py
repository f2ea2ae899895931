"""The demo's tracked items: every kind, history to show on the agenda, the next rounds on the first of the month."""
from sqlalchemy import func, select

from engine.accounts.identity import SYSTEM
from engine.cases.tracking import KINDS
from engine.queries.tracked_items import meeting_agenda, tracked_item_counts
from engine.services.demo import SeedDemo, seed_demo
from engine.services.deployment import DeployBundle, deploy_bundle
from engine.services.timers import FireTimer, fire_timer
from engine.store.schema import cases, timers, work_items
from engine.workflow.definitions import read_bundle
from tests.scenarios.conftest import WORKFLOWS
from tests.scenarios.tracked_helpers import at

#: The demo's tracked items' cases.
TRACKED = select(cases.c.id).where(cases.c.case_type == "tracked_item")


def test_seed_demo_registers_a_few_tracked_items_of_every_kind(runtime, clock):
    with runtime.uow() as uow:
        deploy_bundle(DeployBundle(read_bundle(WORKFLOWS)), uow)
        seeded = seed_demo(SeedDemo(), uow)
        uow.commit()
    assert seeded.counts["tracked items"] == 16
    with runtime.uow() as uow:
        counts = tracked_item_counts(uow, SYSTEM)
        agenda = meeting_agenda(uow, SYSTEM)
    assert set(counts.by_kind) == set(KINDS) and all(c.tracked >= 2 for c in counts.by_kind.values())
    assert counts.total.continuing == 16 and counts.total.behind_10_or_more == 4
    assert counts.by_kind["low_use_building"].behind_under_10 == 1
    assert agenda[0].title == "大園區污水下水道系統第二期工程" and agenda[0].special_report_due
    # Each item's history runs to the last whole period: the next rounds open on 12-01 (monthly)
    # and 2027-01-01 (quarterly), none before
    with runtime.db.connect() as conn:
        pending = conn.execute(select(timers.c.due_at, func.count()).where(
            timers.c.kind == "bpmn_timer", timers.c.status == "pending", timers.c.case_id.in_(TRACKED))
            .group_by(timers.c.due_at)).all()
    assert sorted(pending) == [(at("2026-12-01 08:30"), 12), (at("2027-01-01 08:30"), 4)]
    clock.set(at("2026-12-01 08:31"))
    with runtime.db.connect() as conn:
        due = conn.execute(timers.select().where(timers.c.kind == "bpmn_timer", timers.c.status == "pending",
                                                 timers.c.due_at <= clock.now(), timers.c.case_id.in_(TRACKED))).all()
    for row in due:
        with runtime.uow() as uow:
            fire_timer(FireTimer(row.id), uow)
            uow.commit()
    with runtime.db.connect() as conn:
        opened = conn.execute(select(func.count()).select_from(work_items).where(
            work_items.c.task_spec == "progress_report", work_items.c.status == "open")).scalar()
    assert opened == 12

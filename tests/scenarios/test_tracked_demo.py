"""The demo's tracked items: every kind, history to show on the agenda, and rounds that open at once."""
from engine.accounts.identity import SYSTEM
from engine.cases.tracking import KINDS
from engine.queries.tracked_items import meeting_agenda, tracked_item_counts
from engine.services.demo import SeedDemo, seed_demo
from engine.services.deployment import DeployBundle, deploy_bundle
from engine.services.timers import FireTimer, fire_timer
from engine.store.schema import timers
from engine.workflow.definitions import read_bundle
from tests.scenarios.conftest import WORKFLOWS


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
    assert agenda[0].title == "大園區污水下水道系統第二期工程" and agenda[0].special_report_due
    # The items' first rounds open when the scheduler first fires their timers
    clock.advance(minutes=1)
    with runtime.db.connect() as conn:
        due = conn.execute(timers.select().where(timers.c.kind == "bpmn_timer", timers.c.status == "pending",
                                                 timers.c.due_at <= clock.now())).all()
    assert len(due) == 16  # last month's, or last quarter's, report: asked at once
    for row in due:
        with runtime.uow() as uow:
            fire_timer(FireTimer(row.id), uow)
            uow.commit()
    with runtime.db.connect() as conn:
        opened = conn.exec_driver_sql("select count(*) from work_items where task_spec = 'progress_report' "
                                      "and status = 'open'").scalar()
    assert opened == 16

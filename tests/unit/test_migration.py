"""Moving running cases from one deployed version of a process to a later one: the dry run, the move
of one case, the bulk driver (tests/data/migrate_v1.bpmn, migrate_v2_added.bpmn, migrate_v2_removed.bpmn)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.errors import Conflict, Forbidden, InvalidInput, MigrationRefused, NotFound
from engine.queries.migration import preview_migration
from engine.services.deployment import DeployBundle, deploy_bundle
from engine.services.migration import MigrateCases, MoveCase, migrate_cases, move_case
from engine.store.schema import case_events, process_definitions, timers, work_items, workflow_instances
from tests.conftest import bundle
from tests.unit.queries_city import build_city, taipei


@pytest.fixture
def city(runtime, clock):
    """The small city with version 1 of `revise` deployed (confirm -> draft, with a timer -> approve)."""
    return build_city(runtime, clock, bundle("migrate_v1.bpmn"))


def deploy(city, name: str, *changes: tuple[str, str]) -> None:
    """Deploy another version of `revise` from a test diagram, with text replaced as `changes` say."""
    text = bundle(name)[name]
    for old, new in changes:
        assert old in text
        text = text.replace(old, new)
    with city.runtime.uow() as uow:
        deploy_bundle(DeployBundle({"revise.bpmn": text}, deployed_by="designer"), uow)
        uow.commit()


def at_confirm(city, day: int):
    return city.open_case(taipei(day), process="revise")


def at_draft(city, day: int):
    started = at_confirm(city, day)
    city.complete(started.work_item_ids[0])
    return started


def at_approve(city, day: int):
    started = at_confirm(city, day)
    done = city.complete(started.work_item_ids[0])
    city.complete(done.opened[0])
    return started


def preview(city, who: str = "designer", to: int = 2, **kw):
    with city.runtime.uow(read_only=True) as uow:
        return preview_migration(uow, city.principal(who), "revise", 1, to, **kw)


def move(city, case_id: int, who: str = "designer", **kw):
    with city.runtime.uow() as uow:
        moved = move_case(MoveCase(case_id, "revise", 1, 2, city.principal(who), **kw), uow)
        uow.commit()
    return moved


def open_items(city, case_id: int) -> list[tuple]:
    with city.runtime.db.connect() as conn:
        return [tuple(r) for r in conn.execute(
            select(work_items.c.id, work_items.c.task_spec, work_items.c.name, work_items.c.lane, work_items.c.role,
                   work_items.c.agency_id, work_items.c.assignee_id)
            .where(work_items.c.case_id == case_id, work_items.c.status == "open").order_by(work_items.c.id))]


def instance(city, case_id: int):
    with city.runtime.db.connect() as conn:
        return conn.execute(
            select(workflow_instances.c.state, workflow_instances.c.version, workflow_instances.c.next_timer_at,
                   process_definitions.c.version.label("process_version"))
            .join(process_definitions, process_definitions.c.id == workflow_instances.c.definition_id)
            .where(workflow_instances.c.case_id == case_id)).one()


def pending_timers(city, case_id: int) -> list[tuple]:
    with city.runtime.db.connect() as conn:
        return [tuple(r) for r in conn.execute(
            select(timers.c.id, timers.c.kind, timers.c.task_id, timers.c.due_at)
            .where(timers.c.case_id == case_id, timers.c.status == "pending").order_by(timers.c.id))]


def history(city, case_id: int, kind: str) -> list:
    with city.runtime.db.connect() as conn:
        return conn.execute(select(case_events.c.actor_id, case_events.c.data)
                            .where(case_events.c.case_id == case_id, case_events.c.kind == kind)).all()


# --- (a) the new version adds a task after the current one --------------------------------------


def test_the_dry_run_says_each_case_can_move_to_a_version_that_adds_a_task(city):
    cases = [at_confirm(city, 23), at_draft(city, 24), at_approve(city, 25)]
    deploy(city, "migrate_v2_added.bpmn")

    dry = preview(city)
    assert dry.running_cases == 3
    assert [(c.case_no, c.can_move, c.reasons) for c in dry.cases] == [(c.case_no, True, ()) for c in cases]
    assert [c.waiting_at for c in dry.cases] == [
        ("Confirm the agency (confirm)",), ("擬辦答復 (draft)", "Reply overdue (draft_overdue)"),
        ("Approve the reply (approve)",)]
    assert dry.changes.added == ("Proofread the reply (proofread)",)
    assert dry.changes.removed == ()
    assert dict(dry.changes.changed)["Confirm the agency (confirm)"] == ("bpmn_name", "lane")
    assert dry.next_after is None
    # A dry run changes nothing.
    assert {instance(city, c.case_id).process_version for c in cases} == {1}


def test_a_moved_case_continues_through_the_new_task(city):
    started = at_draft(city, 24)
    deploy(city, "migrate_v2_added.bpmn")
    before = instance(city, started.case_id)
    [(item_id, *_)] = open_items(city, started.case_id)

    moved = move(city, started.case_id)

    after = instance(city, started.case_id)
    assert (after.process_version, after.version) == (2, before.version + 1) == (2, moved.version)
    assert open_items(city, started.case_id)[0][0] == item_id  # the same inbox row: nothing re-opened
    done = city.complete(item_id, data={})
    [(_, task, name, lane, role, _, _)] = open_items(city, started.case_id)
    assert (task, name, lane, role) == ("proofread", "Proofread the reply", "Supervisor", "supervisor")
    city.complete(done.opened[0])
    [(approve, task, *_)] = open_items(city, started.case_id)
    assert task == "approve"
    assert city.complete(approve).status == "completed"


def test_the_move_keeps_the_timer_it_waits_on_and_its_due_time(city):
    started = at_draft(city, 24)
    timers_before = pending_timers(city, started.case_id)
    due_before = instance(city, started.case_id).next_timer_at
    deploy(city, "migrate_v2_added.bpmn")
    city.clock.set(taipei(27))  # the move is days later: the timer must not start counting again

    move(city, started.case_id)

    assert pending_timers(city, started.case_id) == timers_before
    assert instance(city, started.case_id).next_timer_at == due_before


def test_the_move_is_in_the_case_history_with_versions_and_who(city):
    started = at_confirm(city, 24)
    deploy(city, "migrate_v2_added.bpmn")
    move(city, started.case_id)
    [(actor, data)] = history(city, started.case_id, "case_migrated")
    assert actor == city.user_id("designer")
    assert {k: data[k] for k in ("process", "from_version", "to_version", "by")} == {
        "process": "revise", "from_version": 1, "to_version": 2, "by": "designer"}
    assert data["resynced"][0]["lane"] == ["Dispatcher", "Reviewer"]


def test_after_a_lane_change_the_inbox_row_belongs_to_the_new_role(city):
    started = at_confirm(city, 24)
    deploy(city, "migrate_v2_added.bpmn")
    [(item_id, task, name, lane, role, agency_id, _)] = open_items(city, started.case_id)
    assert (name, lane, role, agency_id) == ("Confirm the agency", "Dispatcher", "dispatcher", None)
    city.assign(item_id, "dispatcher")  # claimed by a dispatcher, who is no reviewer

    move(city, started.case_id)

    assert open_items(city, started.case_id) == [
        (item_id, "confirm", "Review the routing", "Reviewer", "reviewer", None, None)]
    assert item_id in city.listed("reviewer")
    assert item_id not in city.listed("dispatcher")
    city.complete(item_id, "reviewer")  # the reviewer may now do it


# --- (b) the new version removes the task some cases wait on -----------------------------------


def test_cases_waiting_at_a_removed_task_are_refused_and_say_why(city):
    confirm, draft, approve = at_confirm(city, 23), at_draft(city, 24), at_approve(city, 25)
    deploy(city, "migrate_v2_removed.bpmn")

    dry = {c.case_no: c for c in preview(city).cases}
    assert dry[confirm.case_no].can_move
    assert not dry[draft.case_no].can_move
    assert dry[draft.case_no].reasons == (
        "waiting at 擬辦答復 (draft), which version 2 removes",
        "waiting for Reply overdue (draft_overdue), which version 2 removes")
    # Its history passed through the removed task: that history must keep loading, so it stays.
    assert dry[approve.case_no].reasons == ("its history holds 擬辦答復 (draft), which version 2 removes",)


def test_the_move_refuses_what_the_dry_run_refused_and_leaves_the_case_as_it_was(city):
    started = at_draft(city, 24)
    deploy(city, "migrate_v2_removed.bpmn")
    before, items, due = instance(city, started.case_id), open_items(city, started.case_id), \
        pending_timers(city, started.case_id)

    with pytest.raises(MigrationRefused) as refused:
        move(city, started.case_id)

    assert "waiting at 擬辦答復 (draft), which version 2 removes" in refused.value.details["reasons"]
    assert instance(city, started.case_id) == before
    assert (open_items(city, started.case_id), pending_timers(city, started.case_id)) == (items, due)
    assert history(city, started.case_id, "case_migrated") == []


def test_a_case_that_moved_on_after_the_dry_run_is_checked_again_when_moved(city):
    started = at_confirm(city, 24)
    deploy(city, "migrate_v2_removed.bpmn")
    [check] = preview(city).cases
    assert check.can_move
    city.complete(open_items(city, started.case_id)[0][0])  # now at draft, which version 2 removes

    with pytest.raises(MigrationRefused):
        move(city, started.case_id)
    assert instance(city, started.case_id).process_version == 1


def test_a_case_changed_since_the_version_the_caller_saw_is_not_overwritten(city):
    started = at_confirm(city, 24)
    deploy(city, "migrate_v2_added.bpmn")
    [check] = preview(city).cases
    city.complete(open_items(city, started.case_id)[0][0])
    before = instance(city, started.case_id)

    with pytest.raises(Conflict, match="changed since it was checked"):
        move(city, started.case_id, expected_version=check.instance_version)
    assert instance(city, started.case_id) == before


def test_a_changed_timer_or_kind_of_task_a_case_waits_on_is_refused(city):
    draft, confirm = at_draft(city, 23), at_confirm(city, 24)
    deploy(city, "migrate_v1.bpmn", ('"P6D"', '"P9D"'),
           ('<bpmn:userTask id="confirm" name="Confirm the agency">', '<bpmn:manualTask id="confirm" name="Confirm">'),
           ('</bpmn:userTask>\n    <bpmn:userTask id="draft"', '</bpmn:manualTask>\n    <bpmn:userTask id="draft"'))
    dry = {c.case_no: c.reasons for c in preview(city).cases}
    assert dry == {
        draft.case_no: ("waiting for Reply overdue (draft_overdue): version 2 changes the event it waits for",),
        confirm.case_no: ("waiting at Confirm the agency (confirm), which version 2 makes another kind of element",)}


def test_a_boundary_event_added_to_the_task_a_case_waits_at_is_refused(city):
    confirm = at_confirm(city, 24)
    deploy(city, "migrate_v1.bpmn", ('attachedToRef="draft"', 'attachedToRef="confirm"'))
    [check] = preview(city).cases
    assert check.case_no == confirm.case_no
    assert check.reasons == ("waiting at Confirm the agency (confirm), whose boundary events version 2 changes",)


# --- who may, and bad input ---------------------------------------------------------------------


@pytest.mark.parametrize("who", ["cw.roads", "dispatcher", "auditor", "chief.roads"])
def test_only_process_designers_and_administrators_may_move_cases(city, who):
    started = at_confirm(city, 24)
    deploy(city, "migrate_v2_added.bpmn")
    with pytest.raises(Forbidden):
        preview(city, who)
    with pytest.raises(Forbidden):
        move(city, started.case_id, who)
    move(city, started.case_id, "admin")


def test_bad_versions_and_processes_are_named(city):
    at_confirm(city, 24)
    deploy(city, "migrate_v2_added.bpmn")
    principal = city.principal("designer")
    with city.runtime.uow(read_only=True) as uow:
        with pytest.raises(InvalidInput, match="version 1 is not later than version 2"):
            preview_migration(uow, principal, "revise", 2, 1)
        with pytest.raises(NotFound, match=r"has no version 3 \(deployed: 1, 2\)"):
            preview_migration(uow, principal, "revise", 1, 3)
        with pytest.raises(NotFound, match="no process 'nope' is deployed"):
            preview_migration(uow, principal, "nope", 1, 2)
        with pytest.raises(InvalidInput, match="limit"):
            preview_migration(uow, principal, "revise", 1, 2, limit=0)


def test_a_case_not_on_the_older_version_is_a_conflict(city):
    started = at_confirm(city, 24)
    deploy(city, "migrate_v2_added.bpmn")
    move(city, started.case_id)
    with pytest.raises(Conflict, match="runs version 2"):
        move(city, started.case_id)
    with pytest.raises(NotFound):
        move(city, 987654)


# --- the bulk driver ----------------------------------------------------------------------------


def test_the_bulk_driver_moves_what_it_can_and_reports_the_rest(city):
    confirm, draft, approve = at_confirm(city, 23), at_draft(city, 24), at_approve(city, 25)
    deploy(city, "migrate_v2_removed.bpmn")
    seen = []
    report = migrate_cases(MigrateCases("revise", 1, 2, city.principal("designer"), page_size=2), city.runtime,
                           progress=lambda report, result: seen.append(result.case_no))
    assert (report.running_cases, report.moved, report.refused, report.failed) == (3, 1, 2, 0)
    assert seen == [confirm.case_no, draft.case_no, approve.case_no]
    assert [(r.case_no, r.result) for r in report.results] == [
        (confirm.case_no, "moved"), (draft.case_no, "refused"), (approve.case_no, "refused")]
    assert [instance(city, c.case_id).process_version for c in (confirm, draft, approve)] == [2, 1, 1]


def test_a_dry_run_of_the_bulk_driver_moves_nothing(city):
    started = at_confirm(city, 24)
    deploy(city, "migrate_v2_added.bpmn")
    report = migrate_cases(MigrateCases("revise", 1, 2, city.principal("admin"), dry_run=True), city.runtime)
    assert [(r.case_no, r.result) for r in report.results] == [(started.case_no, "movable")]
    assert instance(city, started.case_id).process_version == 1


def test_the_bulk_driver_stops_between_cases_when_asked(city):
    first, second = at_confirm(city, 23), at_confirm(city, 24)
    deploy(city, "migrate_v2_added.bpmn")
    report = migrate_cases(MigrateCases("revise", 1, 2, city.principal("designer")), city.runtime,
                           stop=lambda: len(report_seen) >= 1,
                           progress=lambda report, result: report_seen.append(result))
    assert report.interrupted and report.moved == 1
    assert [instance(city, c.case_id).process_version for c in (first, second)] == [2, 1]


report_seen: list = []


@pytest.fixture(autouse=True)
def _fresh_seen():
    report_seen.clear()


def test_named_cases_only_and_those_not_on_the_version_are_said_so(city):
    first, second = at_confirm(city, 23), at_confirm(city, 24)
    deploy(city, "migrate_v2_added.bpmn")
    report = migrate_cases(MigrateCases("revise", 1, 2, city.principal("designer"),
                                        case_nos=(second.case_no, "P20260101999")), city.runtime)
    assert [(r.case_no, r.result, r.reasons) for r in report.results] == [
        ("P20260101999", "refused", ("no such case",)), (second.case_no, "moved", ())]
    assert instance(city, first.case_id).process_version == 1

"""The two step writers, statement by statement on SQLite and one statement on PostgreSQL, write the same rows."""
import shutil
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, select, update

from engine import correlation
from engine.bootstrap import bootstrap
from engine.settings import Settings
from engine.store.changes import CompletedItem, DueMove, InstanceWrite, StepChanges
from engine.store.schema import agencies, case_events, cases, outbox, timers, units, work_items, workflow_instances
from engine.store.steps import write_step
from tests.unit.test_step_store import open_transfer_case

pytestmark = pytest.mark.postgres

TAIPEI = ZoneInfo("Asia/Taipei")
RECEIVED = datetime(2026, 11, 26, 9, 0, tzinfo=TAIPEI)
DUE = datetime(2026, 12, 20, 9, 30, tzinfo=TAIPEI)


def _every_change(runtime, case_id: int, *, cancel_survey: bool) -> StepChanges:
    """A step that changes everything a step can: completes an item, transfers the case, moves its
    due time with a new ladder, opens an item with its own, cancels one, queues messages, closes."""
    now = runtime.clock.now()
    with runtime.db.connect() as conn:
        instance = conn.execute(select(workflow_instances)).one()
        items = {r.task_spec: r for r in conn.execute(select(work_items))}
        transport = conn.execute(select(agencies.c.id).where(agencies.c.code == "transport")).scalar_one()
        signals = conn.execute(select(units.c.id).where(units.c.agency_id == transport)).scalar_one()
    changes = StepChanges(case_id, now, instance=InstanceWrite(instance.id, instance.definition_id, instance.version,
                                                               instance.state, "completed", None),
                          completed_item=CompletedItem(items["triage"].id, None, cancel_ladder=True))
    changes.move_case(transport)
    changes.place_in_unit(signals)
    changes.move_due(DueMove(DUE, reset_level=True, ladder=(
        ("reminder", DUE - timedelta(days=1), {"rule": "r"}),
        ("escalation", DUE, {"rule": "r", "level": 1, "to": "section_chief"}))))
    changes.opened.append({"case_id": case_id, "task_id": "reply-task", "task_spec": "reply", "name": "Reply",
                           "lane": "Caseworker", "role": "caseworker", "agency_id": transport, "unit_id": signals,
                           "case_agency_id": transport, "assignee_id": None,
                           "status": "open", "form_key": None, "due_at": DUE, "deadline_mode": "case",
                           "created_at": now})
    changes.ladder.append({"kind": "reminder", "instance_id": None, "case_id": case_id, "work_item_id": "reply-task",
                           "due_at": DUE - timedelta(hours=4), "status": "pending", "payload": {"rule": "r"},
                           "created_at": now})
    changes.events += [
        {"case_id": case_id, "at": now, "kind": "note", "actor_id": None, "work_item_id": None, "data": {"k": 1}},
        {"case_id": case_id, "at": now, "kind": "task_ready", "actor_id": None, "work_item_id": None, "data": None,
         "item_task": "reply-task"}]
    changes.queue("email", {"to": "a@example.tw"}, "notice:1")
    changes.queue("email", {"to": "b@example.tw"}, "notice:1")  # the same notice twice: sent once
    changes.queue("in_app", {"role": "supervisor"}, "notice:2")
    if cancel_survey:
        changes.cancelled_tasks = [items["survey"].task_id]
    changes.closed, changes.outcome = True, "replied"
    return changes


def _rows(runtime) -> dict:
    """Every row the step can write, without what differs by nature (ids of timers, random task ids)."""
    def plain(row, drop=()):
        return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items() if k not in drop}
    with runtime.db.connect() as conn:
        return {
            "cases": [plain(r) for r in conn.execute(select(cases).order_by(cases.c.id)).mappings()],
            "work_items": [plain(r, ("task_id",)) for r in conn.execute(select(work_items).order_by(work_items.c.id)).mappings()],
            "case_events": [plain(r) for r in conn.execute(select(case_events).order_by(case_events.c.id)).mappings()],
            "outbox": [plain(r) for r in conn.execute(select(outbox).order_by(outbox.c.id)).mappings()],
            "timers": sorted((plain(r, ("id", "task_id")) for r in conn.execute(select(timers)).mappings()),
                             key=repr),
            "instances": [plain(r, ("state",)) for r in conn.execute(select(workflow_instances)).mappings()],
        }


def _unit_only(runtime, case_id: int) -> StepChanges:
    """A step that places the case in a unit of its own agency and changes nothing else of it."""
    with runtime.db.connect() as conn:
        instance = conn.execute(select(workflow_instances)).one()
        roads = conn.execute(select(units.c.id).join(agencies, agencies.c.id == units.c.agency_id)
                             .where(agencies.c.code == "public_works")).scalar_one()
    changes = StepChanges(case_id, runtime.clock.now(), instance=InstanceWrite(
        instance.id, instance.definition_id, instance.version, instance.state, "waiting", None))
    changes.place_in_unit(roads)
    return changes


def _written_on_both(pg_runtime, sqlite_template, tmp_path, step) -> dict:
    """On each database, what `step(runtime, case_id)` writes on the transfer case: (the instance's version, items
    opened, items cancelled, the rows it leaves, the work items' versions before it)."""
    path = tmp_path / "petiflow.sqlite3"
    shutil.copy(sqlite_template, path)
    sqlite = bootstrap(Settings(database_url=f"sqlite:///{path}", var_dir=tmp_path, secret_key="test"),
                       clock=type(pg_runtime.clock)(RECEIVED))
    pg_runtime.clock.set(RECEIVED)
    try:
        found = {}
        for name, runtime in (("sqlite", sqlite), ("postgresql", pg_runtime)):
            started = open_transfer_case(runtime, escalation_level=2)
            with runtime.db.begin() as conn:  # the units (科) a step may place the case in
                ids = dict(conn.execute(select(agencies.c.code, agencies.c.id)).all())
                conn.execute(insert(units), [{"agency_id": ids["transport"], "code": "signals", "name": "交通工程科"},
                                             {"agency_id": ids["public_works"], "code": "roads", "name": "養護工程科"}])
            runtime.clock.set(RECEIVED + timedelta(days=1, hours=1))
            versions = [r["version"] for r in _rows(runtime)["work_items"]]
            changes = step(runtime, started.case_id)
            with correlation.bound("req-step-0001"), runtime.uow() as uow:  # the request the step runs in
                written = write_step(uow, changes)
                uow.commit()
            found[name] = (written.version, len(written.opened), len(written.cancelled), _rows(runtime), versions)
    finally:
        sqlite.close()
    return found


@pytest.mark.parametrize("cancel_survey", [False, True], ids=["survey-moved", "survey-cancelled"])
def test_the_same_changes_leave_the_same_rows_on_sqlite_and_postgresql(pg_runtime, sqlite_template, tmp_path,
                                                                       cancel_survey):
    found = _written_on_both(pg_runtime, sqlite_template, tmp_path,
                             lambda runtime, case_id: _every_change(runtime, case_id, cancel_survey=cancel_survey))
    assert found["sqlite"] == found["postgresql"]
    version, opened, cancelled, rows, _versions = found["postgresql"]
    assert (version, opened, cancelled) == (2, 1, 1 if cancel_survey else 0)
    assert [m["dedup_key"] for m in rows["outbox"]] == ["notice:1", "notice:2"]
    assert rows["cases"][0]["unit_id"] is not None
    # The open work keeps the agency the case moved to: none of it is another agency's work on the case.
    assert {r["case_agency_id"] for r in rows["work_items"] if r["status"] == "open"} == {rows["cases"][0]["agency_id"]}
    step_time = (RECEIVED + timedelta(days=1, hours=1)).astimezone(timezone.utc).isoformat()
    # The timers the step set keep the id of the request it ran in; those set before, with none, keep none.
    assert {(t["created_at"] == step_time, t["correlation_id"]) for t in rows["timers"]} == {
        (True, "req-step-0001"), (False, None)}


def test_a_case_placed_in_a_unit_keeps_the_unit_on_its_open_work_the_same_on_both_databases(
        pg_runtime, sqlite_template, tmp_path):
    found = _written_on_both(pg_runtime, sqlite_template, tmp_path, _unit_only)
    assert found["sqlite"] == found["postgresql"]
    _version, _opened, _cancelled, rows, versions_before = found["postgresql"]
    unit = rows["cases"][0]["unit_id"]
    assert unit is not None
    assert [(r["task_spec"], r["unit_id"]) for r in rows["work_items"]] == [("triage", unit), ("survey", unit)]
    # The unit is the case's, not a change of the work: the items' versions (their ETags) stay.
    assert [r["version"] for r in rows["work_items"]] == versions_before


def _move_only(runtime, case_id: int) -> StepChanges:
    """A step that moves the case to transport, in no unit, while its survey is central work (no agency)."""
    with runtime.db.begin() as conn:
        conn.execute(update(work_items).where(work_items.c.task_spec == "survey")
                     .values(agency_id=None, role="dispatcher"))
        instance = conn.execute(select(workflow_instances)).one()
        transport = conn.execute(select(agencies.c.id).where(agencies.c.code == "transport")).scalar_one()
    changes = StepChanges(case_id, runtime.clock.now(), instance=InstanceWrite(
        instance.id, instance.definition_id, instance.version, instance.state, "waiting", None))
    changes.move_case(transport)
    return changes


def test_a_transfer_moves_the_agency_s_work_leaves_central_work_and_both_keep_the_case_s_new_agency(
        pg_runtime, sqlite_template, tmp_path):
    found = _written_on_both(pg_runtime, sqlite_template, tmp_path, _move_only)
    assert found["sqlite"] == found["postgresql"]
    _version, _opened, _cancelled, rows, versions_before = found["postgresql"]
    transport = rows["cases"][0]["agency_id"]
    triage, survey = rows["work_items"]
    # The agency's work moves, back to the group, in a new version; the central work stays as it was
    assert (triage["agency_id"], triage["assignee_id"], triage["version"]) == (transport, None, versions_before[0] + 1)
    assert (survey["agency_id"], survey["assignee_id"] is not None, survey["version"]) == (None, True,
                                                                                        versions_before[1])
    assert (triage["case_agency_id"], survey["case_agency_id"]) == (transport, transport)

"""A workflow step saved in one PostgreSQL statement: state, inbox, timers, history, case.

On PostgreSQL each statement is a network round trip, and a step's writes (the instance, its
work items opened and cancelled, their reminders and escalation rungs, its BPMN timers, the
case row, the history) would take six or more of them, plus BEGIN and COMMIT. Here they are
the parts of one statement with data-modifying WITH queries. The instance write is the gate:
a new instance is inserted, a running one updated only at the version it was loaded at, and
every other part writes only if the gate wrote. A stale version therefore writes nothing at
all, and a unit of work whose only write is this statement needs no transaction around it.

Everything the step changes travels in it (engine.store.changes.StepChanges): the case and
petitioner rows of a new case, the close of the completed work item, what engine actions did
to the case and its open work (a transfer, a new due time), the messages for the outbox. On
SQLite the same step is written statement by statement (engine.store.steps); both write the
same rows.
"""
from __future__ import annotations

import json
from datetime import datetime
from functools import lru_cache

from engine import correlation
from engine.errors import StaleStep
from engine.store import outbox
from engine.store.changes import StepChanges, Written

# Each part of the statement, by name; a step's statement holds only the parts it needs, so
# the server plans and runs no empty write. Rows travel as JSON documents read by
# json_to_recordset, a handful of parameters whatever the step opens or closes.
_PARTS = {
    "pet": """pet AS (
        INSERT INTO petitioners (name, id_number, phone, email, address, created_at)
        SELECT p.name, p.id_number, p.phone, p.email, p.address, %(now)s
        FROM json_to_record(%(pet)s::json) AS p(name text, id_number text, phone text, email text, address text)
        RETURNING id)""",
    "case": """new_case AS (
        INSERT INTO cases (id, case_no, case_type, channel, category, district, subject, description, status,
                           confidential, agency_id, petitioner_id, received_at, due_at, closed_at, created_at,
                           updated_at, address, latitude, longitude, geo_cell, unit_id)
        SELECT %(case_id)s::bigint, c.case_no, c.case_type, c.channel, c.category, c.district, c.subject,
               c.description, c.status, c.confidential, c.agency_id, {petitioner_id}, c.received_at, c.due_at,
               c.closed_at, %(now)s, %(now)s, c.address, c.latitude, c.longitude, c.geo_cell, c.unit_id
        FROM json_to_record(%(case)s::json) AS c(case_no text, case_type text, channel text, category text,
             district text, subject text, description text, status text, confidential boolean, agency_id bigint,
             unit_id bigint, petitioner_id bigint,
             received_at timestamptz, due_at timestamptz, closed_at timestamptz,
             address text, latitude double precision, longitude double precision, geo_cell bigint))""",
    "inst_new": """inst AS (
        INSERT INTO workflow_instances (case_id, definition_id, state, version, status, next_timer_at,
                                        created_at, updated_at)
        VALUES (%(case_id)s, %(definition_id)s, %(state)s, 1, %(status)s, %(next_timer_at)s, %(now)s, %(now)s)
        RETURNING id)""",
    "inst_old": """inst AS (
        UPDATE workflow_instances
        SET state = %(state)s, version = version + 1, status = %(status)s, next_timer_at = %(next_timer_at)s,
            definition_id = %(definition_id)s::bigint, updated_at = %(now)s, error = NULL
        WHERE id = %(instance_id)s::bigint AND version = %(version)s::integer
        RETURNING id)""",
    "done": """done AS (
        UPDATE work_items SET status = 'completed', completed_at = %(now)s, completed_by = %(done_by)s,
            version = version + 1
        WHERE id = %(done_item)s::bigint AND EXISTS (SELECT FROM inst))""",
    "done_timers": """done_timers AS (
        UPDATE timers SET status = 'cancelled', lease_owner = NULL, lease_expires_at = NULL
        WHERE work_item_id = %(done_item)s::bigint AND status = 'pending' AND kind IN ('reminder', 'escalation')
          AND EXISTS (SELECT FROM inst))""",
    "opened": """opened AS (
        INSERT INTO work_items (instance_id, case_id, task_id, task_spec, name, lane, role, agency_id, unit_id,
                                case_agency_id, assignee_id, status, form_key, due_at, deadline_mode, created_at)
        SELECT inst.id, %(case_id)s::bigint, o.task_id, o.task_spec, o.name, o.lane, o.role, o.agency_id,
               o.unit_id, o.case_agency_id, o.assignee_id, 'open', o.form_key, o.due_at, o.deadline_mode, %(now)s
        FROM inst CROSS JOIN json_to_recordset(%(items)s::json) AS o(task_id text, task_spec text, name text,
             lane text, role text, agency_id bigint, unit_id bigint, case_agency_id bigint, assignee_id bigint,
             form_key text, due_at timestamptz, deadline_mode text, ord integer)
        ORDER BY o.ord
        RETURNING id, task_id)""",
    "ladder": """ladder AS (
        INSERT INTO timers (kind, instance_id, case_id, work_item_id, due_at, status, payload, created_at,
                            correlation_id)
        SELECT l.kind, inst.id, %(case_id)s::bigint, opened.id, l.due_at, 'pending', l.payload, %(now)s,
               %(correlation_id)s::text
        FROM inst CROSS JOIN json_to_recordset(%(ladder)s::json)
             AS l(work_item_id text, kind text, due_at timestamptz, payload json, ord integer)
        JOIN opened ON opened.task_id = l.work_item_id
        ORDER BY l.ord)""",
    "gone": """gone AS (
        UPDATE work_items SET status = 'cancelled', completed_at = %(now)s, version = version + 1
        WHERE instance_id = (SELECT id FROM inst) AND task_id = ANY(%(gone)s::text[]) AND status = 'open'
        RETURNING id),
      gone_timers AS (
        UPDATE timers SET status = 'cancelled', lease_owner = NULL, lease_expires_at = NULL
        WHERE work_item_id IN (SELECT id FROM gone) AND status = 'pending'
          AND kind IN ('reminder', 'escalation'))""",
    # The drafts of the work the step closes: the completed item's when it has any, the cancelled ones'.
    "drafts": """drafts AS (
        DELETE FROM work_item_drafts WHERE work_item_id IN ({closed}) AND EXISTS (SELECT FROM inst))""",
    "timers": """waiting AS (
        SELECT * FROM json_to_recordset(%(waiting)s::json)
            AS w(task_id text, due_at timestamptz, payload json, ord integer)),
      stale_timers AS (
        UPDATE timers t SET status = 'cancelled'
        WHERE t.instance_id = (SELECT id FROM inst) AND t.kind = 'bpmn_timer' AND t.status = 'pending'
          AND NOT EXISTS (SELECT FROM waiting w WHERE w.task_id = t.task_id AND w.due_at = t.due_at)),
      fresh_timers AS (
        INSERT INTO timers (kind, instance_id, case_id, task_id, due_at, status, payload, created_at,
                            correlation_id)
        SELECT 'bpmn_timer', inst.id, %(case_id)s::bigint, w.task_id, w.due_at, 'pending', w.payload, %(now)s,
               %(correlation_id)s::text
        FROM inst CROSS JOIN waiting w
        WHERE NOT EXISTS (SELECT FROM timers t WHERE t.instance_id = inst.id AND t.kind = 'bpmn_timer'
              AND t.status IN ('pending', 'failed') AND t.task_id = w.task_id AND t.due_at = w.due_at)
        ORDER BY w.ord)""",
    # The case's open work moves with the case (a transfer), takes its unit, or gets its new due
    # time, in one UPDATE: a row may be written once per statement. The work completed or cancelled
    # by this step is left out, and so is the work it opens (not in the statement's snapshot). The
    # unit and the case's agency are copies of the case's, not changes of the work: alone, they leave the
    # version.
    "work": """work AS (
        UPDATE work_items w SET
            version = w.version + CASE WHEN ({moving} AND w.agency_id IS NOT NULL)
                                         OR ({due} AND w.deadline_mode IN ('case', 'due_only')) THEN 1 ELSE 0 END,
            agency_id = CASE WHEN {moving} AND w.agency_id IS NOT NULL THEN %(agency_id)s::bigint ELSE w.agency_id END,
            case_agency_id = CASE WHEN {moving} THEN %(agency_id)s::bigint ELSE w.case_agency_id END,
            unit_id = CASE WHEN {unit} THEN %(unit_id)s::bigint ELSE w.unit_id END,
            assignee_id = CASE WHEN {moving} AND w.agency_id IS NOT NULL THEN NULL ELSE w.assignee_id END,
            due_at = CASE WHEN {due} AND w.deadline_mode IN ('case', 'due_only') THEN %(due_at)s::timestamptz ELSE w.due_at END,
            escalation_level = CASE WHEN {due} AND w.deadline_mode IN ('case', 'due_only') AND %(reset_level)s::boolean
                               THEN 0 ELSE w.escalation_level END
        WHERE w.case_id = %(case_id)s::bigint AND w.status = 'open' AND EXISTS (SELECT FROM inst)
          AND w.id IS DISTINCT FROM %(done_item)s::bigint AND w.task_id <> ALL(%(gone)s::text[])
          AND ({moving} OR ({due} AND w.deadline_mode IN ('case', 'due_only')) OR {unit})
        RETURNING w.id, w.instance_id, w.deadline_mode, ({due} AND w.deadline_mode IN ('case', 'due_only')) AS due_moved)""",
    "work_timers": """work_timers AS (
        UPDATE timers SET status = 'cancelled', lease_owner = NULL, lease_expires_at = NULL
        WHERE work_item_id IN (SELECT id FROM work WHERE due_moved) AND status = 'pending'
          AND kind IN ('reminder', 'escalation'))""",
    "work_ladder": """work_ladder AS (
        INSERT INTO timers (kind, instance_id, case_id, work_item_id, due_at, status, payload, created_at,
                            correlation_id)
        SELECT l.kind, work.instance_id, %(case_id)s::bigint, work.id, l.due_at, 'pending', l.payload, %(now)s,
               %(correlation_id)s::text
        FROM work CROSS JOIN json_to_recordset(%(work_ladder)s::json)
             AS l(kind text, due_at timestamptz, payload json, ord integer)
        WHERE work.due_moved AND work.deadline_mode = 'case'
        ORDER BY work.id, l.ord)""",
    "case_upd": """case_upd AS (
        UPDATE cases SET {sets}, updated_at = %(now)s
        WHERE id = %(case_id)s::bigint AND EXISTS (SELECT FROM inst))""",
    "history": """history AS (
        INSERT INTO case_events (case_id, at, kind, actor_id, work_item_id, data)
        SELECT e.case_id, e.at, e.kind, e.actor_id, {work_item_id}, e.data::json
        FROM ({events}) AS e {join_opened}
        WHERE EXISTS (SELECT FROM inst)
        ORDER BY e.part, e.ord)""",
    "outbox": """sent AS (
        INSERT INTO outbox (topic, dedup_key, payload, status, attempts, created_at)
        SELECT m.topic, m.dedup_key, m.payload, 'pending', 0, %(now)s
        FROM inst CROSS JOIN json_to_recordset(%(messages)s::json) AS m(topic text, dedup_key text, payload json,
             ord integer)
        ORDER BY m.ord
        ON CONFLICT (dedup_key) DO NOTHING
        RETURNING id)""",
}
_EVENTS = """SELECT e.*, 0 AS part FROM json_to_recordset(%(events)s::json) AS e(case_id bigint, at timestamptz,
             kind text, actor_id bigint, work_item_id bigint, item_task text, data text, ord bigint)"""
_GONE_EVENTS = """SELECT %(case_id)s::bigint, %(now)s, 'task_cancelled', NULL, gone.id, NULL, 'null', gone.id, 1
             FROM gone"""
_CLOSED_EVENT = """SELECT %(case_id)s::bigint, %(now)s, 'case_closed', NULL, NULL, NULL, %(closed)s::text, 0, 2"""

#: The order of the parts in the statement: each refers only to parts before it.
_ORDER = ("pet", "case", "inst_new", "inst_old", "done", "done_timers", "gone", "drafts", "work", "work_timers",
          "work_ladder", "case_upd", "opened", "ladder", "timers", "history", "outbox")


@lru_cache(maxsize=256)
def statement(parts: frozenset) -> str:
    """The statement writing these parts, one line with single spaces (psycopg caches up to 4 KiB).

    Besides the part names, `parts` holds flags saying what the work and case updates change:
    "moving" (a transfer), "unit" (the case placed in a unit), "due" (a new due time), "closing"
    (the case closed), and whose drafts go: "done_drafts" (the completed item's).
    """
    events = [_EVENTS] + ([_GONE_EVENTS] if "gone" in parts else []) + (
        [_CLOSED_EVENT] if "closing" in parts else [])
    texts = {**_PARTS}
    # A petitioner written with the case is the case's, as on SQLite, whatever id came with it.
    texts["case"] = texts["case"].format(
        petitioner_id="(SELECT id FROM pet)" if "pet" in parts else "c.petitioner_id")
    flag = lambda name: "true" if name in parts else "false"  # noqa: E731
    texts["work"] = texts["work"].format(moving=flag("moving"), due=flag("due"), unit=flag("unit"))
    sets = ((["agency_id = %(agency_id)s::bigint"] if "moving" in parts else [])
            + (["unit_id = %(unit_id)s::bigint"] if "unit" in parts else [])
            + (["due_at = %(due_at)s::timestamptz"] if "due" in parts else [])
            + (["status = 'closed'", "closed_at = %(now)s"] if "closing" in parts else []))
    texts["case_upd"] = texts["case_upd"].format(sets=", ".join(sets))
    closed = ((["SELECT %(done_item)s::bigint"] if "done_drafts" in parts else [])
              + (["SELECT id FROM gone"] if "gone" in parts else []))
    texts["drafts"] = texts["drafts"].format(closed=" UNION ALL ".join(closed) or "NULL")
    texts["history"] = texts["history"].format(
        events=" UNION ALL ".join(events),
        work_item_id="coalesce(e.work_item_id, opened.id)" if "opened" in parts else "e.work_item_id",
        join_opened="LEFT JOIN opened ON opened.task_id = e.item_task" if "opened" in parts else "")
    opened = ("(SELECT json_agg(json_build_array(id, task_id)) FROM opened)" if "opened" in parts else "NULL")
    gone = "(SELECT array_agg(id ORDER BY id) FROM gone)" if "gone" in parts else "NULL"
    sent = "(SELECT array_agg(id ORDER BY id) FROM sent)" if "outbox" in parts else "NULL"
    text = ("WITH " + ", ".join(texts[name] for name in _ORDER if name in parts)
            + f" SELECT (SELECT id FROM inst), {opened}, {gone}, {sent}")
    return " ".join(text.split())


_PETITIONER_FIELDS = ("name", "id_number", "phone", "email", "address")
_ITEM_FIELDS = ("task_id", "task_spec", "name", "lane", "role", "agency_id", "unit_id", "case_agency_id",
                "assignee_id", "form_key", "due_at", "deadline_mode")
_LADDER_FIELDS = ("work_item_id", "kind", "due_at", "payload")


def _json_value(value):
    # Only the rows' own timestamps, aware as UTCDateTime requires on both databases.
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} cannot be stored; use UTC")
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} cannot be written as JSON")


def _json(value) -> str:
    return json.dumps(value, default=_json_value)


def _rows(rows: list[dict], fields: tuple[str, ...]) -> str:
    """Rows as a JSON array for json_to_recordset, numbered so they are written in this order."""
    return _json([{**{k: r[k] for k in fields}, "ord": i} for i, r in enumerate(rows)])


def save_step(uow, changes: StepChanges) -> Written:
    """Write one step; raises StaleStep (nothing written) if the instance moved past the version read.

    `changes.ladder` rows name the item they belong to by its task id (under "work_item_id");
    an event about an item opened here names the item's task id under "item_task".
    """
    instance, new_case, now = changes.instance, changes.new_case, changes.now
    parts = {"inst_new" if instance.is_new else "inst_old", "history"}
    params = {"now": now, "case_id": changes.case_id, "state": instance.state, "status": instance.status,
              "next_timer_at": instance.next_timer_at,
              # Each event's data as the JSON column writes it (json.dumps, which refuses what
              # it cannot write, as on SQLite), inside the rows' document.
              "events": _json([{**e, "data": json.dumps(e["data"]), "ord": i}
                               for i, e in enumerate(changes.events)])}
    # A step keeps its instance on its version, unless it moves the case to another (engine.services.migration).
    params["definition_id"] = instance.definition_id
    if not instance.is_new:
        params.update(instance_id=instance.id, version=instance.version)
    if new_case is not None:
        parts.add("case")
        params["case"] = _json(new_case.row)
        if new_case.petitioner is not None:
            parts.add("pet")
            params["pet"] = _json({name: new_case.petitioner.get(name) for name in _PETITIONER_FIELDS})
    done = changes.completed_item
    params.update(done_item=done.id if done else None, gone=list(changes.cancelled_tasks))
    if done is not None:
        parts.add("done")
        params["done_by"] = done.by
        if done.cancel_ladder:
            parts.add("done_timers")
        if done.has_drafts:
            parts |= {"drafts", "done_drafts"}
    if changes.cancelled_tasks:
        parts |= {"gone", "drafts"}
    if changes.agency_id is not None:
        parts |= {"work", "case_upd", "moving"}
        params["agency_id"] = changes.agency_id
    if changes.unit_moved:
        parts |= {"work", "case_upd", "unit"}
        params["unit_id"] = changes.unit_id
    if changes.due is not None:
        parts |= {"work", "case_upd", "due", "work_timers"}
        params.update(due_at=changes.due.due_at, reset_level=changes.due.reset_level)
        if changes.due.due_at is not None and changes.due.ladder:
            parts.add("work_ladder")
            params["work_ladder"] = _json([{"kind": kind, "due_at": at, "payload": payload, "ord": i}
                                           for i, (kind, at, payload) in enumerate(changes.due.ladder)])
    params["correlation_id"] = correlation.storable()  # kept on the timers the step sets
    params.setdefault("reset_level", False)
    params.setdefault("due_at", None)
    params.setdefault("agency_id", None)
    params.setdefault("unit_id", None)
    if changes.opened:
        parts.add("opened")
        params["items"] = _rows(changes.opened, _ITEM_FIELDS)
        if changes.ladder:
            parts.add("ladder")
            params["ladder"] = _rows(changes.ladder, _LADDER_FIELDS)
    if changes.waiting_timers is not None:
        parts.add("timers")
        params["waiting"] = _json([{"task_id": t.task_id, "due_at": t.due_at, "ord": i,
                                    "payload": {"name": t.name, "task": t.spec_name}}
                                   for i, t in enumerate(changes.waiting_timers)])
    if changes.closed:
        parts.add("closing")
        params["closed"] = _json({"outcome": changes.outcome} if changes.outcome else None)
        if new_case is None:
            parts.add("case_upd")
    if changes.messages:
        parts.add("outbox")
        params["messages"] = _json([{"topic": topic, "payload": payload, "dedup_key": key, "ord": i}
                                    for i, (topic, payload, key) in enumerate(changes.unique_messages())])
    if "timers" in parts and not instance.is_new:
        # The statement reads the instance's timer rows on the snapshot it starts with; under
        # the instance's lock that snapshot holds every step saved before it, including one it
        # would otherwise wait for at the version gate (which re-reads only the rows it writes).
        uow.lock_instance(instance.id)
    alone = uow.open_for_step()
    instance_id, opened, cancelled, sent = uow.conn.exec_driver_sql(
        statement(frozenset(parts)), params, execution_options={"petiflow_atomic": True}).one()
    if instance_id is None:
        raise StaleStep()
    uow.saved_alone = alone
    for outbox_id in sent or []:
        outbox.publish_after_commit(uow, outbox_id)
    by_task = {task_id: item_id for item_id, task_id in opened or []}
    return Written(instance_id, 1 if instance.is_new else instance.version + 1,
                   [by_task[r["task_id"]] for r in changes.opened], list(cancelled or []))

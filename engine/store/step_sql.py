"""A workflow step saved in one PostgreSQL statement: state, inbox, timers, history, case.

On PostgreSQL each statement is a network round trip, and a step's writes (the instance, its
work items opened and cancelled, their reminders and escalation rungs, its BPMN timers, the
case row, the history) would take six or more of them, plus BEGIN and COMMIT. Here they are
the parts of one statement with data-modifying WITH queries. The instance write is the gate:
a new instance is inserted, a running one updated only at the version it was loaded at, and
every other part writes only if the gate wrote. A stale version therefore writes nothing at
all, and a unit of work whose only write is this statement needs no transaction around it.

The case and petitioner rows of a new case and the close of the completed work item travel
here too when their services held them back (UnitOfWork.defer). On SQLite the same step is
saved statement by statement (engine.cases.steps); both paths write the same rows.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from engine.errors import StaleStep

#: Keys of the writes that services hold back for the step's statement (UnitOfWork.defer).
PETITIONER, CASE, COMPLETE_ITEM = "petitioner", "case", "complete_item"

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
        INSERT INTO cases (id, case_no, case_type, channel, category, district, subject, status, confidential,
                           agency_id, petitioner_id, received_at, due_at, closed_at, created_at, updated_at)
        SELECT %(case_id)s::bigint, c.case_no, c.case_type, c.channel, c.category, c.district, c.subject, c.status,
               c.confidential, c.agency_id, {petitioner_id}, c.received_at, c.due_at,
               c.closed_at, %(now)s, %(now)s
        FROM json_to_record(%(case)s::json) AS c(case_no text, case_type text, channel text, category text,
             district text, subject text, status text, confidential boolean, agency_id bigint, petitioner_id bigint,
             received_at timestamptz, due_at timestamptz, closed_at timestamptz))""",
    "inst_new": """inst AS (
        INSERT INTO workflow_instances (case_id, definition_id, state, version, status, next_timer_at,
                                        created_at, updated_at)
        VALUES (%(case_id)s, %(definition_id)s, %(state)s, 1, %(status)s, %(next_timer_at)s, %(now)s, %(now)s)
        RETURNING id)""",
    "inst_old": """inst AS (
        UPDATE workflow_instances
        SET state = %(state)s, version = version + 1, status = %(status)s, next_timer_at = %(next_timer_at)s,
            updated_at = %(now)s, error = NULL
        WHERE id = %(instance_id)s::bigint AND version = %(version)s::integer
        RETURNING id)""",
    "done": """done AS (
        UPDATE work_items SET status = 'completed', completed_at = %(now)s, completed_by = %(done_by)s
        WHERE id = %(done_item)s::bigint AND EXISTS (SELECT FROM inst))""",
    "done_timers": """done_timers AS (
        UPDATE timers SET status = 'cancelled', lease_owner = NULL, lease_expires_at = NULL
        WHERE work_item_id = %(done_item)s::bigint AND status = 'pending' AND kind IN ('reminder', 'escalation')
          AND EXISTS (SELECT FROM inst))""",
    "opened": """opened AS (
        INSERT INTO work_items (instance_id, case_id, task_id, task_spec, name, lane, role, agency_id, status,
                                form_key, due_at, deadline_mode, created_at)
        SELECT inst.id, %(case_id)s::bigint, o.task_id, o.task_spec, o.name, o.lane, o.role, o.agency_id, 'open',
               o.form_key, o.due_at, o.deadline_mode, %(now)s
        FROM inst CROSS JOIN json_to_recordset(%(items)s::json) AS o(task_id text, task_spec text, name text,
             lane text, role text, agency_id bigint, form_key text, due_at timestamptz, deadline_mode text,
             ord integer)
        ORDER BY o.ord
        RETURNING id, task_id)""",
    "ladder": """ladder AS (
        INSERT INTO timers (kind, instance_id, case_id, work_item_id, due_at, status, payload, created_at)
        SELECT l.kind, inst.id, %(case_id)s::bigint, opened.id, l.due_at, 'pending', l.payload, %(now)s
        FROM inst CROSS JOIN json_to_recordset(%(ladder)s::json)
             AS l(work_item_id text, kind text, due_at timestamptz, payload json, ord integer)
        JOIN opened ON opened.task_id = l.work_item_id
        ORDER BY l.ord)""",
    "gone": """gone AS (
        UPDATE work_items SET status = 'cancelled', completed_at = %(now)s
        WHERE instance_id = (SELECT id FROM inst) AND task_id = ANY(%(gone)s::text[]) AND status = 'open'
        RETURNING id),
      gone_timers AS (
        UPDATE timers SET status = 'cancelled', lease_owner = NULL, lease_expires_at = NULL
        WHERE work_item_id IN (SELECT id FROM gone) AND status = 'pending'
          AND kind IN ('reminder', 'escalation'))""",
    "timers": """waiting AS (
        SELECT * FROM json_to_recordset(%(waiting)s::json)
            AS w(task_id text, due_at timestamptz, payload json, ord integer)),
      stale_timers AS (
        UPDATE timers t SET status = 'cancelled'
        WHERE t.instance_id = (SELECT id FROM inst) AND t.kind = 'bpmn_timer' AND t.status = 'pending'
          AND NOT EXISTS (SELECT FROM waiting w WHERE w.task_id = t.task_id AND w.due_at = t.due_at)),
      fresh_timers AS (
        INSERT INTO timers (kind, instance_id, case_id, task_id, due_at, status, payload, created_at)
        SELECT 'bpmn_timer', inst.id, %(case_id)s::bigint, w.task_id, w.due_at, 'pending', w.payload, %(now)s
        FROM inst CROSS JOIN waiting w
        WHERE NOT EXISTS (SELECT FROM timers t WHERE t.instance_id = inst.id AND t.kind = 'bpmn_timer'
              AND t.status IN ('pending', 'failed') AND t.task_id = w.task_id AND t.due_at = w.due_at)
        ORDER BY w.ord)""",
    "close": """closed AS (
        UPDATE cases SET status = 'closed', closed_at = %(now)s, updated_at = %(now)s
        WHERE id = %(case_id)s::bigint AND EXISTS (SELECT FROM inst))""",
    "history": """history AS (
        INSERT INTO case_events (case_id, at, kind, actor_id, work_item_id, data)
        SELECT e.case_id, e.at, e.kind, e.actor_id, {work_item_id}, e.data::json
        FROM ({events}) AS e {join_opened}
        WHERE EXISTS (SELECT FROM inst)
        ORDER BY e.part, e.ord)""",
}
_EVENTS = """SELECT e.*, 0 AS part FROM json_to_recordset(%(events)s::json) AS e(case_id bigint, at timestamptz,
             kind text, actor_id bigint, work_item_id bigint, item_task text, data text, ord bigint)"""
_GONE_EVENTS = """SELECT %(case_id)s::bigint, %(now)s, 'task_cancelled', NULL, gone.id, NULL, 'null', gone.id, 1
             FROM gone"""
_CLOSED_EVENT = """SELECT %(case_id)s::bigint, %(now)s, 'case_closed', NULL, NULL, NULL, %(closed)s::text, 0, 2"""

#: The order of the parts in the statement: each refers only to parts before it.
_ORDER = ("pet", "case", "inst_new", "inst_old", "done", "done_timers", "opened", "ladder", "gone", "timers",
          "close", "history")


@lru_cache(maxsize=256)
def statement(parts: frozenset) -> str:
    """The statement writing these parts, one line with single spaces (psycopg caches up to 4 KiB)."""
    events = [_EVENTS] + ([_GONE_EVENTS] if "gone" in parts else []) + (
        [_CLOSED_EVENT] if "closing" in parts else [])
    texts = {**_PARTS}
    # A petitioner written with the case is the case's, as on SQLite, whatever id came with it.
    texts["case"] = texts["case"].format(
        petitioner_id="(SELECT id FROM pet)" if "pet" in parts else "c.petitioner_id")
    texts["history"] = texts["history"].format(
        events=" UNION ALL ".join(events),
        work_item_id="coalesce(e.work_item_id, opened.id)" if "opened" in parts else "e.work_item_id",
        join_opened="LEFT JOIN opened ON opened.task_id = e.item_task" if "opened" in parts else "")
    opened = ("(SELECT json_agg(json_build_array(id, task_id)) FROM opened)" if "opened" in parts else "NULL")
    gone = "(SELECT array_agg(id ORDER BY id) FROM gone)" if "gone" in parts else "NULL"
    text = ("WITH " + ", ".join(texts[name] for name in _ORDER if name in parts)
            + f" SELECT (SELECT id FROM inst), {opened}, {gone}")
    return " ".join(text.split())

_PETITIONER_FIELDS = ("name", "id_number", "phone", "email", "address")
_ITEM_FIELDS = ("task_id", "task_spec", "name", "lane", "role", "agency_id", "form_key", "due_at", "deadline_mode")
_LADDER_FIELDS = ("work_item_id", "kind", "due_at", "payload")


@dataclass
class Written:
    """What the statement wrote: the instance, the items opened (in the order given), those cancelled."""

    instance_id: int
    opened: list[int]
    cancelled: list[int]


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


def save_step(uow, *, ref, state_text: str, status: str, next_timer_at, now, item_rows: list[dict],
              ladder_rows: list[dict], gone: list[str], waiting: list, sync_timers: bool, events: list[dict],
              outcome) -> Written:
    """Write one step; raises StaleStep (nothing written) if the instance moved past ref.version.

    `item_rows` are the work_items rows to open (as engine.cases.steps builds them); `ladder_rows`
    the reminder and rung timers of those items, their work_item_id holding the item's task id;
    `events` the history so far, where an event about an item opened here names the item's task
    id under "item_task" instead of its work_item_id.
    """
    case = uow.take_deferred((CASE, ref.case_id))
    petitioner = uow.take_deferred((PETITIONER, ref.case_id))
    done = uow.take_deferred((COMPLETE_ITEM, ref.id)) if ref.id is not None else None
    uow.flush_deferred()  # anything else held back goes first, on its own
    completed = status == "completed"
    parts = {"inst_new" if ref.is_new else "inst_old", "history"}
    params = {"now": now, "case_id": ref.case_id, "state": state_text, "status": status,
              "next_timer_at": next_timer_at,
              # Each event's data as the JSON column writes it (json.dumps, which refuses what
              # it cannot write, as on SQLite), inside the rows' document.
              "events": _json([{**e, "data": json.dumps(e["data"]), "ord": i} for i, e in enumerate(events)])}
    if ref.is_new:
        params["definition_id"] = ref.definition_id
    else:
        params.update(instance_id=ref.id, version=ref.version)
    if petitioner is not None:
        parts.add("pet")
        params["pet"] = _json({name: petitioner.get(name) for name in _PETITIONER_FIELDS})
    if case is not None:
        parts.add("case")
        params["case"] = _json({**case, "status": "closed" if completed else "open",
                                "closed_at": now if completed else None})
    elif completed:
        parts.add("close")
    if done is not None:
        parts.add("done")
        params.update(done_item=done["item_id"], done_by=done["by"])
        if done["cancel_timers"]:
            parts.add("done_timers")
    if item_rows:
        parts.add("opened")
        params["items"] = _rows(item_rows, _ITEM_FIELDS)
        if ladder_rows:
            parts.add("ladder")
            params["ladder"] = _rows(ladder_rows, _LADDER_FIELDS)
    if gone:
        parts.add("gone")
        params["gone"] = gone
    if sync_timers:
        parts.add("timers")
        params["waiting"] = _json([{"task_id": t.task_id, "due_at": t.due_at, "ord": i,
                                    "payload": {"name": t.name, "task": t.spec_name}} for i, t in enumerate(waiting)])
    if completed:
        parts.add("closing")
        params["closed"] = _json({"outcome": outcome} if outcome else None)
    if "timers" in parts and not ref.is_new:
        # The statement reads the instance's timer rows on the snapshot it starts with; under
        # the instance's lock that snapshot holds every step saved before it, including one it
        # would otherwise wait for at the version gate (which re-reads only the rows it writes).
        uow.lock_instance(ref.id)
    alone = uow.open_for_step()
    instance_id, opened, cancelled = uow.conn.exec_driver_sql(
        statement(frozenset(parts)), params, execution_options={"petiflow_atomic": True}).one()
    if instance_id is None:
        raise StaleStep()
    uow.saved_alone = alone
    by_task = {task_id: item_id for item_id, task_id in opened or []}
    return Written(instance_id, [by_task[r["task_id"]] for r in item_rows], list(cancelled or []))

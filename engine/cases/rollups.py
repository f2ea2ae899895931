"""The report rollups kept up to date: each case's share (engine.cases.shares) summed into the counters.

Keeping them up to date (`catch_up`): a trigger on case_events marks the case in report_dirty in
the transaction that writes the event (migration 0019), so a change and its mark commit together.
A catch-up reads marked cases, recomputes their shares, adds the difference with the share last
applied (report_cases) to the counters, stores the new share and clears the marks it read
(those not marked again since: `seq`). Applying a share's difference is idempotent: a case
caught up twice adds nothing the second time, and a catch-up that fails rolls back whole. One
catch-up runs at a time (an advisory lock on PostgreSQL; SQLite has one writer at a time).
"""
from __future__ import annotations

from collections import defaultdict

from sqlalchemy import bindparam, delete, func, insert, select, text

from engine.cases import shares
from engine.cases.shares import KEYS, MEASURES, TABLES, cells_of
from engine.store.schema import cases, report_cases, report_dirty

#: Cases caught up per unit of work.
BATCH = 500

#: The advisory lock key of the catch-up on PostgreSQL (any constant: "rpt" in ASCII).
LOCK_KEY = 0x727074


# --- applying shares -----------------------------------------------------------------------------

def _upsert(uow, table, rows: list[dict]) -> None:
    """Add each row's amounts to its cell, creating the cell if missing."""
    if not rows:
        return
    if uow.dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    stmt = dialect_insert(table)
    measures = MEASURES[table.name]
    stmt = stmt.on_conflict_do_update(index_elements=list(KEYS[table.name]),
                                      set_={m: table.c[m] + stmt.excluded[m] for m in measures})
    uow.conn.execute(stmt, rows)


def apply_difference(uow, old: dict, new: dict) -> int:
    """Add new - old to the counters, cell by cell in key order (two catch-ups never lock cells in
    opposite orders); returns how many cells changed."""
    changed = 0
    by_table = defaultdict(list)
    for cell in sorted(set(old) | set(new), key=lambda c: (c[0], c[1])):
        table, key = cell
        before, after = old.get(cell, {}), new.get(cell, {})
        diff = {m: after.get(m, 0) - before.get(m, 0) for m in MEASURES[table]}
        if any(diff.values()):
            by_table[table].append({**dict(zip(KEYS[table], key)), **diff})
            changed += 1
    for table in sorted(by_table):
        _upsert(uow, TABLES[table], by_table[table])
    return changed


def _sum_cells(shares) -> dict:
    total: dict = {}
    for cells in shares:
        for cell, amounts in cells.items():
            into = total.setdefault(cell, {})
            for m, n in amounts.items():
                into[m] = into.get(m, 0) + n
    return total


# Marks are read from `after` on: a long catch-up (a rebuild) goes on past the marks it cleared,
# whose dead index entries would otherwise be walked again by every batch until a vacuum.
_dirty_batch = (select(report_dirty.c.case_id, report_dirty.c.seq).where(report_dirty.c.case_id > bindparam("after"))
                .order_by(report_dirty.c.case_id).limit(bindparam("n")))
_stored = select(report_cases.c.case_id, report_cases.c.contribution).where(
    report_cases.c.case_id.in_(bindparam("ids", expanding=True)))
_clear = delete(report_dirty).where(report_dirty.c.case_id == bindparam("b_case"),
                                    report_dirty.c.seq == bindparam("b_seq"))


def lock(uow) -> bool:
    """Take the catch-up's lock for the unit's transaction; False if another unit holds it."""
    if uow.dialect != "postgresql":
        return True
    uow.begin()
    return bool(uow.conn.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": LOCK_KEY}).scalar_one())


def catch_up(uow, limit: int = BATCH, after: int = 0) -> tuple[int, int]:
    """Bring up to `limit` marked cases (of ids above `after`) up to date; returns how many were
    caught up (0 if none were marked or another catch-up holds the lock) and the last case id
    read. The caller commits."""
    if not lock(uow):
        return 0, after
    marks = uow.conn.execute(_dirty_batch, {"n": limit, "after": after}).all()
    if not marks:
        return 0, after
    ids = [m.case_id for m in marks]
    stored = {r.case_id: cells_of(r.contribution) for r in uow.conn.execute(_stored, {"ids": ids})}
    fresh = shares.compute_shares(uow, ids)
    old = _sum_cells(stored.values())
    new = _sum_cells(s.cells for s in fresh.values())
    apply_difference(uow, old, new)
    now = uow.clock.now()
    known = [i for i in ids if i in stored]
    if known:
        uow.conn.execute(delete(report_cases).where(report_cases.c.case_id.in_(known)))
    if fresh:
        uow.conn.execute(insert(report_cases), [{"case_id": i, "contribution": s.as_json(), "updated_at": now}
                                                for i, s in sorted(fresh.items())])
    uow.conn.execute(_clear, [{"b_case": m.case_id, "b_seq": m.seq} for m in marks])
    return len(marks), marks[-1].case_id


def pending(uow) -> int:
    """How many cases wait for a catch-up."""
    return uow.conn.execute(select(func.count()).select_from(report_dirty)).scalar_one()


def start_rebuild(uow) -> int:
    """Empty the rollups and mark every case, so that catch-ups recompute all of them; returns the
    cases marked. The caller commits; until the catch-ups are done the reports show part of the figures."""
    if not lock(uow):
        return -1
    if uow.dialect == "postgresql":
        uow.conn.execute(text("TRUNCATE " + ", ".join(t.name for t in (*TABLES.values(), report_cases))))
    else:
        for table in (*TABLES.values(), report_cases):
            uow.conn.execute(delete(table))
    if uow.dialect == "postgresql":
        uow.conn.execute(text("INSERT INTO report_dirty (case_id, seq) SELECT id, 1 FROM cases "
                              "ON CONFLICT (case_id) DO UPDATE SET seq = report_dirty.seq + 1"))
    else:
        uow.conn.execute(text("INSERT OR IGNORE INTO report_dirty (case_id, seq) SELECT id, 1 FROM cases"))
    return pending(uow)


def stored_counters(uow) -> dict:
    """Every non-zero counter cell as {(table, key): {measure: amount}}."""
    found = {}
    for name, table in TABLES.items():
        keys, measures = KEYS[name], MEASURES[name]
        for row in uow.conn.execute(select(table)):
            amounts = {m: row._mapping[m] for m in measures if row._mapping[m]}
            if amounts:
                found[(name, tuple(row._mapping[k] for k in keys))] = amounts
    return found


def computed_counters(uow, *, batch: int = 5_000, progress=None) -> dict:
    """The counters as the case records give them now, computed case by case (a full scan)."""
    total: dict = {}
    last = 0
    while True:
        ids = uow.conn.execute(select(cases.c.id).where(cases.c.id > last).order_by(cases.c.id).limit(batch)
                               ).scalars().all()
        if not ids:
            return {cell: amounts for cell, amounts in total.items() if any(amounts.values())}
        for share in shares.compute_shares(uow, ids).values():
            for cell, amounts in share.cells.items():
                into = total.setdefault(cell, {})
                for m, n in amounts.items():
                    into[m] = into.get(m, 0) + n
        last = ids[-1]
        if progress is not None:
            progress(len(ids))


def differences(stored: dict, computed: dict) -> list[tuple]:
    """Cells whose stored amounts differ from the computed ones: (table, key, measure, stored, computed)."""
    found = []
    for cell in sorted(set(stored) | set(computed), key=lambda c: (c[0], repr(c[1]))):
        a, b = stored.get(cell, {}), computed.get(cell, {})
        for m in sorted(set(a) | set(b)):
            if a.get(m, 0) != b.get(m, 0):
                found.append((cell[0], cell[1], m, a.get(m, 0), b.get(m, 0)))
    return found


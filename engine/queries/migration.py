"""The dry run of moving running cases from one deployed version of a process to a later one.

For each running case on the older version: whether it can move now and, when not, why, in words
naming the element (engine.workflow.migration decides, on the case's real state, exactly as the
move itself will). Only process designers and administrators may ask.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, func, select

from engine.accounts.identity import Principal
from engine.errors import Forbidden, InvalidInput, NotFound
from engine.queries.processes import RUNNING
from engine.store.schema import cases, process_definitions, workflow_instances
from engine.workflow import migration, state

#: The most cases one page of a dry run examines (each is loaded and carried over in memory).
MAX_PAGE = 500


def may_migrate(principal: Principal) -> bool:
    """Process designers and administrators may move running cases between versions."""
    return principal.is_admin or principal.holds("process_designer", None)


def check_may_migrate(principal: Principal) -> None:
    if not may_migrate(principal):
        raise Forbidden("only process designers and administrators may move running cases to another version")


@dataclass(frozen=True)
class VersionPair:
    """The two deployed versions of a move: from (older) and to (newer)."""

    process_key: str
    from_version: int
    to_version: int
    from_definition_id: int
    to_definition_id: int


_versions = (select(process_definitions.c.version, process_definitions.c.id)
             .where(process_definitions.c.process_key == bindparam("b_key"))
             .order_by(process_definitions.c.version))


def version_pair(uow, process_key: str, from_version: int, to_version: int) -> VersionPair:
    """The definitions of two deployed versions of a process; raises InvalidInput for a pair that is
    not an older and a newer version, NotFound for a process or version never deployed."""
    if not isinstance(process_key, str) or not process_key.strip():
        raise InvalidInput("name the process whose cases to move (its key, e.g. petition)")
    for name, value in (("from", from_version), ("to", to_version)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InvalidInput(f"the {name} version must be a version number (1, 2, ...), not {value!r}")
    if to_version <= from_version:
        raise InvalidInput(f"cases move to a later version: version {to_version} is not later than "
                           f"version {from_version}")
    deployed = dict(uow.conn.execute(_versions, {"b_key": process_key}).all())
    if not deployed:
        raise NotFound(f"no process {process_key!r} is deployed")
    missing = [v for v in (from_version, to_version) if v not in deployed]
    if missing:
        listed = ", ".join(map(str, sorted(deployed)))
        raise NotFound(f"process {process_key!r} has no version {missing[0]} (deployed: {listed})")
    return VersionPair(process_key, from_version, to_version, deployed[from_version], deployed[to_version])


@dataclass(frozen=True)
class CaseCheck:
    """One running case of the older version: where it waits, whether it can move, and why not."""

    case_id: int
    case_no: str
    instance_id: int
    instance_version: int  # the workflow's version as examined (a move may be asked at exactly it)
    waiting_at: tuple[str, ...]  # the elements it waits at or for, e.g. '擬辦答復 (draft_reply)'
    can_move: bool
    reasons: tuple[str, ...]  # empty when it can move


@dataclass(frozen=True)
class VersionChanges:
    """What the newer version changes, element by element (the designer's summary)."""

    added: tuple[str, ...]
    removed: tuple[str, ...]
    changed: tuple[tuple[str, tuple[str, ...]], ...]  # (element, attributes that differ)


@dataclass(frozen=True)
class MigrationPreview:
    """One page of a dry run, in instance order, and how many cases the older version still runs."""

    versions: VersionPair
    changes: VersionChanges
    running_cases: int  # on the older version, all pages together
    cases: tuple[CaseCheck, ...]
    next_after: int | None  # pass as `after` for the next page; None: this was the last
    #: Cases asked for by number that are not running on the older version: (case_no, why).
    not_found: tuple[tuple[str, str], ...] = ()

    @property
    def movable(self) -> int:
        return sum(1 for c in self.cases if c.can_move)


def _running_on(definition_id: int):
    return (select(workflow_instances.c.id, workflow_instances.c.case_id, workflow_instances.c.state,
                   workflow_instances.c.version, workflow_instances.c.status, cases.c.case_no)
            .join(cases, cases.c.id == workflow_instances.c.case_id)
            .where(workflow_instances.c.definition_id == definition_id, RUNNING))


def _changes(diff: migration.DefinitionDiff) -> VersionChanges:
    top = diff.top
    hidden = lambda spec: "." in spec.name  # noqa: E731 - SpiffWorkflow's own joins and splits
    return VersionChanges(
        tuple(sorted(migration.element(s) for s in top.added if not hidden(s))),
        tuple(sorted(migration.element(s) for s in top.removed if not hidden(s))),
        tuple(sorted((migration.element(s), tuple(keys)) for s, keys in top.changed.items() if not hidden(s))))


def check_case(uow, diff: migration.DefinitionDiff, row) -> CaseCheck:
    """Load one running case's workflow and try the move in memory (nothing is saved)."""
    workflow = state.load(row.state, diff.old.spec, diff.old.subprocess_specs, uow.script_engine)
    waiting = tuple(dict.fromkeys(migration.element(t.task_spec)
                                  for t in workflow.get_tasks(state=migration.ACTIVE) if _shown(t)))
    if row.status == "error":
        reasons = ("its workflow stopped on an error; retry or fix it first",)
    else:
        reasons = migration.carry_over(workflow, diff, uow.clock, prove=False).reasons
    return CaseCheck(row.case_id, row.case_no, row.id, row.version, waiting, not reasons, reasons)


def _shown(task) -> bool:
    """Tasks a reader would say the case waits at: user tasks and events, not internal joins."""
    spec = task.task_spec
    return "." not in spec.name and (spec.manual or getattr(spec, "event_definition", None) is not None)


def preview_migration(uow, principal: Principal, process_key: str, from_version: int, to_version: int, *,
                      after: int | None = None, limit: int = 100, case_nos: tuple[str, ...] = ()) -> MigrationPreview:
    """The dry run: each running case on `from_version` (instance order, after the instance id
    `after`, at most `limit`; or only the cases named) with whether it can move to `to_version`."""
    check_may_migrate(principal)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be 1 to {MAX_PAGE}")
    pair = version_pair(uow, process_key, from_version, to_version)
    old, new = uow.specs.get(uow.conn, pair.from_definition_id), uow.specs.get(uow.conn, pair.to_definition_id)
    diff = migration.compare(old, new)
    running = uow.conn.execute(select(func.count()).select_from(workflow_instances).where(
        workflow_instances.c.definition_id == pair.from_definition_id, RUNNING)).scalar_one()
    query = _running_on(pair.from_definition_id)
    if case_nos:
        query = query.where(cases.c.case_no.in_(list(case_nos)))
    if after is not None:
        query = query.where(workflow_instances.c.id > after)
    rows = uow.conn.execute(query.order_by(workflow_instances.c.id).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    checks = tuple(check_case(uow, diff, row) for row in rows)
    missing = _not_running(uow, pair, set(case_nos) - {c.case_no for c in checks}) if case_nos and not after else ()
    return MigrationPreview(pair, _changes(diff), running, checks, rows[-1].id if more else None, missing)


def _not_running(uow, pair: VersionPair, case_nos: set[str]) -> tuple[tuple[str, str], ...]:
    """Why each case asked for is not among the running cases of the older version."""
    if not case_nos:
        return ()
    found = {row.case_no: row for row in uow.conn.execute(
        select(cases.c.case_no, workflow_instances.c.status, process_definitions.c.process_key,
               process_definitions.c.version)
        .join(workflow_instances, workflow_instances.c.case_id == cases.c.id)
        .join(process_definitions, process_definitions.c.id == workflow_instances.c.definition_id)
        .where(cases.c.case_no.in_(sorted(case_nos))))}
    why = {}
    for case_no in sorted(case_nos):
        row = found.get(case_no)
        if row is None:
            why[case_no] = "no such case"
        elif row.status in ("completed", "cancelled"):
            why[case_no] = f"its workflow is {row.status}"
        elif row.process_key != pair.process_key:
            why[case_no] = f"it runs the process {row.process_key!r}, not {pair.process_key!r}"
        else:
            why[case_no] = f"it runs version {row.version}, not version {pair.from_version}"
    return tuple(why.items())

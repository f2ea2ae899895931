"""Move running cases from one deployed version of a process to a later one.

`move_case` moves one case in the caller's unit of work: it locks the case's workflow, checks
again that it can move (the dry run may be old news), re-attaches the state to the newer
version's spec (engine.workflow.migration), saves it with the instance now on that version (at
the version it read: a case changed meanwhile is never overwritten), re-syncs the open work whose
task reads differently (lane and so role, name, form), keeps its timers, and records
`case_migrated` in the case's history. A move that is refused or fails raises, and the unit of
work, rolled back, leaves the case exactly as it was.

`migrate_cases` is the bulk driver: a dry run page by page, then each movable case moved in its
own unit of work, with progress, a way to stop between cases, and a report.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import bindparam, select

from engine.accounts.identity import Principal
from engine.cases.history import event
from engine.cases.steps import InstanceRef, finish_step, resync_open_work
from engine.errors import Conflict, MigrationRefused, NotFound, PetiflowError, is_outage
from engine.queries.migration import check_may_migrate, preview_migration, version_pair
from engine.store.changes import StepChanges
from engine.store.schema import cases, process_definitions, workflow_instances
from engine.workflow import migration, runner, state

#: Who moves cases from the command line (`petiflow migrate-cases`): whoever runs it on the server.
COMMAND_LINE = Principal(user_id=None, username="cli", is_admin=True)


@dataclass(frozen=True)
class MoveCase:
    """Move one running case of `process_key` from `from_version` to `to_version`."""

    case_id: int
    process_key: str
    from_version: int
    to_version: int
    principal: Principal
    expected_version: int | None = None  # the workflow's version as the caller saw it (the dry run's)


@dataclass(frozen=True)
class CaseMoved:
    """A case now on the newer version: its workflow's new version, and the open work re-synced."""

    case_id: int
    case_no: str
    instance_id: int
    from_version: int
    to_version: int
    version: int
    resynced: tuple = ()  # {"work_item_id", "task", changed field: [before, after], ...} per item


_load = (
    select(workflow_instances.c.id, workflow_instances.c.case_id, workflow_instances.c.definition_id,
           workflow_instances.c.state, workflow_instances.c.version, workflow_instances.c.status,
           workflow_instances.c.next_timer_at, cases.c.agency_id, cases.c.unit_id, cases.c.due_at, cases.c.case_no,
           process_definitions.c.process_key, process_definitions.c.version.label("definition_version"))
    .join(cases, cases.c.id == workflow_instances.c.case_id)
    .join(process_definitions, process_definitions.c.id == workflow_instances.c.definition_id)
    .where(workflow_instances.c.case_id == bindparam("b_case"))
    .with_for_update(of=workflow_instances)
)


def move_case(cmd: MoveCase, uow) -> CaseMoved:
    """Move the case now, or raise: Forbidden, InvalidInput or NotFound (versions, case),
    Conflict (not on the older version, changed since expected_version, or saved by another step
    meanwhile), MigrationRefused (it cannot move, details["reasons"] say why). Nothing is saved on error."""
    check_may_migrate(cmd.principal)
    pair = version_pair(uow, cmd.process_key, cmd.from_version, cmd.to_version)
    row = uow.conn.execute(_load, {"b_case": cmd.case_id}).one_or_none()
    if row is None:
        raise NotFound(f"case {cmd.case_id} does not exist")
    if row.status in ("completed", "cancelled"):
        raise Conflict(f"case {row.case_no} is no longer running (its workflow is {row.status})")
    if row.definition_id != pair.from_definition_id:
        raise Conflict(f"case {row.case_no} runs version {row.definition_version} of {row.process_key!r}, "
                       f"not version {pair.from_version} of {pair.process_key!r}",
                       details={"process_key": row.process_key, "version": row.definition_version})
    if cmd.expected_version is not None and cmd.expected_version != row.version:
        raise Conflict(f"case {row.case_no} changed since it was checked; check it again",
                       details={"expected_version": cmd.expected_version, "version": row.version})
    uow.locked_instance = row.id  # _load took its row lock
    old, new = uow.specs.get(uow.conn, pair.from_definition_id), uow.specs.get(uow.conn, pair.to_definition_id)
    workflow = state.load(row.state, old.spec, old.subprocess_specs, uow.script_engine)
    before = runner.inspect(workflow).ready
    reasons = (("its workflow stopped on an error; retry or fix it first",) if row.status == "error"
               else migration.carry_over(workflow, migration.compare(old, new), uow.clock).reasons)
    if reasons:
        raise MigrationRefused(f"case {row.case_no} cannot move to version {pair.to_version}: {'; '.join(reasons)}",
                               details={"case_no": row.case_no, "reasons": list(reasons)})
    now = uow.clock.now()
    ref = InstanceRef(row.id, row.case_id, pair.to_definition_id, row.version, row.agency_id, row.next_timer_at,
                      due_at=row.due_at, unit_id=row.unit_id)
    resynced = tuple(resync_open_work(uow, ref, before, runner.inspect(workflow).ready))
    changes = StepChanges(row.case_id, now, events=[event(
        row.case_id, now, "case_migrated", actor_id=cmd.principal.user_id, process=pair.process_key,
        from_version=pair.from_version, to_version=pair.to_version, by=cmd.principal.username,
        resynced=list(resynced))])
    result = finish_step(uow, ref, workflow, changes, ready_before={t.task_id for t in before})
    return CaseMoved(row.case_id, row.case_no, row.id, pair.from_version, pair.to_version, result.version, resynced)


# --- the bulk driver ---------------------------------------------------------------------------


@dataclass(frozen=True)
class MigrateCases:
    """Move every movable running case (or those named) of a process from one version to another."""

    process_key: str
    from_version: int
    to_version: int
    principal: Principal
    case_nos: tuple[str, ...] = ()
    dry_run: bool = False
    limit: int | None = None  # examine at most this many cases (the API's bounded batch)
    page_size: int = 100


@dataclass(frozen=True)
class CaseResult:
    """What became of one case: moved (or movable, in a dry run), refused (why), failed (why)."""

    case_no: str
    case_id: int | None
    result: str  # "moved", "movable" (dry run), "refused", "failed"
    reasons: tuple[str, ...] = ()
    resynced: tuple = ()


@dataclass
class MigrationReport:
    """A bulk move's results in order, with totals."""

    process_key: str
    from_version: int
    to_version: int
    dry_run: bool
    running_cases: int = 0  # on the older version when the run began
    results: list[CaseResult] = field(default_factory=list)
    interrupted: bool = False

    def count(self, result: str) -> int:
        return sum(1 for r in self.results if r.result == result)

    @property
    def moved(self) -> int:
        return self.count("moved")

    @property
    def movable(self) -> int:
        return self.count("movable")

    @property
    def refused(self) -> int:
        return self.count("refused")

    @property
    def failed(self) -> int:
        return self.count("failed")


def migrate_cases(cmd: MigrateCases, runtime, *, progress=None, stop=None) -> MigrationReport:
    """Dry-run the cases page by page and move each movable one in its own unit of work.

    `progress(report, result)` is called after each case; `stop()` returning True ends the run
    between two cases (`report.interrupted`). A case refused or failing is reported and left as it
    was; the others go on. Raises (before anything moves) for a caller or versions that will not do.
    """
    report = MigrationReport(cmd.process_key, cmd.from_version, cmd.to_version, cmd.dry_run)
    after, first = None, True
    while True:
        room = cmd.page_size if cmd.limit is None else min(cmd.page_size, cmd.limit - len(report.results))
        if room <= 0:
            break
        with runtime.uow(read_only=True) as uow:
            page = preview_migration(uow, cmd.principal, cmd.process_key, cmd.from_version, cmd.to_version,
                                     after=after, limit=room, case_nos=cmd.case_nos)
        if first:
            report.running_cases, first = page.running_cases, False
            for case_no, why in page.not_found:
                _add(report, CaseResult(case_no, None, "refused", (why,)), progress)
        for check in page.cases:
            if stop is not None and stop():
                report.interrupted = True
                return report
            _add(report, _move_one(cmd, runtime, check), progress)
        if page.next_after is None:
            break
        after = page.next_after
    return report


def _add(report: MigrationReport, result: CaseResult, progress) -> None:
    report.results.append(result)
    if progress is not None:
        progress(report, result)


def _move_one(cmd: MigrateCases, runtime, check) -> CaseResult:
    if not check.can_move:
        return CaseResult(check.case_no, check.case_id, "refused", check.reasons)
    if cmd.dry_run:
        return CaseResult(check.case_no, check.case_id, "movable")
    try:
        with runtime.uow() as uow:
            moved = move_case(MoveCase(check.case_id, cmd.process_key, cmd.from_version, cmd.to_version,
                                       cmd.principal), uow)
            uow.commit()
    except MigrationRefused as exc:
        return CaseResult(check.case_no, check.case_id, "refused", tuple(exc.details.get("reasons") or [exc.message]))
    except PetiflowError as exc:
        return CaseResult(check.case_no, check.case_id, "failed", (exc.message,))
    except Exception as exc:  # noqa: BLE001 - reported per case; the case's unit rolled back
        if is_outage(exc):
            raise  # the database is gone: stop rather than fail every case left
        text = (str(exc).splitlines() or [""])[0][:300]
        return CaseResult(check.case_no, check.case_id, "failed", (f"{type(exc).__name__}: {text}",))
    return CaseResult(check.case_no, check.case_id, "moved", resynced=moved.resynced)

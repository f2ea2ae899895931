"""Build the runtime every adapter uses: database, clock, spec cache, script engine and actions.

The one place where the engine is put together: the adapters (api/, handlers/) and the tests
call bootstrap() and work through the runtime's units of work.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError

from engine.actions import ACTIONS
from engine.clock import SystemClock
from engine.errors import NotReady
from engine.scripting import make_script_engine
from engine.scripting.budget import use_deep_stacks  # noqa: F401  (adapters start their threads with it)
from engine.settings import Settings, masked_url
from engine.store.db import make_engine
from engine.store.files import AttachmentStore
from engine.store.outbox import set_publisher
from engine.store.reference import ReferenceCache
from engine.store.uow import UnitOfWork
from engine.workflow.service_tasks import ServiceTasks
from engine.workflow.specs import SpecCache


@dataclass
class Runtime:
    """What a process of petiflow holds for its whole life (one per web, worker or CLI process)."""

    settings: Settings
    db: Engine
    clock: object
    specs: SpecCache
    script_engine: object
    cache: ReferenceCache = field(default_factory=ReferenceCache)
    #: The engine actions service tasks may call, by operation name (engine.actions.ACTIONS).
    actions: dict = field(default_factory=lambda: dict(ACTIONS))
    forms_dir: Path = field(init=False)
    attachments: AttachmentStore = field(init=False)
    zone: ZoneInfo = field(init=False)

    def __post_init__(self) -> None:
        self.forms_dir = self.settings.workflows_dir / "forms"  # user-task forms
        # Files attached to cases, beside the database in the var folder (back them up together).
        self.attachments = AttachmentStore(self.settings.var_dir / "attachments", self.settings.max_attachment_bytes)
        self.script_engine.services = ServiceTasks(self.actions).perform  # service tasks run engine actions
        self.zone = ZoneInfo(self.settings.timezone)  # the city's: working days, office hours, case numbers

    def uow(self, *, read_only: bool = False, one_step: bool = False) -> UnitOfWork:
        """A new unit of work; use it as a context manager. Read-only ones never take the write lock;
        one-step ones run one workflow step and commit it (UnitOfWork.one_step)."""
        return UnitOfWork(self.db, clock=self.clock, specs=self.specs, script_engine=self.script_engine,
                          cache=self.cache, read_only=read_only, forms_dir=self.forms_dir, one_step=one_step,
                          actions=self.actions, zone=self.zone, attachments=self.attachments)

    def set_publisher(self, publish) -> None:
        """Hand the id of each outbox message this runtime commits to publish (None: to the relay sweep only)."""
        set_publisher(self.db, publish)

    def close(self) -> None:
        self.db.dispose()


def connect(settings: Settings, *, clock=None) -> Runtime:
    """A runtime whose database answered a first connection; raises NotReady saying why not
    (the database's password masked), for commands that start by talking to it."""
    where = f"the database at {masked_url(settings.database_url)}"
    try:
        runtime = bootstrap(settings, clock=clock)
    except OSError as exc:  # the SQLite file's folder cannot be created
        raise NotReady(f"cannot open {where}: {exc.strerror}: {exc.filename}") from exc
    except (ArgumentError, NoSuchModuleError) as exc:
        raise NotReady(f"cannot use {where}: {_first_line(exc)}") from exc
    try:
        with runtime.db.connect():
            pass
    except OperationalError as exc:
        runtime.close()
        raise NotReady(f"cannot reach {where}: {_connect_failure(exc)}") from exc
    return runtime


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def _connect_failure(exc) -> str:
    """What the driver said, without its preamble: `database "x" does not exist`, `Connection refused`."""
    reason = _first_line(exc.orig if exc.orig is not None else exc)
    return reason.rpartition(" failed: ")[2].removeprefix("FATAL:").strip()


def bootstrap(settings: Settings, *, clock=None, db: Engine | None = None) -> Runtime:
    """Create the runtime from settings; tests pass their own clock or engine."""
    return Runtime(
        settings=settings,
        db=db or make_engine(settings),
        clock=clock or SystemClock(),
        specs=SpecCache(),
        script_engine=make_script_engine(time_limit=settings.script_time_limit),
    )

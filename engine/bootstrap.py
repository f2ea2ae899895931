"""Build the runtime every adapter uses: database, clock, spec cache and script engine."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine

from . import actions, citizen_notices, deadline_actions, spiff_clock  # noqa: F401  (registers the actions)
from .clock import SystemClock
from .db import make_engine
from .reference import ReferenceCache
from .scripting import make_script_engine
from .settings import Settings
from .specs import SpecCache
from .uow import UnitOfWork


@dataclass
class Runtime:
    """What a process of petiflow holds for its whole life (one per web, worker or CLI process)."""

    settings: Settings
    db: Engine
    clock: object
    specs: SpecCache
    script_engine: object
    cache: ReferenceCache = field(default_factory=ReferenceCache)
    forms_dir: Path = field(init=False)
    zone: ZoneInfo = field(init=False)

    def __post_init__(self) -> None:
        self.forms_dir = self.settings.workflows_dir / "forms"  # user-task forms
        self.zone = ZoneInfo(self.settings.timezone)  # the city's: working days, office hours, case numbers

    def uow(self, *, read_only: bool = False, one_step: bool = False) -> UnitOfWork:
        """A new unit of work; use it as a context manager. Read-only ones never take the write lock;
        one-step ones run one workflow step and commit it (UnitOfWork.one_step)."""
        return UnitOfWork(self.db, clock=self.clock, specs=self.specs, script_engine=self.script_engine,
                          cache=self.cache, read_only=read_only, forms_dir=self.forms_dir, one_step=one_step,
                          zone=self.zone)

    def close(self) -> None:
        self.db.dispose()


def bootstrap(settings: Settings, *, clock=None, db: Engine | None = None) -> Runtime:
    """Create the runtime from settings; tests pass their own clock or engine."""
    script_engine = make_script_engine(time_limit=settings.script_time_limit)
    script_engine.services = actions.perform  # service tasks run engine actions
    return Runtime(
        settings=settings,
        db=db or make_engine(settings),
        clock=clock or SystemClock(),
        specs=SpecCache(),
        script_engine=script_engine,
    )

"""Make SpiffWorkflow's timers read petiflow's clock instead of the system time.

SpiffWorkflow 3.2 computes and checks timer due times with `datetime.now(timezone.utc)`
inside its timer module. The engine services take time from an injectable clock (drills
"as of" a moment, tests on fixed dates), so that module's `datetime` is replaced with a
subclass whose now() asks the clock of the step being run (engine.clock.ClockedDatetime),
set per thread by `using()`.
"""
from __future__ import annotations

from zoneinfo import ZoneInfo

import SpiffWorkflow.bpmn.specs.event_definitions.timer as _timer_module

from engine.clock import ClockedDatetime, step_clock

#: Run the enclosed workflow steps on a clock (see engine.clock.step_clock).
using = step_clock


def use_local_zone(name: str) -> None:
    """Read a timer date written without an offset as a time in this zone (the city's).

    SpiffWorkflow takes such a date in the zone of the host the process started on, fixed
    at import: a web process and a worker on hosts set to different zones would record and
    fire the same timer at different instants. petiflow gives them the one configured zone.
    """
    _timer_module.LOCALTZ = ZoneInfo(name)


_timer_module.datetime = ClockedDatetime
use_local_zone("Asia/Taipei")  # the default of Settings.timezone; bootstrap sets the configured one

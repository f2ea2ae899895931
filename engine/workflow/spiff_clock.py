"""Make SpiffWorkflow's timers read petiflow's clock and the city's zone instead of the host's.

SpiffWorkflow 3.2 computes and checks timer due times with `datetime.now(timezone.utc)`
inside its timer module. The engine services take time from an injectable clock (drills
"as of" a moment, tests on fixed dates), so that module's `datetime` is replaced with a
subclass whose now() asks the clock of the step being run (engine.clock.ClockedDatetime),
set per thread by `using()`.

The same module reads a timer date written without an offset in the zone of the host the
process started on, fixed at import: a web process and a worker on hosts set to different
zones would record and fire the same timer at different instants. petiflow gives it the city's
zone instead (settings.timezone), the zone of the unit of work in progress
(engine.clock.enter_zone, called by every unit of work), which is also what "today" means to a
script.
"""
from __future__ import annotations

import SpiffWorkflow.bpmn.specs.event_definitions.timer as _timer_module

from engine.clock import CityZone, ClockedDatetime, step_clock

#: Run the enclosed workflow steps on a clock (see engine.clock.step_clock).
using = step_clock

_timer_module.datetime = ClockedDatetime
_timer_module.LOCALTZ = CityZone()

"""Imported first by a petiflow process a test starts: its runtime runs on the test's clock.

The test hands its RunningClock over in PETIFLOW_TEST_CLOCK (tests/reliability/conftest.py,
process_env); the process's runtime is built on it before anything asks for one, so every
step, claim and escalation of the process reads the moment the test set, not the machine's date.
"""
import os

from engine.bootstrap import bootstrap
from engine.clock import RunningClock
from engine.settings import Settings
from handlers.runtime import set_runtime

set_runtime(bootstrap(Settings.from_env(), clock=RunningClock.parse(os.environ["PETIFLOW_TEST_CLOCK"])))

"""The one runtime of a worker or scheduler process, built once from the environment."""
from __future__ import annotations

from engine.bootstrap import Runtime, bootstrap
from engine.settings import Settings

_runtime: Runtime | None = None


def set_runtime(runtime: Runtime) -> None:
    """Use this runtime for the actors of this process (embedded mode and tests)."""
    global _runtime
    _runtime = runtime


def get_runtime() -> Runtime:
    """The process's runtime, built from the environment on first use."""
    global _runtime
    if _runtime is None:
        _runtime = bootstrap(Settings.from_env())
    return _runtime

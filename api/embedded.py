"""Embedded mode: web, worker and scheduler in one process, on SQLite by default."""
from __future__ import annotations

import logging
import threading

from engine.bootstrap import Runtime

log = logging.getLogger(__name__)


class Background:
    """The in-process Dramatiq worker (stub broker) and the timer scheduler thread."""

    def __init__(self, runtime: Runtime, worker_threads: int = 2):
        from handlers.broker import install_broker
        from handlers.runtime import set_runtime

        self.broker = install_broker(runtime.settings)
        set_runtime(runtime)
        from handlers import actors
        from dramatiq import Worker

        actors.bind_to(self.broker)

        self._actors = actors
        self.worker = Worker(self.broker, worker_threads=worker_threads, worker_timeout=250)
        self.stop_event = threading.Event()
        self.runtime = runtime
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        from handlers.scheduler import run_forever

        self.worker.start()
        self._thread = threading.Thread(
            target=run_forever, name="petiflow-scheduler", daemon=True,
            args=(self.runtime, self._actors.fire_timer.send, self.stop_event))
        self._thread.start()

    def stop(self) -> None:
        self.stop_event.set()
        if self._thread:
            self._thread.join(5)
        self.worker.stop(timeout=5000)

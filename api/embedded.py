"""Embedded mode: web, worker, timer scheduler and outbox relay in one process."""
from __future__ import annotations

import logging
import threading

from engine.bootstrap import Runtime

log = logging.getLogger(__name__)


class Background:
    """The in-process Dramatiq worker (stub broker), the timer scheduler, the outbox relay and the
    report rollups' keeper."""

    def __init__(self, runtime: Runtime, worker_threads: int = 2):
        from handlers.broker import install_broker
        from handlers.runtime import set_runtime

        self.broker = install_broker(runtime.settings)
        set_runtime(runtime)
        from dramatiq import Worker

        from handlers import actors, notification_actors

        actors.bind_to(self.broker)
        notification_actors.bind_to(self.broker)
        notification_actors.publish_deliveries(runtime)  # outbox ids go to the worker after commit
        self._actors, self._notification_actors = actors, notification_actors
        self.worker = Worker(self.broker, worker_threads=worker_threads, worker_timeout=250)
        self.stop_event = threading.Event()
        self.runtime = runtime
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        from handlers import relay, scheduler
        from handlers.broker import queue_backlog

        self.worker.start()
        fire_timer, deliver = self._actors.fire_timer, self._notification_actors.deliver_notification
        for name, loop, actor in (("petiflow-scheduler", scheduler.run_forever, fire_timer),
                                  ("petiflow-relay", relay.run_forever, deliver)):
            waiting = lambda actor=actor: queue_backlog(self.broker, actor.queue_name)  # noqa: E731
            thread = threading.Thread(target=loop, name=name, daemon=True,
                                      args=(self.runtime, actor.send, self.stop_event), kwargs={"backlog": waiting})
            thread.start()
            self._threads.append(thread)
        from handlers import rollups
        keeper = threading.Thread(target=rollups.run_forever, name="petiflow-rollups", daemon=True,
                                  args=(self.runtime, self.stop_event))
        keeper.start()
        self._threads.append(keeper)

    def stop(self) -> None:
        self.stop_event.set()
        for thread in self._threads:
            thread.join(5)
        self.worker.stop(timeout=5000)

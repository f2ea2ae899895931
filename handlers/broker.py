"""The Dramatiq broker: Redis in scaled mode, an in-process stub in embedded mode.

Set explicitly before any actor module is imported, never Dramatiq's implicit global.
"""
from __future__ import annotations

import dramatiq
from dramatiq.brokers.stub import StubBroker

from engine.settings import Settings


def make_broker(settings: Settings) -> dramatiq.Broker:
    """The broker the settings ask for (Redis when REDIS_URL is set)."""
    if settings.redis_url:
        from dramatiq.brokers.redis import RedisBroker
        return RedisBroker(url=settings.redis_url, namespace="petiflow")
    broker = StubBroker()
    broker.emit_after("process_boot")  # starts the TimeLimit watchdog in-process
    return broker


def install_broker(settings: Settings) -> dramatiq.Broker:
    """Create the broker and make it Dramatiq's global one (call before importing actors)."""
    broker = make_broker(settings)
    dramatiq.set_broker(broker)
    return broker

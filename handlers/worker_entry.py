"""Entry module for `dramatiq` worker processes: install the Redis broker, then the actors."""
from engine.settings import Settings

from .broker import install_broker

install_broker(Settings.from_env())

from . import actors, notification_actors  # noqa: E402,F401  (actors must see the broker installed above)

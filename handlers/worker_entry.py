"""Entry module for `dramatiq` worker processes: install the Redis broker, then the actors."""
from engine.bootstrap import use_deep_stacks
from engine.settings import Settings

from .broker import install_broker

use_deep_stacks()  # before Dramatiq starts the threads that run steps

install_broker(Settings.from_env())

from . import actors, notification_actors  # noqa: E402,F401  (actors must see the broker installed above)
from .runtime import get_runtime  # noqa: E402

# Notifications a worker's step commits go to the broker at once; the relay catches the rest.
notification_actors.publish_deliveries(get_runtime())

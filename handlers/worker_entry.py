"""Entry module for `dramatiq` worker processes: install the Redis broker, then the actors."""
from engine.bootstrap import use_deep_stacks
from engine.settings import Settings

from .broker import install_broker
from .logs import WORKER_TEXT_FORMAT, configure_logging

use_deep_stacks()  # before Dramatiq starts the threads that run steps

settings = Settings.from_env()
configure_logging(settings.log_format, text_format=WORKER_TEXT_FORMAT)  # Dramatiq set up the handlers
install_broker(settings)

from . import actors, notification_actors  # noqa: E402,F401  (actors must see the broker installed above)
from .runtime import get_runtime  # noqa: E402

# Notifications a worker's step commits go to the broker at once; the relay catches the rest.
notification_actors.publish_deliveries(get_runtime())

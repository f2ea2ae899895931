"""The Flask application factory: settings, runtime, OpenAPI document and error handling."""
from __future__ import annotations

from flask import Flask, current_app
from flask_smorest import Api

from engine.bootstrap import Runtime, bootstrap
from engine.settings import Settings

from . import errors, metrics, request_context, security

#: Where the runtime is kept in app.extensions.
EXTENSION_KEY = "petiflow"

#: Where the readiness probe finds the broker's check: url -> None when it answers, else why not.
BROKER_CHECK = "petiflow.broker_check"


class PetiflowApi(Api):
    """flask-smorest's Api, documenting and rendering errors in petiflow's one shape."""

    ERROR_SCHEMA = errors.ErrorSchema

    def handle_http_exception(self, error):
        """Render an HTTP error in the error shape, keeping its headers."""
        return errors.handle_http_exception(error)


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> Flask:
    """Build the web app; settings come from the environment only when none are given."""
    if settings is None:
        settings = runtime.settings if runtime is not None else Settings.from_env()
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        API_TITLE="petiflow",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        # No OPENAPI_SWAGGER_UI_PATH: Swagger UI would load from a CDN, and there is no network.
    )
    app.extensions[EXTENSION_KEY] = runtime if runtime is not None else bootstrap(settings)
    if settings.redis_url:
        from handlers.broker import broker_problem  # start-up wiring: the broker is the workers' adapter
        app.extensions[BROKER_CHECK] = broker_problem
        from handlers.queues import queue_depths
        app.extensions[metrics.QUEUE_DEPTHS] = queue_depths(settings)

    request_context.install(app)
    api = PetiflowApi(app)
    errors.register_error_handlers(app)
    security.install(app)
    metrics.install(app)

    # Imported here because blueprint modules import get_runtime from this module.
    from . import health, home

    api.register_blueprint(health.blp)
    app.register_blueprint(home.bp)
    return app


def get_runtime() -> Runtime:
    """The runtime of the current app, for views."""
    return current_app.extensions[EXTENSION_KEY]

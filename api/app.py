"""The Flask application factory: settings, runtime, OpenAPI document and error handling."""
from __future__ import annotations

from flask import Flask, current_app
from flask_smorest import Api
from werkzeug.middleware.proxy_fix import ProxyFix

from engine.bootstrap import Runtime, bootstrap
from engine.settings import Settings

from . import auth, converters, errors, limits, metrics, request_context, security, text_guard, units

#: Where the readiness probe finds the broker's check: url -> None when it answers, else why not.
BROKER_CHECK = "petiflow.broker_check"

#: What a request body may hold besides the largest attachment: multipart headers and boundaries.
BODY_OVERHEAD = 64 * 1024


#: The first lines of the OpenAPI document.
API_DESCRIPTION = (
    "The staff API of petiflow: sign-in, task inboxes, claiming and completing work, the supervisors' "
    "escalation queue and case actions. Browsers sign in at POST /api/v1/session and send the session's "
    "CSRF token in X-CSRF-Token with every change; API clients send a personal access token as "
    "`Authorization: Bearer <token>`. Every error has one JSON shape: code, status, error, message, errors.")


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
    app.json.ensure_ascii = False  # Chinese text as UTF-8, not as \u escapes
    app.config.update(
        SECRET_KEY=settings.secret_key,
        API_TITLE="petiflow",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        # No OPENAPI_SWAGGER_UI_PATH: flask-smorest's would load Swagger UI from a CDN. The
        # interactive docs at /api/v1/docs are served by petiflow itself (api/docs.py).
        API_SPEC_OPTIONS={"info": {"description": API_DESCRIPTION}},
        # Bodies past the largest attachment (and room for the multipart framing) are refused with
        # a 413 before they are read; the attachment service checks each file's own size.
        MAX_CONTENT_LENGTH=settings.max_attachment_bytes + BODY_OVERHEAD,
        **{errors.MAX_ATTACHMENT_KEY: settings.max_attachment_bytes},
    )
    if settings.trusted_proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxies, x_proto=settings.trusted_proxies)
    app.extensions[units.EXTENSION_KEY] = runtime if runtime is not None else bootstrap(settings)
    if settings.redis_url:
        from handlers.broker import broker_problem  # start-up wiring: the broker is the workers' adapter
        app.extensions[BROKER_CHECK] = broker_problem
        from handlers.queues import queue_depths
        app.extensions[metrics.QUEUE_DEPTHS] = queue_depths(settings)

    request_context.install(app)
    api = PetiflowApi(app)
    converters.install(app, api)
    errors.register_error_handlers(app)
    security.install(app)
    auth.install(app, secure_cookies=settings.secure_cookies)
    limits.install(app, settings)
    text_guard.install(app)
    units.install(app)
    metrics.install(app)

    # Imported here because blueprint modules import get_runtime from this module.
    from . import docs, health, open311, v1, web

    api.register_blueprint(health.blp)
    v1.register(api)
    web.register(app)
    open311.install(app)
    app.register_blueprint(docs.bp)
    return app


def get_runtime() -> Runtime:
    """The runtime of the current app, for views."""
    return current_app.extensions[units.EXTENSION_KEY]

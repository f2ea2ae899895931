"""The `petiflow` command: run the server, the workers, the scheduler; migrate, deploy, seed."""
from __future__ import annotations

import logging
import sys

import click

from engine.settings import Settings


def _settings() -> Settings:
    return Settings.from_env()


def _runtime(settings: Settings):
    from engine.bootstrap import bootstrap
    return bootstrap(settings)


def _migrated_runtime(settings: Settings):
    """A runtime on a database at the latest schema, or exit saying how to get there."""
    from engine import migrate
    runtime = _runtime(settings)
    if not migrate.is_current(runtime.db):
        _fail(f"the database at {settings.database_url} is at schema "
              f"{migrate.current_revision(runtime.db) or 'none'}, not {migrate.head_revision()}: "
              "run `petiflow db upgrade` first")
    return runtime


def _fail(message: str) -> None:
    click.secho(message, fg="red", err=True)
    sys.exit(1)


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log debug messages.")
def main(verbose: bool) -> None:
    """petiflow: route citizens' petitions through a city government."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not verbose:
        # SpiffWorkflow logs every task state change and Alembic every plugin at INFO.
        for name in ("spiff", "alembic"):
            logging.getLogger(name).setLevel(logging.WARNING)


@main.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Migrate the database schema up to the latest revision."""
    from engine import migrate
    runtime = _runtime(_settings())
    before = migrate.current_revision(runtime.db)
    migrate.upgrade(runtime.db, revision)
    click.echo(f"database schema: {before or 'empty'} -> {migrate.current_revision(runtime.db)}")


@db.command("check")
def db_check() -> None:
    """Fail if the database is behind the migrations or differs from the models."""
    from engine import migrate
    runtime = _runtime(_settings())
    if not migrate.is_current(runtime.db):
        _fail(f"database at {migrate.current_revision(runtime.db)}, code expects {migrate.head_revision()}")
    differences = migrate.schema_differences(runtime.db)
    if differences:
        _fail("models and migrations disagree:\n" + "\n".join(map(str, differences)))
    click.echo("database schema is current and matches the models")


def deploy_workflows(runtime, directory=None, deployed_by: str = "cli") -> list:
    """Deploy every diagram of the workflows folder; returns what each process became."""
    from engine.definitions import read_bundle
    from engine.services.deployment import DeployBundle, deploy_bundle
    sources = read_bundle(directory or runtime.settings.workflows_dir)
    with runtime.uow() as uow:
        result = deploy_bundle(DeployBundle(sources, deployed_by=deployed_by), uow)
        uow.commit()
    return result


@main.command()
@click.option("--dir", "directory", type=click.Path(exists=True, file_okay=False), default=None,
              help="Folder of BPMN/DMN files (default: the workflows folder).")
def deploy(directory) -> None:
    """Deploy the diagrams: a new version of each process whose files changed."""
    from pathlib import Path

    from engine.errors import InvalidDefinition
    runtime = _migrated_runtime(_settings())
    try:
        result = deploy_workflows(runtime, Path(directory) if directory else None)
    except InvalidDefinition as exc:
        _fail(f"deployment refused, nothing changed: {exc}")
    for r in result:
        click.echo(f"{r.process_key}: version {r.version} ({'new' if r.created else 'unchanged'})")


@main.command("seed-demo")
def seed_demo() -> None:
    """Load demo agencies, staff and cases (only into an empty database)."""
    from engine.services.demo import SeedDemo, seed_demo as seed
    runtime = _migrated_runtime(_settings())
    deploy_workflows(runtime)
    with runtime.uow() as uow:
        report = seed(SeedDemo(), uow)
        uow.commit()
    click.echo(report.summary())


@main.command()
@click.option("--host", default=None, help="Address to listen on (default 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port (default 8080).")
def serve(host, port) -> None:
    """Embedded mode: migrate, deploy, load demo data, and serve web + worker + scheduler."""
    from api.embedded import Background
    from api.app import create_app
    from engine import migrate
    from engine.services.demo import SeedDemo, seed_demo as seed
    settings = _settings()
    settings = settings.but(host=host or settings.host, port=port or settings.port)
    runtime = _runtime(settings)
    migrate.upgrade(runtime.db)
    for r in deploy_workflows(runtime, deployed_by="startup"):
        if r.created:
            click.echo(f"deployed {r.process_key} version {r.version}")
    if settings.load_demo_data:
        with runtime.uow() as uow:
            report = seed(SeedDemo(), uow)
            uow.commit()
        click.echo(report.summary())
    background = Background(runtime)
    background.start()
    app = create_app(settings, runtime=runtime)
    import waitress
    click.secho(f"petiflow is running at http://{settings.host}:{settings.port}/  (Ctrl+C to stop)", fg="green")
    try:
        waitress.serve(app, host=settings.host, port=settings.port, _quiet=True, **WAITRESS_OPTIONS)
    finally:
        background.stop()


#: The embedded web server: browsers keep several idle connections open each, and waitress's
#: default limit (100 connections, idle ones closed after 120 s) would stop it accepting any,
#: health checks included, with a few dozen staff at their screens.
WAITRESS_OPTIONS = {"threads": 8, "connection_limit": 500, "channel_timeout": 60}


@main.command()
@click.option("--bind", default="127.0.0.1:8080", show_default=True)
@click.option("--workers", default=2, show_default=True, type=int)
def web(bind: str, workers: int) -> None:
    """Scaled mode: serve the web app with gunicorn (no worker or scheduler in-process)."""
    from gunicorn.app.base import BaseApplication

    class _App(BaseApplication):
        def load_config(self):
            self.cfg.set("bind", bind)
            self.cfg.set("workers", workers)

        def load(self):
            from api.app import create_app
            return create_app(_settings())

    _App().run()


@main.command()
@click.option("--processes", default=2, show_default=True, type=int)
@click.option("--threads", default=4, show_default=True, type=int)
def worker(processes: int, threads: int) -> None:
    """Scaled mode: run Dramatiq worker processes on the Redis broker."""
    settings = _settings()
    if not settings.redis_url:
        _fail("REDIS_URL is not set: workers run in-process with `petiflow serve` in embedded mode")
    from dramatiq.cli import main as dramatiq_main
    sys.argv = ["dramatiq", "handlers.worker_entry", "--processes", str(processes),
                "--threads", str(threads)]
    sys.exit(dramatiq_main())


@main.command()
@click.option("--interval", default=1.0, show_default=True, type=float, help="Seconds between idle sweeps.")
@click.option("--max-backlog", default=1000, show_default=True, type=click.IntRange(min=1),
              help="Hold new timers while this many wait in the workers' queue.")
def scheduler(interval: float, max_backlog: int) -> None:
    """Scaled mode: claim due timers and unsent notifications and send them to the workers (several may run)."""
    import signal
    import threading
    settings = _settings()
    if not settings.redis_url:
        _fail("REDIS_URL is not set: the scheduler runs in-process with `petiflow serve` in embedded mode")
    from handlers.broker import install_broker, queue_backlog
    broker = install_broker(settings)
    from handlers import actors, notification_actors, relay
    from handlers.runtime import get_runtime
    from handlers.scheduler import run_forever
    runtime = get_runtime()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    # The outbox relay: what a crash or a Redis flush lost between commit and send goes out.
    deliver = notification_actors.deliver_notification
    outbox = threading.Thread(target=relay.run_forever, name="petiflow-relay", daemon=True,
                              args=(runtime, deliver.send, stop),
                              kwargs={"backlog": lambda: queue_backlog(broker, deliver.queue_name)})
    outbox.start()
    click.echo("scheduler running (timers and the outbox relay); Ctrl+C to stop")
    try:
        run_forever(runtime, actors.fire_timer.send, stop, interval, max_backlog=max_backlog,
                    backlog=lambda: queue_backlog(broker, actors.fire_timer.queue_name))
    except KeyboardInterrupt:
        stop.set()
    outbox.join(5)
    click.echo("scheduler stopped")


from api.cli_calendar import register as _register_calendar  # noqa: E402  (groups attach to main)

_register_calendar(main)

from api.cli_timers import timers as _timers  # noqa: E402

main.add_command(_timers)

"""The `petiflow` command: run the server, the workers, the scheduler; migrate, deploy, seed."""
from __future__ import annotations

import logging
import re
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import click

from engine.settings import Settings, masked_url


def _settings() -> Settings:
    return Settings.from_env()


def _runtime(settings: Settings, clock=None):
    """A runtime whose database answered a first connection, or NotReady saying why not."""
    from engine.bootstrap import connect
    return connect(settings, clock=clock)


def _schema_problem(runtime) -> str | None:
    """Why the database is not at the latest schema (and what to run), or None when it is."""
    from engine.services.database import database_state
    state = database_state(runtime)
    current, head = state.revision, state.head
    if state.current:
        return None
    where = f"the database at {masked_url(runtime.settings.database_url)}"
    state = "is empty (no schema)" if current is None else f"is at schema {current}, not {head}"
    return f"{where} {state}: run `petiflow db upgrade` first"


def _migrated_runtime(settings: Settings, clock=None):
    """A runtime on a database at the latest schema, or exit saying how to get there."""
    runtime = _runtime(settings, clock=clock)
    problem = _schema_problem(runtime)
    if problem:
        runtime.close()
        _fail(problem)
    return runtime


def _fail(message: str) -> None:
    click.secho(f"petiflow: {message}", fg="red", err=True)
    sys.exit(1)


def refused(exc: Exception, prefix: str = "refused") -> str:
    """`<prefix>, nothing changed: <why>`, the why's own `; nothing was imported` left out."""
    why = re.sub(r";\s*nothing was \w+$", "", str(exc))
    return f"{prefix}, nothing changed: {why}"


class _Petiflow(click.Group):
    """The `petiflow` group: an error raised on purpose (bad settings, a database that cannot
    be reached) ends the command with one line on stderr and exit code 1, not a traceback."""

    def invoke(self, ctx):
        from engine.errors import PetiflowError
        try:
            return super().invoke(ctx)
        except PetiflowError as exc:
            _fail(exc.message)


@click.group(cls=_Petiflow)
@click.option("-v", "--verbose", is_flag=True, help="Log debug messages.")
def main(verbose: bool) -> None:
    """petiflow: route citizens' petitions through a city government."""
    from handlers.logs import configure_logging
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO)
    configure_logging("text")  # the servers switch to PETIFLOW_LOG_FORMAT once they read the settings
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
    from engine.services.database import upgrade_schema
    runtime = _runtime(_settings())
    before, after = upgrade_schema(runtime, revision)
    click.echo(f"database schema: {before or 'empty'} -> {after}")


@db.command("check")
def db_check() -> None:
    """Fail if the database is behind the migrations or differs from the models."""
    from engine.services.database import schema_differences
    runtime = _runtime(_settings())
    problem = _schema_problem(runtime)
    if problem:
        _fail(problem)
    differences = schema_differences(runtime)
    if differences:
        _fail("models and migrations disagree:\n" + "\n".join(map(str, differences)))
    click.echo("database schema is current and matches the models")


@db.command("backup")
@click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
def db_backup(target: Path) -> None:
    """Copy the embedded SQLite database, while petiflow runs, to a new file TARGET (checked before it is kept)."""
    from engine.services.database import back_up, sqlite_file
    settings = _settings()
    if settings.is_sqlite and not sqlite_file(settings.database_url).is_file():
        _fail(f"there is no database at {masked_url(settings.database_url)}: nothing to back up "
              "(is PETIFLOW_VAR_DIR or DATABASE_URL the one petiflow runs with?)")
    runtime = _migrated_runtime(settings)
    shown = {"last": time.monotonic()}

    def progress(written: int, expected: int) -> None:
        if time.monotonic() - shown["last"] >= 1:
            shown["last"] = time.monotonic()
            click.echo(f"  {written / 1e6:,.1f} of about {expected / 1e6:,.1f} MB", err=True)

    try:
        with _sigterm_as_ctrl_c():
            done = back_up(runtime, target, progress=progress)
    except KeyboardInterrupt:
        _fail(f"backup interrupted: nothing was written to {target}")
    finally:
        runtime.close()
    click.echo(f"backed up {masked_url(settings.database_url)} to {done.target}: "
               f"{done.bytes / 1e6:,.1f} MB in {done.seconds:.1f} s, integrity check ok")


def deploy_workflows(runtime, directory=None, deployed_by: str = "cli") -> list:
    """Deploy every diagram of the workflows folder (or `directory`), its forms checked in the
    folder's own forms/; returns what each process became."""
    from engine.errors import InvalidInput
    from engine.services.deployment import DeployBundle, deploy_bundle, read_bundle
    folder = Path(directory or runtime.settings.workflows_dir)
    if not folder.is_dir():
        named = "" if directory else " (PETIFLOW_WORKFLOWS_DIR)"
        missing = "is not a folder" if folder.exists() else "does not exist"
        raise InvalidInput(f"the workflows folder {folder}{named} {missing}; nothing deployed")
    sources = read_bundle(folder)
    if not sources:
        raise InvalidInput(f"no BPMN or DMN files in {folder}; nothing deployed")
    with runtime.uow() as uow:
        result = deploy_bundle(DeployBundle(sources, deployed_by=deployed_by, forms_dir=folder / "forms"), uow)
        uow.commit()
    return result


@main.command()
@click.option("--dir", "directory", type=click.Path(path_type=Path), default=None,
              help="Folder of BPMN/DMN files (default: the workflows folder).")
def deploy(directory) -> None:
    """Deploy the diagrams: a new version of each process whose files changed."""
    from engine.errors import InvalidDefinition
    runtime = _migrated_runtime(_settings())
    try:
        result = deploy_workflows(runtime, directory)
    except InvalidDefinition as exc:
        _fail(refused(exc, "deployment refused"))
    for r in result:
        click.echo(f"{r.process_key}: version {r.version} ({'new' if r.created else 'unchanged'})")


@main.command("seed-demo")
def seed_demo() -> None:
    """Load demo agencies, staff and cases (only into an empty database)."""
    from engine.services.demo import SeedDemo
    from engine.services.demo import seed_demo as seed
    runtime = _migrated_runtime(_settings())
    _echo_deployed(deploy_workflows(runtime))  # the demo cases need the processes
    with runtime.uow() as uow:
        report = seed(SeedDemo(), uow)
        uow.commit()
    click.echo(report.summary())


def _echo_deployed(results) -> None:
    for r in results:
        if r.created:
            click.echo(f"deployed {r.process_key} version {r.version}")


def _reference_data_warnings(runtime) -> list[str]:
    """What a city must load before its cases get deadlines: the rules, this year's calendar."""
    from engine.queries.calendar import reference_data_counts
    year = runtime.clock.now().year
    with runtime.uow(read_only=True) as uow:
        rules, days = reference_data_counts(uow, year)
    warnings = []
    if not rules:
        warnings.append("no deadline rules: new cases get no deadline; run `petiflow deadlines load-defaults`")
    if not days:
        warnings.append(f"no public holidays for {year}: every weekday counts as a working day; run "
                        f"`petiflow calendar load-holidays --year {year}` or `petiflow calendar import-dgpa`")
    return warnings


#: A TCP port number, for --port options.
PORT = click.IntRange(1, 65535)


@main.command()
@click.option("--host", default=None, help="Address to listen on (default 127.0.0.1).")
@click.option("--port", default=None, type=PORT, help="Port (default 8080).")
def serve(host, port) -> None:
    """Embedded mode: migrate, deploy, load demo data, and serve web + worker + scheduler.

    Ctrl+C or SIGTERM stops it: no new requests, then the worker and the scheduler stop.
    """
    from api.app import create_app
    from api.embedded import Background
    from api.metrics import QUEUE_DEPTHS
    from engine.bootstrap import use_deep_stacks
    from engine.services.database import upgrade_schema
    from engine.services.demo import SeedDemo
    from engine.services.demo import seed_demo as seed
    from handlers.logs import configure_logging
    from handlers.queues import stub_queue_depths
    settings = _settings()
    settings = settings.but(host=host or settings.host, port=port or settings.port)
    configure_logging(settings.log_format)
    use_deep_stacks()  # before the web and worker threads that run steps start
    runtime = _runtime(settings)
    try:
        app = create_app(settings, runtime=runtime)
        # Bound first: a port in use ends it before anything starts.
        with _listening(app, settings) as server, _sigterm_as_ctrl_c():
            upgrade_schema(runtime)
            _echo_deployed(deploy_workflows(runtime, deployed_by="startup"))
            if settings.load_demo_data:
                with runtime.uow() as uow:
                    report = seed(SeedDemo(), uow)
                    uow.commit()
                click.echo(report.summary())
            for warning in _reference_data_warnings(runtime):
                click.secho(f"petiflow: {warning}", fg="yellow", err=True)
            background = Background(runtime)
            app.extensions[QUEUE_DEPTHS] = stub_queue_depths(background.broker)
            background.start()
            try:
                click.secho(f"petiflow is running at http://{settings.host}:{settings.port}/  (Ctrl+C to stop)",
                            fg="green")
                server.run()  # until Ctrl+C or SIGTERM; it takes no new request after
            finally:
                click.echo("petiflow is stopping: waiting for the worker and the scheduler")
                background.stop()
    finally:
        runtime.close()
    click.echo("petiflow stopped")


@contextmanager
def _listening(app, settings: Settings):
    """A waitress server bound to the settings' address (or exit saying why not); closed on leaving."""
    import errno

    from waitress import wasyncore
    from waitress.server import create_server
    from waitress.task import ThreadedTaskDispatcher
    sockets, tasks = {}, ThreadedTaskDispatcher()
    try:
        server = create_server(app, map=sockets, _dispatcher=tasks, host=settings.host, port=settings.port,
                               **WAITRESS_OPTIONS)
    except (OSError, ValueError) as exc:  # ValueError, socket.gaierror: a host that is not one
        wasyncore.close_all(sockets)
        if getattr(exc, "errno", None) == errno.EADDRINUSE:
            _fail(f"port {settings.port} on {settings.host} is in use (another petiflow?); "
                  "set PETIFLOW_PORT or --port")
        _fail(f"cannot listen on {settings.host} port {settings.port} (PETIFLOW_HOST, PETIFLOW_PORT): "
              f"{getattr(exc, 'strerror', None) or exc}")
    tasks.set_thread_count(WAITRESS_OPTIONS["threads"])
    try:
        yield server
    finally:
        tasks.shutdown()
        wasyncore.close_all(sockets)


@contextmanager
def _sigterm_as_ctrl_c():
    """SIGTERM (systemd, container runtimes) raises KeyboardInterrupt, as Ctrl+C does."""
    import signal

    def interrupt(signum, frame):
        raise KeyboardInterrupt
    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


#: The embedded web server: browsers keep several idle connections open each, and waitress's
#: default limit (100 connections, idle ones closed after 120 s) would stop it accepting any,
#: health checks included, with a few dozen staff at their screens.
WAITRESS_OPTIONS = {"threads": 8, "connection_limit": 500, "channel_timeout": 60}


@main.command()
@click.option("--bind", default="127.0.0.1:8080", show_default=True)
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64), help="Processes.")
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 256),
              help="Request threads per process.")
def web(bind: str, workers: int, threads: int) -> None:
    """Scaled mode: serve the web app with gunicorn (no worker or scheduler in-process)."""
    from gunicorn.app.base import BaseApplication

    from engine.bootstrap import use_deep_stacks
    from handlers.logs import configure_logging
    settings = _settings()  # a bad setting stops here, not in each gunicorn worker
    configure_logging(settings.log_format)
    use_deep_stacks()  # inherited by the worker processes' request threads
    name = re.sub(r"[^0-9A-Za-z.]+", "-", bind)  # one per server, so two servers never share one
    settings = settings.but(metrics_dir=_fresh_metrics_dir(settings.var_dir / f"metrics-{name}"))

    class _App(BaseApplication):
        def load_config(self):
            self.cfg.set("bind", bind)
            self.cfg.set("workers", workers)
            # Requests in threads (which get the deep stack), not in each process's main thread.
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("threads", threads)
            self.cfg.set("on_starting", lambda server: configure_logging(settings.log_format,
                                                                          loggers=("gunicorn.error",)))
            self.cfg.set("child_exit", _forget_metrics_of)
            if "control_socket" in self.cfg.settings:  # gunicorn 25.1+: one per server, not one per user
                self.cfg.set("control_socket", str(settings.var_dir / f"gunicorn-{name}.ctl"))

        def load(self):
            from api.app import create_app
            return create_app(settings)

    _App().run()


def _fresh_metrics_dir(folder: Path) -> Path:
    """An empty folder for the web processes' metrics, named in PROMETHEUS_MULTIPROC_DIR for them.

    Emptied at each start: the files of a server that stopped would add its counts to the new one's.
    """
    import os
    import shutil
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    # prometheus-client reads it when first imported, in each gunicorn worker process.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    return folder


def _forget_metrics_of(server, worker) -> None:
    """gunicorn's child_exit hook: a dead process's in-flight requests no longer count."""
    from prometheus_client import multiprocess
    multiprocess.mark_process_dead(worker.pid)


@main.command()
@click.option("--processes", default=2, show_default=True, type=click.IntRange(1, 64), help="Worker processes.")
@click.option("--threads", default=4, show_default=True, type=click.IntRange(1, 256), help="Threads per process.")
def worker(processes: int, threads: int) -> None:
    """Scaled mode: run Dramatiq worker processes on the Redis broker."""
    settings = _settings()
    if not settings.redis_url:
        _fail("REDIS_URL is not set: workers run in-process with `petiflow serve` in embedded mode")
    from dramatiq.cli import main as dramatiq_main
    sys.argv = ["dramatiq", "handlers.worker_entry", "--processes", str(processes),
                "--threads", str(threads)]
    sys.exit(dramatiq_main())


class _Seconds(click.FloatRange):
    """A number of seconds within a range; NaN, which compares with nothing, is refused too."""

    def convert(self, value, param, ctx):
        import math
        seconds = super().convert(value, param, ctx)
        if math.isnan(seconds):
            self.fail(f"{value!r} is not a number of seconds.", param, ctx)
        return seconds


@main.command()
@click.option("--interval", default=1.0, show_default=True, type=_Seconds(0.05, 3600),
              help="Seconds between idle sweeps.")
@click.option("--max-backlog", default=1000, show_default=True, type=click.IntRange(min=1),
              help="Hold new timers while this many wait in the workers' queue.")
def scheduler(interval: float, max_backlog: int) -> None:
    """Scaled mode: claim due timers and unsent notifications and send them to the workers (several may run)."""
    import signal
    import threading
    settings = _settings()
    if not settings.redis_url:
        _fail("REDIS_URL is not set: the scheduler runs in-process with `petiflow serve` in embedded mode")
    from handlers.logs import configure_logging
    configure_logging(settings.log_format)
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
    from handlers import rollups
    keeper = threading.Thread(target=rollups.run_forever, name="petiflow-rollups", daemon=True, args=(runtime, stop))
    keeper.start()
    click.echo("scheduler running (timers, the outbox relay and the report rollups); Ctrl+C to stop")
    try:
        run_forever(runtime, actors.fire_timer.send, stop, interval, max_backlog=max_backlog,
                    backlog=lambda: queue_backlog(broker, actors.fire_timer.queue_name))
    except KeyboardInterrupt:
        stop.set()
    outbox.join(5)
    keeper.join(5)
    click.echo("scheduler stopped")


from api.cli_calendar import register as _register_calendar  # noqa: E402  (groups attach to main)

_register_calendar(main)

from api.cli_timers import timers as _timers  # noqa: E402

main.add_command(_timers)

from api.cli_migrate import migrate_cases as _migrate_cases  # noqa: E402

main.add_command(_migrate_cases)

from api.cli_open311 import open311_keys as _open311_keys  # noqa: E402

main.add_command(_open311_keys)

from api.cli_reports import reports as _reports  # noqa: E402

main.add_command(_reports)

from api.cli_attachments import attachments as _attachments  # noqa: E402

main.add_command(_attachments)

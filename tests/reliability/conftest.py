"""Fixtures of the reliability tier: real `dramatiq` worker processes on PostgreSQL and Redis.

Each test gets its own Redis namespace (petiflow-test-<pid>-<n>) in the test database
index, so it never touches another engineer's keys, and an emptied PostgreSQL database
(the session's). Workers are started as `python -m dramatiq handlers.worker_entry` (through
tests/reliability/worker_on_test_clock.py) in a process group of their own, so a test can kill
one with SIGKILL like a crashed machine; schedulers run as threads of the test process. All of
them share the test's RunningClock: it starts at TEST_NOW and runs in real time, so timers fall
due in seconds on a date the test chose, whatever the machine's date.
"""
from __future__ import annotations

import itertools
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from engine.bootstrap import bootstrap
from engine.clock import FixedClock, RunningClock
from engine.services.cases import StartCase, start_case
from engine.services.deployment import DeployBundle, deploy_bundle
from engine.settings import Settings
from engine.store.schema import case_events, timers, work_items
from tests.conftest import TEST_NOW, _truncate_all, bundle

ROOT = Path(__file__).resolve().parents[2]

#: The Redis server and database index of the tests (never FLUSHALL; keys are namespaced).
REDIS_URL = os.environ.get("PETIFLOW_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

#: The test suite runs once per database (Makefile); the worker tier needs PostgreSQL
#: whatever the run, so it runs in the PostgreSQL run and when no database is named.
in_sqlite_run = os.environ.get("PETIFLOW_TEST_DATABASE_URL") == "sqlite"
skip_in_sqlite_run = pytest.mark.skipif(
    in_sqlite_run, reason="the worker tier runs once, in the PostgreSQL run of the suite")

#: Marks of every test that starts worker processes.
WORKER_TIER = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow, skip_in_sqlite_run]

#: Seconds a dead worker's unacknowledged messages wait before another worker takes them.
HEARTBEAT_MS = 3000

#: A reply task with an interrupting boundary timer whose path runs a script that takes
#: `slow_seconds` of wall-clock time (within the script time limit the workers get) before
#: the Supervisor's take_over task: firing it holds the timer and the instance locked that long.
SLOW_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  id="slow_deadline_definitions" targetNamespace="http://petiflow.example/test">
  <bpmn:process id="slow_deadline" name="Reply by a deadline, slow escalation" isExecutable="true">
    <bpmn:laneSet id="lanes">
      <bpmn:lane id="lane_caseworker" name="Caseworker"><bpmn:flowNodeRef>reply</bpmn:flowNodeRef></bpmn:lane>
      <bpmn:lane id="lane_supervisor" name="Supervisor"><bpmn:flowNodeRef>take_over</bpmn:flowNodeRef></bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="reply" name="Reply"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:boundaryEvent id="overdue" name="Reply overdue" attachedToRef="reply">
      <bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:timerEventDefinition id="overdue_timer"><bpmn:timeDate>reply_due</bpmn:timeDate></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:scriptTask id="slow" name="Gather the case file">
      <bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>
      <bpmn:script>stop_at = datetime.now(timezone.utc).timestamp() + slow_seconds
spins = 0
while datetime.now(timezone.utc).timestamp() &lt; stop_at:
    spins += divmod(3 ** 5000, 7 ** 2000)[1] % 2 + 1
del stop_at</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:userTask id="take_over" name="Take over the late reply">
      <bpmn:incoming>f4</bpmn:incoming><bpmn:outgoing>f5</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="replied"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="taken_over"><bpmn:incoming>f5</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="reply" />
    <bpmn:sequenceFlow id="f2" sourceRef="reply" targetRef="replied" />
    <bpmn:sequenceFlow id="f3" sourceRef="overdue" targetRef="slow" />
    <bpmn:sequenceFlow id="f4" sourceRef="slow" targetRef="take_over" />
    <bpmn:sequenceFlow id="f5" sourceRef="take_over" targetRef="taken_over" />
  </bpmn:process>
</bpmn:definitions>
"""


def wait_until(predicate, timeout: float, interval: float = 0.1, message: str = "condition"):
    """Poll until predicate() is truthy; fail the test after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting for {message}")
        time.sleep(interval)


# --- Redis ----------------------------------------------------------------------------------

def _redis_client():
    import redis
    return redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)


@pytest.fixture(scope="session")
def redis_server():
    """The test Redis; skipped (failed under CI) when it does not answer."""
    client = _redis_client()
    try:
        client.ping()
    except Exception as exc:  # noqa: BLE001
        if os.environ.get("CI"):
            pytest.fail(f"Redis is not reachable at {REDIS_URL}: {exc}")
        pytest.skip(f"Redis is not reachable at {REDIS_URL}: {exc}")
    yield client
    client.close()


_namespaces = itertools.count(1)


class Namespace:
    """A Redis key namespace of one test: its own queues, flushed by deleting its keys only."""

    def __init__(self, client, name: str):
        self.client = client
        self.name = name

    def keys(self) -> list[bytes]:
        return list(self.client.scan_iter(match=f"{self.name}:*", count=1000))

    def flush(self) -> int:
        """What FLUSHDB does to this namespace: every key of it is gone."""
        keys = self.keys()
        if keys:
            self.client.delete(*keys)
        return len(keys)

    def queued(self, queue: str = "timers") -> int:
        return self.client.llen(f"{self.name}:{queue}")

    def dead_letters(self, queue: str = "timers") -> int:
        return self.client.zcard(f"{self.name}:{queue}.XQ")


@pytest.fixture
def namespace(redis_server) -> Namespace:
    ns = Namespace(redis_server, f"petiflow-test-{os.getpid()}-{next(_namespaces)}")
    yield ns
    ns.flush()


class Sender:
    """Sends fire_timer messages into a namespace the way the scheduler process does."""

    def __init__(self, namespace: Namespace):
        from dramatiq.brokers.redis import RedisBroker
        self.broker = RedisBroker(url=REDIS_URL, namespace=namespace.name, middleware=[])
        self.sent: list[int] = []
        self._lock = threading.Lock()

    def __call__(self, timer_id: int) -> None:
        from dramatiq import Message
        self.broker.enqueue(Message(queue_name="timers", actor_name="fire_timer", args=(timer_id,),
                                    kwargs={}, options={}))
        with self._lock:
            self.sent.append(timer_id)

    def close(self) -> None:
        self.broker.close()


@pytest.fixture
def sender(namespace):
    s = Sender(namespace)
    yield s
    s.close()


@pytest.fixture
def rt(runtime):
    """The run's runtime (fixed clock) with the deadline process deployed."""
    with runtime.uow() as uow:
        deploy_bundle(DeployBundle(bundle("deadline.bpmn")), uow)
        uow.commit()
    return runtime


# --- PostgreSQL ----------------------------------------------------------------------------

@pytest.fixture
def live(pg_database, tmp_path):
    """A runtime on the emptied session PostgreSQL database, on a clock running from TEST_NOW,
    with the deadline and slow_deadline processes deployed."""
    rt = bootstrap(Settings(database_url=pg_database, var_dir=tmp_path, secret_key="test",
                            script_time_limit=10.0), clock=RunningClock(TEST_NOW))
    _truncate_all(rt.db)
    with rt.uow() as uow:
        deploy_bundle(DeployBundle({**bundle("deadline.bpmn"), "slow_deadline.bpmn": SLOW_BPMN}), uow)
        uow.commit()
    yield rt
    rt.close()


def start_overdue_cases(rt, n: int, *, process_key: str = "deadline", overdue_by: timedelta = timedelta(0),
                        data: dict | None = None) -> list[int]:
    """Open n cases an hour ago whose reply was due `overdue_by` ago; returns their case ids.

    The cases are started on a clock an hour back, so their workflows wait on the timer
    (a timer already due at the start would fire inside start_case), and the timers are due
    for the scheduler and workers, running on the runtime's clock, the moment the test begins.
    """
    now = rt.clock.now()
    past = bootstrap(rt.settings, clock=FixedClock(now - timedelta(hours=1)), db=rt.db)
    due = (now - overdue_by).isoformat()
    ids = []
    with past.uow() as uow:
        for _ in range(n):
            ids.append(start_case(StartCase("petition", process_key=process_key,
                                            data={"reply_due": due, **(data or {})}), uow).case_id)
        uow.commit()
    return ids


def timer_statuses(rt) -> dict[str, int]:
    with rt.db.connect() as conn:
        return dict(conn.execute(select(timers.c.status, func.count()).group_by(timers.c.status)).all())


def counts_per_case(rt, case_ids) -> dict[int, dict[str, int]]:
    """Per case: take_over work items, timer firings (engine_steps events with reason timer),
    task_ready events of take_over, and done timers."""
    result = {c: {"take_over": 0, "timer_steps": 0, "take_over_ready": 0, "done_timers": 0} for c in case_ids}
    with rt.db.connect() as conn:
        for case_id, n in conn.execute(select(work_items.c.case_id, func.count())
                                       .where(work_items.c.task_spec == "take_over")
                                       .group_by(work_items.c.case_id)):
            result.setdefault(case_id, {})["take_over"] = n
        for row in conn.execute(select(case_events.c.case_id, case_events.c.kind, case_events.c.data)
                                .where(case_events.c.kind.in_(("engine_steps", "task_ready")))):
            data = row.data or {}
            if row.kind == "engine_steps" and data.get("reason") == "timer":
                result.setdefault(row.case_id, {})["timer_steps"] = result[row.case_id]["timer_steps"] + 1
            elif row.kind == "task_ready" and data.get("task") == "take_over":
                result.setdefault(row.case_id, {})["take_over_ready"] = result[row.case_id]["take_over_ready"] + 1
        for case_id, n in conn.execute(select(timers.c.case_id, func.count()).where(timers.c.status == "done")
                                       .group_by(timers.c.case_id)):
            result.setdefault(case_id, {})["done_timers"] = n
    return result


def timer_locked(rt, timer_id: int) -> bool:
    """True while another transaction holds the timer row (a worker is firing it)."""
    with rt.db.connect() as conn:
        try:
            conn.execute(select(timers.c.id).where(timers.c.id == timer_id).with_for_update(nowait=True))
        except OperationalError:
            return True
        finally:
            conn.rollback()
    return False


ONCE = {"take_over": 1, "timer_steps": 1, "take_over_ready": 1, "done_timers": 1}


# --- worker processes ----------------------------------------------------------------------

def process_env(clock: RunningClock, **variables) -> dict:
    """The environment of a petiflow process a test starts: the variables given, the test's
    clock (tests/reliability/on_test_clock.py), and a faked date (`make test-faketime`) if any."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PETIFLOW_TEST_CLOCK": str(clock)}
    for name in ("LD_PRELOAD", "FAKETIME", "DONT_FAKE_MONOTONIC"):
        if name in os.environ:
            env[name] = os.environ[name]
    inherited = os.environ.get("PYTHONPATH")
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + inherited if inherited else "")
    return {**env, **variables}


class Worker:
    """One `dramatiq handlers.worker_entry` invocation (a master and one worker process), on the
    clock its environment names (PETIFLOW_TEST_CLOCK)."""

    def __init__(self, name: str, log_path: Path, env: dict):
        self.name = name
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "dramatiq", "tests.reliability.worker_on_test_clock",
             "--processes", "1", "--threads", "2"],
            cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = 30) -> "Worker":
        def ready():
            if self.proc.poll() is not None:
                pytest.fail(f"worker {self.name} exited with {self.proc.returncode}:\n{self.log()[-3000:]}")
            return "ready for action" in self.log()
        wait_until(ready, timeout, 0.05, f"worker {self.name} to start")
        return self

    def kill(self) -> None:
        """SIGKILL the master and its worker process at once, like a machine that died."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self._log.close()

    def errors(self) -> list[str]:
        """Log lines at ERROR or CRITICAL (a failed message, a crash)."""
        return [line for line in self.log().splitlines() if "] [ERROR]" in line or "] [CRITICAL]" in line]


@pytest.fixture
def workers(live, namespace, tmp_path):
    """Start worker processes on a database URL, on the clock of `live`: workers(url, name) -> Worker (ready)."""
    started: list[Worker] = []

    def start(database_url: str, name: str = "w", *, wait: bool = True, extra_env: dict | None = None) -> Worker:
        env = process_env(live.clock, **{
            "HOME": os.environ.get("HOME", str(tmp_path)),
            "DATABASE_URL": database_url,
            "REDIS_URL": REDIS_URL,
            "PETIFLOW_REDIS_NAMESPACE": namespace.name,
            "PETIFLOW_REDIS_HEARTBEAT_MS": str(HEARTBEAT_MS),
            "PETIFLOW_REDIS_MAINTENANCE_CHANCE": "1000000",
            "PETIFLOW_VAR_DIR": str(tmp_path / "var"),
            "PETIFLOW_SCRIPT_TIME_LIMIT": "10",
            "SECRET_KEY": "test",
            "dramatiq_worker_timeout": "200",  # an idle consumer looks for messages 5 times a second
            **(extra_env or {}),
        })
        worker = Worker(f"{name}{len(started) + 1}", tmp_path / f"worker-{name}-{len(started) + 1}.log", env)
        started.append(worker)
        return worker.wait_ready() if wait else worker

    yield start
    for worker in started:
        worker.stop()


# --- schedulers ----------------------------------------------------------------------------

class SchedulerThread:
    """handlers.scheduler.run_forever in a thread of the test process."""

    def __init__(self, runtime, send, *, lease: timedelta, interval: float = 0.2, limit: int = 100):
        from handlers.scheduler import run_forever
        self.stop_event = threading.Event()
        self.stopped = False
        self.thread = threading.Thread(
            target=run_forever, args=(runtime, send, self.stop_event, interval),
            kwargs={"limit": limit, "lease": lease}, daemon=True, name="test-scheduler")
        self.thread.start()

    def stop(self) -> None:
        if self.stopped:
            return
        self.stop_event.set()
        self.thread.join(15)
        assert not self.thread.is_alive(), "the scheduler did not stop"
        self.stopped = True


@pytest.fixture
def schedulers():
    running: list[SchedulerThread] = []

    def start(runtime, send, **kw) -> SchedulerThread:
        s = SchedulerThread(runtime, send, **kw)
        running.append(s)
        return s

    yield start
    for s in running:
        s.stop()


# --- a TCP proxy in front of PostgreSQL ------------------------------------------------------

class TcpProxy:
    """127.0.0.1:<port> forwarding to a target; close() cuts every connection and refuses new ones.

    Lets a test take the database away from a worker or scheduler without touching the
    real PostgreSQL server, which other engineers' tests use.
    """

    def __init__(self, target: tuple[str, int]):
        self.target = target
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self._lock = threading.Lock()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._listener: socket.socket | None = None
        self.open()

    def open(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True, name="proxy-accept").start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # closed
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._listener is not listener:  # closed meanwhile
                    client.close()
                    upstream.close()
                    return
                self._pairs.append((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True, name="proxy-pump").start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            pairs, self._pairs = self._pairs, []
        if listener is not None:
            listener.close()
        for pair in pairs:
            for s in pair:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()

    def url(self, database_url: str) -> str:
        """The database URL with the proxy's address instead of the server's."""
        from sqlalchemy.engine import make_url
        url = make_url(database_url)
        return url.set(host="127.0.0.1", port=self.port).render_as_string(hide_password=False)


@pytest.fixture
def pg_proxy(pg_database):
    from sqlalchemy.engine import make_url
    url = make_url(pg_database)
    proxy = TcpProxy((url.host or "127.0.0.1", url.port or 5432))
    yield proxy
    proxy.close()

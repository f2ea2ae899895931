"""The loops bench/lifecycle.py times: bare SpiffWorkflow in memory, and petiflow's services on a database.

Also the SQL statement counter and the helpers that create and drop the PostgreSQL bench database.
"""
from __future__ import annotations

import os
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SIMPLE_BPMN = ROOT / "tests" / "data" / "simple.bpmn"
PROCESS_KEY = "simple"
RESULTS_DIR = ROOT / "bench" / "results"

#: Start data of a case as start_case builds it, and the form data of the reply.
CHANNEL = "1999"
REPLY = {"reply": "Thank you, the pothole is scheduled for repair."}

DEFAULT_PG_URL = os.environ.get("PETIFLOW_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/petiflow_bench")


def log(msg: str = "", end: str = "\n") -> None:
    print(msg, end=end, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# Bare SpiffWorkflow
# --------------------------------------------------------------------------------------------

class BareLoop:
    """The same lifecycle on SpiffWorkflow alone, in memory, one save/restore per step."""

    def __init__(self, script_engine, *, lean: bool = False):
        from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
        from SpiffWorkflow.spiff.parser import VALIDATOR, SpiffBpmnParser
        from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

        parser = SpiffBpmnParser(validator=VALIDATOR)
        parser.add_bpmn_str(SIMPLE_BPMN.read_bytes(), filename=SIMPLE_BPMN.name)
        self.spec = parser.get_spec(PROCESS_KEY)
        self.subprocess_specs = parser.get_subprocess_specs(PROCESS_KEY)
        self.serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
        self.script_engine = script_engine  # None: SpiffWorkflow's default engine
        self.lean = lean
        self.i = 0

    def _save(self, workflow) -> str:
        if self.lean:
            from engine.workflow import state
            return state.dump(workflow)
        return self.serializer.serialize_json(workflow)

    def _restore(self, text: str):
        if self.lean:
            from engine.workflow import state
            return state.load(text, self.spec, self.subprocess_specs, self.script_engine)
        workflow = self.serializer.deserialize_json(text)
        if self.script_engine is not None:
            workflow.script_engine = self.script_engine  # not serialized; would fall back to the default
        return workflow

    def lifecycle(self) -> None:
        from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
        from SpiffWorkflow.util.task import TaskState

        self.i += 1
        if self.script_engine is None:
            workflow = BpmnWorkflow(self.spec, self.subprocess_specs)
        else:
            workflow = BpmnWorkflow(self.spec, self.subprocess_specs, script_engine=self.script_engine)
        start = workflow.get_next_task(state=TaskState.READY)
        start.data.update({"case_id": self.i, "case_no": f"P20261126{self.i:06d}", "case_type": "petition",
                           "channel": CHANNEL, "category": None, "district": None})
        workflow.do_engine_steps()
        text = self._save(workflow)
        workflow = self._restore(text)
        task = workflow.get_next_task(state=TaskState.READY, manual=True)
        task.set_data(**REPLY)
        task.run()
        workflow.do_engine_steps()
        self._save(workflow)
        assert workflow.is_completed()


class StoredBareLoop(BareLoop):
    """The floor on a database: bare SpiffWorkflow whose state a plain driver stores, nothing else.

    What any engine that keeps its workflows in a database must do at least, in the same two
    transactions as petiflow: INSERT the state of the new workflow and commit; then read it back
    (FOR UPDATE on PostgreSQL), restore, complete the task, UPDATE it with a version check and
    commit. One table, no inbox, no history, no case row, raw DBAPI (sqlite3 or psycopg) with
    hand-written SQL. The ratio petiflow/floor is what our layer costs on top of storage itself.
    """

    def __init__(self, script_engine, db: str, *, sqlite_path: Path | None = None, pg_url: str | None = None):
        super().__init__(script_engine)
        self.db = db
        if db == "sqlite":
            import sqlite3
            self.conn = sqlite3.connect(sqlite_path, isolation_level=None)
            # the same settings as petiflow's SQLite engine (engine/store/db.py)
            for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=10000"):
                self.conn.execute(f"PRAGMA {pragma}")
            self.conn.execute("CREATE TABLE bare_states (id INTEGER PRIMARY KEY, state TEXT NOT NULL,"
                              " version INTEGER NOT NULL)")
            self.param = "?"
        else:
            import psycopg
            self.conn = psycopg.connect(pg_url.replace("postgresql+psycopg://", "postgresql://"))
            self.conn.execute("CREATE TABLE bare_states (id BIGSERIAL PRIMARY KEY, state TEXT NOT NULL,"
                              " version INTEGER NOT NULL)")
            self.conn.commit()
            self.param = "%s"

    def _sql(self, text: str) -> str:
        return text.replace("?", self.param)

    def _begin(self) -> None:
        if self.db == "sqlite":
            self.conn.execute("BEGIN IMMEDIATE")  # as petiflow's writers do

    def lifecycle(self) -> None:
        from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
        from SpiffWorkflow.util.task import TaskState

        self.i += 1
        workflow = BpmnWorkflow(self.spec, self.subprocess_specs, script_engine=self.script_engine)
        start = workflow.get_next_task(state=TaskState.READY)
        start.data.update({"case_id": self.i, "case_no": f"P20261126{self.i:06d}", "case_type": "petition",
                           "channel": CHANNEL, "category": None, "district": None})
        workflow.do_engine_steps()
        self._begin()
        row_id = self.conn.execute(self._sql("INSERT INTO bare_states (state, version) VALUES (?, 1) RETURNING id"),
                                   (self._save(workflow),)).fetchone()[0]
        self.conn.commit()
        self._begin()
        lock = "" if self.db == "sqlite" else " FOR UPDATE"
        text, version = self.conn.execute(self._sql(f"SELECT state, version FROM bare_states WHERE id = ?{lock}"),
                                          (row_id,)).fetchone()
        workflow = self._restore(text)
        task = workflow.get_next_task(state=TaskState.READY, manual=True)
        task.set_data(**REPLY)
        task.run()
        workflow.do_engine_steps()
        changed = self.conn.execute(
            self._sql("UPDATE bare_states SET state = ?, version = version + 1 WHERE id = ? AND version = ?"),
            (self._save(workflow), row_id, version)).rowcount
        self.conn.commit()
        assert changed == 1 and workflow.is_completed()

    def close(self) -> None:
        self.conn.close()


# --------------------------------------------------------------------------------------------
# The engine on a database
# --------------------------------------------------------------------------------------------

class StatementCounter:
    """Counts what the engine sends through SQLAlchemy (and pool pre-pings, commits, round trips).

    A context manager: the listeners and the psycopg hook are installed on entry and removed on
    exit, so the timed rounds run the engine exactly as production does, without them.
    """

    def __init__(self, db):
        self.db = db
        self.statements: list[tuple[str, str, bool]] = []  # (kind, sql, executemany)
        self.commits = 0
        self.pings = 0
        self.checkouts = 0
        self.round_trips = None
        self._undo: list = []

    def _count(self, conn, cursor, statement, parameters, context, executemany):
        kind = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else "?"
        self.statements.append((kind, " ".join(statement.split()), executemany))

    def _commit(self, conn):
        self.commits += 1

    def _checkout(self, dbapi_conn, record, proxy):
        self.checkouts += 1

    def __enter__(self) -> "StatementCounter":
        from sqlalchemy import event
        db = self.db
        for target, name, fn in ((db, "before_cursor_execute", self._count), (db, "commit", self._commit),
                                 (db.pool, "checkout", self._checkout)):
            event.listen(target, name, fn)
            self._undo.append(lambda target=target, name=name, fn=fn: event.remove(target, name, fn))

        dialect = db.dialect
        original_ping = dialect.do_ping

        def counting_ping(dbapi_connection):  # pool_pre_ping round trips bypass cursor events
            self.pings += 1
            return original_ping(dbapi_connection)

        dialect.do_ping = counting_ping
        self._undo.append(lambda: setattr(dialect, "do_ping", original_ping))

        # On PostgreSQL count network round trips too. psycopg runs every exchange through
        # Connection.wait; some of those generators never reach the server (autocommit and
        # isolation switches, entering a pipeline, a commit or rollback with no transaction
        # open), one hides an extra BEGIN, and an executemany pipeline gets its
        # answers at its Sync. Checked against strace (sendto/recvfrom) for one lifecycle.
        if dialect.name == "postgresql":
            import psycopg
            from psycopg.pq import TransactionStatus
            self.round_trips = 0
            original_wait = psycopg.Connection.wait
            counter = self

            def counting_wait(conn_self, gen, *a, **kw):
                name = getattr(gen, "__name__", "")
                idle = conn_self.pgconn.transaction_status == TransactionStatus.IDLE
                if name in ("_set_autocommit_gen", "_set_isolation_level_gen", "_enter_gen",
                            "_executemany_gen_pipeline"):
                    pass
                elif name in ("_rollback_gen", "_commit_gen"):
                    counter.round_trips += 0 if idle else 1
                elif name == "_execute_gen" and idle and not conn_self.autocommit:
                    counter.round_trips += 2  # psycopg sends BEGIN first, then the statement
                else:
                    counter.round_trips += 1
                return original_wait(conn_self, gen, *a, **kw)

            psycopg.Connection.wait = counting_wait
            self._undo.append(lambda: setattr(psycopg.Connection, "wait", original_wait))
        return self

    def __exit__(self, *exc) -> None:
        while self._undo:
            self._undo.pop()()

    def reset(self) -> None:
        self.statements.clear()
        self.commits = self.pings = self.checkouts = 0
        if self.round_trips is not None:
            self.round_trips = 0

    def summary(self) -> dict:
        kinds = Counter(kind for kind, _, _ in self.statements)
        return {"total": len(self.statements), "by_kind": dict(sorted(kinds.items())),
                "executemany": sum(1 for *_, many in self.statements if many),
                "commits": self.commits, "pool_checkouts": self.checkouts, "pre_pings": self.pings,
                "round_trips": self.round_trips,
                "statements": [f"{kind:<6} {'[many] ' if many else ''}{sql[:150]}"
                               for kind, sql, many in self.statements]}


class EngineLoop:
    """petiflow's services on one database: start a case, complete its work item, two commits."""

    def __init__(self, mode: str, settings):
        from engine.bootstrap import bootstrap
        from engine.services.deployment import DeployBundle, deploy_bundle
        from engine.store import migrate

        self.mode = mode
        self.runtime = bootstrap(settings)
        migrate.upgrade(self.runtime.db)
        with self.runtime.uow() as uow:
            deploy_bundle(DeployBundle({SIMPLE_BPMN.name: SIMPLE_BPMN.read_text(encoding="utf-8")}), uow)
            uow.commit()
        self.start_ms: list[float] = []
        self.complete_ms: list[float] = []
        self.record = False

    def lifecycle(self) -> None:
        from engine.accounts.identity import SYSTEM
        from engine.services.cases import StartCase, start_case
        from engine.services.work import CompleteWorkItem, complete_work_item

        rt = self.runtime
        t0 = time.perf_counter()
        with rt.uow(one_step=True) as uow:
            started = start_case(StartCase("petition", process_key=PROCESS_KEY, channel=CHANNEL), uow)
            uow.commit()
        t1 = time.perf_counter()
        with rt.uow(one_step=True) as uow:
            done = complete_work_item(CompleteWorkItem(started.work_item_ids[0], REPLY, SYSTEM), uow)
            uow.commit()
        t2 = time.perf_counter()
        if self.record:
            self.start_ms.append((t1 - t0) * 1000)
            self.complete_ms.append((t2 - t1) * 1000)
        assert done.status == "completed", done

    def count_statements(self) -> dict:
        """Run one extra lifecycle with the statement counter on, per unit of work."""
        from engine.accounts.identity import SYSTEM
        from engine.services.cases import StartCase, start_case
        from engine.services.work import CompleteWorkItem, complete_work_item

        rt = self.runtime
        out = {}
        with StatementCounter(rt.db) as c:
            with rt.uow(one_step=True) as uow:
                started = start_case(StartCase("petition", process_key=PROCESS_KEY, channel=CHANNEL), uow)
                uow.commit()
            out["start"] = c.summary()
            c.reset()
            with rt.uow(one_step=True) as uow:
                complete_work_item(CompleteWorkItem(started.work_item_ids[0], REPLY, SYSTEM), uow)
                uow.commit()
            out["complete"] = c.summary()
        by_kind = Counter(out["start"]["by_kind"]) + Counter(out["complete"]["by_kind"])
        out["lifecycle"] = {"total": out["start"]["total"] + out["complete"]["total"],
                            "by_kind": dict(sorted(by_kind.items())),
                            "pre_pings": out["start"]["pre_pings"] + out["complete"]["pre_pings"],
                            "round_trips": (None if out["start"]["round_trips"] is None else
                                            out["start"]["round_trips"] + out["complete"]["round_trips"])}
        return out

    def close(self) -> None:
        self.runtime.close()


def _pg_admin(url: str):
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url
    parsed = make_url(url.replace("postgresql://", "postgresql+psycopg://", 1))
    admin = parsed.set(database="postgres")
    return create_engine(admin, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5}), parsed.database


def _pg_admin_run(url: str, *statements: str) -> None:
    """Run statements naming the bench database ({name}) on the server's postgres database."""
    from sqlalchemy import text
    engine, name = _pg_admin(url)
    try:
        with engine.connect() as conn:
            for statement in statements:
                conn.execute(text(statement.format(name=name)))
    finally:
        engine.dispose()


def pg_create(url: str) -> None:
    _pg_admin_run(url, 'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', 'CREATE DATABASE "{name}"')


def pg_drop(url: str) -> None:
    _pg_admin_run(url, 'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pg_server_info(url: str) -> dict:
    from sqlalchemy import text
    engine, _ = _pg_admin(url)
    try:
        with engine.connect() as conn:
            info = {"server_version": conn.execute(text("SHOW server_version")).scalar()}
            for setting in ("synchronous_commit", "fsync", "shared_buffers"):
                info[setting] = conn.execute(text(f"SHOW {setting}")).scalar()
            return info
    finally:
        engine.dispose()



def pg_round_trips(url: str, samples: int = 400) -> dict:
    """Median microseconds of `SELECT 1`, back to back and after 1 ms of CPU work in this process.

    The second figure is what a statement pays once the server's CPU has gone idle while the
    client computed (a virtual CPU waking up); a lifecycle's statements mostly come after such work.
    """
    import statistics

    import psycopg

    def busy(seconds: float) -> None:
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            pass

    out = {}
    with psycopg.connect(url, autocommit=True) as conn:
        for label, gap in (("back_to_back_us", 0.0), ("after_1ms_work_us", 0.001)):
            times = []
            for _ in range(samples):
                busy(gap)
                t = time.perf_counter()
                conn.execute("SELECT 1").fetchone()
                times.append(time.perf_counter() - t)
            out[label] = round(statistics.median(times) * 1e6, 1)
    return out

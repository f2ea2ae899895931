"""While the database is away, a worker retries each message quietly: one warning line, no traceback."""
import logging

import dramatiq
import pytest

from engine.bootstrap import bootstrap
from engine.settings import Settings

#: A PostgreSQL address nothing listens on: every connection is refused at once.
NOWHERE = "postgresql://postgres@127.0.0.1:9/petiflow"


@pytest.fixture
def unreachable(tmp_path):
    from handlers.runtime import set_runtime
    rt = bootstrap(Settings(database_url=NOWHERE, var_dir=tmp_path, secret_key="test"))
    set_runtime(rt)
    yield rt
    set_runtime(None)
    rt.close()


@pytest.mark.parametrize("actor_name, arg, what", [
    ("fire_timer", 7, "timer 7"), ("deliver_notification", 3, "outbox 3"),
    ("give_up_timer", {"args": [7], "options": {}}, "giving up timer 7"),
])
def test_a_message_handled_while_the_database_is_down_is_retried_with_one_line_in_the_log(
        unreachable, caplog, actor_name, arg, what):
    from handlers import actors, notification_actors
    actor = getattr(actors, actor_name, None) or getattr(notification_actors, actor_name)
    args = (arg, {"retries": 10}) if actor_name.startswith("give_up") else (arg,)
    with caplog.at_level(logging.WARNING), pytest.raises(dramatiq.Retry) as retried:
        actor.fn(*args)  # the actor's body, as a worker thread runs it
    assert "the database is unavailable" in str(retried.value)
    (record,) = [r for r in caplog.records if r.name == "handlers.outage"]
    assert record.levelno == logging.WARNING and record.exc_info is None
    assert what in record.getMessage() and "retrying later" in record.getMessage()


def test_other_errors_are_not_taken_for_an_outage(unreachable):
    from handlers.outage import retry_quietly_while_the_database_is_down
    with pytest.raises(ZeroDivisionError), retry_quietly_while_the_database_is_down("a step"):
        1 / 0


@pytest.mark.parametrize("message, outage", [
    ("database is locked", True), ("unable to open database file", True), ("disk I/O error", True),
    ("no such column: work_items.deadline_mode", False), ('near "SELEC": syntax error', False),
])
def test_only_sqlite_errors_that_mean_the_file_is_unusable_count_as_an_outage(message, outage):
    """A schema older than the code is a fault to see (a traceback, a 500), not an outage to wait out."""
    import sqlite3

    from sqlalchemy.exc import OperationalError

    from engine.errors import is_outage
    assert is_outage(OperationalError("SELECT 1", {}, sqlite3.OperationalError(message))) is outage


def test_a_relay_sweeping_while_the_database_is_down_logs_one_line_per_tick(unreachable, caplog):
    import threading

    from handlers import relay
    stop = threading.Event()
    thread = threading.Thread(target=relay.run_forever, args=(unreachable, lambda _id: None, stop, 0.05))
    with caplog.at_level(logging.WARNING):
        thread.start()
        threading.Event().wait(0.5)
        stop.set()
        thread.join(5)
    records = [r for r in caplog.records if r.name == "handlers.relay"]
    assert len(records) >= 3 and all(r.exc_info is None for r in records)
    assert "the database is unavailable" in records[0].getMessage()
    assert "failed again (2 in a row" in records[1].getMessage()


def test_a_failure_streak_keeps_a_faults_traceback_once_and_says_when_it_works_again(caplog):
    from handlers.outage import FailureStreak
    log = logging.getLogger("petiflow.test.streak")
    streak = FailureStreak(log, "a sweep")
    with caplog.at_level(logging.WARNING, logger="petiflow.test.streak"):
        for _ in range(3):
            try:
                raise KeyError("bug")
            except KeyError as exc:
                streak.failed(exc, 1.0)
        streak.succeeded()
        streak.succeeded()
    assert [r.exc_info is not None for r in caplog.records] == [True, False, False, False]
    assert caplog.records[-1].getMessage() == "a sweep works again after 3 failed attempts"

"""`petiflow attachments sweep`: progress, a dry run, what it did at the end, Ctrl+C between batches."""
from __future__ import annotations

import hashlib
import io
import os
import signal
from datetime import datetime, timezone

import pytest
from click.testing import CliRunner

from api.cli_attachments import attachments as attachments_cli
from api.cli_attachments import size_text
from engine.services.attachments import AddAttachment, add_attachment
from tests.unit.queries_city import city, taipei  # noqa: F401
from tests.unit.test_attachments import files_in

#: The command runs on the machine's clock: the test's files are dated long before any date it may have.
LONG_AGO = datetime(2020, 3, 2, 9, 0, tzinfo=timezone.utc)

ORPHANS = [f"left behind {n}".encode() * 40 for n in range(3)]


@pytest.fixture
def swept(city, settings, monkeypatch):  # noqa: F811
    """A case's attachment and three files no row names, all long ago; the command pointed at the database."""
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("PETIFLOW_VAR_DIR", str(settings.var_dir))
    monkeypatch.setenv("SECRET_KEY", "test")
    monkeypatch.delenv("REDIS_URL", raising=False)
    case = city.open_case(taipei(26))
    with city.runtime.uow() as uow:
        named = add_attachment(AddAttachment(city.principal("cw.roads"), case.case_id, "reply.txt",
                                             io.BytesIO("本局已修復。".encode())), uow)
        uow.commit()
    store = city.runtime.attachments
    for content in ORPHANS:
        store.keep(store.receive(io.BytesIO(content), LONG_AGO), LONG_AGO)
    moment = int(LONG_AGO.timestamp())
    os.utime(store.path_of(named.sha256), (moment, moment))
    return city.runtime, named


def cli(*args):
    result = CliRunner().invoke(attachments_cli, ["sweep", *args], catch_exceptions=False)
    return result.exit_code, result.stdout


def orphans_left(runtime) -> int:
    names = {hashlib.sha256(c).hexdigest() for c in ORPHANS}
    return sum(1 for name in files_in(runtime) if name.rsplit("/", 1)[-1] in names)


def test_a_dry_run_says_what_would_go_and_removes_nothing(swept):
    runtime, _ = swept
    before = files_in(runtime)
    code, out = cli("--dry-run")
    assert code == 0 and out.startswith("dry run: sweeping ")
    assert "looked at 4 files in " in out and ": 1 named by attachments, 0 younger than 24 h left alone" in out
    assert f"would remove 3 files no attachment names ({size_text(sum(map(len, ORPHANS)))})" in out
    assert files_in(runtime) == before


def test_the_sweep_removes_what_no_row_names_and_says_how_much(swept):
    runtime, named = swept
    code, out = cli("--grace", "7d")
    assert code == 0 and "older than 168 h" in out
    assert f"removed 3 files no attachment names ({size_text(sum(map(len, ORPHANS)))})" in out
    assert orphans_left(runtime) == 0 and runtime.attachments.path_of(named.sha256).exists()
    assert "removed 0 files no attachment names (0 bytes)" in cli()[1]


def test_ctrl_c_finishes_the_batch_in_hand_and_the_next_sweep_carries_on(swept, monkeypatch):
    runtime, _ = swept
    import engine.services.attachment_sweep as service
    real_batch = service._sweep_batch

    def batch_then_ctrl_c(*args):
        os.kill(os.getpid(), signal.SIGINT)  # pressed while the first batch is swept
        monkeypatch.setattr(service, "_sweep_batch", real_batch)
        return real_batch(*args)

    monkeypatch.setattr(service, "_sweep_batch", batch_then_ctrl_c)
    code, out = cli("--batch-size", "1")
    assert code == 130 and "interrupted: the shards not reached are left as they were" in out
    left = orphans_left(runtime)
    assert left in (2, 3) and not any(".withdrawn-" in name for name in files_in(runtime))
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handler put back
    code, out = cli()
    assert code == 0 and f"removed {left} file" in out and orphans_left(runtime) == 0


def test_a_grace_period_that_is_not_a_duration_is_refused_with_examples(swept):
    result = CliRunner().invoke(attachments_cli, ["sweep", "--grace", "tomorrow"])
    assert result.exit_code == 2 and "is not a duration such as 90m, 24h or 7d" in result.output


@pytest.mark.parametrize("size, text", [(0, "0 bytes"), (1, "1 byte"), (2048, "2.0 KiB"), (5 * 2**20, "5.0 MiB")])
def test_sizes_are_said_as_people_read_them(size, text):
    assert size_text(size) == text

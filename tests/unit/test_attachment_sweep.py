"""Files no attachment names: taken away when their upload is rolled back, swept once older than a grace period."""
from __future__ import annotations

import hashlib
import io
from datetime import timedelta

import pytest
from sqlalchemy import delete

from engine.services.attachment_sweep import SweepAttachments, sweep_attachments
from engine.services.attachments import AddAttachment, add_attachment
from engine.store.files import WITHDRAWN_PREFIX
from engine.store.schema import attachments
from tests.unit import attachment_samples as samples
from tests.unit.queries_city import city, taipei  # noqa: F401
from tests.unit.test_attachments import attach, files_in, rows


def kept_name(content: bytes) -> str:
    digest = hashlib.sha256(content).hexdigest()
    return f"{digest[:2]}/{digest[2:4]}/{digest}"


def sweep(city, **kw):  # noqa: F811
    return sweep_attachments(SweepAttachments(**kw), city.runtime)


def upload_rolled_back(city, case_id: int, content: bytes) -> None:  # noqa: F811
    """An upload whose unit of work fails after the file was put in place (the commit never happens)."""
    with pytest.raises(RuntimeError, match="the request failed"), city.runtime.uow() as uow:
        add_attachment(AddAttachment(city.principal("cw.roads"), case_id, "a.gif", io.BytesIO(content)), uow)
        assert files_in(city.runtime) == [kept_name(content)]  # in place while the unit is open
        raise RuntimeError("the request failed after the upload")


def test_a_failed_upload_leaves_no_file_and_a_later_one_of_the_same_content_is_kept_whole(city):  # noqa: F811
    case = city.open_case(taipei(26))
    upload_rolled_back(city, case.case_id, samples.GIF)
    assert (files_in(city.runtime), rows(city.runtime)) == ([], 0)
    with city.runtime.uow() as uow:  # rolled back explicitly, as a retried step does
        add_attachment(AddAttachment(city.principal("cw.roads"), case.case_id, "a.gif", io.BytesIO(samples.GIF)), uow)
        uow.rollback()
    assert files_in(city.runtime) == []
    again = attach(city, "cw.roads", case.case_id, samples.GIF, filename="a.gif")
    assert city.runtime.attachments.path_of(again.sha256).read_bytes() == samples.GIF


def test_a_file_put_in_place_by_an_upload_that_fails_stays_if_another_upload_used_it_meanwhile(runtime, clock):
    """Two uploads of one content at once: the first puts the file in place, the second finds it kept; the first
    fails. The file is taken away only if nothing used it since: here the second's row will name it."""
    store = runtime.attachments
    first = store.keep(store.receive(io.BytesIO(samples.PNG), clock.now()), clock.now())
    second = store.keep(store.receive(io.BytesIO(samples.PNG), clock.now()), clock.now())
    assert (first.placed, second.placed, second.mtime_ns > first.mtime_ns) == (True, False, True)
    assert store.withdraw_placed(first) is None  # put back
    assert first.path.read_bytes() == samples.PNG and files_in(runtime) == [kept_name(samples.PNG)]
    # Had nothing used it, it would be gone, with nothing set aside left behind.
    third = store.keep(store.receive(io.BytesIO(samples.GIF), clock.now()), clock.now())
    assert store.withdraw_placed(third) == len(samples.GIF)
    assert files_in(runtime) == [kept_name(samples.PNG)]


def test_the_sweep_removes_a_file_no_row_names_once_older_than_the_grace_period(city):  # noqa: F811
    """A file whose row was deleted (as a crash between putting a file in place and committing leaves it)."""
    case = city.open_case(taipei(26))
    orphan = attach(city, "cw.roads", case.case_id, samples.PDF, filename="reply.pdf")
    with city.runtime.db.begin() as conn:
        conn.execute(delete(attachments).where(attachments.c.id == orphan.attachment_id))
    city.clock.set(taipei(27, 8, 59))  # 23 h 59 min later: it could still be an upload in flight
    early = sweep(city)
    assert (early.files, early.young, early.removed, files_in(city.runtime)) == (1, 1, 0, [kept_name(samples.PDF)])
    city.clock.set(taipei(27, 9, 1))
    done = sweep(city)
    assert (done.files, done.named, done.young, done.removed, done.removed_bytes) == (1, 0, 0, 1, len(samples.PDF))
    assert files_in(city.runtime) == []


def test_a_file_a_row_names_is_never_removed_however_old(city):  # noqa: F811
    case = city.open_case(taipei(26))
    attach(city, "cw.roads", case.case_id, samples.JPEG)
    city.clock.set(taipei(26, month=12))
    found = sweep(city, grace=timedelta(minutes=1))
    assert (found.files, found.named, found.removed) == (1, 1, 0)
    assert files_in(city.runtime) == [kept_name(samples.JPEG)]


def test_an_upload_in_flight_is_left_alone_and_its_row_names_the_file_once_committed(city):  # noqa: F811
    case = city.open_case(taipei(26))
    with city.runtime.uow() as uow:
        added = add_attachment(AddAttachment(city.principal("cw.roads"), case.case_id, "p.png",
                                             io.BytesIO(samples.PNG)), uow)
        staged = city.runtime.attachments.receive(io.BytesIO(samples.GIF), city.clock.now())  # still arriving
        city.clock.set(taipei(26, 10))
        found = sweep(city)  # an hour later, the unit not committed yet
        assert (found.files, found.young, found.removed, found.leftovers) == (1, 1, 0, 0)
        uow.commit()
    assert staged.path.exists() and files_in(city.runtime)[-1] == kept_name(samples.PNG)
    city.clock.set(taipei(28))
    found = sweep(city)
    assert (found.named, found.removed, found.leftovers, found.leftover_bytes) == (1, 0, 1, len(samples.GIF))
    assert files_in(city.runtime) == [kept_name(samples.PNG)]
    assert city.runtime.attachments.path_of(added.sha256).read_bytes() == samples.PNG


def test_a_file_used_again_by_a_later_upload_counts_its_grace_period_from_that_use(city):  # noqa: F811
    first = city.open_case(taipei(26))
    attach(city, "cw.roads", first.case_id, samples.PDF)
    with city.runtime.db.begin() as conn:  # its row deleted: the file is named by none
        conn.execute(delete(attachments))
    city.clock.set(taipei(28))
    second = city.open_case(taipei(28))
    with city.runtime.uow() as uow:  # the same content uploaded two days later, its unit still open
        add_attachment(AddAttachment(city.principal("cw.roads"), second.case_id, "r.pdf", io.BytesIO(samples.PDF)),
                       uow)
        assert sweep(city).young == 1
        uow.commit()
    assert files_in(city.runtime) == [kept_name(samples.PDF)]


def test_a_dry_run_removes_nothing_and_says_what_a_sweep_would(city):  # noqa: F811
    case = city.open_case(taipei(26))
    attach(city, "cw.roads", case.case_id, samples.JPEG)
    for content in (samples.PDF, samples.GIF):
        upload_left = city.runtime.attachments
        upload_left.keep(upload_left.receive(io.BytesIO(content), city.clock.now()), city.clock.now())
    city.clock.set(taipei(28))
    before = files_in(city.runtime)
    dry = sweep(city, dry_run=True)
    assert (dry.files, dry.named, dry.removed, dry.removed_bytes) == (3, 1, 2, len(samples.PDF) + len(samples.GIF))
    assert files_in(city.runtime) == before
    done = sweep(city)
    assert (done.removed, done.removed_bytes) == (dry.removed, dry.removed_bytes)
    assert files_in(city.runtime) == [kept_name(samples.JPEG)]


def test_a_stopped_sweep_leaves_every_file_whole_and_the_next_one_finishes(city):  # noqa: F811
    store = city.runtime.attachments
    contents = (samples.PDF, samples.GIF, samples.PNG, samples.JPEG)
    for content in contents:
        store.keep(store.receive(io.BytesIO(content), city.clock.now()), city.clock.now())
    city.clock.set(taipei(28))
    asked = []
    stopped = sweep_attachments(SweepAttachments(batch_size=1), city.runtime,
                                stop=lambda: asked.append(1) or len(asked) > 2)
    assert stopped.interrupted and 0 < stopped.removed < len(contents)
    left = files_in(city.runtime)
    assert len(left) == len(contents) - stopped.removed and not any(WITHDRAWN_PREFIX in name for name in left)
    assert sweep(city).removed == len(left) and files_in(city.runtime) == []


def test_a_file_set_aside_by_a_sweep_cut_short_is_put_back_if_a_row_names_it(city):  # noqa: F811
    case = city.open_case(taipei(26))
    named = attach(city, "cw.roads", case.case_id, samples.JPEG)
    store = city.runtime.attachments
    orphan = store.keep(store.receive(io.BytesIO(samples.GIF), city.clock.now()), city.clock.now())
    for sha, path in ((named.sha256, store.path_of(named.sha256)), (orphan.sha256, orphan.path)):
        path.rename(store.root / f"{WITHDRAWN_PREFIX}{sha}-0badc0de")  # renamed aside, then the process was killed
    city.clock.set(taipei(28))
    found = sweep(city)
    assert (found.restored, found.leftovers, found.leftover_bytes) == (1, 1, len(samples.GIF))
    assert files_in(city.runtime) == [kept_name(samples.JPEG)]


def test_a_grace_period_of_nothing_is_refused(city):  # noqa: F811
    with pytest.raises(ValueError, match="longer than zero"):
        sweep(city, grace=timedelta(0))

"""Attaching files to a case: kept once on disk by SHA-256, recorded with the case, refused when they should be."""
from __future__ import annotations

import hashlib
import io

import pytest
from sqlalchemy import func, select

from engine.accounts.identity import Principal
from engine.bootstrap import bootstrap
from engine.errors import Conflict, DatabaseError, Forbidden, InvalidInput, NotFound, TooLarge
from engine.queries.attachments import attachment_file, attachments_of, get_attachment
from engine.queries.cases import get_case
from engine.services.attachments import MAX_PER_CASE, AddAttachment, add_attachment, clean_filename
from engine.store.schema import attachments
from tests.unit import attachment_samples as samples
from tests.unit.queries_city import city, taipei  # noqa: F401


def attach(city, username, case_id, content, filename="photo.jpg", runtime=None):  # noqa: F811
    with (runtime or city.runtime).uow() as uow:
        added = add_attachment(AddAttachment(city.principal(username), case_id, filename, io.BytesIO(content)), uow)
        uow.commit()
    return added


def files_in(runtime) -> list:
    """Every file under the attachments folder, temporary ones included."""
    root = runtime.attachments.root
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()) if root.exists() else []


def rows(runtime) -> int:
    with runtime.db.connect() as conn:
        return conn.execute(select(func.count()).select_from(attachments)).scalar_one()


def read(city, query, username, *args):  # noqa: F811
    with city.runtime.uow(read_only=True) as uow:
        return query(uow, city.principal(username), *args)


def test_a_caseworker_attaches_a_photo_kept_under_its_sha256_and_recorded_in_the_history(city):  # noqa: F811
    case = city.open_case(taipei(26))
    added = attach(city, "cw.roads", case.case_id, samples.JPEG, filename="坑洞.jpg")
    digest = hashlib.sha256(samples.JPEG).hexdigest()
    assert (added.filename, added.media_type, added.size, added.sha256, added.uploaded_by) == (
        "坑洞.jpg", "image/jpeg", len(samples.JPEG), digest, "cw.roads")
    assert files_in(city.runtime) == [f"{digest[:2]}/{digest[2:4]}/{digest}"]
    on_disk = read(city, attachment_file, "cw.roads", added.attachment_id).path.read_bytes()
    assert hashlib.sha256(on_disk).hexdigest() == digest
    assert read(city, attachments_of, "chief.roads", case.case_id) == (added,)
    last = read(city, get_case, "cw.roads", case.case_id).timeline[-1]
    assert (last.kind, last.actor, last.data) == ("attachment_added", "cw.roads", {
        "attachment_id": added.attachment_id, "filename": "坑洞.jpg", "size": len(samples.JPEG),
        "media_type": "image/jpeg"})


def test_the_same_content_attached_twice_is_kept_once_on_disk(city):  # noqa: F811
    first, second = city.open_case(taipei(26)), city.open_case(taipei(26, 10))
    a = attach(city, "cw.roads", first.case_id, samples.PDF, filename="reply.pdf")
    b = attach(city, "dispatcher", second.case_id, samples.PDF, filename="copy.pdf")
    assert a.attachment_id != b.attachment_id and a.sha256 == b.sha256
    assert len(files_in(city.runtime)) == 1 and rows(city.runtime) == 2


def test_html_named_jpg_is_refused_naming_what_it_is_and_nothing_is_kept(city):  # noqa: F811
    case = city.open_case(taipei(26))
    with pytest.raises(InvalidInput) as refused:
        attach(city, "cw.roads", case.case_id, samples.HTML, filename="photo.jpg")
    assert "HTML document" in refused.value.message
    assert refused.value.details == {"fields": {"file": ["HTML document is not accepted"]}}
    with pytest.raises(InvalidInput, match="SVG image"):
        attach(city, "cw.roads", case.case_id, samples.SVG, filename="map.svg")
    assert (files_in(city.runtime), rows(city.runtime)) == ([], 0)


def test_a_file_past_the_size_limit_is_refused_and_nothing_is_kept(city, settings, clock):  # noqa: F811
    small = bootstrap(settings.but(max_attachment_mb=1), clock=clock, db=city.runtime.db)
    case = city.open_case(taipei(26))
    with pytest.raises(TooLarge, match="larger than 1 MiB"):
        attach(city, "cw.roads", case.case_id, samples.TEXT + b"a" * 2**20, filename="long.txt", runtime=small)
    assert (files_in(small), rows(small)) == ([], 0)
    exactly = b"a" * 2**20
    assert attach(city, "cw.roads", case.case_id, exactly, filename="full.txt", runtime=small).size == 2**20


def test_a_case_takes_at_most_fifty_attachments(city):  # noqa: F811
    case = city.open_case(taipei(26))
    principal = city.principal("cw.roads")
    with city.runtime.uow() as uow:
        for n in range(MAX_PER_CASE):
            add_attachment(AddAttachment(principal, case.case_id, f"{n}.txt", io.BytesIO(f"note {n}".encode())), uow)
        uow.commit()
    with pytest.raises(Conflict, match=f"has {MAX_PER_CASE} attachments"):
        attach(city, "cw.roads", case.case_id, b"one more", filename="51.txt")
    assert rows(city.runtime) == MAX_PER_CASE and len(files_in(city.runtime)) == MAX_PER_CASE


def test_a_closed_case_takes_no_new_attachments(city):  # noqa: F811
    case = city.open_case(taipei(26))
    city.complete(case.work_item_ids[0], "cw.roads")
    with pytest.raises(Conflict, match=f"case {case.case_no} is closed"):
        attach(city, "cw.roads", case.case_id, samples.PNG)
    assert files_in(city.runtime) == []


def test_another_agency_s_case_is_not_found_exactly_like_a_missing_one(city):  # noqa: F811
    case = city.open_case(taipei(26))
    added = attach(city, "cw.roads", case.case_id, samples.PNG)
    with pytest.raises(NotFound) as theirs:
        attach(city, "cw.signals", case.case_id, samples.PNG)
    with pytest.raises(NotFound) as missing:
        attach(city, "cw.signals", 999999, samples.PNG)
    assert (theirs.value.message, missing.value.message) == (f"case {case.case_id} does not exist",
                                                             "case 999999 does not exist")
    for query, key in ((attachments_of, case.case_id), (get_attachment, added.attachment_id),
                       (attachment_file, added.attachment_id)):
        with pytest.raises(NotFound):
            read(city, query, "cw.signals", key)
    with pytest.raises(NotFound, match="attachment 999999 does not exist"):
        read(city, get_attachment, "admin", 999999)


def test_a_process_designer_attaches_nothing(city):  # noqa: F811
    case = city.open_case(taipei(26))
    with pytest.raises(Forbidden):
        attach(city, "designer", case.case_id, samples.PNG)


def test_nothing_is_left_behind_when_the_database_write_fails(city):  # noqa: F811
    case = city.open_case(taipei(26))
    # An account the database does not have: the row's foreign key refuses it.
    roads = city.agency_id("public_works")
    ghost = Principal(user_id=987654, username="ghost", roles=frozenset({("caseworker", roads)}))
    with city.runtime.uow() as uow, pytest.raises(DatabaseError, match="(?i)foreign key"):
        add_attachment(AddAttachment(ghost, case.case_id, "photo.jpg", io.BytesIO(samples.JPEG)), uow)
    assert (files_in(city.runtime), rows(city.runtime)) == ([], 0)


@pytest.mark.parametrize(("given", "kept"), [
    ("C:\\Users\\wang\\Desktop\\坑洞.jpg", "坑洞.jpg"), ("../../etc/passwd", "passwd"), ("a\x00b.txt", "ab.txt"),
    ("invoice\u202egpj.exe", "invoicegpj.exe"), ("  .. ", "attachment"), (None, "attachment"), ("/", "attachment"),
    ("路" * 300 + ".pdf", "路" * 251 + ".pdf"), ("x" * 300, "x" * 255),
])
def test_a_file_name_keeps_no_path_parts_or_control_characters_and_fits_its_column(given, kept):
    assert clean_filename(given) == kept


def test_a_file_is_only_ever_looked_up_by_a_sha256(runtime):
    with pytest.raises(ValueError):
        runtime.attachments.path_of("../../secret_key")
    digest = hashlib.sha256(b"x").hexdigest()
    assert runtime.attachments.path_of(digest) == runtime.attachments.root / digest[:2] / digest[2:4] / digest

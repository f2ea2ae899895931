"""The record of personal data shown: one row per showing of a petitioner, read by auditors only, kept for good."""
from datetime import timedelta

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.exc import DBAPIError

from engine.errors import Forbidden, InvalidInput, NotFound
from engine.queries import load_principal, personal_data_reads
from engine.services.case_views import ViewCase, view_case
from engine.store.schema import personal_data_reads as reads_table
from tests.unit.queries_city import city, taipei  # noqa: F401

PETITIONER = {"name": "王小明", "phone": "0912345678", "email": "ming@example.tw"}


def show(city, username, case_id=None, *, case_no=None, via="case_page"):
    """The case page shown to the user, committed as a request would be."""
    with city.runtime.uow() as uow:
        case = view_case(ViewCase(load_principal(uow, username=username), case_id, case_no, via), uow)
        uow.commit()
    return case


def record(city, username="auditor", **kw):
    with city.runtime.uow(read_only=True) as uow:
        return personal_data_reads(uow, load_principal(uow, username=username), **kw)


def stored(city):
    with city.runtime.db.connect() as conn:
        return conn.execute(select(reads_table).order_by(reads_table.c.id)).all()


@pytest.fixture
def petition(city):
    """A petition of 工務局 with a named petitioner, received on Thursday."""
    return city.open_case(taipei(26), petitioner=PETITIONER, subject="路面坑洞")


def test_showing_the_petitioner_records_who_saw_which_fields_of_which_case_when_and_through_what(city, petition):
    city.clock.set(taipei(26, 10, 15))
    case = show(city, "cw.roads", petition.case_id)
    assert case.petitioner.name == "王小明"
    (row,) = stored(city)
    assert (row.user_id, row.username, row.case_id, row.at) == (
        city.user_id("cw.roads"), "cw.roads", petition.case_id, taipei(26, 10, 15))
    assert (row.fields, row.via) == ("name,phone,email", "case_page")


def test_every_showing_is_recorded_by_id_or_by_number(city, petition):
    show(city, "cw.roads", petition.case_id)
    show(city, "cw.roads", case_no=petition.case_no, via="api")
    show(city, "dispatcher", petition.case_id)
    assert [(r.username, r.via) for r in stored(city)] == [("cw.roads", "case_page"), ("cw.roads", "api"),
                                                             ("dispatcher", "case_page")]


@pytest.mark.parametrize("username", ["auditor", "cw.roads"])
def test_a_view_without_the_petitioner_records_nothing(city, username):
    # Given a confidential case (hidden from the handling agency) and a case of no one
    confidential = city.open_case(taipei(26), petitioner=PETITIONER, confidential=True)
    anonymous = city.open_case(taipei(26, 10))
    # When the auditor (who may read cases, not petitioners) and the caseworker open them
    for case_id in (confidential.case_id, anonymous.case_id):
        assert show(city, username, case_id).petitioner is None
    # Then nothing was shown, and nothing is recorded
    assert stored(city) == []


def test_a_refused_or_invalid_view_records_nothing(city, petition):
    with pytest.raises(NotFound):
        show(city, "cw.signals", petition.case_id)  # another agency's case
    with pytest.raises(InvalidInput):
        show(city, "cw.roads", petition.case_id, case_no=petition.case_no)
    with pytest.raises(InvalidInput):
        show(city, "cw.roads", petition.case_id, via="a side door")
    assert stored(city) == []


def test_the_auditor_reads_the_record_newest_first_a_page_at_a_time(city, petition):
    other = city.open_case(taipei(26, 10), petitioner={"name": "陳美玲"})
    for minute, (username, case_id) in enumerate([("cw.roads", petition.case_id), ("dispatcher", petition.case_id),
                                                  ("cw.roads", other.case_id), ("reviewer", petition.case_id)]):
        city.clock.set(taipei(27, 9, minute))
        show(city, username, case_id)
    first = record(city, limit=3)
    assert [(r.username, r.case_no, r.at) for r in first.rows] == [
        ("reviewer", petition.case_no, taipei(27, 9, 3)), ("cw.roads", other.case_no, taipei(27, 9, 2)),
        ("dispatcher", petition.case_no, taipei(27, 9, 1))]
    assert first.rows[1].fields == ("name",)
    last = record(city, limit=3, cursor=first.next_cursor)
    assert [(r.username, r.at) for r in last.rows] == [("cw.roads", taipei(27, 9))] and last.next_cursor is None


def test_the_auditor_filters_by_case_user_and_time(city, petition):
    other = city.open_case(taipei(26, 10), petitioner={"name": "陳美玲"})
    for minute, (username, case_id) in enumerate([("cw.roads", petition.case_id), ("dispatcher", petition.case_id),
                                                  ("cw.roads", other.case_id)]):
        city.clock.set(taipei(27, 9, minute))
        show(city, username, case_id)
    assert [r.username for r in record(city, case_id=petition.case_id).rows] == ["dispatcher", "cw.roads"]
    assert [r.case_id for r in record(city, user_id=city.user_id("cw.roads")).rows] == [other.case_id,
                                                                                     petition.case_id]
    window = record(city, since=taipei(27, 9, 1), until=taipei(27, 9, 2))
    assert [r.username for r in window.rows] == ["dispatcher"]
    assert record(city, "admin", since=taipei(27, 9, 0) + timedelta(seconds=1)).rows[-1].username == "dispatcher"
    with pytest.raises(InvalidInput):
        record(city, since=taipei(27).replace(tzinfo=None))


@pytest.mark.parametrize("username", ["cw.roads", "chief.petitions", "dispatcher", "reviewer", "designer"])
def test_no_one_but_auditors_and_administrators_reads_the_record(city, petition, username):
    show(city, "cw.roads", petition.case_id)
    with pytest.raises(Forbidden):
        record(city, username)


@pytest.mark.parametrize("statement", [
    update(reads_table).values(username="someone else"),
    update(reads_table).values(fields="name"),
    delete(reads_table),
], ids=["rewrite who", "rewrite what", "delete"])
def test_the_record_cannot_be_changed_or_deleted(city, petition, statement):
    show(city, "cw.roads", petition.case_id)
    before = stored(city)
    with pytest.raises(DBAPIError, match="personal_data_reads is append-only"):
        with city.runtime.db.begin() as conn:
            conn.execute(statement)
    assert stored(city) == before

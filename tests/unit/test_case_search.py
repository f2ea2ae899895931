"""The case list: filters, text found in Chinese, the reader's scope, pages that stay stable."""
import pytest

from engine.errors import InvalidInput
from engine.queries import CaseSearch, load_principal, search_cases
from engine.services.cases import MAX_DESCRIPTION
from tests.unit.queries_city import city, taipei  # noqa: F401


def listed(city, username="dispatcher", **filters):
    """The case numbers the user's list shows, page after page of two."""
    found, cursor = [], None
    with city.runtime.uow(read_only=True) as uow:
        principal = load_principal(uow, username=username)
        while True:
            page = search_cases(uow, principal, CaseSearch(**filters), cursor=cursor, limit=2)
            found += [row.case_no for row in page.rows]
            if page.next_cursor is None:
                return found
            cursor = page.next_cursor


@pytest.fixture
def cases(city):
    """Five cases of two bureaus received one hour apart on Thursday, the 26th; their numbers by name."""
    opened = {}
    for hour, (name, agency, subject, description, kw) in enumerate([
        ("broken", "public_works", "路燈故障", "中正路的路燈故障了", {"category": "streetlight", "district": "桃園"}),
        ("dark", "public_works", "請修理", "這盞路燈不亮，晚上很危險", {"category": "streetlight", "district": "中壢"}),
        ("signal", "transport", "路口燈號", "路口燈號秒數太短", {"category": "traffic_signal", "district": "桃園"}),
        ("pothole", "public_works", "路面坑洞", "LED Street lamp 旁有坑洞", {"category": "road_pothole",
                                                                        "case_type": "dispatch"}),
        ("lamp", "transport", "號誌旁的路燈", None, {"category": "streetlight", "district": "桃園"}),
    ]):
        opened[name] = city.open_case(taipei(26, 9 + hour), agency=agency, subject=subject, description=description,
                                      petitioner={"name": "王小明"}, **kw).case_no
    return opened


def test_the_list_shows_the_readers_cases_newest_first_a_page_at_a_time(city, cases):
    assert listed(city) == [cases[n] for n in ("lamp", "pothole", "signal", "dark", "broken")]


def test_a_two_character_word_finds_every_case_holding_it_in_subject_or_description(city, cases):
    assert listed(city, text="路燈") == [cases["lamp"], cases["dark"], cases["broken"]]
    assert cases["signal"] not in listed(city, text="路燈")  # 路口燈號: 路 and 燈, never 路燈


def test_a_longer_text_finds_the_cases_holding_exactly_that_string(city, cases):
    assert listed(city, text="路燈不亮") == [cases["dark"]]
    assert listed(city, text="燈不亮，晚上") == [cases["dark"]]
    assert listed(city, text="路燈亮") == []
    assert listed(city, text="故障了") == [cases["broken"]]


def test_latin_words_are_found_in_any_case_and_inside_words(city, cases):
    assert listed(city, text="led street") == [cases["pothole"]]
    assert listed(city, text="treet la") == [cases["pothole"]]
    assert listed(city, text="lamp 旁") == [cases["pothole"]]
    assert listed(city, text="lamps") == []


@pytest.mark.parametrize("searched", ["路", " 燈 ", "！？", "a", "x" * 101, 7])
def test_a_search_of_fewer_than_two_characters_or_not_text_is_refused_naming_the_field(city, cases, searched):
    with pytest.raises(InvalidInput) as refused:
        listed(city, text=searched)
    assert list(refused.value.details["fields"]) == ["text"]


def test_filters_narrow_the_list_together(city, cases):
    works = city.agency_id("public_works")
    assert listed(city, case_no=cases["dark"]) == [cases["dark"]]
    assert listed(city, category="streetlight", district="桃園") == [cases["lamp"], cases["broken"]]
    assert listed(city, agency_id=works, text="路燈") == [cases["dark"], cases["broken"]]
    assert listed(city, case_type="dispatch") == [cases["pothole"]]
    assert listed(city, received_from=taipei(26, 10), received_until=taipei(26, 12)) == [cases["signal"],
                                                                                          cases["dark"]]
    assert listed(city, status="open") == listed(city) and listed(city, status="closed") == []
    with pytest.raises(InvalidInput):
        listed(city, status="lost")
    with pytest.raises(InvalidInput):
        listed(city, received_from=taipei(26).replace(tzinfo=None))


@pytest.mark.parametrize("username, visible", [
    ("cw.roads", {"broken", "dark", "pothole"}), ("chief.signals", {"signal", "lamp"}),
    ("reviewer", {"broken", "dark", "signal", "pothole", "lamp"}), ("designer", set()),
])
def test_another_agencys_cases_are_never_listed(city, cases, username, visible):
    assert set(listed(city, username)) == {cases[n] for n in visible}
    assert set(listed(city, username, text="路燈")) == {cases[n] for n in visible & {"broken", "dark", "lamp"}}
    assert listed(city, username, case_no=cases["signal"]) == ([cases["signal"]] if "signal" in visible else [])


def test_rows_carry_no_personal_data(city, cases):
    with city.runtime.uow(read_only=True) as uow:
        (row,) = search_cases(uow, load_principal(uow, username="admin"), CaseSearch(case_no=cases["dark"])).rows
    assert "王小明" not in repr(row) and not hasattr(row, "petitioner")
    assert (row.subject, row.agency_name, row.received_at) == ("請修理", "工務局", taipei(26, 10))


def test_pages_stay_stable_when_cases_arrive_between_them(city, cases):
    with city.runtime.uow(read_only=True) as uow:
        first = search_cases(uow, load_principal(uow, username="dispatcher"), CaseSearch(text="路燈"), limit=2)
    city.open_case(taipei(26, 15), subject="新的路燈")
    with city.runtime.uow(read_only=True) as uow:
        rest = search_cases(uow, load_principal(uow, username="dispatcher"), CaseSearch(text="路燈"),
                            cursor=first.next_cursor, limit=2)
    assert [r.case_no for r in first.rows + rest.rows] == [cases["lamp"], cases["dark"], cases["broken"]]
    assert rest.next_cursor is None
    with pytest.raises(InvalidInput):
        with city.runtime.uow(read_only=True) as uow:
            search_cases(uow, load_principal(uow, username="dispatcher"), cursor="not a cursor")


def test_a_description_is_kept_with_the_case_and_refused_when_too_long(city):
    with pytest.raises(InvalidInput) as refused:
        city.open_case(taipei(26), description="長" * (MAX_DESCRIPTION + 1))
    assert list(refused.value.details["fields"]) == ["description"]

"""The text search index: kept as cases change, asked right for any substring, used on PostgreSQL."""
import pytest
from sqlalchemy import event, update

from engine.accounts.identity import Principal
from engine.queries import CaseSearch, case_search, load_principal, search_cases
from engine.queries.search_terms import RUN, needle, pg_tsquery
from engine.store.schema import cases
from tests.unit.queries_city import city, taipei  # noqa: F401

#: Texts whose every substring the index must find: Chinese, punctuation, Latin words, digits.
TEXTS = ["這盞路燈不亮，晚上很危險", "中正路3段LED路燈故障（第2盞）", "「路口」燈號 Street-Lamp No.5 壞了", "燈 a 燈"]


def found(city, text, username="admin"):
    with city.runtime.uow(read_only=True) as uow:
        page = search_cases(uow, load_principal(uow, username=username), CaseSearch(text=text))
    return [row.case_id for row in page.rows]


def test_a_changed_subject_or_description_is_found_by_its_new_text_only(city):
    started = city.open_case(taipei(26), subject="路燈故障", description="中正路")
    with city.runtime.db.begin() as conn:
        conn.execute(update(cases).where(cases.c.id == started.case_id).values(subject="水溝阻塞", description="復興路"))
    assert found(city, "路燈") == [] and found(city, "中正路") == []
    assert found(city, "水溝") == [started.case_id] and found(city, "復興路") == [started.case_id]


def test_every_substring_of_two_characters_or_more_finds_its_case(city):
    ids = [city.open_case(taipei(26, 9 + i), subject=None, description=text).case_id for i, text in enumerate(TEXTS)]
    for case_id, text in zip(ids, TEXTS):
        for start in range(len(text)):
            for end in range(start + 2, len(text) + 1):
                piece = text[start:end]
                if piece.strip() == piece and sum(map(len, RUN.findall(piece.lower()))) >= 2:
                    assert case_id in found(city, piece), piece


@pytest.mark.postgres
def test_the_query_pieces_are_those_the_index_function_makes(pg_runtime):
    with pg_runtime.db.connect() as conn:
        for text in TEXTS:
            for start in range(len(text) - 1):
                piece = text[start:]
                if sum(map(len, RUN.findall(piece.lower()))) < 2:
                    continue
                query = pg_tsquery(needle(piece))
                assert conn.exec_driver_sql("SELECT petiflow_search_vector(NULL, %(t)s) @@ %(q)s::tsquery",
                                            {"t": text, "q": query}).scalar_one(), (piece, query)


#: A few thousand cases of two agencies; one in fifty mentions a typhoon (颱風), all of them 工務局's.
FILL = [
    "INSERT INTO agencies (id, code, name, kind) VALUES (1, 'rdec', 'rdec', 'commission'), (2, 'works', 'works', "
    "'bureau'), (3, 'transport', 'transport', 'bureau')",
    "INSERT INTO cases (id, case_no, case_type, category, district, subject, description, status, agency_id, "
    "received_at, created_at, updated_at) SELECT g, 'P' || g, 'petition', 'cat' || mod(g, 19), 'd' || mod(g, 13), "
    "'第' || g || '號', (ARRAY['這盞路燈不亮', '路口燈號故障', '路面坑洞很深', '垃圾沒有清運', '公園樹木倒塌'])"
    "[1 + mod(g / 10, 5)] || repeat('，請儘速處理', 1 + mod(g, 7)), CASE WHEN mod(g, 3) = 0 THEN 'open' "
    "ELSE 'closed' END, 2 + mod(g, 2), %(now)s - g * interval '1 hour', %(now)s, %(now)s "
    "FROM generate_series(1, 5000) g",
    "UPDATE cases SET description = description || '颱風' WHERE mod(id, 50) = 0",
]


@pytest.mark.postgres
def test_a_text_search_reads_the_gin_index_on_postgresql(pg_runtime):
    # Given a few thousand cases, with fresh statistics
    with pg_runtime.db.begin() as conn:
        for statement in FILL:
            conn.exec_driver_sql(statement, {"now": pg_runtime.clock.now()})
    with pg_runtime.db.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE cases")
    # When the commission and an agency search, the page found and its statement kept
    sent = []
    event.listen(pg_runtime.db, "before_cursor_execute", capture := lambda *a: sent.append((a[2], a[3])))
    try:
        with pg_runtime.uow(read_only=True) as uow:
            for who in (Principal(1, "u1", frozenset({("reviewer", None)})),
                        Principal(2, "u2", frozenset({("caseworker", 2)}))):
                # a common phrase fills its page from the newest cases, the substring test alone
                assert len(search_cases(uow, who, CaseSearch(text="燈不亮"), limit=20).rows) == 20
                # a word in one case in fifty is gathered from the index (all 100 in 工務局)
                assert len(search_cases(uow, who, CaseSearch(text="颱風"), limit=200).rows) == 100
                assert len(search_cases(uow, who, CaseSearch(text="颱風", status="open"), limit=50).rows) == 33
    finally:
        event.remove(pg_runtime.db, "before_cursor_execute", capture)
    # Then each search reads the text index and never the whole table of cases
    searches = [(s, p) for s, p in sent if "petiflow_search_terms" in s]
    assert len(searches) >= 4
    with pg_runtime.db.connect() as conn:
        for statement, params in searches:
            plan = "\n".join(conn.exec_driver_sql("EXPLAIN " + statement, params).scalars())
            assert "ix_cases_text_search" in plan and "Seq Scan on cases" not in plan, plan


#: Three years of cases of three agencies (every other one still open), a word in one case in 15,
#: 40 or 400, and cases of agencies 3 and 4 with open work for agency 2 (a co-handling agency's
#: opinion): open cases, and a few closed ones whose opinion is still open.
SPREAD = [
    "INSERT INTO agencies (id, code, name, kind) VALUES (1, 'rdec', 'rdec', 'commission'), (2, 'works', 'works', "
    "'bureau'), (3, 'transport', 'transport', 'bureau'), (4, 'police', 'police', 'bureau')",
    "INSERT INTO process_definitions (id, process_key, version, content_hash, sources, deployed_at) "
    "VALUES (1, 'p', 1, 'h', '{}', %(now)s)",
    "INSERT INTO cases (id, case_no, case_type, subject, description, status, agency_id, received_at, created_at, "
    "updated_at) SELECT g, 'P' || g, 'petition', '第' || g || '號', CASE WHEN mod(g, 15) = 0 THEN '這盞路燈不亮' "
    "WHEN mod(g, 40) = 1 THEN '路口號誌故障' WHEN mod(g, 400) = 7 THEN '流浪狗很多' ELSE '路面坑洞' END, "
    "CASE WHEN mod(g, 2) = 0 THEN 'open' ELSE 'closed' END, 2 + mod(g / 7, 3), %(now)s - g * interval '9 hours', "
    "%(now)s, %(now)s FROM generate_series(1, 3000) g",
    "INSERT INTO workflow_instances (id, case_id, definition_id, state, status, created_at, updated_at) "
    "SELECT g, g, 1, '{}', 'waiting', %(now)s, %(now)s FROM generate_series(1, 3000) g",
    "INSERT INTO work_items (instance_id, case_id, task_id, task_spec, name, role, agency_id, case_agency_id, status, "
    "created_at) SELECT id, id, 'own', 'reply', 'Reply', 'caseworker', agency_id, agency_id, 'open', %(now)s FROM cases "
    "WHERE status = 'open'",
    "INSERT INTO work_items (instance_id, case_id, task_id, task_spec, name, role, agency_id, case_agency_id, status, "
    "created_at) SELECT id, id, 'opinion', 'opinion', 'Opinion', 'caseworker', 2, agency_id, 'open', %(now)s FROM cases "
    "WHERE agency_id <> 2 AND ((status = 'open' AND mod(id, 5) = 0) OR mod(id, 45) = 1)",
]


@pytest.mark.postgres
@pytest.mark.parametrize("probe", [case_search.PROBE, 10])
@pytest.mark.parametrize("word", ["路燈", "號誌", "流浪狗", "坑洞", "燈不亮", "沒有"])
def test_a_search_by_year_and_agency_lists_exactly_the_cases_holding_the_text_newest_first(pg_runtime, monkeypatch,
                                                                                           word, probe):
    # Given three years of cases, some co-handled, with fresh statistics; the newest cases read first by
    # the substring test alone as many as a page needs, or too few for most pages (the index by year then)
    monkeypatch.setattr(case_search, "PROBE", probe)
    with pg_runtime.db.begin() as conn:
        for statement in SPREAD:
            conn.exec_driver_sql(statement, {"now": pg_runtime.clock.now()})
    with pg_runtime.db.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE cases")
        conn.exec_driver_sql("VACUUM ANALYZE work_items")
        expected_for = lambda agencies: conn.exec_driver_sql(  # noqa: E731  every case in view holding the word
            "SELECT id FROM cases c WHERE (strpos(subject, %(w)s) > 0 OR strpos(description, %(w)s) > 0) AND "
            "(%(all)s OR agency_id = ANY(%(a)s) OR EXISTS (SELECT 1 FROM work_items w WHERE w.case_id = c.id "
            "AND w.status = 'open' AND w.agency_id = ANY(%(a)s))) ORDER BY received_at DESC, id DESC",
            {"w": word, "all": not agencies, "a": agencies}).scalars().all()
        expected = {who: expected_for(agencies) for who, agencies in (("commission", []), ("works", [2]),
                                                                        ("transport", [3]), ("both", [2, 4]))}
        co_handled = conn.exec_driver_sql(
            "SELECT count(*) FROM cases c JOIN work_items w ON w.case_id = c.id AND w.status = 'open' "
            "AND w.agency_id = 2 WHERE c.agency_id <> 2 AND (strpos(description, %(w)s) > 0)", {"w": word}).scalar()
    assert co_handled or word in ("流浪狗", "沒有")
    readers = {"commission": Principal(1, "u1", frozenset({("reviewer", None)})),
               "works": Principal(2, "u2", frozenset({("caseworker", 2)})),
               "transport": Principal(3, "u3", frozenset({("caseworker", 3)})),
               "both": Principal(4, "u4", frozenset({("caseworker", 2), ("agency_liaison", 4)}))}
    # When each reader pages through the search, 7 rows a page
    for who, principal in readers.items():
        listed, cursor = [], None
        with pg_runtime.uow(read_only=True) as uow:
            while True:
                page = search_cases(uow, principal, CaseSearch(text=word), cursor=cursor, limit=7)
                listed += [row.case_id for row in page.rows]
                if page.next_cursor is None:
                    break
                cursor = page.next_cursor
        # Then every case in view holding the word is listed once, newest first, and no other
        assert listed == expected[who], who

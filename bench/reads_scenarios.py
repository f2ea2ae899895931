"""What the read benchmark asks, apart from how it is asked: scenarios of calls, each a reader and its arguments.

A scenario is a list of calls of one operation (inbox, inbox_counts, escalation_queue,
case_by_number) by readers of one kind, varied from call to call. The callers (bench/reads.py:
the engine queries directly; later the Flask app over HTTP) take the same calls.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field

from sqlalchemy import text

#: The operations a call may name.
OPERATIONS = ("inbox", "inbox_counts", "escalation_queue", "case_by_number", "search")

#: Words staff search for, common and rare: a street-light fault is in a few percent of all
#: subjects, a word like 行道樹 in far fewer.
SEARCH_WORDS = ("路燈", "坑洞", "違規停車", "噪音", "垃圾", "行道樹", "積水", "號誌", "流浪狗", "人行道")


@dataclass(frozen=True)
class Call:
    """One call: the operation, the reader's username, and the operation's arguments."""

    operation: str
    username: str
    args: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Scenario:
    """Calls of one operation by one kind of reader."""

    name: str
    operation: str
    reader: str  # who reads, in words
    calls: tuple


def _biggest_agency(conn) -> tuple[int, str]:
    """The agency with the most open work: (id, code)."""
    return tuple(conn.execute(text(
        "SELECT a.id, a.code FROM work_items w JOIN agencies a ON a.id = w.agency_id WHERE w.status = 'open' "
        "GROUP BY a.id, a.code ORDER BY count(*) DESC LIMIT 1")).one())


def _holders(conn, role: str, agency_id: int | None) -> list[str]:
    where = "g.agency_id IS NULL" if agency_id is None else "g.agency_id = :agency"
    return list(conn.execute(text(
        f"SELECT u.username FROM users u JOIN group_members m ON m.user_id = u.id JOIN groups g ON g.id = m.group_id "
        f"WHERE g.role = :role AND {where} AND u.active ORDER BY u.username"), {"role": role, "agency": agency_id})
        .scalars())


def _case_numbers(conn, n: int, rng: random.Random, agency_id: int | None = None) -> list[str]:
    """n case numbers spread over the whole history (of one agency's cases, if given)."""
    top = conn.execute(text("SELECT max(id) FROM cases")).scalar_one() or 0
    found: list[str] = []
    while len(found) < n and top:
        ids = [rng.randint(1, top) for _ in range(max(4 * (n - len(found)), 50))]
        query = "SELECT case_no FROM cases WHERE id = ANY(:ids)" + (" AND agency_id = :agency" if agency_id else "")
        found += conn.execute(text(query), {"ids": ids, "agency": agency_id}).scalars().all()
    rng.shuffle(found)
    return found[:n]


def scenarios(conn, n: int, rng: random.Random) -> list[Scenario]:
    """The benchmark's scenarios, `n` calls each, read from the data set behind `conn`.

    Readers: the caseworkers and the section chiefs (supervisor) of the agency with the most
    open work, and the commission's reviewers, one after the other from call to call; case
    numbers drawn over all ten years.
    """
    agency_id, code = _biggest_agency(conn)
    caseworkers = _holders(conn, "caseworker", agency_id)
    chiefs = _holders(conn, "supervisor", agency_id)
    reviewers = _holders(conn, "reviewer", None)
    if not (caseworkers and chiefs and reviewers):
        raise RuntimeError("the data set lacks caseworkers, section chiefs or reviewers; run bench/generate.py")
    by = lambda people, i: people[i % len(people)]  # noqa: E731
    every = range(n)
    anywhere, ours = _case_numbers(conn, n, rng), _case_numbers(conn, n, rng, agency_id)
    return [
        Scenario("inbox.caseworker", "inbox", f"caseworkers of {code}",
                 tuple(Call("inbox", by(caseworkers, i), {"view": "inbox"}) for i in every)),
        Scenario("inbox.section_chief", "inbox", f"section chiefs of {code}, supervised view",
                 tuple(Call("inbox", by(chiefs, i), {"view": "supervised"}) for i in every)),
        Scenario("badges.caseworker", "inbox_counts", f"caseworkers of {code}",
                 tuple(Call("inbox_counts", by(caseworkers, i)) for i in every)),
        Scenario("badges.section_chief", "inbox_counts", f"section chiefs of {code}",
                 tuple(Call("inbox_counts", by(chiefs, i)) for i in every)),
        Scenario("escalation.reviewer", "escalation_queue", "the commission's reviewers (every agency)",
                 tuple(Call("escalation_queue", by(reviewers, i)) for i in every)),
        Scenario("escalation.section_chief", "escalation_queue", f"section chiefs of {code}",
                 tuple(Call("escalation_queue", by(chiefs, i)) for i in every)),
        Scenario("case.reviewer", "case_by_number", "the commission's reviewers, any case",
                 tuple(Call("case_by_number", by(reviewers, i), {"case_no": anywhere[i % len(anywhere)]})
                       for i in every)),
        Scenario("case.caseworker", "case_by_number", f"caseworkers of {code}, their agency's cases",
                 tuple(Call("case_by_number", by(caseworkers, i), {"case_no": ours[i % len(ours)]})
                       for i in every)),
        Scenario("search.reviewer", "search", "the commission's reviewers, every case",
                 tuple(Call("search", by(reviewers, i), {"text": SEARCH_WORDS[i % len(SEARCH_WORDS)]}) for i in every)),
        Scenario("search.caseworker", "search", f"caseworkers of {code}, their agency's cases",
                 tuple(Call("search", by(caseworkers, i), {"text": SEARCH_WORDS[i % len(SEARCH_WORDS)]})
                       for i in every)),
    ]

"""What a text search of cases asks each database's index (migration 0010), and the exact test after it.

Chinese has no spaces between words, so the text is indexed by pieces of characters that any
substring of two or more characters can be looked up by; the index gives candidates and a plain
substring test (ASCII letters compared in lower case) keeps exactly the cases that contain the
text searched for, on both databases alike.

- PostgreSQL indexes `petiflow_search_vector(subject, description)`: the bigrams of each run of
  CJK characters and each run's last character, and each Latin word or number, lower-cased,
  with its suffixes (each cut to 16 characters). A search asks for an AND of pieces: the bigrams
  of its CJK runs; a one-character run as the last character of a run (when the search goes on
  after it) or as the start of one (when it ends the search); a Latin run as the start of a
  piece. Phrase search (`'路燈' <-> '燈不' <-> '不亮'`) would be right too (overlapping bigrams
  are adjacent tokens), but it needs each candidate's positions, which the GIN index does not
  keep: the database would compute the vector of every candidate row again; an AND is answered
  by the index alone, and the substring test does the rest cheaply.
- SQLite indexes the text with FTS5's trigram tokenizer: a search of three characters or more
  is a trigram phrase; one of two characters asks for the trigrams that begin with it (each
  indexed text ends with a line break, so its last two characters begin one too).
"""
from __future__ import annotations

import re
import string

from sqlalchemy import text

from engine.errors import InvalidInput

#: A run of what is indexed: a Latin word or number, or characters outside ASCII and punctuation
#: (Latin-1 signs, general punctuation, CJK punctuation 、。「」, full-width ，！？). The same class as
#: petiflow_search_vector's in migration 0010.
RUN = re.compile("[a-z0-9]+|[^\x01-\x7f\u0080-\u00bf\u2000-\u206f\u3000-\u303f\ufe30-\ufe4f"
                 "\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65\ufeff]+")

#: The fewest letters, digits or CJK characters a search holds: one character matches too much.
MIN_CHARACTERS = 2
#: The longest search text taken.
MAX_CHARACTERS = 100
#: How much of a Latin word or suffix PostgreSQL's index keeps.
LATIN_PIECE = 16

_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)

_terms_from = text("SELECT term FROM cases_text_terms WHERE term >= :low AND term < :high ORDER BY term")


def _refuse(message: str):
    return InvalidInput(message, details={"fields": {"text": [message]}})


def needle(searched) -> str:
    """The text to find, ASCII letters in lower case; raises InvalidInput if it is not text, too long, or
    holds fewer than two letters, digits or CJK characters."""
    if not isinstance(searched, str):
        raise _refuse("must be text")
    found = searched.strip().translate(_ASCII_LOWER)
    if len(found) > MAX_CHARACTERS:
        raise _refuse(f"at most {MAX_CHARACTERS} characters")
    if "\x00" in found or sum(len(run) for run in RUN.findall(found)) < MIN_CHARACTERS:
        raise _refuse(f"search for at least {MIN_CHARACTERS} letters, digits or Chinese characters")
    return found


def pg_tsquery(found: str) -> str:
    """The tsquery (as text) that every case holding `found` matches in petiflow_search_vector."""
    runs = RUN.findall(found)
    terms = []
    for i, run in enumerate(runs):
        last = i == len(runs) - 1
        if run[0] in string.ascii_lowercase + string.digits:
            terms.append(f"{_lexeme(run[:LATIN_PIECE])}:*")
        elif len(run) == 1:
            terms.append(_lexeme(run) + (":*" if last else ""))
        else:
            terms += [_lexeme(run[k:k + 2]) for k in range(len(run) - 1)]
    return " & ".join(dict.fromkeys(terms))


def pg_tsquery_of_buckets(found: str, terms) -> str:
    """The tsquery (as text) of `found` in cases holding any of `terms` (petiflow_search_terms' year and agency
    terms, migration 0014: "#2026", "#2026#17")."""
    return f"({pg_tsquery(found)}) & ({' | '.join(_lexeme(term) for term in terms)})"


def _lexeme(piece: str) -> str:
    return "'" + piece.replace("\\", "\\\\").replace("'", "''") + "'"


def sqlite_match(conn, found: str) -> str | None:
    """The FTS5 query of cases_text that every case holding `found` matches; None when none can."""
    if len(found) >= 3:
        return _phrase(found)
    low = found.lower()  # the trigram tokenizer folds case
    terms = conn.execute(_terms_from, {"low": low, "high": low + "\U0010ffff"}).scalars().all()
    return " OR ".join(_phrase(term) for term in terms) or None


def _phrase(piece: str) -> str:
    return '"' + piece.replace('"', '""') + '"'

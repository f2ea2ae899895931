"""A text search reads a year of candidates at a time, of the reader's agencies only.

At 1,000,000 cases a common word (路燈) is in tens of thousands of them. The text index of 0010
answered a search with every case holding the word, which were then read and sorted: for an
agency's reader, whose agency holds a few of them, 150-430 ms. Each case's index terms now also
carry its year received (UTC) and its agency's with it: "#2026" and "#2026#17"
(`petiflow_search_terms(subject, description, agency_id, received_at)`, the pieces of
`petiflow_search_vector` and those two; "#" is in no piece of text). A search asks the index for
the text's pieces AND a year's term (the city's, or one of its agencies'), newest year first,
until its page is full (engine/queries/case_search.py). The index keeps its name,
ix_cases_text_search; the terms of a case follow its agency when it is transferred, as an
expression index does.

An agency's reader also sees the cases of other agencies with open work for it (a co-handling
agency's opinion). Those are found as the cases with open work of the agency less its own open
cases: two index-only ranges, `ix_work_items_open_agency_case` (agency_id, case_id) of open work and
`ix_cases_open_agency` (agency_id, id) of open cases, on both databases.

On SQLite (FTS5, 0010) the text search is unchanged.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 02:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

OPEN = "status = 'open'"

#: The class of runs of 0010's petiflow_search_vector.
RUN = ("[a-z0-9]+|[^\\x01-\\x7f\\u0080-\\u00bf\\u2000-\\u206f\\u3000-\\u303f\\ufe30-\\ufe4f"
       "\\uff01-\\uff0f\\uff1a-\\uff20\\uff3b-\\uff40\\uff5b-\\uff65\\ufeff]+")

#: petiflow_search_vector's pieces, and the year's and the agency's terms, in one body: a SQL
#: function calling another is not inlined, and took seven times as long per case.
SEARCH_TERMS = f"""
    CREATE FUNCTION petiflow_search_terms(subject text, description text, agency_id bigint,
                                          received_at timestamptz) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE COST 1000 AS $$
        SELECT array_to_tsvector(coalesce(array_agg(DISTINCT token), '{{}}')
                                 || ARRAY['#' || extract(year FROM received_at AT TIME ZONE 'UTC')::int::text]
                                 || CASE WHEN agency_id IS NULL THEN '{{}}'::text[]
                                         ELSE ARRAY['#' || extract(year FROM received_at AT TIME ZONE 'UTC')::int::text
                                                    || '#' || agency_id::text] END)
        FROM regexp_matches(translate(coalesce(subject, '') || chr(10) || coalesce(description, ''),
                                      'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz'),
                            '{RUN}', 'g') AS r(m)
        CROSS JOIN LATERAL (
            SELECT CASE WHEN m[1] ~ '^[a-z0-9]' THEN substr(m[1], k, 16)
                        WHEN k = char_length(m[1]) THEN substr(m[1], k, 1)
                        ELSE substr(m[1], k, 2) END AS token
            FROM generate_series(1, char_length(m[1])) AS k) AS pieces
    $$"""


def upgrade() -> None:
    op.create_index("ix_work_items_open_agency_case", "work_items", ["agency_id", "case_id"], unique=False,
                    postgresql_where=sa.text(OPEN), sqlite_where=sa.text(OPEN))
    op.create_index("ix_cases_open_agency", "cases", ["agency_id", "id"], unique=False,
                    postgresql_where=sa.text(OPEN), sqlite_where=sa.text(OPEN))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(SEARCH_TERMS)
        op.execute("DROP INDEX ix_cases_text_search")
        op.execute("CREATE INDEX ix_cases_text_search ON cases "
                   "USING gin (petiflow_search_terms(subject, description, agency_id, received_at))")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_cases_text_search")
        op.execute("DROP FUNCTION petiflow_search_terms(text, text, bigint, timestamptz)")
        op.execute("CREATE INDEX ix_cases_text_search ON cases "
                   "USING gin (petiflow_search_vector(subject, description))")
    op.drop_index("ix_cases_open_agency", table_name="cases")
    op.drop_index("ix_work_items_open_agency_case", table_name="work_items")

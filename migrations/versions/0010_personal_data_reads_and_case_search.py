"""Who saw whose personal data, kept for good; and the case list searchable in Chinese.

`personal_data_reads` records each time a petitioner's identity or contact was shown: to whom,
when, of which case, which fields, through what. DESIGN.md (decision 10) asks that every read of
personal data be logged; a log file rotates away and anyone with the server can edit it, so the
record is a table, append-only like the case history (0006): triggers refuse any UPDATE or
DELETE of a row, on SQLite and PostgreSQL; the owner disables them to remove rows past their
retention period, and `petiflow db check` fails until they are back.

`cases.description` keeps what the petitioner wrote, so that staff can find a case by it.
Chinese has no spaces between words, so neither database's word splitting finds 路燈 in
這盞路燈不亮; each gets an index of pieces of characters that any substring of two or more
characters can be looked up by, and the query checks the candidates with a plain substring
test (engine/queries/search_terms.py holds the query side of both):

- PostgreSQL: `petiflow_search_vector(subject, description)` turns the text into a tsvector of
  the bigrams of each run of CJK characters (and each run's last character), and of each Latin
  word or number (lower-cased) and its suffixes (16 characters at most). A GIN index on that
  expression answers an AND of those pieces; nothing in the step writers changes.
- SQLite: a contentless FTS5 table with the trigram tokenizer, kept by triggers on `cases`; a
  query of three characters or more is a trigram phrase, one of two characters a lookup of the
  trigrams that begin with it (`cases_text_terms`, an fts5vocab table). Each text ends with a
  line break so that its last two characters begin a trigram too.

Also the case list's order, newest first, of the city and of one agency: (received_at, id) and
(agency_id, received_at, id).

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-08 10:00:00
"""
import sqlalchemy as sa
from alembic import op

import engine.store.schema

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

MESSAGE = "personal_data_reads is append-only: the record of who saw personal data cannot be changed or deleted"

#: The characters that separate runs: ASCII (Latin words are matched apart), Latin-1 signs,
#: general punctuation, CJK punctuation (、。「」), vertical and full-width punctuation (，！？).
RUN = ("[a-z0-9]+|[^\\x01-\\x7f\\u0080-\\u00bf\\u2000-\\u206f\\u3000-\\u303f\\ufe30-\\ufe4f"
       "\\uff01-\\uff0f\\uff1a-\\uff20\\uff3b-\\uff40\\uff5b-\\uff65\\ufeff]+")

SEARCH_VECTOR = f"""
    CREATE FUNCTION petiflow_search_vector(subject text, description text) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE COST 1000 AS $$
        SELECT array_to_tsvector(coalesce(array_agg(DISTINCT token), '{{}}'))
        FROM regexp_matches(translate(coalesce(subject, '') || chr(10) || coalesce(description, ''),
                                      'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz'),
                            '{RUN}', 'g') AS r(m)
        CROSS JOIN LATERAL (
            SELECT CASE WHEN m[1] ~ '^[a-z0-9]' THEN substr(m[1], k, 16)
                        WHEN k = char_length(m[1]) THEN substr(m[1], k, 1)
                        ELSE substr(m[1], k, 2) END AS token
            FROM generate_series(1, char_length(m[1])) AS k) AS pieces
    $$"""

#: What the SQLite index holds of a case: its subject and description, each ending a line.
BODY = "coalesce({row}.subject, '') || char(10) || coalesce({row}.description, '') || char(10)"


def upgrade() -> None:
    op.add_column('cases', sa.Column('description', sa.Text(), nullable=True))
    op.create_index(op.f('ix_cases_received_at_id'), 'cases', ['received_at', 'id'], unique=False)
    op.create_index(op.f('ix_cases_agency_id_received_at_id'), 'cases', ['agency_id', 'received_at', 'id'],
                    unique=False)
    op.create_table(
        'personal_data_reads',
        sa.Column('id', engine.store.schema.Id, autoincrement=True, nullable=False),
        sa.Column('at', engine.store.schema.UTCDateTime(), nullable=False),
        sa.Column('user_id', engine.store.schema.Id, nullable=True),
        sa.Column('username', sa.String(length=100), nullable=False),
        sa.Column('case_id', engine.store.schema.Id, nullable=False),
        sa.Column('fields', sa.String(length=200), nullable=False),
        sa.Column('via', sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_personal_data_reads_case_id_cases')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_personal_data_reads_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_personal_data_reads')),
    )
    op.create_index(op.f('ix_personal_data_reads_at_id'), 'personal_data_reads', ['at', 'id'], unique=False)
    op.create_index(op.f('ix_personal_data_reads_case_id_at_id'), 'personal_data_reads', ['case_id', 'at', 'id'],
                    unique=False)
    op.create_index(op.f('ix_personal_data_reads_user_id_at_id'), 'personal_data_reads', ['user_id', 'at', 'id'],
                    unique=False)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""
            CREATE FUNCTION personal_data_reads_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'restrict_violation';
            END
            $$""")
        op.execute("""
            CREATE TRIGGER personal_data_reads_append_only BEFORE UPDATE OR DELETE ON personal_data_reads
            FOR EACH ROW EXECUTE FUNCTION personal_data_reads_append_only()""")
        op.execute(SEARCH_VECTOR)
        op.execute("CREATE INDEX ix_cases_text_search ON cases USING gin (petiflow_search_vector(subject, description))")
    else:
        for change in ("UPDATE", "DELETE"):
            op.execute(f"""
                CREATE TRIGGER personal_data_reads_no_{change.lower()} BEFORE {change} ON personal_data_reads
                BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""")
        new, old = BODY.format(row="new"), BODY.format(row="old")
        op.execute("CREATE VIRTUAL TABLE cases_text USING fts5(body, content='', tokenize='trigram')")
        op.execute("CREATE VIRTUAL TABLE cases_text_terms USING fts5vocab(cases_text, row)")
        op.execute(f"""
            CREATE TRIGGER cases_text_insert AFTER INSERT ON cases
            BEGIN INSERT INTO cases_text (rowid, body) VALUES (new.id, {new}); END""")
        op.execute(f"""
            CREATE TRIGGER cases_text_update AFTER UPDATE OF subject, description ON cases
            BEGIN
                INSERT INTO cases_text (cases_text, rowid, body) VALUES ('delete', old.id, {old});
                INSERT INTO cases_text (rowid, body) VALUES (new.id, {new});
            END""")
        op.execute(f"""
            CREATE TRIGGER cases_text_delete AFTER DELETE ON cases
            BEGIN INSERT INTO cases_text (cases_text, rowid, body) VALUES ('delete', old.id, {old}); END""")
        op.execute(f"INSERT INTO cases_text (rowid, body) SELECT id, {BODY.format(row='cases')} FROM cases")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_cases_text_search")
        op.execute("DROP FUNCTION petiflow_search_vector(text, text)")
        op.execute("DROP TRIGGER personal_data_reads_append_only ON personal_data_reads")
        op.execute("DROP FUNCTION personal_data_reads_append_only()")
    else:
        for name in ("cases_text_insert", "cases_text_update", "cases_text_delete",
                     "personal_data_reads_no_update", "personal_data_reads_no_delete"):
            op.execute(f"DROP TRIGGER {name}")
        op.execute("DROP TABLE cases_text_terms")
        op.execute("DROP TABLE cases_text")
    op.drop_index(op.f('ix_personal_data_reads_user_id_at_id'), table_name='personal_data_reads')
    op.drop_index(op.f('ix_personal_data_reads_case_id_at_id'), table_name='personal_data_reads')
    op.drop_index(op.f('ix_personal_data_reads_at_id'), table_name='personal_data_reads')
    op.drop_table('personal_data_reads')
    op.drop_index(op.f('ix_cases_agency_id_received_at_id'), table_name='cases')
    op.drop_index(op.f('ix_cases_received_at_id'), table_name='cases')
    op.drop_column('cases', 'description')

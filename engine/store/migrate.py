"""Schema migrations: upgrade, check that models and migrations agree, report currency."""
from __future__ import annotations

import re

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import CheckConstraint, inspect
from sqlalchemy.engine import Connection, Engine

from engine.settings import PROJECT_ROOT
from engine.store.schema import metadata

#: Where the Alembic history lives.
MIGRATIONS_DIR = PROJECT_ROOT / "migrations"


def alembic_config(engine: Engine | None = None, connection=None) -> Config:
    """An Alembic config bound to our migrations folder and, if given, a live connection."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if engine is not None:
        cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database schema up to the given revision."""
    with engine.begin() as conn:
        command.upgrade(alembic_config(connection=conn), revision)


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None when it was never migrated."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn.execution_options(read_only=True)).get_current_revision()


def is_current(engine: Engine) -> bool:
    """True when the database is at the head of the migration history."""
    return current_revision(engine) == head_revision()


def schema_differences(bind: Engine | Connection) -> list:
    """What differs between the tables the code declares and the migrated database.

    Alembic's comparison (tables, columns, types, server defaults, indexes, unique and
    foreign keys) and what Alembic does not compare: CHECK constraints and the triggers the
    migrations made.
    """
    if isinstance(bind, Engine):
        with bind.connect() as conn:
            return schema_differences(conn)
    ctx = MigrationContext.configure(bind, opts={"compare_type": True, "compare_server_default": True,
                                                 "include_name": _compared})
    return (compare_metadata(ctx, metadata) + _check_constraint_differences(bind) + _trigger_differences(bind)
            + _search_index_differences(bind))


#: Triggers the migrations create, by dialect: the case history (0006) and the record of
#: personal data reads (0010) and the record of administration (0011) are append-only; on
#: SQLite, triggers keep the text search table of cases (0010); a trigger marks the cases whose
#: share of the report rollups may have changed (0019).
TRIGGERS = {"sqlite": {"case_events": {"case_events_no_update", "case_events_no_delete", "case_events_mark_report"},
                       "personal_data_reads": {"personal_data_reads_no_update", "personal_data_reads_no_delete"},
                       "admin_events": {"admin_events_no_update", "admin_events_no_delete"},
                       "cases": {"cases_text_insert", "cases_text_update", "cases_text_delete"}},
            "postgresql": {"case_events": {"case_events_append_only", "case_events_mark_report"},
                           "personal_data_reads": {"personal_data_reads_append_only"},
                           "admin_events": {"admin_events_append_only"}}}

#: The text search of cases (0010), which Alembic neither compares nor could declare: on
#: PostgreSQL a GIN index on a function of the text, on SQLite FTS5 tables.
SEARCH_INDEX = {"postgresql": ("index", "ix_cases_text_search"), "sqlite": ("table", "cases_text")}
#: The SQLite search tables: the FTS5 table, its shadow tables and its vocabulary.
SEARCH_TABLES = "cases_text"


def _compared(name, type_, parent_names) -> bool:
    """Whether Alembic compares a database object: not the text search objects, checked apart."""
    if type_ == "table":
        return not (name or "").startswith(SEARCH_TABLES)
    return not (type_ == "index" and name == SEARCH_INDEX["postgresql"][1])


def _search_index_differences(conn: Connection) -> list:
    """The text search index of cases, if missing (on PostgreSQL, or not valid)."""
    kind, name = SEARCH_INDEX[conn.dialect.name]
    if conn.dialect.name == "sqlite":
        found = conn.exec_driver_sql("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN "
                                     "('cases_text', 'cases_text_terms')").scalar_one() == 2
    else:
        found = conn.exec_driver_sql("SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                                     "WHERE c.relname = %(name)s", {"name": name}).scalar_one_or_none()
    return [] if found else [(f"missing_search_{kind}", "cases", name)]


def _text(sql) -> str:
    return re.sub(r"\s+", " ", str(sql)).strip()


def _check_constraint_differences(conn: Connection) -> list:
    """CHECK constraints by name, and on SQLite (which keeps them as written) by their text too.

    PostgreSQL rewrites a CHECK's text into its own form, so there only names are compared;
    the SQLite run of the tests compares the text.
    """
    inspector = inspect(conn)
    present = set(inspector.get_table_names())
    by_text = conn.dialect.name == "sqlite"
    found = []
    for table in metadata.sorted_tables:
        if table.name not in present:
            continue  # compare_metadata reports the missing table
        declared = {c.name: _text(c.sqltext) for c in table.constraints if isinstance(c, CheckConstraint)}
        stored = {c["name"]: _text(c["sqltext"]) for c in inspector.get_check_constraints(table.name)}
        found += [("add_check_constraint", table.name, name) for name in sorted(declared.keys() - stored.keys())]
        found += [("remove_check_constraint", table.name, name) for name in sorted(stored.keys() - declared.keys())]
        if by_text:
            found += [("modify_check_constraint", table.name, name, stored[name], text)
                      for name, text in sorted(declared.items()) if name in stored and stored[name] != text]
    return found


def _trigger_differences(conn: Connection) -> list:
    """Triggers the migrations made that are missing, or on PostgreSQL disabled."""
    if conn.dialect.name == "sqlite":
        rows = conn.exec_driver_sql("SELECT tbl_name, name FROM sqlite_master WHERE type = 'trigger'")
    else:
        rows = conn.exec_driver_sql("SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                                    "WHERE NOT t.tgisinternal AND t.tgenabled <> 'D'")
    working = {(table, name) for table, name in rows}
    return [("missing_trigger", table, name)
            for table, names in sorted(TRIGGERS.get(conn.dialect.name, {}).items())
            for name in sorted(names) if (table, name) not in working]

"""Helpers for the administration tests: run a command in its own unit of work, read what is stored.

Use with the small city of tests/unit/queries_city.py (its `admin` account is the administrator).
"""
from __future__ import annotations

from sqlalchemy import select

from engine.store.schema import access_tokens, admin_events, agencies, group_members, groups, units, users

#: Every table administration writes: a refused command leaves all of them as they were.
DIRECTORY_TABLES = (users, agencies, units, groups, group_members, access_tokens, admin_events)


def run(city, service, cmd):
    """Run one command in its own unit of work and commit it; what the service returned."""
    with city.runtime.uow() as uow:
        result = service(cmd, uow)
        uow.commit()
    return result


def refused(city, service, cmd, error):
    """Run a command that must fail with `error` (nothing committed); the error raised."""
    import pytest
    before = snapshot(city)
    with pytest.raises(error) as caught:
        run(city, service, cmd)
    assert snapshot(city) == before
    return caught.value


def snapshot(city) -> dict:
    """The rows of every directory table, in key order."""
    with city.runtime.db.connect() as conn:
        return {t.name: conn.execute(select(t).order_by(*t.primary_key.columns)).all() for t in DIRECTORY_TABLES}


def events(city, kind: str | None = None) -> list:
    """The record of administration, oldest first: (kind, subject type, subject id, actor id, data)."""
    query = select(admin_events.c.kind, admin_events.c.subject_type, admin_events.c.subject_id,
                   admin_events.c.actor_id, admin_events.c.data).order_by(admin_events.c.id)
    if kind is not None:
        query = query.where(admin_events.c.kind == kind)
    with city.runtime.db.connect() as conn:
        return conn.execute(query).all()


def user_row(city, user_id: int):
    with city.runtime.db.connect() as conn:
        return conn.execute(select(users).where(users.c.id == user_id)).one()

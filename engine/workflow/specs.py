"""A per-process cache of parsed specs, one entry per deployed definition version."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Connection

from engine.errors import NotFound
from engine.store.schema import process_definitions
from engine.workflow.definitions import parse_process


@dataclass(frozen=True)
class ParsedDefinition:
    """A deployed version, parsed once: the spec objects workflow states are attached to."""

    id: int
    process_key: str
    version: int
    spec: object
    subprocess_specs: dict


#: Seconds a process's latest version id is trusted before asking the database again; a
#: deployment by another process reaches new cases here within this time.
LATEST_TTL = 5.0

_latest = (
    select(process_definitions.c.id)
    .where(process_definitions.c.process_key == bindparam("key"))
    .order_by(process_definitions.c.version.desc()).limit(1)
)


_definition = select(process_definitions.c.process_key, process_definitions.c.version,
                     process_definitions.c.sources).where(process_definitions.c.id == bindparam("b_id"))


class SpecCache:
    """Parse each deployed version once (versions are immutable, so never expire) and
    remember briefly which version of each process is the latest."""

    def __init__(self, latest_ttl: float = LATEST_TTL):
        self._parsed: dict[int, ParsedDefinition] = {}
        self._latest: dict[str, tuple[int, float]] = {}
        self._latest_ttl = latest_ttl
        self._lock = threading.Lock()

    def latest_id(self, conn: Connection, process_key: str) -> int | None:
        """The id of the newest deployed version of a process, or None if there is none."""
        cached = self._latest.get(process_key)
        now = time.monotonic()
        if cached is not None and now - cached[1] < self._latest_ttl:
            return cached[0]
        found = conn.execute(_latest, {"key": process_key}).scalar_one_or_none()
        if found is not None:
            self._latest[process_key] = (found, now)
        return found

    def forget_latest(self) -> None:
        """Drop the remembered latest versions (after a deployment commits)."""
        self._latest.clear()

    def get(self, conn: Connection, definition_id: int) -> ParsedDefinition:
        """The parsed definition for an id; raises NotFound if it was never deployed."""
        found = self._parsed.get(definition_id)
        if found is not None:
            return found
        row = conn.execute(_definition, {"b_id": definition_id}).one_or_none()
        if row is None:
            raise NotFound(f"process definition {definition_id} does not exist")
        spec, subprocess_specs = parse_process(row.process_key, row.sources)
        parsed = ParsedDefinition(definition_id, row.process_key, row.version, spec, subprocess_specs)
        with self._lock:
            return self._parsed.setdefault(definition_id, parsed)

    def clear(self) -> None:
        with self._lock:
            self._parsed.clear()
            self._latest.clear()

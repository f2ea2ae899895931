"""A per-process cache of parsed specs, one entry per deployed definition version."""
from __future__ import annotations

import threading
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Connection

from .definitions import parse_process
from .errors import NotFound
from .schema import process_definitions


@dataclass(frozen=True)
class ParsedDefinition:
    """A deployed version, parsed once: the spec objects workflow states are attached to."""

    id: int
    process_key: str
    version: int
    spec: object
    subprocess_specs: dict


class SpecCache:
    """Parse each deployed version once; deployed versions are immutable, so never expire."""

    def __init__(self):
        self._parsed: dict[int, ParsedDefinition] = {}
        self._lock = threading.Lock()

    def get(self, conn: Connection, definition_id: int) -> ParsedDefinition:
        """The parsed definition for an id; raises NotFound if it was never deployed."""
        found = self._parsed.get(definition_id)
        if found is not None:
            return found
        row = conn.execute(
            select(process_definitions.c.process_key, process_definitions.c.version,
                   process_definitions.c.sources).where(process_definitions.c.id == definition_id)
        ).one_or_none()
        if row is None:
            raise NotFound(f"process definition {definition_id} does not exist")
        spec, subprocess_specs = parse_process(row.process_key, row.sources)
        parsed = ParsedDefinition(definition_id, row.process_key, row.version, spec, subprocess_specs)
        with self._lock:
            return self._parsed.setdefault(definition_id, parsed)

    def clear(self) -> None:
        with self._lock:
            self._parsed.clear()

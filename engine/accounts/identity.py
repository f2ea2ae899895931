"""Who is acting: a principal with the roles it holds, per agency."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Principal:
    """A signed-in user (or the system) and the (role, agency id) pairs it holds."""

    user_id: int | None
    username: str
    roles: frozenset = field(default_factory=frozenset)
    is_admin: bool = False

    def holds(self, role: str | None, agency_id: int | None) -> bool:
        """True if this principal may act in the role for the agency (None: any agency)."""
        if self.is_admin:
            return True
        if role is None:
            return False
        return (role, agency_id) in self.roles or (role, None) in self.roles


#: The engine itself: timers, workers, imports and the benchmark act as this principal.
SYSTEM = Principal(user_id=None, username="system", is_admin=True)

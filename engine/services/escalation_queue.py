"""The supervisors' escalation queue, as its first callers read it; the query is engine.queries.escalation."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..identity import SYSTEM
from ..queries.escalation import QueueItem
from ..queries.escalation import escalation_queue as _scoped_queue
from ..queries.lateness import AT_RISK_WORKING_DAYS

__all__ = ["AT_RISK_WORKING_DAYS", "EscalationQueue", "QueueItem", "escalation_queue"]


@dataclass(frozen=True)
class EscalationQueue:
    """The whole city's queue as of a moment: its first items, and counts per (agency name, level, state)."""

    as_of: datetime
    items: list
    counts: dict


def escalation_queue(uow, *, agency_id: int | None = None, min_level: int = 0,
                     at_risk_days: int = AT_RISK_WORKING_DAYS, limit: int = 500) -> EscalationQueue:
    """Open work that is overdue, or due within `at_risk_days` working days, most late first."""
    queue = _scoped_queue(uow, SYSTEM, agency_id=agency_id, min_level=min_level, at_risk_days=at_risk_days,
                          limit=limit)
    return EscalationQueue(queue.as_of, list(queue.items),
                           {(c.agency_name, c.level, c.state): c.count for c in queue.counts})

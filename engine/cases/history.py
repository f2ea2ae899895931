"""Rows of the case history (case_events): every step a case goes through."""
from __future__ import annotations

from datetime import datetime


def event(case_id: int, at: datetime, kind: str, *, actor_id=None, work_item_id=None, **data) -> dict:
    """A case_events row (as a dict for a batched insert)."""
    return {"case_id": case_id, "at": at, "kind": kind, "actor_id": actor_id,
            "work_item_id": work_item_id, "data": data or None}

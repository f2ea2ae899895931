"""Read queries: what the staff API, the web UI and reports show, as plain frozen values.

Reads are queries, writes are services: each function takes a unit of work (read-only will do)
and, where who asks matters, a principal, and returns frozen dataclasses and tuples, never rows.
"""
from .badges import InboxCounts, inbox_counts
from .inbox import InboxItem, InboxPage, inbox
from .inbox_scope import VIEWS, InboxFilter
from .lateness import AT_RISK_WORKING_DAYS
from .principals import load_principal

__all__ = ["AT_RISK_WORKING_DAYS", "VIEWS", "InboxCounts", "InboxFilter", "InboxItem", "InboxPage", "inbox",
           "inbox_counts", "load_principal"]

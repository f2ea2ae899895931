"""Read queries: what the staff API, the web UI and reports show, as plain frozen values.

Reads are queries, writes are services: each function takes a unit of work (read-only will do)
and, where who asks matters, a principal, and returns frozen dataclasses and tuples, never rows.
"""
from .badges import InboxCounts, inbox_counts
from .case_search import CasePage, CaseRow, CaseSearch, search_cases
from .cases import CaseView, OpenWork, PendingTimer, Petitioner, TimelineEntry, get_case, get_case_by_number
from .escalation import EscalationQueue, QueueCount, QueueItem, escalation_queue
from .inbox import InboxItem, InboxPage, inbox
from .inbox_scope import VIEWS, InboxFilter
from .lateness import AT_RISK_WORKING_DAYS
from .personal_data import PersonalDataRead, PersonalDataReads, personal_data_reads
from .principals import load_principal
from .processes import DeployedProcess, ProcessVersion, deployed_processes
from .work_item import Draft, WorkItemView, work_item_view

__all__ = ["AT_RISK_WORKING_DAYS", "VIEWS", "CasePage", "CaseRow", "CaseSearch", "CaseView", "DeployedProcess", "Draft",
           "EscalationQueue", "InboxCounts", "InboxFilter", "InboxItem", "InboxPage", "OpenWork", "PendingTimer",
           "PersonalDataRead", "PersonalDataReads", "Petitioner", "ProcessVersion", "QueueCount", "QueueItem",
           "TimelineEntry", "WorkItemView", "deployed_processes", "escalation_queue", "get_case", "get_case_by_number",
           "inbox", "inbox_counts", "load_principal", "personal_data_reads", "search_cases", "work_item_view"]

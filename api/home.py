"""The landing page: what this installation holds, and where to go next."""
from __future__ import annotations

from flask import Blueprint, render_template

from engine.queries.overview import overview

from .app import get_runtime

bp = Blueprint("home", __name__)

#: How staff call each role (the page is read by city staff; the role's code stays beside it).
ROLE_LABELS = {
    "dispatcher": "分案人員", "caseworker": "承辦人", "supervisor": "科長（主管）", "agency_head": "機關首長",
    "agency_liaison": "機關聯絡窗口", "reviewer": "研考人員", "operator": "話務人員",
    "council_liaison": "議會聯絡人", "process_designer": "流程設計", "auditor": "稽核人員", "admin": "系統管理",
}


@bp.get("/")
def index():
    """A page a person can open: deployed processes, open cases and the inbox by role."""
    with get_runtime().uow(read_only=True) as uow:
        seen = overview(uow)
    return render_template("home.html", processes=seen.processes, open_cases=seen.open_cases,
                           inbox=seen.open_work_by_role, role_labels=ROLE_LABELS)

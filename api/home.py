"""The landing page: what this installation holds, and where to go next."""
from __future__ import annotations

from flask import Blueprint, render_template
from sqlalchemy import func, select

from engine.store.schema import cases, process_definitions, work_items

from .app import get_runtime

bp = Blueprint("home", __name__)

#: How staff call each role (the page is read by city staff; the role's code stays beside it).
ROLE_LABELS = {
    "dispatcher": "分案人員", "caseworker": "承辦人", "supervisor": "科長（主管）", "agency_head": "機關首長",
    "agency_liaison": "機關聯絡窗口", "reviewer": "研考人員", "operator": "話務人員",
    "council_liaison": "議會聯絡人", "process_designer": "流程設計", "admin": "系統管理",
}


@bp.get("/")
def index():
    """A page a person can open: deployed processes, open cases and the inbox by role."""
    with get_runtime().uow(read_only=True) as uow:
        conn = uow.conn
        processes = conn.execute(
            select(process_definitions.c.process_key, process_definitions.c.name,
                   func.max(process_definitions.c.version).label("version"))
            .group_by(process_definitions.c.process_key, process_definitions.c.name)
            .order_by(process_definitions.c.process_key)).all()
        open_cases = conn.execute(select(func.count()).select_from(cases)
                                  .where(cases.c.status == "open")).scalar_one()
        inbox = conn.execute(
            select(work_items.c.role, func.count().label("n")).where(work_items.c.status == "open")
            .group_by(work_items.c.role).order_by(work_items.c.role)).all()
    return render_template("home.html", processes=processes, open_cases=open_cases, inbox=inbox,
                           role_labels=ROLE_LABELS)

"""The citizen's satisfaction survey, answered on the web mailbox with the case number and lookup code.

The answer completes the petition workflow's `record_survey` task as a citizen (a principal
with no staff roles): this service checks the code, then hands the task's form to the same
completion as staff use, so an unsatisfied answer opens the reviewer's follow-up
(review_unsatisfied) exactly as an operator's call-back would. One answer per case.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, insert, select

from engine.accounts.identity import Principal
from engine.cases.history import event
from engine.errors import Conflict, InvalidInput
from engine.queries.public_status import SURVEY_TASK, proven_case, survey_state
from engine.services.work import CompleteWorkItem, complete_work_item
from engine.store.schema import case_events, work_items

#: Who answers on the web: nobody signed in, no role anywhere.
CITIZEN = Principal(user_id=None, username="citizen")

#: Why a citizen may be unsatisfied, by code, as the survey's comment records them.
REASONS = {"too_slow": "處理太慢", "not_solved": "問題未解決", "unclear_reply": "答復不清楚",
           "no_legal_basis": "未說明依據", "attitude": "服務態度", "other": "其他"}

#: The longest comment (the survey form's own limit leaves room for the reasons).
MAX_COMMENT = 800

_open_survey = select(work_items.c.id).where(work_items.c.case_id == bindparam("b_case"),
                                             work_items.c.task_spec == SURVEY_TASK, work_items.c.status == "open")


@dataclass(frozen=True)
class AnswerSurvey:
    """The citizen's answer: satisfied or not, why not, and a comment."""

    case_no: str
    code: str
    satisfied: bool
    reasons: tuple = ()
    comment: str = ""


@dataclass(frozen=True)
class SurveyAnswered:
    """The case answered, and whether its reviewer now follows it up."""

    case_no: str
    satisfied: bool
    follow_up: bool


def _comment(cmd: AnswerSurvey) -> str:
    unknown = [r for r in cmd.reasons if r not in REASONS]
    comment = (cmd.comment or "").strip()
    if unknown:
        raise InvalidInput("unknown reasons", details={"fields": {"reasons": ["not one of the reasons"]}})
    if len(comment) > MAX_COMMENT:
        raise InvalidInput("the comment is too long", details={"fields": {"comment": [f"at most {MAX_COMMENT} characters"]}})
    parts = []
    if cmd.reasons and not cmd.satisfied:
        parts.append("不滿意理由：" + "、".join(REASONS[r] for r in dict.fromkeys(cmd.reasons)))
    if comment:
        parts.append(comment)
    return "\n".join(parts)


def answer_survey(cmd: AnswerSurvey, uow) -> SurveyAnswered:
    """Record the answer by completing the case's survey task.

    Raises NotFound (the same for a wrong code as for no case), InvalidInput, or Conflict when
    the survey was answered already, has not opened (no reply yet) or has closed.
    """
    comment = _comment(cmd)
    case = proven_case(uow, cmd.case_no, cmd.code)
    item_id = uow.conn.execute(_open_survey, {"b_case": case.case_id}).scalar()
    state = survey_state(uow, case.case_id)
    if state == "answered":
        raise Conflict("the satisfaction survey of this case was answered already; a case takes one answer")
    if item_id is None:
        if state == "closed" or case.status != "open":
            raise Conflict("the satisfaction survey of this case has closed")
        raise Conflict("the satisfaction survey opens once the reply has been sent")
    data = {"satisfaction": "satisfied" if cmd.satisfied else "unsatisfied", "survey_channel": "web"}
    if comment:
        data["survey_comment"] = comment
    done = complete_work_item(CompleteWorkItem(item_id, data, CITIZEN), uow, checked_by_caller=True)
    uow.conn.execute(insert(case_events), event(case.case_id, uow.clock.now(), "survey_answered_on_web",
                                                 satisfied=cmd.satisfied, reasons=list(cmd.reasons)))
    return SurveyAnswered(case.case_no, cmd.satisfied, follow_up=bool(done.opened) and not cmd.satisfied)

"""What staff do to a case besides replying: transfer, extension, 補陳, closing under art. 173, merging.

None of these is a free-standing write. Each is drawn in the shipped workflows as a user task whose
form chooses the action (a caseworker's draft_reply with draft_action = request_transfer, the
dispatcher's confirm_routing with routing_decision = close...), so each command here finds the
case's one open work item of the task that carries its action (CARRIERS), fills in that task's
form, and completes it through engine.services.work.complete_work_item: who may complete the item,
the form's checks and the workflow's own rules (the extension cap, the clock) all stay there.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from sqlalchemy import bindparam, insert, literal_column, select

from engine.accounts.identity import Principal
from engine.cases.history import event
from engine.errors import Conflict, InvalidForm, InvalidInput, NotFound
from engine.queries.visibility import case_scope, visible_cases
from engine.queries.work_item import may_complete
from engine.store.schema import case_events, cases, work_items

from .work import CompleteWorkItem, complete_work_item

#: The grounds of 行政程序法 art. 173 as the dispatcher's form (petition_confirm_routing.json) names them.
ART_173_GROUNDS = {
    "no_content_or_identity": "第1款：無具體內容或未具真實姓名或住址 (no concrete content, or no real name or address)",
    "repeated_after_answer": "第2款：同一事由經適當處理並已明確答覆，仍一再陳情 (the same matter, already clearly "
                             "answered, petitioned again and again)",
    "not_competent_multi_sent": "第3款：非主管機關，且陳情人以同一事由分向各機關陳情 (not the competent agency, "
                                "and the same matter sent to several agencies)",
}

#: How the petitioner's supplement may have reached us (petition_supplement.json).
SUPPLEMENT_CHANNELS = ("web", "mail", "email", "phone", "walk_in", "fax")


@dataclass(frozen=True)
class RequestTransfer:
    """改分: the caseworker asks the dispatcher to send the case to another agency, saying why."""

    principal: Principal
    case_id: int
    reason: str
    suggested_agency: str | None = None


@dataclass(frozen=True)
class DecideTransfer:
    """The dispatcher moves the case to agency_code (and unit), or refuses the transfer with a note."""

    principal: Principal
    case_id: int
    approve: bool
    agency_code: str | None = None
    unit_code: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class RequestExtension:
    """展延: the caseworker asks for more working days, with the reason the citizen will be told."""

    principal: Principal
    case_id: int
    working_days: int
    reason: str


@dataclass(frozen=True)
class DecideExtension:
    """The section chief approves the extension asked for, or refuses it (a note is then required)."""

    principal: Principal
    case_id: int
    approve: bool
    note: str | None = None


@dataclass(frozen=True)
class AskForSupplement:
    """補陳: ask the petitioner for what is missing by due_at; the reply clock stops meanwhile."""

    principal: Principal
    case_id: int
    what: str
    due_at: datetime


@dataclass(frozen=True)
class RecordSupplement:
    """Record what the petitioner sent, and how; the reply clock starts again with the time left."""

    principal: Principal
    case_id: int
    text: str
    received_via: str


@dataclass(frozen=True)
class CloseWithoutProcessing:
    """存查: the dispatcher closes the case under 行政程序法 art. 173, naming the subsection (ART_173_GROUNDS)."""

    principal: Principal
    case_id: int
    ground: str
    note: str | None = None


@dataclass(frozen=True)
class MergeInto:
    """併案: the dispatcher closes the case as a duplicate of another case, which records it too."""

    principal: Principal
    case_id: int
    target_case_no: str
    note: str | None = None


@dataclass(frozen=True)
class CaseActionTaken:
    """The action's work item done, the case's workflow after it, and the work it opened and closed."""

    case_id: int
    task: str
    work_item_id: int
    status: str
    version: int
    opened: list
    cancelled: list


@dataclass(frozen=True)
class _Field:
    """A form field: a command attribute (converted, when need be), or a fixed value."""

    attr: str | None = None
    convert: Callable | None = None
    value: object = None

    def of(self, cmd):
        if self.attr is None:
            return self.value
        value = getattr(cmd, self.attr)
        return value if self.convert is None or value is None else self.convert(value)


@dataclass(frozen=True)
class Carrier:
    """The user task that carries an action (its id and form), in words for a refusal, and how its form is filled."""

    task: str
    form_key: str
    waiting_for: str
    form: dict  # form field -> _Field

    def data(self, cmd) -> dict:
        """The form's data for the command (fields it leaves empty are left out)."""
        filled = {name: field.of(cmd) for name, field in self.form.items()}
        return {name: value for name, value in filled.items() if value is not None}

    def field_of(self, form_field: str) -> str:
        """The command's name for a form field (errors name what the caller sent)."""
        head, _, rest = form_field.partition(".")
        field = self.form.get(head)
        name = field.attr if field is not None and field.attr is not None else head
        return f"{name}.{rest}" if rest else name


def _set(value) -> _Field:
    return _Field(value=value)


def _decision(yes: str, no: str) -> _Field:
    return _Field("approve", lambda approve: yes if approve else no)


def _draft(action: str, **fields) -> Carrier:
    """The caseworker's reply draft with draft_action chosen (petition.bpmn, gateway draft_action)."""
    return Carrier("draft_reply", "petition_draft_reply.json", "a reply draft (draft_reply)",
                   {"draft_action": _set(action), **fields})


def _routing(decision: str, **fields) -> Carrier:
    """The dispatcher's routing with routing_decision chosen (petition.bpmn, gateway routing_decision)."""
    return Carrier("confirm_routing", "petition_confirm_routing.json", "the dispatcher's routing (confirm_routing)",
                   {"routing_decision": _set(decision), **fields, "routing_note": _Field("note")})


#: Each action, and the tasks that carry it in the shipped workflows (a task of that id with that
#: form: another diagram's task of the same name is not taken for it), the first open one chosen.
CARRIERS: dict[type, tuple[Carrier, ...]] = {
    RequestTransfer: (
        _draft("request_transfer", transfer_reason=_Field("reason"), suggested_agency=_Field("suggested_agency")),
        # A street report the unit finds is not theirs goes back to the dispatcher (dispatch.bpmn).
        Carrier("repair", "dispatch_repair.json", "a repair (repair)", {
            "repair_result": _set("not_ours"), "not_ours_reason": _Field("reason"),
            "suggested_agency": _Field("suggested_agency")}),
    ),
    DecideTransfer: (Carrier(
        "confirm_transfer", "petition_confirm_transfer.json", "a decision on a transfer (confirm_transfer)", {
            "transfer_decision": _decision("transfer", "refuse"), "transfer_to_agency": _Field("agency_code"),
            "transfer_to_unit": _Field("unit_code"), "transfer_note": _Field("note")}),),
    RequestExtension: (
        _draft("request_extension", extension_days=_Field("working_days"), extension_reason=_Field("reason")),),
    DecideExtension: (Carrier(
        "approve_extension", "petition_approve_extension.json", "a decision on an extension (approve_extension)", {
            "extension_decision": _decision("approve", "refuse"), "extension_comment": _Field("note")}),),
    AskForSupplement: (
        _draft("request_supplement", supplement_request=_Field("what"),
               supplement_due=_Field("due_at", lambda due: due.isoformat())),),
    RecordSupplement: (Carrier(
        "wait_supplement", "petition_supplement.json", "the petitioner's supplement (wait_supplement)", {
            "supplement_text": _Field("text"), "supplement_received_via": _Field("received_via")}),),
    CloseWithoutProcessing: (_routing("close", close_ground=_Field("ground")),),
    MergeInto: (_routing("merge", duplicate_of=_Field("target_case_no")),),
}

_case = select(cases.c.id, cases.c.case_no)
_open_items = (select(work_items.c.id, work_items.c.task_spec, work_items.c.form_key)
               .where(work_items.c.case_id == bindparam("b_case"), work_items.c.status == literal_column("'open'"))
               .order_by(work_items.c.id))


def _visible_case(uow, principal: Principal, which):
    scope = case_scope(uow, principal)
    query = _case.where(which) if scope.everything else _case.where(which, visible_cases(scope))
    return uow.conn.execute(query).one_or_none()


def _case_no(uow, cmd) -> str:
    """The number of cmd's case; raises NotFound, as for a case that does not exist, if the principal may not see it."""
    found = _visible_case(uow, cmd.principal, cases.c.id == cmd.case_id)
    if found is None:
        raise NotFound(f"case {cmd.case_id} does not exist")
    return found.case_no


def _step(cmd, uow) -> tuple[str, Carrier, int]:
    """cmd's case number, the task carrying cmd's action and its open work item on the case.

    Raises NotFound (no case the principal may see) or Conflict (no such task open now, naming the open ones).
    """
    case_no = _case_no(uow, cmd)
    carriers = CARRIERS[type(cmd)]
    open_now = uow.conn.execute(_open_items, {"b_case": cmd.case_id}).all()
    tasks = [row.task_spec.split(" [")[0] for row in open_now]  # a multi-instance task's items: "<task> [n]"
    for carrier in carriers:
        for row, task in zip(open_now, tasks):
            if task == carrier.task and row.form_key == carrier.form_key:
                return case_no, carrier, row.id
    waiting = " or ".join(c.waiting_for for c in carriers)
    raise Conflict(f"the case is not waiting for {waiting}; open now: {', '.join(tasks) or 'nothing'}",
                   details={"open_tasks": tasks, "expected": [c.task for c in carriers]})


def _complete(cmd, uow, carrier: Carrier, work_item_id: int) -> CaseActionTaken:
    """Complete the item with cmd's form data; raises what completing raises (Forbidden, WorkflowFailed,
    InvalidForm naming the command's fields)."""
    try:
        done = complete_work_item(CompleteWorkItem(work_item_id, carrier.data(cmd), cmd.principal), uow)
    except InvalidForm as exc:
        named = {carrier.field_of(name): problems for name, problems in exc.details.get("fields", {}).items()}
        raise InvalidForm(exc.message, details={**exc.details, "fields": named}) from None
    return CaseActionTaken(done.case_id, carrier.task, done.work_item_id, done.status, done.version,
                           done.opened, done.cancelled)


def _take(cmd, uow) -> CaseActionTaken:
    """Complete the case's open item of the task carrying cmd's action; raises as _step and _complete."""
    _, carrier, work_item_id = _step(cmd, uow)
    return _complete(cmd, uow, carrier, work_item_id)


def request_transfer(cmd: RequestTransfer, uow) -> CaseActionTaken:
    """Ask for the case to be transferred (it goes to the dispatcher); raises as _take."""
    return _take(cmd, uow)


def decide_transfer(cmd: DecideTransfer, uow) -> CaseActionTaken:
    """Move the case to another agency, or refuse the transfer asked for; raises as _take."""
    return _take(cmd, uow)


def request_extension(cmd: RequestExtension, uow) -> CaseActionTaken:
    """Ask the section chief for more working days; raises as _take."""
    return _take(cmd, uow)


def decide_extension(cmd: DecideExtension, uow) -> CaseActionTaken:
    """Approve (the due time moves, the citizen is told why) or refuse an extension; raises as _take."""
    return _take(cmd, uow)


def ask_for_supplement(cmd: AskForSupplement, uow) -> CaseActionTaken:
    """Ask the petitioner for more and stop the clock; raises as _take."""
    return _take(cmd, uow)


def record_supplement(cmd: RecordSupplement, uow) -> CaseActionTaken:
    """Record the petitioner's supplement and restart the clock; raises as _take."""
    return _take(cmd, uow)


def close_without_processing(cmd: CloseWithoutProcessing, uow) -> CaseActionTaken:
    """Close the case under art. 173, its ground (one of ART_173_GROUNDS) recorded in its history; raises as
    _take (a ground the form does not know is its InvalidForm naming `ground`)."""
    return _take(cmd, uow)


def merge_into(cmd: MergeInto, uow) -> CaseActionTaken:
    """Close the case as a duplicate of target_case_no, and note the duplicate in the target's history.

    Run it in a unit that may write after its step (not one_step). Raises as _take, and
    InvalidInput naming `target_case_no` when that is this case or no case the principal may see.
    """
    duplicate_no, carrier, work_item_id = _step(cmd, uow)
    target = _visible_case(uow, cmd.principal, cases.c.case_no == cmd.target_case_no)
    if target is None or target.id == cmd.case_id:
        problem = "a case cannot be merged into itself" if target is not None else "no such case"
        raise InvalidInput(f"cannot merge into {cmd.target_case_no}: {problem}",
                           details={"fields": {"target_case_no": [problem]}})
    taken = _complete(cmd, uow, carrier, work_item_id)
    uow.conn.execute(insert(case_events), event(target.id, uow.clock.now(), "duplicate_merged",
                                                actor_id=cmd.principal.user_id, case_no=duplicate_no,
                                                duplicate_case_id=cmd.case_id))
    return taken



@dataclass(frozen=True)
class OfferedAction:
    """A case action the principal can take now: the command's name, the open work item carrying it,
    and the choices its form makes for that action (to fill in on the item's form)."""

    action: str
    work_item_id: int
    task: str
    choices: dict


_offered_items = (select(work_items.c.id, work_items.c.task_spec, work_items.c.form_key, work_items.c.role,
                         work_items.c.agency_id, work_items.c.assignee_id)
                  .where(work_items.c.case_id == bindparam("b_case"), work_items.c.status == literal_column("'open'"))
                  .order_by(work_items.c.id))


@dataclass(frozen=True)
class OfferActions:
    """Which case actions may the principal take on the case now?"""

    principal: Principal
    case_id: int


def actions_offered(cmd: OfferActions, uow) -> tuple:
    """The case actions (CARRIERS) the principal can take on the case now: those whose carrying task is
    open and is the principal's to complete. Reads only; raises NotFound for a case the principal may not see."""
    principal, case_id = cmd.principal, cmd.case_id
    if _visible_case(uow, principal, cases.c.id == case_id) is None:
        raise NotFound(f"case {case_id} does not exist")
    items = [row for row in uow.conn.execute(_offered_items, {"b_case": case_id}) if may_complete(principal, row)]
    offered = []
    for command, carriers in CARRIERS.items():
        for carrier in carriers:
            item = next((row for row in items if (row.task_spec, row.form_key) == (carrier.task, carrier.form_key)), None)
            if item is not None:
                choices = {name: f.value for name, f in carrier.form.items() if f.attr is None}
                offered.append(OfferedAction(command.__name__, item.id, carrier.task, choices))
                break
    return tuple(offered)

"""Checks a bundle must pass before it is deployed, beyond what SpiffWorkflow's parser checks.

SpiffWorkflow accepts a diagram whose script does not compile, whose condition is not Python,
whose form or engine action does not exist: each fails only when a case reaches that task,
weeks later, in front of a caseworker. Deployment refuses them instead, naming the file, the
line and the element. A flow pointing at a missing element is named here too, before the
parser reports it as something else.

Checked at deployment only: a stored version keeps loading as it was deployed.
"""
from __future__ import annotations

import re

from lxml import etree

from engine.errors import InvalidDefinition, InvalidInput
from engine.scripting import ScriptError
from engine.scripting.environment import compile_script
from engine.workflow import forms

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
DMN_NAMESPACES = ("https://www.omg.org/spec/DMN/20191111/MODEL/", "http://www.omg.org/spec/DMN/20180521/MODEL/",
                  "http://www.omg.org/spec/DMN/20151101/dmn.xsd")

#: Diagram code by element: (namespace, local name) -> how SpiffWorkflow runs it.
_CODE = {
    (BPMN, "script"): "exec",                # a script task
    (SPIFF, "preScript"): "exec",
    (SPIFF, "postScript"): "exec",
    (BPMN, "condition"): "eval",             # a conditional event
    (BPMN, "timeDuration"): "eval",
    (BPMN, "timeDate"): "eval",
    (BPMN, "timeCycle"): "eval",
    (BPMN, "loopCardinality"): "eval",
    (BPMN, "completionCondition"): "eval",
}

_WHAT = {"exec": "script", "eval": "expression"}

#: Gateways whose outgoing flows' conditions SpiffWorkflow evaluates (never a default flow's).
_DECIDING = {f"{{{BPMN}}}exclusiveGateway", f"{{{BPMN}}}inclusiveGateway"}

#: SpiffWorkflow's own rewrite of a DMN entry's `?` (the input), outside quoted text only.
_DMN_INPUT = re.compile(r"""(\?)(?=(?:[^'"]|['"][^'"]*['"])*$)""")


def _element_of(node: etree._Element) -> etree._Element:
    """The nearest BPMN/DMN element with an id (the task, flow or event the code belongs to).

    Extension elements are skipped: a service task operator's id names the action, not an element.
    """
    for candidate in (node, *node.iterancestors()):
        if candidate.get("id") and etree.QName(candidate).namespace != SPIFF:
            return candidate
    return node


def _fault(name: str, node: etree._Element, message: str, line: int | None = None) -> InvalidDefinition:
    owner = _element_of(node)
    return InvalidDefinition(message, file=name, line=line or node.sourceline, element_id=owner.get("id"))


def _script_line(node: etree._Element, message: str) -> int | None:
    """The file line of a compile error: the element's line plus the script's 'Line N'."""
    marker = message.find("Line ")
    if node.sourceline is None or marker < 0:
        return node.sourceline
    digits = "".join(c for c in message[marker + 5:marker + 12].split(":")[0] if c.isdigit())
    return node.sourceline + int(digits) - 1 if digits else node.sourceline


def _compile(name: str, node: etree._Element, source: str, mode: str, shown: str | None = None) -> None:
    try:
        compile_script(source, mode)
    except ScriptError as exc:
        message = str(exc)
        first_line = ((shown or source).strip().splitlines() or [""])[0][:80]
        raise _fault(name, node, f"{_WHAT[mode]} {first_line!r}: {message}",
                     _script_line(node, message)) from None


def check_references(name: str, root: etree._Element) -> None:
    """Every flow's source and target, every boundary event's host and default flow exist."""
    ids = {el.get("id") for el in root.iter() if el.get("id")}
    for flow in root.iter(f"{{{BPMN}}}sequenceFlow"):
        for attribute in ("sourceRef", "targetRef"):
            ref = flow.get(attribute)
            if ref not in ids:
                raise _fault(name, flow, f"sequence flow {flow.get('id')!r} has {attribute} {ref!r}, "
                             "which is not an element of this file")
    for event in root.iter(f"{{{BPMN}}}boundaryEvent"):
        if event.get("attachedToRef") not in ids:
            raise _fault(name, event, f"boundary event is attached to {event.get('attachedToRef')!r}, "
                         "which is not an element of this file")
    for el in root.iter():
        default = el.get("default")
        if default and isinstance(el.tag, str) and el.tag.startswith(f"{{{BPMN}}}") and default not in ids:
            raise _fault(name, el, f"default flow {default!r} is not a sequence flow of this file")


def check_code(name: str, root: etree._Element) -> None:
    """Every script and expression compiles under the script policy (RestrictedPython)."""
    for node in root.iter():
        if not isinstance(node.tag, str):
            continue
        qname = etree.QName(node)
        mode = _CODE.get((qname.namespace, qname.localname))
        if mode and node.text and node.text.strip():
            _compile(name, node, node.text, mode)
        elif (qname.namespace, qname.localname) == (SPIFF, "parameter"):
            # A service task's parameter value is an expression over the task data.
            if not (node.get("value") or "").strip():
                raise _fault(name, node, f"service task parameter {node.get('id')!r} has no value")
            _compile(name, node, node.get("value"), "eval")
    _check_conditions(name, root)


def _check_conditions(name: str, root: etree._Element) -> None:
    """The conditions SpiffWorkflow evaluates: on the flows out of an exclusive or inclusive
    gateway, other than its default flow (a condition anywhere else is never read)."""
    nodes = {el.get("id"): el for el in root.iter() if el.get("id")}
    for flow in root.iter(f"{{{BPMN}}}sequenceFlow"):
        condition = flow.find(f"{{{BPMN}}}conditionExpression")
        source = nodes.get(flow.get("sourceRef"))
        if condition is None or source is None or source.tag not in _DECIDING \
                or source.get("default") == flow.get("id"):
            continue
        if condition.text is None:
            continue  # no condition: SpiffWorkflow takes the flow as always true
        if not condition.text.strip():
            raise _fault(name, condition, "the condition is empty; remove it or write one")
        _compile(name, condition, condition.text, "eval")


def check_actions(name: str, root: etree._Element, known: set[str]) -> None:
    """Every service task calls an engine action that exists."""
    for operator in root.iter(f"{{{SPIFF}}}serviceTaskOperator"):
        if operator.get("id") not in known:
            raise _fault(name, operator, f"service task calls {operator.get('id')!r}, which is not an engine "
                         f"action (known: {', '.join(sorted(known))})")


def check_forms(name: str, root: etree._Element, forms_dir=None) -> None:
    """Every form a user task names exists in the forms folder and is a valid JSON Schema."""
    for prop in root.iter(f"{{{SPIFF}}}property"):
        if prop.get("name") != "formJsonSchemaFilename" or not prop.get("value"):
            continue  # an empty form key: the task has no form
        try:
            forms.load_form(prop.get("value"), forms_dir)
        except (InvalidInput, InvalidDefinition) as exc:
            raise _fault(name, prop, f"{exc.message} (forms are read from {forms_dir or forms.FORMS_DIR})") from None


def check_decisions(name: str, root: etree._Element) -> None:
    """Every DMN input expression, input entry and output entry compiles as SpiffWorkflow will run it."""
    for ns in DMN_NAMESPACES:
        for expression in root.iter(f"{{{ns}}}inputExpression"):
            for text in expression.iter(f"{{{ns}}}text"):
                if text.text and text.text.strip():
                    _compile(name, text, text.text, "eval")
        for entry in root.iter(f"{{{ns}}}outputEntry"):
            for text in entry.iter(f"{{{ns}}}text"):
                if text.text and text.text.strip():
                    _compile(name, text, text.text, "eval")
        for entry in root.iter(f"{{{ns}}}inputEntry"):
            for text in entry.iter(f"{{{ns}}}text"):
                _check_input_entry(name, text)


def _check_input_entry(name: str, node: etree._Element) -> None:
    """An input entry is '-' (any), a value compared with ==, a comparison ('< 5') or uses '?'."""
    text = (node.text or "").strip()
    if not text or text == "-":
        return
    rewritten = _DMN_INPUT.sub("dmninputexpr", text)
    if rewritten != text:
        _compile(name, node, rewritten, "eval", shown=text)
        return
    try:
        compile_script(text, "eval")
    except ScriptError:
        _compile(name, node, f"v {text}", "eval", shown=text)  # a comparison with the input on its left

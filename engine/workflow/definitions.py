"""Parse and validate BPMN/DMN bundles; split them into content-hashed process versions."""
from __future__ import annotations

import codecs
import difflib
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Collection

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import SubWorkflowTask
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.spiff.parser.task_spec import BusinessRuleTaskParser

from engine.errors import InvalidDefinition
from engine.workflow import definition_checks

#: File suffixes that make up a deployable bundle.
BUNDLE_SUFFIXES = (".bpmn", ".dmn")

#: Largest diagram accepted: a real one is tens of kilobytes.
MAX_FILE_BYTES = 2_000_000

_BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"


def _xml_parser() -> etree.XMLParser:
    # No entities, no DTD, no network: a diagram is data from a designer, not trusted input.
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                           dtd_validation=False, huge_tree=False, remove_blank_text=False)


@dataclass(frozen=True)
class ProcessBundle:
    """One executable process and the files it needs, with their content hash."""

    process_key: str
    name: str
    sources: dict[str, str]

    @property
    def content_hash(self) -> str:
        return content_hash(self.sources)


def content_hash(sources: dict[str, str]) -> str:
    """A SHA-256 over file names and contents, independent of their order."""
    digest = hashlib.sha256()
    for name in sorted(sources):
        digest.update(json.dumps([name, sources[name]], ensure_ascii=False).encode())
    return digest.hexdigest()


def read_bundle(directory: Path) -> dict[str, str]:
    """Read every BPMN and DMN file under a folder, keyed by path relative to it.

    Raises InvalidDefinition naming a file that is not XML text in an encoding it declares.
    """
    files = {}
    for path in sorted(directory.rglob("*")):
        if path.suffix in BUNDLE_SUFFIXES and path.is_file():
            name = path.relative_to(directory).as_posix()
            files[name] = decode_xml(name, path.read_bytes())
    return files


#: How a file starts when its encoding shows in its first bytes (XML 1.0 appendix F), by Python codec.
_ENCODING_MARKS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8"),
                   (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
                   (b"<\x00?\x00", "utf-16-le"), (b"\x00<\x00?", "utf-16-be"))

#: Declared encodings read with a wider Python codec: Big5 files are written by Windows as cp950.
_CODECS = {"big5": "cp950"}

_DECLARED_ENCODING = re.compile(r"""^(<\?xml\b[^>]*?\bencoding\s*=\s*)(["'])[^"']*\2""")


def decode_xml(name: str, data: bytes) -> str:
    """The text of an XML file, decoded as its byte-order mark or XML declaration says (Big5,
    UTF-16...); one not in UTF-8 comes back declaring UTF-8, as it is stored and parsed.

    Raises InvalidDefinition naming the file if it is not well-formed XML in that encoding.
    """
    # The parser reads the declaration and the byte-order mark, and refuses bytes that are not
    # text in that encoding.
    root = _parse_bytes(name, data)
    declared = root.getroottree().docinfo.encoding or "UTF-8"
    codec = next((c for mark, c in _ENCODING_MARKS if data.startswith(mark)), None)
    codec = codec or _CODECS.get(declared.lower(), declared)
    try:
        text = data.decode(codec)
    except (LookupError, UnicodeDecodeError) as exc:
        raise InvalidDefinition(f"cannot be read as {declared}, the encoding it declares: {exc}",
                                file=name) from None
    if text.encode("utf-8") == data:
        return text  # UTF-8 (or ASCII) already: kept byte for byte, so its content hash stays
    text = _DECLARED_ENCODING.sub(r"\1\2UTF-8\2", text.lstrip("\ufeff"), count=1)
    parse_xml(name, text)  # what is stored must parse as it did
    return text


def parse_xml(name: str, text: str) -> etree._Element:
    """Parse one file safely; raises InvalidDefinition naming the file and line."""
    root = _parse_bytes(name, text.encode("utf-8"))
    if root.getroottree().docinfo.doctype:
        raise InvalidDefinition("DOCTYPE declarations are not accepted", file=name, line=1)
    return root


def _parse_bytes(name: str, data: bytes) -> etree._Element:
    """The root of a file's XML; raises InvalidDefinition naming the file (and line) if it is too
    large or not well-formed."""
    if len(data) > MAX_FILE_BYTES:
        raise InvalidDefinition(f"file is larger than {MAX_FILE_BYTES} bytes", file=name)
    try:
        return etree.fromstring(data, parser=_xml_parser())
    except etree.XMLSyntaxError as exc:
        raise InvalidDefinition(f"not well-formed XML: {exc.msg}", file=name, line=exc.lineno) from None


def _line_of(root: etree._Element, element_id: str | None) -> int | None:
    if not element_id:
        return None
    found = root.xpath("//*[@id=$id]", id=element_id)
    return found[0].sourceline if found else None


def _invalid(exc: Exception, roots: dict[str, etree._Element], current: str | None = None) -> InvalidDefinition:
    """Turn a SpiffWorkflow error into one that names file, line and element id."""
    file = getattr(exc, "file_name", None) or current
    element_id = getattr(exc, "id", None) or getattr(exc, "task_spec_name", None) or None
    line = getattr(exc, "line_number", None) or None
    if file and file in roots and not line:
        line = _line_of(roots[file], element_id)
    if not file and element_id:
        for name, root in roots.items():
            line = _line_of(root, element_id)
            if line:
                file = name
                break
    message = str(getattr(exc, "error", None) or exc).split("\n")[0]
    line = line if isinstance(line, int) else None
    if getattr(exc, "tag", None) and message.startswith(_UNSUPPORTED):
        message = _unsupported(exc.tag)
    elif message.startswith("Element '") and roots.get(file) is not None and line:
        message = _schema_fault(message, roots[file], line)
    return InvalidDefinition(message, file=file, line=line, element_id=element_id)


# --- what the schema and the parser say, said shortly ----------------------------------------

#: SpiffWorkflow's words for an element it has no parser for (bpmn:complexGateway, say).
_UNSUPPORTED = "There is no support implemented for this task type"

#: The flow elements petiflow runs: those SpiffWorkflow's Spiff parser has a parser for.
FLOW_ELEMENTS = tuple(sorted({tag.rpartition("}")[2] for tag in
                              {**SpiffBpmnParser.PARSER_CLASSES, **SpiffBpmnParser.OVERRIDE_PARSER_CLASSES}}))

#: Kinds of flow element written by the suffix they share: {user,script}Task.
_KINDS = ("Task", "Event", "Gateway")


def _flow_elements() -> str:
    """The flow elements petiflow runs, briefly: {user,manual,...}Task, task, {start,...}Event, ..."""
    parts = []
    for kind in _KINDS:
        names = [n[:-len(kind)] for n in FLOW_ELEMENTS if n.endswith(kind) and n != kind.lower()]
        parts.append("{" + ",".join(names) + "}" + kind)
    parts += [n for n in FLOW_ELEMENTS if not n.endswith(_KINDS)]
    return ", ".join(parts)


#: The prefixes diagrams use for the namespaces of BPMN, its diagram interchange and SpiffWorkflow.
_PREFIXES = {_BPMN_NS: "bpmn", "http://www.omg.org/spec/BPMN/20100524/DI": "bpmndi",
             "http://www.omg.org/spec/DD/20100524/DC": "dc", "http://www.omg.org/spec/DD/20100524/DI": "di",
             "http://spiffworkflow.org/bpmn/schema/1.0/core": "spiffworkflow"}

#: What libxml2 says of an element the schema does not allow where it stands.
_NOT_EXPECTED = re.compile(r"Element '([^']+)': This element is not expected\. Expected is (?:one of )?\( (.*?) \)")

#: Elements of a process (or subprocess) body besides its flow nodes, the likely ones first.
_PROCESS_PARTS = ("sequenceFlow", "laneSet", "dataObject", "dataObjectReference", "textAnnotation",
                  "association", "documentation", "extensionElements")

#: Names listed at most in "allowed here".
_MAX_LISTED = 8


def _prefixed(name: str) -> str:
    """`{namespace}local` as `prefix:local` for the namespaces of a diagram."""
    namespace, _, local = name[1:].partition("}") if name.startswith("{") else ("", "", name)
    prefix = _PREFIXES.get(namespace)
    return f"{prefix}:{local}" if prefix else name


def _listed(names) -> str:
    names = list(names)
    more = f" and {len(names) - _MAX_LISTED} more" if len(names) > _MAX_LISTED else ""
    return ", ".join(names[:_MAX_LISTED]) + more


def _unsupported(tag: str) -> str:
    """What to say of a BPMN element SpiffWorkflow cannot run, with what it can run of the same kind."""
    local = tag.rpartition(":")[2]
    kind = next((k for k in _KINDS if local.endswith(k)), None)
    like = [n for n in FLOW_ELEMENTS if kind and n.endswith(kind)] or FLOW_ELEMENTS
    return f"{tag} is not supported; use " + ", ".join(f"bpmn:{n}" for n in like)


def _schema_fault(message: str, root: etree._Element, line: int) -> str:
    """The schema validator's message for an element it does not expect, cut down to the element
    and what may stand there (its own list, of hundreds of characters, names every namespace)."""
    found = _NOT_EXPECTED.match(message)
    if not found:
        return re.sub(r"\{[^}]*\}[\w.-]+", lambda m: _prefixed(m.group(0)), message).rstrip(". ")
    tag, expected = found.groups()
    element = next((e for e in root.iter(tag) if e.sourceline == line), None)
    parent = element.getparent() if element is not None else None
    if parent is not None and parent.tag in {f"{{{_BPMN_NS}}}{n}" for n in
                                             ("process", "subProcess", "transaction", "adHocSubProcess")}:
        # libxml2 lists what may follow the element before it, without the flow elements.
        where = f"{_prefixed(tag)} is not allowed in a bpmn:{parent.tag.rpartition('}')[2]}"
        close = difflib.get_close_matches(tag.rpartition("}")[2], FLOW_ELEMENTS + _PROCESS_PARTS, n=1, cutoff=0.75)
        if close:
            return f"{where}; did you mean bpmn:{close[0]}?"
        return f"{where}; allowed: {_flow_elements()}, {', '.join(_PROCESS_PARTS[:2])}, ..."
    return f"{_prefixed(tag)} is not allowed here; allowed: {_listed(map(_prefixed, expected.split(', ')))}"


#: Task properties petiflow reads, with the values each may take (spiffworkflow:property).
CHOICE_PROPERTIES = {
    "escalate": ("true", "false"),   # false: the work keeps the case's due time, without reminders or rungs
    "deadline": ("case", "none"),    # none: the work has no due time at all (chasing, surveys, tracking)
}


SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"


def _check_properties(name: str, root: etree._Element) -> None:
    """Refuse a task property petiflow reads whose value it does not know, naming the task.

    Checked when a bundle is deployed, not when a stored version is loaded: a version that
    is running keeps running as it was deployed.
    """
    people = {el.get("id") for tag in ("userTask", "manualTask") for el in root.iter(f"{{{_BPMN_NS}}}{tag}")}
    for prop in root.iter(f"{{{SPIFF_NS}}}property"):
        problem = _property_problem(prop.get("name"), prop.get("value"), people)
        if problem is not None:
            task = next((a for a in prop.iterancestors() if a.get("id") and a.tag.endswith("Task")), None)
            raise InvalidDefinition(problem, file=name, line=prop.sourceline,
                                    element_id=task.get("id") if task is not None else None)


#: The value of the task property assignTo: the person who last completed a task of the case.
PERFORMER_PREFIX = "performer:"

#: Task properties naming a variable of the task's data (engine.workflow.runner.ReadyTask).
VARIABLE_PROPERTIES = ("agencyVariable", "assigneeVariable")


def _property_problem(name: str | None, value: str | None, people: set) -> str | None:
    """What is wrong with a property petiflow reads, or None; `people` holds the file's user and manual task ids."""
    allowed = CHOICE_PROPERTIES.get(name)
    if allowed is not None and value not in allowed:
        return f"property {name!r} is {value!r}; it may be {' or '.join(map(repr, allowed))}"
    if name in VARIABLE_PROPERTIES and not (value and value.isidentifier() and not value.startswith("_")):
        return f"property {name!r} is {value!r}; it must name a variable (letters, digits, _; not starting with _)"
    if name == "assignTo":
        task = (value or "").removeprefix(PERFORMER_PREFIX)
        if not (value or "").startswith(PERFORMER_PREFIX) or task not in people:
            return (f"property 'assignTo' is {value!r}; it must be '{PERFORMER_PREFIX}<id>' naming a user or "
                    f"manual task of this file ({', '.join(sorted(people)) or 'none here'})")
    return None


def parse_files(sources: dict[str, str]) -> dict[str, etree._Element]:
    """Every file of a bundle parsed safely as XML; raises InvalidDefinition naming file and line."""
    return {name: parse_xml(name, text) for name, text in sources.items()}


def build_parser(sources: dict[str, str], roots: dict[str, etree._Element] | None = None) -> SpiffBpmnParser:
    """A fresh validating parser loaded with every file; raises InvalidDefinition."""
    parser = SpiffBpmnParser(validator=VALIDATOR)
    roots = roots if roots is not None else parse_files(sources)
    current = None  # the file being added, for errors that do not say which
    try:
        for current, root in roots.items():
            if current.endswith(".dmn"):
                parser.add_dmn_xml(root, filename=current)
            else:
                parser.add_bpmn_xml(root, filename=current)
        current = None
        parser.find_all_specs()
        for process_id in parser.get_process_ids():
            parser.get_subprocess_specs(process_id)
    except (ValidationException, SpiffWorkflowException) as exc:
        raise _invalid(exc, roots, current) from None
    except (KeyError, AttributeError, TypeError, ValueError) as exc:
        # SpiffWorkflow raises bare errors for some malformed diagrams (a missing decision,
        # an unknown reference); name what we can rather than fail with a 500.
        raise InvalidDefinition(f"cannot be parsed: {type(exc).__name__}: {exc}", file=current) from None
    parser._petiflow_roots = roots
    return parser


def _decision_files(parser: SpiffBpmnParser, process_id: str) -> set[str]:
    node = parser.get_process_parser(process_id).node
    files = set()
    for brt in node.xpath(".//bpmn:businessRuleTask", namespaces={"bpmn": _BPMN_NS}):
        ref = BusinessRuleTaskParser.get_decision_ref(brt)
        dmn = parser.dmn_parsers.get(ref)
        if dmn is None:
            raise InvalidDefinition(f"decision {ref!r} is not defined in any DMN file",
                                    file=parser.get_process_parser(process_id).filename,
                                    line=brt.sourceline, element_id=brt.get("id"))
        files.add(dmn.filename)
    return files


def split_bundle(sources: dict[str, str], *, forms_dir: Path | None = None,
                 actions: Collection[str] | None = None) -> list[ProcessBundle]:
    """Parse and validate a bundle for deployment; return one ProcessBundle per executable process.

    Beyond SpiffWorkflow's parser and validator, every script and expression must compile under
    the script policy, every form must exist and, when `actions` names the engine actions there
    are, every service task must call one of them (engine/workflow/definition_checks.py).
    """
    roots = parse_files(sources)
    for name, root in roots.items():
        if name.endswith(".bpmn"):
            definition_checks.check_references(name, root)
    parser = build_parser(sources, roots)
    for name, root in roots.items():
        if name.endswith(".dmn"):
            definition_checks.check_decisions(name, root)
            continue
        _check_properties(name, root)
        definition_checks.check_code(name, root)
        if actions is not None:
            definition_checks.check_actions(name, root, set(actions))
        definition_checks.check_forms(name, root, forms_dir)
    bundles = []
    for process_id in sorted(parser.get_process_ids()):
        related = [process_id, *parser.get_subprocess_specs(process_id)]
        files = set()
        for pid in related:
            files.add(parser.get_process_parser(pid).filename)
            files |= _decision_files(parser, pid)
        name = parser.get_process_parser(process_id).get_name()
        bundles.append(ProcessBundle(process_id, name, {f: sources[f] for f in sorted(files)}))
    return bundles


def parse_process(process_key: str, sources: dict[str, str]):
    """Parse a stored bundle into (spec, subprocess_specs) for one process."""
    parser = build_parser(sources)
    try:
        return parser.get_spec(process_key), parser.get_subprocess_specs(process_key)
    except ValidationException as exc:
        raise _invalid(exc, parser._petiflow_roots) from None


def lanes_of(spec, subprocess_specs) -> set[str]:
    """Every lane name used by manual tasks of a process and its called processes."""
    lanes = set()
    for s in (spec, *subprocess_specs.values()):
        for task_spec in s.task_specs.values():
            if getattr(task_spec, "lane", None) and not isinstance(task_spec, SubWorkflowTask):
                lanes.add(task_spec.lane)
    return lanes

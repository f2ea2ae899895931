"""The deployed process versions and how many cases each still runs."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from itertools import groupby

from sqlalchemy import func, literal_column, select

from engine.accounts.roles import ADMIN_ROLE, ROLES
from engine.errors import Forbidden, NotFound
from engine.store.schema import process_definitions, workflow_instances
from engine.workflow.definitions import CHOICE_PROPERTIES, FLOW_ELEMENTS, MAX_FILE_BYTES, parse_xml
from engine.workflow.forms import FORMS_DIR

# Written as the partial index ix_workflow_instances_running writes it, so that it is used.
RUNNING = workflow_instances.c.status.not_in([literal_column("'completed'"), literal_column("'cancelled'")])


@dataclass(frozen=True)
class ProcessVersion:
    """One deployed version of a process and its cases not yet completed or cancelled."""

    definition_id: int
    version: int
    name: str | None
    deployed_at: datetime
    deployed_by: str | None
    running_cases: int


@dataclass(frozen=True)
class DeployedProcess:
    """A process key and its versions, the newest first."""

    process_key: str
    versions: tuple

    @property
    def running_cases(self) -> int:
        return sum(v.running_cases for v in self.versions)


def deployed_processes(uow) -> tuple[DeployedProcess, ...]:
    """Every deployed process by key, each version with its running cases (waiting or failed included)."""
    # Counted per version (a handful) from the partial index of running instances, rather than
    # by joining and grouping every running instance.
    running = (select(func.count()).select_from(workflow_instances)
               .where(workflow_instances.c.definition_id == process_definitions.c.id, RUNNING)
               .scalar_subquery())
    rows = uow.conn.execute(
        select(process_definitions.c.process_key, process_definitions.c.id, process_definitions.c.version,
               process_definitions.c.name, process_definitions.c.deployed_at, process_definitions.c.deployed_by,
               running.label("running"))
        .order_by(process_definitions.c.process_key, process_definitions.c.version.desc()))
    return tuple(DeployedProcess(key, tuple(ProcessVersion(*row[1:]) for row in group))
                 for key, group in groupby(rows, key=lambda row: row.process_key))


# --- the process designer's read side ---------------------------------------------------------

#: The role that edits, validates and deploys diagrams (administrators may too).
DESIGNER_ROLE = "process_designer"

_BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
_DMN_NAMESPACES = ("https://www.omg.org/spec/DMN/20191111/MODEL/", "http://www.omg.org/spec/DMN/20180521/MODEL/",
                   "http://www.omg.org/spec/DMN/20151101/dmn.xsd")


def may_design(principal) -> bool:
    """Whether the principal edits, validates and deploys diagrams."""
    return principal is not None and (principal.is_admin or any(role == DESIGNER_ROLE for role, _ in principal.roles))


def require_designer(principal) -> None:
    """Raise Forbidden unless the principal is a process designer or an administrator."""
    if not may_design(principal):
        raise Forbidden("diagrams are read, changed and deployed by process designers and administrators")


@dataclass(frozen=True)
class ProcessSource:
    """One deployed version of a process with its files: the diagram that defines it (`main_file`)
    and the files it needs (decision tables, called processes)."""

    process_key: str
    version: int
    definition_id: int
    name: str | None
    deployed_at: datetime
    deployed_by: str | None
    running_cases: int
    latest_version: int
    main_file: str
    sources: dict

    @property
    def is_latest(self) -> bool:
        return self.version == self.latest_version

    @property
    def diagram(self) -> str:
        """The XML of the diagram that defines the process."""
        return self.sources[self.main_file]


def defining_file(process_key: str, sources: dict) -> str | None:
    """The BPMN file of a bundle that defines the process (None when none does)."""
    for name in sorted(sources):
        if name.endswith(".bpmn"):
            root = parse_xml(name, sources[name])
            if root.xpath("//bpmn:process[@id=$key]", key=process_key, namespaces={"bpmn": _BPMN_NS}):
                return name
    return None


def process_source(uow, principal, process_key: str, version: int | None = None) -> ProcessSource:
    """A version of a process (None: the latest) with its files, for a designer.

    Raises Forbidden for anyone else, NotFound for a process or version never deployed.
    """
    require_designer(principal)
    pd = process_definitions
    latest = uow.conn.execute(select(func.max(pd.c.version)).where(pd.c.process_key == process_key)).scalar()
    if latest is None:
        raise NotFound(f"no process {process_key!r} is deployed")
    wanted = latest if version is None else version
    running = (select(func.count()).select_from(workflow_instances)
               .where(workflow_instances.c.definition_id == pd.c.id, RUNNING).scalar_subquery())
    row = uow.conn.execute(
        select(pd.c.id, pd.c.version, pd.c.name, pd.c.deployed_at, pd.c.deployed_by, running.label("running"),
               pd.c.sources)
        .where(pd.c.process_key == process_key, pd.c.version == wanted)).one_or_none()
    if row is None:
        raise NotFound(f"process {process_key!r} has no version {wanted} (the latest is {latest})")
    main = defining_file(process_key, row.sources)
    if main is None:  # never so for a deployed version: deployment keyed it by this process
        raise NotFound(f"version {wanted} of {process_key!r} holds no diagram defining it")
    return ProcessSource(process_key, row.version, row.id, row.name, row.deployed_at, row.deployed_by, row.running,
                         latest, main, dict(row.sources))


@dataclass(frozen=True)
class DecisionVersion:
    """One content of a decision table file, numbered in the order it was first deployed, with the
    process versions that carry it and their running cases."""

    number: int
    used_by: tuple  # ((process_key, version), ...)
    running_cases: int


@dataclass(frozen=True)
class DecisionTable:
    """A DMN file of the deployed processes: its decisions (id, name) as last deployed, and its versions."""

    file: str
    decisions: tuple
    versions: tuple  # DecisionVersion, the newest first


@dataclass(frozen=True)
class DesignerOverview:
    processes: tuple  # DeployedProcess
    decision_tables: tuple  # DecisionTable


def designer_overview(uow, principal) -> DesignerOverview:
    """Every deployed process and decision table with their versions and the cases running on each, for a designer."""
    require_designer(principal)
    processes = deployed_processes(uow)
    running = {v.definition_id: v.running_cases for p in processes for v in p.versions}
    contents = _decision_contents(uow)
    tables = []
    for name in sorted(contents):
        versions = [DecisionVersion(n, tuple((k, v) for k, v, _ in users), sum(running.get(i, 0) for _, _, i in users))
                    for n, users in enumerate(contents[name].values(), start=1)]
        newest = list(contents[name])[-1]
        tables.append(DecisionTable(name, _decisions(name, newest), tuple(reversed(versions))))
    return DesignerOverview(processes, tuple(tables))


def _decision_contents(uow, file: str | None = None) -> dict:
    """file -> {text: [(process key, version, definition id)]}: each DMN file's contents in the order
    they were first deployed, with the process versions that carry each (one file when `file` is given)."""
    pd = process_definitions
    rows = uow.conn.execute(select(pd.c.id, pd.c.process_key, pd.c.version, pd.c.sources)
                            .order_by(pd.c.deployed_at, pd.c.id))
    contents: dict = {}
    for row in rows:
        for name, text in row.sources.items():
            if name.endswith(".dmn") and (file is None or name == file):
                contents.setdefault(name, {}).setdefault(text, []).append((row.process_key, row.version, row.id))
    return contents


@dataclass(frozen=True)
class DecisionTableSource:
    """One version of a decision table file for the designer: its XML, the process versions that
    carry it, and the processes whose latest version carries the file (a new version of the table
    deploys a new version of each of them)."""

    file: str
    number: int
    latest_number: int
    text: str
    decisions: tuple  # ((id, name), ...)
    used_by: tuple  # ((process_key, version), ...)
    running_cases: int
    carried_by: tuple  # process keys whose latest version carries the file

    @property
    def is_latest(self) -> bool:
        return self.number == self.latest_number


def decision_table_source(uow, principal, file: str, number: int | None = None) -> DecisionTableSource:
    """A version of a deployed decision table file (None: the newest), for a designer.

    Raises Forbidden for anyone else, NotFound for a file or version never deployed.
    """
    require_designer(principal)
    contents = _decision_contents(uow, file).get(file)
    if not contents:
        raise NotFound(f"no decision table file {file!r} is deployed")
    texts = list(contents)
    latest = len(texts)
    wanted = latest if number is None else number
    if not 0 < wanted <= latest:
        raise NotFound(f"decision table {file!r} has no version {wanted} (the latest is {latest})")
    text = texts[wanted - 1]
    users = contents[text]
    ids = [definition_id for _, _, definition_id in users]
    running = uow.conn.execute(select(func.count()).select_from(workflow_instances)
                               .where(workflow_instances.c.definition_id.in_(ids), RUNNING)).scalar()
    pd = process_definitions
    newest = (select(pd.c.process_key, func.max(pd.c.version).label("version"))
              .group_by(pd.c.process_key).subquery())
    carried = sorted({row.process_key for row in uow.conn.execute(
        select(pd.c.process_key, pd.c.sources)
        .join(newest, (newest.c.process_key == pd.c.process_key) & (newest.c.version == pd.c.version)))
        if file in row.sources})
    return DecisionTableSource(file, wanted, latest, text, _decisions(file, text),
                               tuple((key, version) for key, version, _ in users), running, tuple(carried))


def _decisions(name: str, text: str) -> tuple:
    root = parse_xml(name, text)
    return tuple((el.get("id"), el.get("name") or el.get("id"))
                 for ns in _DMN_NAMESPACES for el in root.iter(f"{{{ns}}}decision"))


#: The largest diagram the designer sends (engine.workflow.definitions.MAX_FILE_BYTES).
MAX_DIAGRAM_CHARS = MAX_FILE_BYTES


@dataclass(frozen=True)
class DesignerVocabulary:
    """What a diagram may name here, for the modeler's choices and lint rules: the forms user tasks
    may show, the engine actions service tasks may call (with what each does), the flow elements
    SpiffWorkflow runs, the values of the task properties petiflow reads, and the roles lanes name."""

    forms: tuple
    actions: tuple  # ((name, first line of its description), ...)
    flow_elements: tuple
    choices: dict
    roles: tuple


def designer_vocabulary(uow, principal) -> DesignerVocabulary:
    """The names a diagram deployed here may use, for a designer."""
    require_designer(principal)
    forms_dir = uow.forms_dir or FORMS_DIR
    actions = tuple((name, (fn.__doc__ or "").strip().split("\n")[0])
                    for name, fn in sorted((uow.actions or {}).items()))
    return DesignerVocabulary(tuple(sorted(p.name for p in forms_dir.glob("*.json"))), actions, FLOW_ELEMENTS,
                              {k: list(v) for k, v in CHOICE_PROPERTIES.items()},
                              tuple(role for role in ROLES if role != ADMIN_ROLE))

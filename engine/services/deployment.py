"""Deploy BPMN/DMN bundles as immutable, content-hashed process versions."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from engine.errors import Conflict, InvalidDefinition, InvalidInput
from engine.queries.processes import decision_table_source, process_source
from engine.store.schema import process_definitions
from engine.workflow.definitions import parse_xml, read_bundle, split_bundle

_BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"

__all__ = ["DecisionTableChecked", "DeployBundle", "DesignedDecisionTable", "DesignedDiagram", "DiagramChecked",
           "ProcessDeployed", "check_decision_table", "check_diagram", "deploy_bundle", "deploy_decision_table",
           "deploy_diagram", "read_bundle"]  # read_bundle: a folder's files


@dataclass(frozen=True)
class DeployBundle:
    """Deploy every executable process in a set of files ({name: XML text}).

    The forms its user tasks name are checked in `forms_dir`, the bundle's own forms folder
    (None: the runtime's, forms/ in the workflows folder).
    """

    sources: dict[str, str]
    deployed_by: str = "system"
    forms_dir: Path | None = None


@dataclass(frozen=True)
class ProcessDeployed:
    """One process of a deployment: its version, and whether this call created it."""

    process_key: str
    version: int
    definition_id: int
    created: bool


def deploy_bundle(cmd: DeployBundle, uow) -> list[ProcessDeployed]:
    """Store a new version of each process whose files changed; keep every old version.

    Raises InvalidDefinition (naming file, line and element) before anything is written.
    """
    bundles = split_bundle(cmd.sources, forms_dir=cmd.forms_dir or uow.forms_dir, actions=uow.actions)
    now = uow.clock.now()
    results = []
    for bundle in bundles:
        latest = uow.conn.execute(
            select(process_definitions.c.id, process_definitions.c.version,
                   process_definitions.c.content_hash)
            .where(process_definitions.c.process_key == bundle.process_key)
            .order_by(process_definitions.c.version.desc()).limit(1)
        ).one_or_none()
        if latest is not None and latest.content_hash == bundle.content_hash:
            results.append(ProcessDeployed(bundle.process_key, latest.version, latest.id, False))
            continue
        version = (latest.version if latest else 0) + 1
        try:
            definition_id = uow.conn.execute(
                insert(process_definitions).returning(process_definitions.c.id),
                {"process_key": bundle.process_key, "version": version, "name": bundle.name,
                 "content_hash": bundle.content_hash, "sources": bundle.sources,
                 "deployed_at": now, "deployed_by": cmd.deployed_by},
            ).scalar_one()
        except IntegrityError:
            # Another deployment took this version number between our read and our insert.
            raise Conflict(f"{bundle.process_key} version {version} was deployed by someone else "
                           "meanwhile; nothing was changed, deploy again") from None
        results.append(ProcessDeployed(bundle.process_key, version, definition_id, True))
    if any(r.created for r in results):
        uow.after_commit(uow.specs.forget_latest)
    return results


# --- a diagram edited in the designer -------------------------------------------------------

@dataclass(frozen=True)
class DesignedDiagram:
    """A process's diagram as a designer changed it, from the version they opened (`base_version`).

    The other files of that version (its decision tables, called processes) go with it unchanged.
    """

    principal: object
    process_key: str
    base_version: int
    xml: str


@dataclass(frozen=True)
class DiagramChecked:
    """What deploying the diagram would do: the processes of its bundle and whether each would get a new version."""

    process_key: str
    base_version: int
    latest_version: int
    file: str
    processes: tuple  # ((process_key, would be a new version), ...)


def _designed_bundle(cmd: DesignedDiagram, uow):
    """The bundle the edited diagram makes, checked as deployment checks it; raises InvalidDefinition
    naming the element, InvalidInput for a request that is not a diagram."""
    source = process_source(uow, cmd.principal, cmd.process_key, cmd.base_version)
    if not isinstance(cmd.xml, str) or not cmd.xml.strip():
        raise InvalidInput("the diagram's XML is missing", details={"fields": {"xml": ["required"]}})
    sources = {**source.sources, source.main_file: cmd.xml}
    bundles = split_bundle(sources, forms_dir=uow.forms_dir, actions=uow.actions)
    keys = {b.process_key for b in bundles}
    if cmd.process_key not in keys:
        raise InvalidDefinition(f"the diagram no longer defines the executable process {cmd.process_key!r}; "
                                "keep its id and isExecutable=\"true\"", file=source.main_file)
    added = sorted(keys - _executable_processes(source.sources))
    if added:
        raise InvalidDefinition(f"the diagram adds the process {added[0]!r}; a diagram changed here deploys the "
                                "processes it already had", file=source.main_file, element_id=added[0])
    return source, sources, bundles


def _executable_processes(sources: dict[str, str]) -> set[str]:
    """The ids of the executable processes the files of a deployed version define."""
    return {el.get("id") for name, text in sources.items() if name.endswith(".bpmn")
            for el in parse_xml(name, text).iter(f"{{{_BPMN}}}process") if el.get("isExecutable") == "true"}


def check_diagram(cmd: DesignedDiagram, uow) -> DiagramChecked:
    """Run deployment's checks on an edited diagram without deploying it.

    Raises Forbidden for anyone but a designer, NotFound for an unknown process or version,
    InvalidDefinition (with the file, line and element id) for what deployment would refuse.
    """
    source, _sources, bundles = _designed_bundle(cmd, uow)
    latest = {row.process_key: row.content_hash for row in uow.conn.execute(
        select(process_definitions.c.process_key, process_definitions.c.content_hash)
        .where(process_definitions.c.process_key.in_([b.process_key for b in bundles]))
        .order_by(process_definitions.c.version))}
    return DiagramChecked(cmd.process_key, source.version, source.latest_version, source.main_file,
                          tuple((b.process_key, latest.get(b.process_key) != b.content_hash) for b in bundles))


def deploy_diagram(cmd: DesignedDiagram, uow) -> list[ProcessDeployed]:
    """Deploy an edited diagram as the next version of its process, deployed by the designer.

    Cases running on earlier versions stay on them. Refused (Conflict) when a newer version was
    deployed since the designer opened theirs, so no one's change is silently lost.
    """
    source, sources, _bundles = _designed_bundle(cmd, uow)
    if not source.is_latest:
        raise Conflict(f"version {source.latest_version} of {cmd.process_key!r} was deployed after version "
                       f"{source.version}, which you changed; open the latest version and make your change there")
    return deploy_bundle(DeployBundle(sources, deployed_by=cmd.principal.username), uow)


# --- a decision table edited in the designer ------------------------------------------------

_DMN_13 = "https://www.omg.org/spec/DMN/20191111/MODEL/"
_DMN_ROOTS = {f"{{{ns}}}definitions" for ns in (_DMN_13, "http://www.omg.org/spec/DMN/20180521/MODEL/",
                                                 "http://www.omg.org/spec/DMN/20151101/dmn.xsd")}


@dataclass(frozen=True)
class DesignedDecisionTable:
    """A decision table file as a designer changed it, from the version they opened (`base_number`).

    It is deployed with each process whose latest version carries the file: a new version of each.
    """

    principal: object
    file: str
    base_number: int
    xml: str


@dataclass(frozen=True)
class DecisionTableChecked:
    """What deploying the table would do: per process carrying it, whether it would get a new version."""

    file: str
    base_number: int
    latest_number: int
    processes: tuple  # ((process_key, would be a new version), ...)


def _designed_tables(cmd: DesignedDecisionTable, uow):
    """The bundles of the processes carrying the file, with the edited table in place of theirs, each
    checked as deployment checks it (InvalidDefinition names the file and element at fault)."""
    source = decision_table_source(uow, cmd.principal, cmd.file, cmd.base_number)
    if not isinstance(cmd.xml, str) or not cmd.xml.strip():
        raise InvalidInput("the decision table's XML is missing", details={"fields": {"xml": ["required"]}})
    root = parse_xml(cmd.file, cmd.xml)
    if root.tag not in _DMN_ROOTS:
        raise InvalidDefinition("the file is not a DMN decision table: its root must be a DMN <definitions>",
                                file=cmd.file)
    pd = process_definitions
    bundles = []
    for key in source.carried_by:
        latest = uow.conn.execute(select(pd.c.sources).where(pd.c.process_key == key)
                                  .order_by(pd.c.version.desc()).limit(1)).scalar_one()
        sources = {**latest, cmd.file: cmd.xml}
        bundles.append((sources, split_bundle(sources, forms_dir=uow.forms_dir, actions=uow.actions)))
    return source, bundles


def check_decision_table(cmd: DesignedDecisionTable, uow) -> DecisionTableChecked:
    """Run deployment's checks on an edited decision table, with every process that carries it,
    without deploying. Raises Forbidden for anyone but a designer, NotFound for an unknown file or
    version, InvalidDefinition (file, line, element) for what deployment would refuse."""
    source, bundles = _designed_tables(cmd, uow)
    keys = sorted({b.process_key for _, split in bundles for b in split})
    latest = {row.process_key: row.content_hash for row in uow.conn.execute(
        select(process_definitions.c.process_key, process_definitions.c.content_hash)
        .where(process_definitions.c.process_key.in_(keys)).order_by(process_definitions.c.version))}
    changed = {b.process_key: latest.get(b.process_key) != b.content_hash for _, split in bundles for b in split}
    return DecisionTableChecked(cmd.file, source.number, source.latest_number, tuple(sorted(changed.items())))


def deploy_decision_table(cmd: DesignedDecisionTable, uow) -> list[ProcessDeployed]:
    """Deploy an edited decision table: the next version of each process whose latest version
    carries it, deployed by the designer. Cases running on earlier versions keep the table they
    started with. Refused (Conflict) when the table was changed since the designer opened it."""
    source, bundles = _designed_tables(cmd, uow)
    if not source.is_latest:
        raise Conflict(f"version {source.latest_number} of {cmd.file!r} was deployed after version "
                       f"{source.number}, which you changed; open the latest version and make your change there")
    results: dict = {}
    for sources, _split in bundles:
        for result in deploy_bundle(DeployBundle(sources, deployed_by=cmd.principal.username), uow):
            results.setdefault(result.process_key, result)
    return [results[key] for key in sorted(results)]

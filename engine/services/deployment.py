"""Deploy BPMN/DMN bundles as immutable, content-hashed process versions."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from engine.errors import Conflict
from engine.store.schema import process_definitions
from engine.workflow.definitions import read_bundle, split_bundle

__all__ = ["DeployBundle", "ProcessDeployed", "deploy_bundle", "read_bundle"]  # read_bundle: a folder's files


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

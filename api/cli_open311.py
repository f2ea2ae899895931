"""The `petiflow open311-keys` commands: issue, list and revoke the keys of citizens' apps."""
from __future__ import annotations

import click

from engine.errors import PetiflowError


@click.group("open311-keys")
def open311_keys() -> None:
    """Open311 API keys of citizens' apps (the key is shown once, when issued)."""


def _runtime():
    from api.cli import _migrated_runtime, _settings
    return _migrated_runtime(_settings())


@open311_keys.command("issue")
@click.argument("name")
def issue(name: str) -> None:
    """Issue a key to the app NAME and print it (only its hash is kept)."""
    from engine.services.open311 import IssueOpen311Key, issue_open311_key
    runtime = _runtime()
    try:
        with runtime.uow() as uow:
            issued = issue_open311_key(IssueOpen311Key(name), uow)
            uow.commit()
    except PetiflowError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"key {issued.id} issued to {issued.name}: {issued.key}")


@open311_keys.command("list")
def list_keys() -> None:
    """Every key issued: id, name, first characters, issued, revoked, last used."""
    from engine.queries.open311 import open311_keys_issued
    runtime = _runtime()
    with runtime.uow(read_only=True) as uow:
        found = open311_keys_issued(uow)
    for key in found:
        state = f"revoked {key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "active"
        used = f"{key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "never"
        click.echo(f"{key.id}\t{key.name}\t{key.prefix}…\tissued {key.created_at:%Y-%m-%d %H:%M}\t{state}\t"
                   f"last used {used}")


@open311_keys.command("revoke")
@click.argument("key_id", type=click.IntRange(min=1))
def revoke(key_id: int) -> None:
    """Revoke key KEY_ID at once."""
    from engine.services.open311 import RevokeOpen311Key, revoke_open311_key
    runtime = _runtime()
    try:
        with runtime.uow() as uow:
            changed = revoke_open311_key(RevokeOpen311Key(key_id), uow)
            uow.commit()
    except PetiflowError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"key {key_id} revoked" if changed else f"key {key_id} was revoked before")

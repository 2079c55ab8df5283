"""``safe-release db …``: the SDK's own tables and their schema revision."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from safe_release._store import safe_url
from safe_release.cli._output import CliError, echo, emit_json, fields, json_option

if TYPE_CHECKING:
    import safe_release as sr
    from safe_release.cli._app import Settings

__all__ = ["db"]


@click.group()
def db() -> None:
    """The SDK's own tables: show and upgrade their schema revision."""


@db.command()
@json_option
@click.pass_obj
def upgrade(settings: Settings, *, as_json: bool) -> None:
    """Create or upgrade the SDK's tables to this version's head revision."""
    with settings.unchecked_store() as store:
        before = store.current_revision()
        after = store.upgrade()
        where = safe_url(store.engine)
    if as_json:
        emit_json({"url": where, "schema": settings.schema, "before": before, "current": after})
    elif before == after:
        echo(f"already up to date at revision {after} ({where})")
    else:
        echo(f"upgraded {where} from revision {before or 'none'} to {after}")


@db.command()
@json_option
@click.option("--check", is_flag=True, help="Exit with code 1 unless the tables are up to date.")
@click.pass_obj
def current(settings: Settings, *, as_json: bool, check: bool) -> None:
    """Show the database's revision, the head revision, and whether they match."""
    with settings.unchecked_store() as store:
        status = _status(store)
    if as_json:
        emit_json(status)
    else:
        keys = ("url", "schema", "current", "head")
        echo(fields([(key, str(status[key] or "-")) for key in keys]))
        click.echo("up to date" if status["up_to_date"] else _ADVICE)
    if check and not status["up_to_date"]:
        raise CliError(_ADVICE)


_ADVICE = "not up to date: run 'safe-release db upgrade'"


def _status(store: sr.Store) -> dict[str, object]:
    current, head = store.current_revision(), store.head_revision()
    return {
        "url": safe_url(store.engine),
        "schema": store.schema,
        "current": current,
        "head": head,
        "up_to_date": current == head,
    }

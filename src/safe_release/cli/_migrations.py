"""``safe-release migrations check|lint|plan``: an ERP's Alembic project, before it deploys.

Exit codes: 0 nothing wrong, 1 findings (or a failure), 2 a usage error (such as a
missing alembic.ini).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO, TYPE_CHECKING

import click

from safe_release._store import ENV_URL
from safe_release.cli._output import echo, emit_json, json_option, visible
from safe_release.cli._terminal import working
from safe_release.migrations import check as run_check
from safe_release.migrations import lint as run_lint
from safe_release.migrations import plan as run_plan
from safe_release.migrations import upgrade as run_upgrade

if TYPE_CHECKING:
    from safe_release.cli._app import Settings

__all__ = ["migrations"]

_CONFIG = click.option(
    "-c",
    "--config",
    "ini",
    default="alembic.ini",
    show_default=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The Alembic project's alembic.ini.",
)
_LINT_CONFIG = click.option(
    "-c",
    "--config",
    "ini",
    default="alembic.ini",
    show_default=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The Alembic project's alembic.ini (when no PATHS are given).",
)
_SCRATCH = click.option(
    "--scratch-url",
    metavar="URL",
    help="Where to build scratch databases: sqlite:///new-file.db, or a PostgreSQL server "
    "URL (a database is created there and dropped). Default: a temporary SQLite file.",
)


def _ini(path: Path) -> Path:
    """The ini path (click has checked that it exists: a missing one is a usage error)."""
    return path


def _store_configured(settings: Settings) -> bool:
    """Whether a store was named (--url or $SAFE_RELEASE_URL): else none is opened."""
    return bool(settings.url or os.environ.get(ENV_URL))


def _finish(ok: bool, text: str, data: dict[str, object], *, as_json: bool) -> None:
    if as_json:
        emit_json(data)
    else:
        echo(text)
    if not ok:
        raise click.exceptions.Exit(1)


@click.group()
def migrations() -> None:
    """Check, lint and plan an ERP's Alembic migrations for safe rollback."""


@migrations.command()
@_CONFIG
@_SCRATCH
@click.option(
    "--rows",
    default=50,
    show_default=True,
    type=click.IntRange(1, 100_000),
    help="Rows seeded into each table when it appears.",
)
@click.option(
    "--record",
    is_flag=True,
    help="Record the revisions that pass as verified in the store (what "
    "alembic_checkpoint requires before downgrading across them).",
)
@json_option
@click.pass_obj
def check(
    settings: Settings,
    ini: Path,
    scratch_url: str | None,
    rows: int,
    *,
    record: bool,
    as_json: bool,
) -> None:
    """Walk every revision up, down and up again on a scratch database.

    Fails (exit 1) on the first revision whose downgrade does not give back the
    schema, or loses data, naming the table, column and revision.
    """
    with working("walking every revision up, down and up on a scratch database…", as_json=as_json):
        if record:
            with settings.store(write=True) as store:
                report = run_check(_ini(ini), url=scratch_url, rows_per_table=rows, store=store)
        else:
            report = run_check(_ini(ini), url=scratch_url, rows_per_table=rows)
    _finish(report.ok, report.format_text(), report.as_dict(), as_json=as_json)


@migrations.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@_LINT_CONFIG
@click.option(
    "--sql",
    "sql_file",
    type=click.File("r"),
    help="Offline SQL to lint too ('alembic upgrade ... --sql' output; '-' = stdin).",
)
@click.option(
    "--dialect",
    type=click.Choice(["postgresql", "sqlite", "mysql", "mssql", "oracle"]),
    help="Apply that database's rules (default: from sqlalchemy.url).",
)
@json_option
def lint(
    paths: tuple[Path, ...],
    ini: Path,
    sql_file: IO[str] | None,
    dialect: str | None,
    *,
    as_json: bool,
) -> None:
    """Flag operations that break rollback or the running old code.

    Lints PATHS (revision files or directories), else the project of -c.
    Suppress a finding with '# safe-release: ignore[rule-id]' on its line.
    """
    sql = sql_file.read() if sql_file is not None else None
    if not paths and not ini.is_file():
        msg = f"no {ini}: give revision files or directories, or -c alembic.ini"
        raise click.UsageError(msg)
    target = [str(p) for p in paths] if paths else str(ini)
    report = run_lint(target, sql=sql, dialect=dialect)
    _finish(report.ok, report.format_text(), report.as_dict(), as_json=as_json)


@migrations.command()
@_CONFIG
@click.option(
    "--db-url",
    metavar="URL",
    help="The database to deploy to (default: sqlalchemy.url of alembic.ini).",
)
@click.option(
    "--app",
    metavar="NAME",
    help="The application whose recorded versions give the rollback floor.",
)
@_SCRATCH
@json_option
@click.pass_obj
def plan(
    settings: Settings,
    ini: Path,
    db_url: str | None,
    app: str | None,
    scratch_url: str | None,
    *,
    as_json: bool,
) -> None:
    """One report for the pending revisions: SQL both ways, lint, losses, rollback floor.

    Uses the store (--url) for verified revisions and the floor when one is
    configured or --app is given.
    """
    with working("planning the pending revisions…", as_json=as_json):
        if app is not None or _store_configured(settings):
            with settings.store(write=False) as store:
                report = run_plan(
                    _ini(ini), url=db_url, store=store, app=app, scratch_url=scratch_url
                )
        else:
            report = run_plan(_ini(ini), url=db_url, scratch_url=scratch_url)
    _finish(report.ok, report.format_text(), report.as_dict(), as_json=as_json)


@migrations.command()
@click.argument("target", default="heads")
@_CONFIG
@click.option(
    "--db-url",
    metavar="URL",
    help="The database to upgrade (default: sqlalchemy.url of alembic.ini).",
)
@json_option
@click.pass_obj
def upgrade(
    settings: Settings, target: str, ini: Path, db_url: str | None, *, as_json: bool
) -> None:
    """'alembic upgrade TARGET' that refuses a contract revision while the old version is live.

    The pending revisions' phases are read first; a contract revision whose
    sr_retires version is not retired in the store (--url, or $SAFE_RELEASE_URL;
    without one, every contract revision) stops everything before any revision runs.
    """
    with working(f"upgrading to {visible(target)}…", as_json=as_json):
        if _store_configured(settings):
            with settings.store(write=False) as store:
                ran = run_upgrade(_ini(ini), target, store=store, url=db_url)
        else:  # without a store a contract revision is refused (retirement can't be proved)
            ran = run_upgrade(_ini(ini), target, store=None, url=db_url)
    text = f"upgraded through {', '.join(ran)}" if ran else "nothing to upgrade"
    _finish(True, text, {"target": target, "upgraded": list(ran)}, as_json=as_json)  # noqa: FBT003

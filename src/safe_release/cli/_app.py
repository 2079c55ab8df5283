"""The root ``safe-release`` group: global options, store access, error handling.

Exit codes: 0 success, 1 a refused operation or unreadable input (``error: …``
on stderr, no traceback), 2 a usage error or an input file refused by the input
rules of ``config publish`` (too large, too deep, ambiguous; one ``error:`` line).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import click
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError

import safe_release as sr
from safe_release._store import (
    DEFAULT_URL,
    ENV_URL,
    create_store_engine,
    resolve_url,
    store_error,
)
from safe_release.cli._config import config
from safe_release.cli._db import db
from safe_release.cli._demo import demo
from safe_release.cli._migrations import migrations
from safe_release.cli._output import CliError
from safe_release.cli._releases import recover, releases, report, rollback

__all__ = ["ENV_SCHEMA", "Settings", "cli"]

ENV_SCHEMA = "SAFE_RELEASE_SCHEMA"
_DETAIL_LIMIT = 200


@dataclass(frozen=True)
class Settings:
    """Where the store is, from ``--url`` / ``--schema`` (or their variables)."""

    url: str | None
    schema: str | None

    def store(self, *, write: bool = False) -> sr.Store:
        """Open the store; writes bring the SDK's tables up to date, reads never do."""
        return sr.connect(self.url, schema=self.schema, auto_upgrade=write)

    def unchecked_store(self) -> sr.Store:
        """Open the store without checking or upgrading its schema revision."""
        engine = create_store_engine(resolve_url(self.url))
        try:
            return sr.Store(engine, schema=self.schema, owns_engine=True)
        except sr.SafeReleaseError:
            engine.dispose()
            raise

    def redact(self, text: str) -> str:
        """``text`` with the URL's password (if any) masked."""
        try:
            password = make_url(resolve_url(self.url)).password
        except ArgumentError:
            return text
        return text.replace(str(password), "***") if password else text


class _Root(click.Group):
    """Turns the SDK's errors into ``error: …`` and exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except sr.SafeReleaseError as exc:
            raise CliError(str(exc)) from exc
        except SQLAlchemyError as exc:
            settings = ctx.find_object(Settings) or Settings(None, None)
            raise CliError(settings.redact(_database_error(exc))) from exc
        except ModuleNotFoundError as exc:
            missing = _missing_driver(exc)
            if missing is None:
                raise
            raise CliError(missing) from exc


def _database_error(exc: SQLAlchemyError) -> str:
    if isinstance(exc, DBAPIError):
        return str(store_error("a database operation", None, exc))
    lines = str(exc).strip().splitlines()
    detail = lines[0][:_DETAIL_LIMIT] if lines else ""
    return (
        f"database error ({type(exc).__name__}: {detail}); check that the database "
        "is reachable, the URL and credentials are right and the SDK's tables are "
        "up to date ('safe-release db current')"
    )


_POSTGRES_DRIVERS = frozenset({"psycopg", "psycopg2", "psycopg_binary", "psycopg_c"})


def _missing_driver(exc: ModuleNotFoundError) -> str | None:
    """The one-line advice for a database driver that is not installed, else None.

    SQLAlchemy imports a URL's driver when an engine is created (for ``--url``,
    ``--db-url``, ``--scratch-url`` or an alembic.ini's ``sqlalchemy.url``); the
    import fails inside its dialect modules, which is how a driver is told apart
    from any other missing module.
    """
    module = (exc.name or "").partition(".")[0]
    frame = exc.__traceback__
    while frame is not None and frame.tb_next is not None:
        frame = frame.tb_next
    where = frame.tb_frame.f_globals.get("__name__", "") if frame is not None else ""
    if module == "psycopg2":
        return (
            "the PostgreSQL driver psycopg2 is not installed; run: pip install psycopg2-binary, "
            "or pip install 'safe-release[postgres]' and use a postgresql+psycopg:// URL"
        )
    if module in _POSTGRES_DRIVERS:
        return (
            f"the PostgreSQL driver ({module}) is not installed; "
            "run: pip install 'safe-release[postgres]'"
        )
    if module and str(where).startswith("sqlalchemy.dialects"):
        return f"the database driver {module} is not installed; run: pip install {module}"
    return None


@click.group(cls=_Root, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--url",
    envvar=ENV_URL,
    metavar="URL",
    help=f"SQLAlchemy URL of the store [env {ENV_URL}; default {DEFAULT_URL}].",
)
@click.option(
    "--schema",
    envvar=ENV_SCHEMA,
    metavar="NAME",
    help=f"PostgreSQL schema holding the SDK's tables [env {ENV_SCHEMA}].",
)
@click.version_option(sr.__version__, "--version", prog_name="safe-release")
@click.pass_context
def cli(ctx: click.Context, url: str | None, schema: str | None) -> None:
    """Versioned config and safe rollbacks for seller ERP/OMS deploys.

    Read commands never change the database; write commands create or upgrade
    the SDK's tables when needed. Add --json to a command for machine output.
    """
    ctx.obj = Settings(url=url or None, schema=schema or None)


cli.add_command(config)
cli.add_command(db)
cli.add_command(demo)
cli.add_command(migrations)
cli.add_command(releases)
cli.add_command(rollback)
cli.add_command(recover)
cli.add_command(report)

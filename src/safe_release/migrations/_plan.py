"""``plan()``: one report per deploy for the revisions a database has not run yet.

For the pending revisions (those not at or below the database's current
heads): the upgrade and downgrade SQL Alembic would emit offline, the lint
findings, what a downgrade would lose (data a lossy operation removes without
an ``sr_op`` archive), whether ``check`` verified each revision file as it is
now, and, given a store and an application, the rollback floor: which
recorded application versions could still run on the schema after the
upgrade, found by upgrading a scratch database (never the target) to head.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import create_engine
from sqlalchemy.exc import DBAPIError

from safe_release._store import safe_url, store_error
from safe_release.exceptions import InvalidArgumentError
from safe_release.migrations._check import _scratch, copy_config, load_config, scripts

if TYPE_CHECKING:
    from os import PathLike

    from alembic.config import Config
    from alembic.script import Script, ScriptDirectory

    from safe_release._store import StoreCore
    from safe_release.migrations._lint_rules import LintReport
    from safe_release.migrations.compat import RollbackFloor

__all__ = ["DeployPlan", "PendingRevision", "plan", "upgrade"]

_LOSSY = {
    "ban-drop-column": "the dropped column's values",
    "ban-drop-table": "the dropped table's rows",
    "changing-column-type": "values the new type cannot hold exactly",
    "sr-enum-change": "rows holding a removed enum value",
    "renaming-column": "nothing, but the old code reads a column that is gone",
    "renaming-table": "nothing, but the old code reads a table that is gone",
}


@dataclass(frozen=True)
class PendingRevision:
    """A revision the database has not run: where it is, and what its downgrade loses."""

    revision: str
    path: str
    message: str
    verified: bool | None
    losses: tuple[str, ...]
    archived: bool

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "revision": self.revision,
            "path": self.path,
            "message": self.message,
            "verified": self.verified,
            "downgrade_loses": list(self.losses),
            "archived_by_sr_op": self.archived,
        }


@dataclass(frozen=True)
class DeployPlan:
    """The deploy report (see the module docstring)."""

    database: str
    current: tuple[str, ...]
    pending: tuple[PendingRevision, ...]
    upgrade_sql: str | None
    downgrade_sql: str | None
    notes: tuple[str, ...]
    lint: LintReport
    floor: RollbackFloor | None

    @property
    def ok(self) -> bool:
        """No lint error, nothing lost on downgrade, every revision verified, floor safe."""
        return (
            self.lint.ok
            and not any(p.losses for p in self.pending)
            and all(p.verified is not False for p in self.pending)
            and (self.floor is None or self.floor.floor is not None)
        )

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (``safe-release migrations plan --json``)."""
        return {
            "ok": self.ok,
            "database": self.database,
            "current": list(self.current),
            "pending": [p.as_dict() for p in self.pending],
            "upgrade_sql": self.upgrade_sql,
            "downgrade_sql": self.downgrade_sql,
            "lint": self.lint.as_dict(),
            "rollback_floor": self.floor.as_dict() if self.floor else None,
            "notes": list(self.notes),
        }

    def format_text(self) -> str:
        """The report for a terminal."""
        out = [
            (
                f"database {self.database} at {', '.join(self.current) or 'base'}; "
                f"{len(self.pending)} pending revision(s)"
            )
        ]
        for p in self.pending:
            verified = {True: "verified", False: "NOT verified", None: "verification unknown"}
            out.append(f"- {p.revision} ({p.path}): {p.message} [{verified[p.verified]}]")
            out += [f"    downgrade loses: {loss}" for loss in p.losses]
            if p.archived:
                out.append("    sr_op archives what it removes; its downgrade restores it")
        out += [
            "",
            "upgrade SQL:",
            self.upgrade_sql or "(not available)",
            "",
            "downgrade SQL:",
            self.downgrade_sql or "(not available)",
            "",
            "lint:",
            self.lint.format_text(),
            "",
            "rollback floor:",
            self.floor.format_text() if self.floor else "(give --app and a store)",
        ]
        out += [f"note: {n}" for n in self.notes]
        out.append("OK" if self.ok else "NOT OK: read the findings above before deploying")
        return "\n".join(out)


def plan(
    config: Config | str | PathLike[str],
    *,
    url: str | None = None,
    store: StoreCore | None = None,
    app: str | None = None,
    scratch_url: str | None = None,
) -> DeployPlan:
    """The deploy report for the database ``url`` (default: the config's sqlalchemy.url)."""
    from safe_release.migrations._lint import lint  # noqa: PLC0415

    config = load_config(config)
    url = url or config.get_main_option("sqlalchemy.url")
    if not url:
        msg = "plan() needs the database to deploy to: url= or sqlalchemy.url in alembic.ini"
        raise InvalidArgumentError(msg)
    script = scripts(config)
    current, dialect = _current(url)
    pending = _pending(script, current)
    notes: list[str] = []
    up, down = _offline_sql(copy_config(config, url=url), script, current, pending, notes)
    report = (
        lint(
            [s.path for s in pending], sql=up if dialect == "postgresql" else None, dialect=dialect
        )
        if pending
        else lint([], dialect=dialect)
    )
    verified = _verified(store, dialect)
    revisions = tuple(_describe(s, report, verified) for s in pending)
    floor = _floor(config, store, app, scratch_url, notes)
    return DeployPlan(
        safe_url(create_engine(url).url), current, revisions, up, down, tuple(notes), report, floor
    )


def _current(url: str) -> tuple[tuple[str, ...], str]:
    from alembic.runtime.migration import MigrationContext  # noqa: PLC0415

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            heads = MigrationContext.configure(conn).get_current_heads()
            return tuple(sorted(heads)), engine.dialect.name
    except DBAPIError as exc:
        raise store_error("reading the database's Alembic revision", engine, exc) from exc
    finally:
        engine.dispose()


def _pending(script: ScriptDirectory, current: tuple[str, ...]) -> list[Script]:
    applied = {s.revision for head in current for s in script.iterate_revisions(head, "base")}
    order = list(reversed(list(script.walk_revisions("base", "heads"))))
    return [s for s in order if s.revision not in applied]


def _offline_sql(
    config: Config,
    script: ScriptDirectory,
    current: tuple[str, ...],
    pending: list[Script],
    notes: list[str],
) -> tuple[str | None, str | None]:
    if not pending:
        return "", ""
    heads = script.get_heads()
    if len(current) > 1 or len(heads) > 1:
        notes.append("offline SQL needs one current revision and one head; merge branches first")
        return None, None
    lower = current[0] if current else "base"
    failed: list[str] = []
    up = _sql(config, "upgrade", f"{lower}:{heads[0]}", failed)
    down = _sql(config, "downgrade", f"{heads[0]}:{lower}", failed)
    if up is None:
        up = _per_revision(config, pending, "upgrade", notes)
    if down is None:
        down = _per_revision(config, list(reversed(pending)), "downgrade", notes)
    return up, down


def _per_revision(
    config: Config, pending: list[Script], command_name: str, notes: list[str]
) -> str | None:
    """Each revision's SQL on its own, so one that cannot run offline hides no other."""
    parts = []
    for script in pending:
        down = script.down_revision
        if isinstance(down, (tuple, list)):
            parts.append(f"-- {script.revision}: a merge revision, not rendered offline\n")
            continue
        span = (
            f"{down or 'base'}:{script.revision}"
            if command_name == "upgrade"
            else f"{script.revision}:{down or 'base'}"
        )
        failed: list[str] = []
        sql = _sql(config, command_name, span, failed)
        if sql is None:
            notes.append(f"{script.revision}: {failed[0]}")
            parts.append(
                f"-- {script.revision}: {command_name} SQL not available offline (see the notes)\n"
            )
        else:
            parts.append(sql)
    return "".join(parts) or None


def _sql(config: Config, command_name: str, span: str, notes: list[str]) -> str | None:
    from alembic import command  # noqa: PLC0415

    buffer = io.StringIO()
    try:
        getattr(command, command_name)(copy_config(config, output_buffer=buffer), span, sql=True)
    except Exception as exc:  # noqa: BLE001 - a revision that cannot run offline is a note
        notes.append(
            f"{command_name} SQL not available offline: {type(exc).__name__}: "
            f"{' '.join(str(exc).split())[:200]}"
        )
        return None
    return buffer.getvalue()


def _verified(store: StoreCore | None, dialect: str) -> dict[str, str] | None:
    if store is None:
        return None
    from safe_release.migrations import compat  # noqa: PLC0415

    return compat.verified_revisions(store, dialect)


def _describe(
    script: Script,
    report: LintReport,
    verified: dict[str, str] | None,
) -> PendingRevision:
    from safe_release.migrations import compat  # noqa: PLC0415

    path = Path(script.path)
    findings = [f for f in report.findings if Path(f.path).name == path.name]
    losses = tuple(
        f"{_LOSSY[f.rule]} ({f.rule}, line {f.line})" for f in findings if f.rule in _LOSSY
    )
    ok = (
        None
        if verified is None
        else (verified.get(script.revision) == compat.revision_file_sha256(path))
    )
    text = path.read_text(encoding="utf-8", errors="replace")
    return PendingRevision(
        script.revision,
        path.name,
        (script.doc or "").strip(),
        ok,
        losses,
        "safe_release.migrations" in text,
    )


def _floor(
    config: Config,
    store: StoreCore | None,
    app: str | None,
    scratch_url: str | None,
    notes: list[str],
) -> RollbackFloor | None:
    if store is None or app is None:
        return None
    from alembic import command  # noqa: PLC0415

    from safe_release.migrations import compat  # noqa: PLC0415
    from safe_release.migrations._check import _scratch_config  # noqa: PLC0415

    with _scratch(scratch_url) as engine, engine.begin() as conn:
        command.upgrade(_scratch_config(config, engine.url, conn), "heads")
        floor = compat.rollback_floor(store, app, conn)
    if floor.floor is None:
        notes.append(f"no recorded version of {app} is safe to roll back to after this upgrade")
    return floor


def upgrade(
    config: Config | str | PathLike[str],
    target: str = "heads",
    *,
    store: StoreCore | None,
    url: str | None = None,
) -> list[str]:
    """``alembic upgrade`` that refuses a contract revision whose old version is live.

    Every pending revision's declared phase is read first (``sr_phase``,
    ``sr_retires``); a contract revision whose application version is not
    retired in ``store`` raises `ContractBlockedError` before anything runs.
    The store is also handed to the revisions (``sr_op.contract``) as
    ``config.attributes["safe_release_store"]``. Returns the revisions run.
    """
    from alembic import command  # noqa: PLC0415

    from safe_release.migrations._phases import STORE_ATTRIBUTE, check_phases  # noqa: PLC0415

    config = copy_config(load_config(config), url=url)  # the user's Config is not changed
    database = config.get_main_option("sqlalchemy.url")
    if not database:
        msg = "upgrade() needs the database: url= or sqlalchemy.url in alembic.ini"
        raise InvalidArgumentError(msg)
    script = scripts(config)
    current, _ = _current(database)
    wanted = {s.revision for s in script.iterate_revisions(target, "base")}
    pending = [s.revision for s in _pending(script, current) if s.revision in wanted]
    check_phases(script, pending, store)
    config.attributes[STORE_ATTRIBUTE] = store
    command.upgrade(config, target)
    return pending

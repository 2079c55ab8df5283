"""``check()``: an Alembic project's every revision up, down and up again on a scratch database.

The scratch database is a new SQLite file (by default, in a temporary
directory) or a new database created on the PostgreSQL server ``url`` names
(and dropped afterwards); the database ``url`` points at is never migrated.
The user's ``env.py`` runs once, handed the scratch connection as
``config.attributes["connection"]`` with ``sqlalchemy.url`` pointing at the
scratch database too. Before the first step the connection ``env.py``
configured is proved to be the scratch database; an ``env.py`` that connects
anywhere else is refused (`MigrationEnvironmentError`) before anything runs.
"""

from __future__ import annotations

import configparser
import tempfile
import time
import uuid
from collections.abc import Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from safe_release._store import StoreCore, safe_url
from safe_release.exceptions import (
    InvalidArgumentError,
    IrreversibleMigrationError,
    MigrationEnvironmentError,
)
from safe_release.migrations._seed import Seeder
from safe_release.migrations._walk import CheckFinding, Walker

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from alembic.config import Config
    from sqlalchemy import Connection, Engine
    from sqlalchemy.engine import URL


__all__ = ["CheckReport", "assert_reversible", "check", "copy_config", "load_config", "scripts"]


@dataclass(frozen=True)
class CheckReport:
    """What `check` saw: findings per revision, in the order it walked them."""

    dialect: str
    revisions: tuple[str, ...]
    checked: tuple[str, ...]
    findings: tuple[CheckFinding, ...]
    seconds: float
    failed_step: str | None = None

    @property
    def ok(self) -> bool:
        """Every revision was walked and nothing of error severity was found."""
        return (
            self.failed_step is None
            and len(self.checked) == len(self.revisions)
            and not any(f.severity == "error" for f in self.findings)
        )

    @property
    def first_failure(self) -> CheckFinding | None:
        """The first error-severity finding (the walk's order), if any."""
        return next((f for f in self.findings if f.severity == "error"), None)

    @property
    def verified(self) -> tuple[str, ...]:
        """Revisions walked with no error-severity finding."""
        bad = {f.revision for f in self.findings if f.severity == "error"}
        return tuple(r for r in self.checked if r not in bad)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (``safe-release migrations check --json``)."""
        first = self.first_failure
        return {
            "ok": self.ok,
            "dialect": self.dialect,
            "revisions": list(self.revisions),
            "checked": list(self.checked),
            "verified": list(self.verified),
            "failed_step": self.failed_step,
            "seconds": round(self.seconds, 3),
            "first_failure": first.as_dict() if first else None,
            "findings": [f.as_dict() for f in self.findings],
        }

    def format_text(self) -> str:
        """A report for a terminal."""
        lines = [f"{f.revision}: {f.kind} [{f.severity}] {f.message}" for f in self.findings]
        if self.failed_step:
            lines.append(f"stopped: {self.failed_step}")
        verdict = "OK" if self.ok else "FAILED"
        lines.append(
            f"{verdict}: {len(self.checked)} of {len(self.revisions)} revisions "
            f"checked up/down/up on {self.dialect} in {self.seconds:.1f} s, "
            f"{sum(f.severity == 'error' for f in self.findings)} errors, "
            f"{sum(f.severity == 'warning' for f in self.findings)} warnings"
        )
        return "\n".join(lines)


def load_config(config: Config | str | PathLike[str]) -> Config:
    """An alembic ``Config`` from a Config or an ``alembic.ini`` path."""
    from alembic.config import Config  # noqa: PLC0415 - keep import time low

    if isinstance(config, Config):
        return config
    if isinstance(config, (str, PathLike)) and Path(config).is_file():
        return Config(str(config))
    msg = (
        f"expected an alembic Config or the path of an alembic.ini, got {config!r}; "
        "give the ERP's alembic.ini"
    )
    raise InvalidArgumentError(msg)


def scripts(config: Config) -> Any:
    """The project's ScriptDirectory; a config that is not an Alembic project is refused."""
    from alembic.script import ScriptDirectory  # noqa: PLC0415
    from alembic.util import CommandError  # noqa: PLC0415

    try:
        return ScriptDirectory.from_config(config)
    except (configparser.Error, CommandError, OSError) as exc:
        msg = (
            f"{config.config_file_name or 'the config'} is not a usable Alembic project: "
            f"{' '.join(str(exc).split())[:200]}"
        )
        raise InvalidArgumentError(msg) from None


def _check_rows(rows: object) -> None:
    if rows is None:
        return
    if not isinstance(rows, Mapping) or not all(
        isinstance(k, str) and callable(v) for k, v in rows.items()
    ):
        msg = (
            "rows= maps table names to functions of the row index returning column values, "
            "e.g. rows={'codes': lambda i: {'code': f'SKU-{i}'}}"
        )
        raise InvalidArgumentError(msg)


def copy_config(
    config: Config, *, url: str | URL | None = None, output_buffer: TextIO | None = None
) -> Config:
    """A copy of ``config`` (the user's is never modified), optionally aimed at ``url``."""
    from alembic.config import Config  # noqa: PLC0415

    copy = Config(
        config.config_file_name,
        ini_section=config.config_ini_section,
        cmd_opts=config.cmd_opts,
        output_buffer=output_buffer,
    )
    for key, value in (config.get_section(config.config_ini_section) or {}).items():
        copy.set_main_option(key, value.replace("%", "%%"))
    if url is not None:
        text = url if isinstance(url, str) else url.render_as_string(hide_password=False)
        copy.set_main_option("sqlalchemy.url", text.replace("%", "%%"))
    copy.attributes.update(config.attributes)
    return copy


def _scratch_config(config: Config, url: URL, conn: Connection) -> Config:
    """A copy of ``config`` aimed at the scratch database and handed its connection."""
    copy = copy_config(config, url=url)
    copy.attributes["connection"] = conn
    # A scratch replay is not a deploy: a contract revision's retirement gate
    # (sr_op.contract) guards production, not the check's throw-away database.
    copy.attributes["safe_release_skip_contract"] = True
    return copy


@contextmanager
def _scratch(url: str | None) -> Iterator[Engine]:
    """An engine on a new, empty database; removed afterwards."""
    with ExitStack() as stack:
        if url is None:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="sr-check-")))
            url = f"sqlite:///{folder / 'scratch.db'}"
        try:
            parsed = make_url(url)
        except ArgumentError as exc:
            msg = f"check(url=...) is not a database URL: {exc}"
            raise InvalidArgumentError(msg) from None
        if parsed.get_backend_name() == "sqlite":
            yield _sqlite(parsed, stack)
        elif parsed.get_backend_name() == "postgresql":
            yield _postgres(parsed, stack)
        else:
            msg = (
                f"check() runs on SQLite or PostgreSQL, not {parsed.get_backend_name()}; "
                "give sqlite:///scratch.db or a postgresql:// server URL"
            )
            raise InvalidArgumentError(msg)


def _sqlite(url: URL, stack: ExitStack) -> Engine:
    path = Path(url.database or "")
    if not url.database or url.database == ":memory:":
        msg = "check() needs an SQLite file (sqlite:///path), not an in-memory database"
        raise InvalidArgumentError(msg)
    if not path.resolve().parent.is_dir():
        msg = f"check(url=...): the folder for {path.name} does not exist; create it first"
        raise InvalidArgumentError(msg)
    if path.exists() and path.stat().st_size > 0:
        msg = (
            f"{path.name} already exists and is not empty; check() only migrates a scratch "
            "database: give a new file name (or none for a temporary one)"
        )
        raise InvalidArgumentError(msg)
    engine = create_engine(url)
    event.listen(engine, "connect", _scratch_pragmas)
    stack.callback(path.unlink, missing_ok=True)
    stack.callback(engine.dispose)
    return engine


def _scratch_pragmas(dbapi_connection: Any, _record: object) -> None:
    """A scratch file needs no durability: no fsync per migration step."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous = OFF")
    cursor.close()


def _postgres(url: URL, stack: ExitStack) -> Engine:
    name = f"sr_check_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    stack.callback(admin.dispose)
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except SQLAlchemyError as exc:
        msg = (
            f"could not create a scratch database on {safe_url(url)}: "
            f"{' '.join(str(getattr(exc, 'orig', exc)).split())[:200]}; the user needs "
            "CREATEDB (the check never migrates the database the URL names)"
        )
        raise MigrationEnvironmentError(msg) from None

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    stack.callback(drop)
    engine = create_engine(url.set(database=name))
    stack.callback(engine.dispose)
    return engine


def _target_check(engine: Engine, ours: Connection) -> Callable[[Connection], None]:
    """A check that the connection env.py configured is on the scratch database."""

    def where(conn: Connection) -> tuple[Any, ...]:
        if conn.dialect.name == "sqlite":
            rows = conn.exec_driver_sql("PRAGMA database_list").fetchall()
            return ("sqlite", *(str(Path(r[2]).resolve()) for r in rows if r[1] == "main"))
        return tuple(
            conn.execute(
                text("SELECT current_database(), inet_server_addr(), inet_server_port()")
            ).one()
        )

    def verify(conn: Connection) -> None:
        if conn is ours or where(conn) == where(ours):
            return
        msg = (
            f"env.py ran the migrations on {safe_url(conn.engine.url)}, not on the scratch "
            f"database {safe_url(engine.url)}; it must use "
            "config.attributes['connection'] when one is given (Alembic's recipe), or "
            "sqlalchemy.url. Nothing was migrated"
        )
        raise MigrationEnvironmentError(msg)

    return verify


def _guarded_environment(
    config: Config, script: Any, walker: Walker, verify: Callable[[Connection], None]
) -> Any:
    """An EnvironmentContext whose ``configure`` refuses any connection but the scratch one.

    Alembic's ``context`` proxy is keyed by class, so the guard is set on the
    instance (``from alembic import context`` hands env.py the instance's attributes).
    """
    from alembic.runtime.environment import EnvironmentContext  # noqa: PLC0415

    env = EnvironmentContext(config, script, fn=walker, destination_rev="heads")
    configure = env.configure

    def guarded(*args: Any, **kwargs: Any) -> None:
        configure(*args, **kwargs)
        conn = env.get_context().connection
        if conn is None:
            msg = (
                "env.py configured Alembic without a connection (offline mode or "
                "url= only); the check needs it to use config.attributes['connection']"
            )
            raise MigrationEnvironmentError(msg)
        verify(conn)

    env.configure = guarded  # type: ignore[method-assign]
    return env


def check(
    config: Config | str | PathLike[str],
    *,
    url: str | None = None,
    rows_per_table: int = 50,
    rows: Mapping[str, Callable[[int], Mapping[str, Any]]] | None = None,
    store: StoreCore | None = None,
) -> CheckReport:
    """Walk every revision of the project up, down and up again on a scratch database.

    ``url``: None for a temporary SQLite file, ``sqlite:///new.db`` for a
    given new file, or a ``postgresql://`` server URL on which a scratch
    database is created and dropped. ``rows_per_table`` rows are seeded into
    each table when it appears (generated from its reflected schema);
    ``rows={"table": fn}`` overrides values per row index. With ``store``, the
    revisions that passed are recorded as verified for the dialect (what
    `alembic_checkpoint` requires before downgrading across them).
    """
    if (
        isinstance(rows_per_table, bool)
        or not isinstance(rows_per_table, int)
        or not 1 <= rows_per_table <= 100_000  # noqa: PLR2004 - a row count, named in the message
    ):
        msg = f"rows_per_table must be an int from 1 to 100000, not {rows_per_table!r}"
        raise InvalidArgumentError(msg)
    _check_rows(rows)
    if store is not None and not isinstance(store, StoreCore):
        msg = f"store= must be a safe_release Store (sr.connect(...)), not {type(store).__name__}"
        raise InvalidArgumentError(msg)
    config = load_config(config)
    script = scripts(config)
    order = list(reversed(list(script.walk_revisions("base", "heads"))))
    with _scratch(url) as engine:
        report = _run(config, script, order, engine, Seeder(rows_per_table, dict(rows or {})))
    if store is not None and report.verified:
        _record(store, script, report)
    return report


def _run(
    config: Config, script: Any, order: list[Any], engine: Engine, seeder: Seeder
) -> CheckReport:
    started = time.perf_counter()
    failed = None
    refused: list[MigrationEnvironmentError] = []
    with engine.connect() as conn:
        target = _target_check(engine, conn)

        def verify(connection: Connection) -> None:
            try:
                target(connection)
            except MigrationEnvironmentError as exc:
                refused.append(exc)  # re-raised below even if env.py swallows it
                raise

        walker = Walker(script, order, seeder, _version_table(config), verify)
        scratch = _scratch_config(config, engine.url, conn)
        try:
            with _guarded_environment(scratch, script, walker, verify):
                script.run_env()
        except (MigrationEnvironmentError, InvalidArgumentError):
            raise
        except Exception as exc:  # noqa: BLE001 - any failure of a user's revision is a finding
            failed = _failure(walker, exc)
    if refused:
        raise refused[0]
    if failed is None and len(walker.checked) < len(order):
        failed = _incomplete(walker, len(order))
    return CheckReport(
        engine.dialect.name,
        tuple(s.revision for s in order),
        tuple(walker.checked),
        tuple(walker.findings),
        time.perf_counter() - started,
        failed,
    )


def _failure(walker: Walker, exc: Exception) -> str:
    rev, what = walker.step or ("(before the first revision)", "env.py")
    detail = " ".join(str(getattr(exc, "orig", None) or exc).split())[:400]
    message = f"{what} raised {type(exc).__name__}: {detail}"
    if isinstance(exc, IrreversibleMigrationError) and what == "downgrade":
        message += (
            " (the check wrote rows under the new schema first, as the new code "
            "would: the downgrade must cope with them, e.g. give the dropped column "
            "a server default)"
        )
    walker.findings.append(CheckFinding("error", rev, message))
    return f"{rev} {what}"


def _incomplete(walker: Walker, total: int) -> str:
    """env.py returned without running every revision and without an error reaching us."""
    if walker.step is None:
        message = (
            "env.py never ran the migrations (context.run_migrations() was not "
            "called); nothing was checked"
        )
        rev = "(before the first revision)"
    else:
        rev, what = walker.step
        message = (
            f"env.py returned during the {what} of {rev} without an error reaching the "
            "check (does it catch exceptions?); "
            f"{len(walker.checked)} of {total} revisions were checked"
        )
    walker.findings.append(CheckFinding("error", rev, message))
    return f"{rev} (incomplete)"


def _version_table(config: Config) -> str:
    return config.get_main_option("version_table") or "alembic_version"


def _record(store: StoreCore, script: Any, report: CheckReport) -> None:
    from safe_release.migrations import compat  # noqa: PLC0415 - optional part

    revisions = {
        rev: compat.revision_file_sha256(script.get_revision(rev).path) for rev in report.verified
    }
    compat.record_verified(store, revisions, report.dialect)


def assert_reversible(config: Config | str | PathLike[str], **kwargs: Any) -> CheckReport:
    """`check` for a test: raises AssertionError with the report unless it is OK."""
    report = check(config, **kwargs)
    if not report.ok:
        raise AssertionError(report.format_text())
    return report

"""Where the ops run: the migration's connection, the calling revision, the table's shape.

The helpers are called from a revision's ``upgrade()``/``downgrade()``; the
connection is Alembic's own (``op.get_bind()``), so the archive is written in
the migration's transaction. The revision id is the caller's module global
``revision`` unless given.
"""

from __future__ import annotations

import inspect
import weakref
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from alembic import op

from safe_release.exceptions import InvalidArgumentError, MigrationError
from safe_release.migrations import _archive

if TYPE_CHECKING:
    from collections.abc import Sequence

    from alembic.runtime.migration import MigrationContext

_PACKAGE = "safe_release.migrations"
# Revisions that have started archiving in a given migration run: the first op of a
# revision in a run clears entries left by an earlier upgrade that was never undone.
_started: weakref.WeakKeyDictionary[MigrationContext, set[str]] = weakref.WeakKeyDictionary()


def context() -> MigrationContext:
    """The running Alembic migration context, or a MigrationError saying where to call."""
    try:
        return op.get_context()
    except (NameError, AttributeError) as exc:
        msg = (
            "safe_release.migrations.ops functions run inside an Alembic revision's "
            "upgrade() or downgrade() (they use alembic.op.get_bind()); call them there"
        )
        raise MigrationError(msg) from exc


def offline() -> bool:
    """Whether Alembic is writing SQL (``--sql``) instead of running it."""
    return bool(context().as_sql)


def bind() -> sa.Connection:
    """The migration's own connection."""
    conn = context().bind
    if not isinstance(conn, sa.Connection):
        msg = "the Alembic context has no connection; run the migration online (without --sql)"
        raise MigrationError(msg)
    return conn


def caller_globals() -> dict[str, Any]:
    """The globals of the first caller outside this package (the revision module)."""
    frame = inspect.currentframe()
    while frame is not None and str(frame.f_globals.get("__name__", "")).startswith(_PACKAGE):
        frame = frame.f_back
    found = frame.f_globals if frame is not None else {}
    del frame
    return found


def caller_revision(revision: str | None) -> str:
    """``revision`` or the ``revision`` global of the first caller outside this package."""
    if revision is not None:
        if not isinstance(revision, str) or not revision:
            raise InvalidArgumentError("revision must be a non-empty string (a revision id)")
        return revision
    found = caller_globals().get("revision")
    if isinstance(found, str) and found:
        return found
    msg = (
        "cannot tell which revision is running: call safe_release.migrations.ops from a "
        'revision module that defines `revision = "..."`, or pass revision="<id>"'
    )
    raise MigrationError(msg)


def start(revision: str | None) -> tuple[sa.Connection, str]:
    """Connection and revision for an upgrade-side op; archive created, stale entries gone."""
    rev = caller_revision(revision)
    conn = bind()
    _archive.ensure(conn)
    seen = _started.setdefault(context(), set())
    if rev not in seen:
        _archive.forget(conn, rev)
        seen.add(rev)
    return conn, rev


def where(table: str, schema: str | None) -> str:
    """``schema.table`` or ``table`` for messages."""
    return f"{schema}.{table}" if schema else table


def columns(
    conn: sa.Connection, table: str, schema: str | None, revision: str | None = None
) -> dict[str, Any]:
    """The reflected columns of ``table`` by name; MigrationError if there is no such table."""
    insp = sa.inspect(conn)
    if not insp.has_table(table, schema=schema):
        msg = (
            f"table {where(table, schema)!r} does not exist; check the name (and schema=) "
            "against the schema this revision upgrades from"
        )
        raise MigrationError(msg, revision=revision)
    return {c["name"]: c for c in insp.get_columns(table, schema=schema)}


def column(cols: dict[str, Any], table: str, name: str, revision: str | None) -> Any:
    """The reflected column ``name``; MigrationError naming the columns there are."""
    if name not in cols:
        msg = (
            f"table {table!r} has no column {name!r} (it has {', '.join(cols)}); "
            "check the name against the schema this revision upgrades from"
        )
        raise MigrationError(msg, revision=revision)
    return cols[name]


def key_columns(
    conn: sa.Connection,
    table: str,
    schema: str | None,
    key: Sequence[str] | None,
    revision: str | None,
) -> list[str]:
    """The columns rows are restored by: ``key`` or the primary key."""
    cols = columns(conn, table, schema, revision)
    if key is not None:
        names = [key] if isinstance(key, str) else list(key)
        for name in names:
            column(cols, table, name, revision)
        if names:
            return names
    pk = sa.inspect(conn).get_pk_constraint(table, schema=schema)["constrained_columns"]
    if not pk:
        msg = (
            f"table {where(table, schema)!r} has no primary key, so archived rows could "
            "not be matched back on downgrade; pass key=(...) naming columns that are "
            "unique and not null"
        )
        raise MigrationError(msg, revision=revision)
    return list(pk)


def data_table(conn: sa.Connection, table: str, schema: str | None) -> sa.TableClause:
    """A table to read and write values through.

    PostgreSQL: the reflected table (values come back as Decimal, datetime, dict, ...).
    SQLite: untyped columns, so values are the exact stored ones (no date or
    number conversion that could change how they are stored).
    """
    if conn.dialect.name == "sqlite":
        names = list(columns(conn, table, schema))
        return sa.table(table, *(sa.column(n) for n in names), schema=schema)
    return sa.Table(table, sa.MetaData(), autoload_with=conn, schema=schema)


def key_match(tbl: sa.TableClause, key: Sequence[str]) -> sa.ColumnElement[bool]:
    """``k1 = :k_k1 AND ...`` for executemany by key."""
    return sa.and_(*(tbl.c[k] == sa.bindparam(f"k_{k}") for k in key))

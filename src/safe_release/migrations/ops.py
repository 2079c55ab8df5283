"""Lossless operations for Alembic revision files.

Use them in your own revisions instead of the lossy ``alembic.op`` calls::

    from safe_release.migrations import ops as sr_op

    def upgrade():
        sr_op.drop_column("orders", "legacy_note")

    def downgrade():
        sr_op.undo()

Each upgrade-side helper records what it is about to lose (primary key and the
affected values, the definitions it removes) in ``sr_migration_archive`` through
the migration's own connection, then does the change (``op.batch_alter_table``,
so SQLite tables are recreated with their indexes and foreign keys).
:func:`undo` reverses everything the revision recorded, newest first, and
raises :class:`~safe_release.exceptions.IrreversibleMigrationError` if the
archive is missing. Every helper takes ``revision=``; when omitted it is the
calling module's ``revision`` global.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from alembic import op

from safe_release.exceptions import InvalidArgumentError, MigrationError
from safe_release.migrations import _archive, _oplog, _ops_data, _ops_enum, _ops_undo
from safe_release.migrations._ops_schema import DDLType, column_info, pg_enums, table_info
from safe_release.migrations._phases import contract

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "add_column",
    "alter_column_type",
    "backfill",
    "contract",
    "create_table",
    "drop_column",
    "drop_table",
    "insert_rows",
    "remove_enum_value",
    "rename_column",
    "rename_table",
    "set_not_null",
    "undo",
]


def _related(conn: sa.Connection, table: str, schema: str | None, name: str) -> dict[str, Any]:
    info = table_info(conn, table, schema, None)
    return {
        "indexes": [i for i in info["indexes"] if name in i["columns"]],
        "uniques": [u for u in info["uniques"] if name in u["columns"]],
        "fks": [f for f in info["fks"] if name in f["columns"]],
    }


def drop_column(
    table: str,
    column: str,
    *,
    schema: str | None = None,
    key: Sequence[str] | None = None,
    revision: str | None = None,
) -> None:
    """Archive every row's key and ``column`` value and the column's definition, then drop it.

    ``key`` names unique, not-null columns to match rows by when the table has no
    primary key.
    """
    if _oplog.offline():
        op.drop_column(table, column, schema=schema)
        return
    conn, rev = _oplog.start(revision)
    cols = _oplog.columns(conn, table, schema, rev)
    info = column_info(conn, _oplog.column(cols, table, column, rev), rev)
    keys = _oplog.key_columns(conn, table, schema, key, rev)
    if column in keys:
        msg = (
            f"cannot archive {column!r} by itself: it is part of the key of {table!r}; "
            "pass key=(...) naming other unique columns"
        )
        raise InvalidArgumentError(msg)
    related = _related(conn, table, schema, column)
    unnamed = [u["columns"] for u in related["uniques"] if not u["name"]]
    if unnamed:
        msg = (
            f"{table}.{column} is in an unnamed UNIQUE constraint {unnamed[0]}: the downgrade "
            "could not re-create it as it was. Name it first (a naming_convention on your "
            "MetaData, or a revision that re-creates it with a name), then drop the column"
        )
        raise MigrationError(msg, revision=rev)
    entry = _archive.add_entry(
        conn, rev, "drop_column", table, {"schema": schema, "key": keys, "column": info, **related}
    )
    _ops_data.archive_values(conn, entry, [*keys, column])
    with op.batch_alter_table(table, schema=schema) as batch:
        for index in entry.info["indexes"]:
            batch.drop_index(index["name"])
        for constraint in entry.info["uniques"] + entry.info["fks"]:
            if constraint["name"]:
                batch.drop_constraint(constraint["name"])
        batch.drop_column(column)


def drop_table(table: str, *, schema: str | None = None, revision: str | None = None) -> None:
    """Archive the table's definition and every row, then drop it."""
    if _oplog.offline():
        op.drop_table(table, schema=schema)
        return
    conn, rev = _oplog.start(revision)
    names = list(_oplog.columns(conn, table, schema, rev))
    info = table_info(conn, table, schema, rev)
    entry = _archive.add_entry(conn, rev, "drop_table", table, {"schema": schema, **info})
    _ops_data.archive_values(conn, entry, names)
    op.drop_table(table, schema=schema)


def alter_column_type(
    table: str,
    column: str,
    new_type: Any,
    *,
    schema: str | None = None,
    using: str | None = None,
    key: Sequence[str] | None = None,
    revision: str | None = None,
) -> None:
    """Archive every row's ``column`` value and the old type, then change the type.

    ``using`` is PostgreSQL's ``USING`` expression (e.g. ``"left(sku, 10)"``) for a
    narrowing the database would otherwise refuse.
    """
    if _oplog.offline():
        op.alter_column(table, column, type_=new_type, schema=schema, postgresql_using=using)
        return
    conn, rev = _oplog.start(revision)
    info = column_info(
        conn, _oplog.column(_oplog.columns(conn, table, schema, rev), table, column, rev), rev
    )
    keys = _oplog.key_columns(conn, table, schema, key, rev)
    entry = _archive.add_entry(
        conn, rev, "alter_column_type", table, {"schema": schema, "key": keys, "column": info}
    )
    _ops_data.archive_values(conn, entry, [*keys, column])
    with op.batch_alter_table(table, schema=schema) as batch:
        batch.alter_column(
            column,
            type_=new_type,
            existing_type=DDLType(info["type"]),
            existing_nullable=info["nullable"],
            postgresql_using=using,
        )


def backfill(
    table: str,
    values: dict[str, Any],
    *,
    where: Any = None,
    schema: str | None = None,
    key: Sequence[str] | None = None,
    revision: str | None = None,
) -> None:
    """``UPDATE table SET values [WHERE where]``, archiving each changed row's old values.

    ``where`` is an SQLAlchemy expression or SQL text. On downgrade, :func:`undo`
    puts a row's old value back only where the column still holds what the
    backfill wrote; values changed since are kept.
    """
    if _oplog.offline():
        update = sa.table(table, *(sa.column(n) for n in values), schema=schema).update()
        op.execute(
            update.values(values).where(
                sa.text(where) if isinstance(where, str) else sa.true() if where is None else where
            )
        )
        return
    conn, rev = _oplog.start(revision)
    _backfill(conn, rev, table, values, where=where, schema=schema, key=key)


def _backfill(
    conn: sa.Connection,
    rev: str,
    table: str,
    values: dict[str, Any],
    *,
    where: Any,
    schema: str | None,
    key: Sequence[str] | None,
) -> None:
    if not values:
        raise InvalidArgumentError("backfill needs values={column: value, ...}")
    cols = _oplog.columns(conn, table, schema, rev)
    for name in values:
        _oplog.column(cols, table, name, rev)
    keys = _oplog.key_columns(conn, table, schema, key, rev)
    if set(keys) & set(values):
        msg = (
            f"backfill cannot change key columns {sorted(set(keys) & set(values))}; "
            "rows are matched back by them on downgrade"
        )
        raise InvalidArgumentError(msg)
    entry = _archive.add_entry(
        conn, rev, "backfill", table, {"schema": schema, "key": keys, "columns": list(values)}
    )
    _ops_data.backfill(conn, entry, keys, values, where)


def insert_rows(
    table: str,
    rows: Sequence[dict[str, Any]],
    *,
    schema: str | None = None,
    key: Sequence[str] | None = None,
    revision: str | None = None,
) -> None:
    """Insert ``rows`` and record their keys, so :func:`undo` deletes exactly these rows."""
    if _oplog.offline():
        op.bulk_insert(
            sa.table(table, *(sa.column(n) for n in rows[0]), schema=schema), list(rows)
        )
        return
    conn, rev = _oplog.start(revision)
    keys = _oplog.key_columns(conn, table, schema, key, rev)
    entry = _archive.add_entry(conn, rev, "insert_rows", table, {"schema": schema, "key": keys})
    if rows:
        _ops_data.insert_rows(conn, entry, keys, rows)


def set_not_null(
    table: str,
    column: str,
    *,
    fill: Any,
    schema: str | None = None,
    key: Sequence[str] | None = None,
    revision: str | None = None,
) -> None:
    """Fill the NULLs of ``column`` with ``fill`` (archiving their keys), then set NOT NULL."""
    if _oplog.offline():
        op.execute(
            sa.table(table, sa.column(column), schema=schema)
            .update()
            .values({column: sa.literal(fill)})
            .where(sa.column(column).is_(None))
        )
        op.alter_column(table, column, nullable=False, schema=schema)
        return
    conn, rev = _oplog.start(revision)
    info = column_info(
        conn, _oplog.column(_oplog.columns(conn, table, schema, rev), table, column, rev), rev
    )
    _backfill(
        conn, rev, table, {column: fill}, where=sa.column(column).is_(None), schema=schema, key=key
    )
    _archive.add_entry(conn, rev, "set_not_null", table, {"schema": schema, "column": info})
    with op.batch_alter_table(table, schema=schema) as batch:
        batch.alter_column(column, nullable=False, existing_type=DDLType(info["type"]))


def remove_enum_value(
    table: str,
    column: str,
    value: str,
    *,
    replace_with: str,
    schema: str | None = None,
    key: Sequence[str] | None = None,
    revision: str | None = None,
) -> None:
    """Rewrite rows holding ``value`` to ``replace_with`` (archived), then drop the label.

    PostgreSQL: the ENUM type is rebuilt without ``value`` (every column using it
    is converted). SQLite keeps enums as plain text, so only the rows change.
    """
    if _oplog.offline():
        msg = (
            "remove_enum_value reads the ENUM's labels and the rows from the database; "
            "run this revision online (without --sql)"
        )
        raise MigrationError(msg, revision=revision)
    conn, rev = _oplog.start(revision)
    info = column_info(
        conn, _oplog.column(_oplog.columns(conn, table, schema, rev), table, column, rev), rev
    )
    enum = info["enum"]
    if enum is not None and (
        value not in enum["labels"] or replace_with not in enum["labels"] or value == replace_with
    ):
        msg = (
            f"ENUM {enum['name']!r} has labels {enum['labels']}: value {value!r} must be "
            f"one of them and replace_with {replace_with!r} another one"
        )
        raise InvalidArgumentError(msg)
    _backfill(
        conn,
        rev,
        table,
        {column: replace_with},
        where=sa.cast(sa.column(column), sa.Text) == value,
        schema=schema,
        key=key,
    )
    if enum is None:
        return
    labels = [label for label in enum["labels"] if label != value]
    usages = _ops_enum.usages(conn, enum["name"], enum["schema"])
    _archive.add_entry(conn, rev, "enum_labels", table, {**enum, "usages": usages})
    _ops_enum.swap(conn, enum["name"], enum["schema"], labels, usages)


def rename_column(
    table: str, old: str, new: str, *, schema: str | None = None, revision: str | None = None
) -> None:
    """Rename a column, recording it so :func:`undo` renames it back."""
    if not _oplog.offline():
        conn, rev = _oplog.start(revision)
        cols = _oplog.columns(conn, table, schema, rev)
        _oplog.column(cols, table, old, rev)
        if new in cols:
            msg = f"table {table!r} already has a column {new!r}; pick another name"
            raise MigrationError(msg, revision=rev)
        _archive.add_entry(
            conn, rev, "rename_column", table, {"schema": schema, "old": old, "new": new}
        )
    with op.batch_alter_table(table, schema=schema) as batch:
        batch.alter_column(old, new_column_name=new)


def rename_table(
    old: str, new: str, *, schema: str | None = None, revision: str | None = None
) -> None:
    """Rename a table, recording it so :func:`undo` renames it back."""
    if not _oplog.offline():
        conn, rev = _oplog.start(revision)
        _oplog.columns(conn, old, schema, rev)
        _archive.add_entry(
            conn, rev, "rename_table", old, {"schema": schema, "old": old, "new": new}
        )
    op.rename_table(old, new, schema=schema)


def create_table(name: str, *columns: Any, revision: str | None = None, **kw: Any) -> sa.Table:
    """``op.create_table``, recording the table and the ENUM types it creates."""
    if _oplog.offline():
        return op.create_table(name, *columns, **kw)
    conn, rev = _oplog.start(revision)
    before = pg_enums(conn, kw.get("schema"))
    table = op.create_table(name, *columns, **kw)
    created = sorted(set(pg_enums(conn, kw.get("schema"))) - set(before))
    _archive.add_entry(
        conn, rev, "create_table", name, {"schema": kw.get("schema"), "enums": created}
    )
    return table


def add_column(
    table: str, column: sa.Column[Any], *, schema: str | None = None, revision: str | None = None
) -> None:
    """``op.add_column`` (PostgreSQL ENUM types created first), recording what it created."""
    if _oplog.offline():
        op.add_column(table, column, schema=schema)
        return
    conn, rev = _oplog.start(revision)
    _oplog.columns(conn, table, schema, rev)
    before = pg_enums(conn, schema)
    if isinstance(column.type, sa.Enum) and conn.dialect.name == "postgresql":
        column.type.create(conn, checkfirst=True)
    created = sorted(set(pg_enums(conn, schema)) - set(before))
    _archive.add_entry(
        conn, rev, "add_column", table, {"schema": schema, "column": column.name, "enums": created}
    )
    with op.batch_alter_table(table, schema=schema) as batch:
        batch.add_column(column)


def undo(revision: str | None = None) -> None:
    """Reverse everything the revision's upgrade recorded, newest first, then forget it.

    Raises IrreversibleMigrationError when the archive holds nothing for the
    revision (the upgrade ran without these helpers, or the archive was deleted).
    """
    _ops_undo.undo(_oplog.caller_revision(revision))

"""``undo()``: reverse a revision's archived operations, newest first.

Each handler checks the current shape before acting (a column already back is
not added again, a table already there is refilled instead of re-created), and
each entry is deleted as soon as it is reversed, so running ``undo`` again after
a partial failure continues where it stopped.
"""

from __future__ import annotations

import ast
import inspect
import logging
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import REGCLASS
from sqlalchemy.schema import CreateSequence

from safe_release.exceptions import IrreversibleMigrationError
from safe_release.migrations import _archive, _oplog, _ops_data, _ops_enum
from safe_release.migrations._ops_schema import (
    DDLType,
    build_column,
    drop_enums,
    ensure_enums,
    fk_target,
    sequence_of,
    serial_sequence,
    table_elements,
)

if TYPE_CHECKING:
    from collections.abc import Callable

log = logging.getLogger("safe_release.migrations")
_OPS = frozenset(
    {
        "drop_column",
        "drop_table",
        "alter_column_type",
        "set_not_null",
        "remove_enum_value",
        "backfill",
        "insert_rows",
        "rename_column",
        "rename_table",
        "create_table",
        "add_column",
    }
)


def undo(revision: str) -> None:
    """Reverse every entry of ``revision`` (IrreversibleMigrationError if there are none)."""
    if _oplog.offline():
        _oplog.context().impl.static_output(
            f"-- safe-release: sr_op.undo() restores revision {revision} from "
            "sr_migration_archive; run the downgrade online to apply it"
        )
        return
    conn = _oplog.bind()
    entries = _archive.entries(conn, revision)
    if not entries:
        raise IrreversibleMigrationError(_missing_message(revision), revision=revision)
    for entry in entries:
        _HANDLERS[entry.op](conn, entry)
        _archive.drop_entry(conn, entry)
        log.info("undid %s on %s (revision %s)", entry.op, entry.table, revision)


def _upgrade_calls() -> list[str]:
    """The ``sr_op.*``-style calls in the calling revision's ``upgrade()`` source."""
    module = _oplog.caller_globals().get("upgrade")
    try:
        tree = ast.parse(inspect.getsource(module)) if callable(module) else None
    except (OSError, TypeError, SyntaxError):
        tree = None
    if tree is None:
        return []
    return [
        ast.unparse(node)
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in _OPS
    ]


def _missing_message(revision: str) -> str:
    calls = _upgrade_calls()
    lost = "; ".join(calls) if calls else "the values and definitions its upgrade removed"
    return (
        f"cannot downgrade revision {revision}: {_archive.ARCHIVE_TABLE} holds nothing for it, "
        f"so what its upgrade removed cannot be restored ({lost}). The upgrade ran without "
        "the safe_release helpers or its archive rows were deleted. Restore those rows from "
        "a backup of the database, or, to accept the loss, write this downgrade with plain "
        "Alembic operations"
    )


def _drop_column(conn: sa.Connection, entry: _archive.Entry) -> None:
    info, schema = entry.info, entry.info["schema"]
    col = info["column"]
    ensure_enums(conn, [col])
    if col["name"] not in _oplog.columns(conn, entry.table, schema, entry.revision):
        # An unnamed foreign key (SQLite) cannot be added by name: it goes inline.
        inline = [
            sa.ForeignKey(fk_target(fk)[0], ondelete=fk["ondelete"], onupdate=fk["onupdate"])
            for fk in info["fks"]
            if fk["name"] is None and len(fk["columns"]) == 1
        ]
        with op.batch_alter_table(entry.table, schema=schema) as batch:
            batch.add_column(
                build_column(col, *inline, nullable=True), inline_references=bool(inline) or None
            )
    _ops_data.restore_values(conn, entry, info["key"], [col["name"]])
    if not col["nullable"]:
        _require_filled(conn, entry, col["name"])
        with op.batch_alter_table(entry.table, schema=schema) as batch:
            batch.alter_column(col["name"], nullable=False, existing_type=DDLType(col["type"]))
    _recreate_related(entry)


def _require_filled(conn: sa.Connection, entry: _archive.Entry, name: str) -> None:
    tbl = sa.table(entry.table, sa.column(name), schema=entry.info["schema"])
    nulls = conn.execute(
        sa.select(sa.func.count()).select_from(tbl).where(tbl.c[name].is_(None))
    ).scalar_one()
    if nulls:
        msg = (
            f"cannot make {entry.table}.{name} NOT NULL again: {nulls} rows written after "
            f"revision {entry.revision}'s upgrade have no value for it (they are not in the "
            "archive); give them a value, then run the downgrade again"
        )
        raise IrreversibleMigrationError(msg, revision=entry.revision)


def _recreate_related(entry: _archive.Entry) -> None:
    schema = entry.info["schema"]
    conn = _oplog.bind()
    insp = sa.inspect(conn)
    have = {i["name"] for i in insp.get_indexes(entry.table, schema=schema)}
    have |= {u["name"] for u in insp.get_unique_constraints(entry.table, schema=schema)}
    have |= {f["name"] for f in insp.get_foreign_keys(entry.table, schema=schema)}
    with op.batch_alter_table(entry.table, schema=schema) as batch:
        for index in entry.info.get("indexes", []):
            if index["name"] not in have:
                batch.create_index(index["name"], index["columns"], unique=index["unique"])
        for unique in entry.info.get("uniques", []):
            if unique["name"] not in have:
                batch.create_unique_constraint(unique["name"], unique["columns"])
        for fk in entry.info.get("fks", []):
            if fk["name"] is not None and fk["name"] not in have:
                batch.create_foreign_key(
                    fk["name"],
                    fk["ref_table"],
                    fk["columns"],
                    fk["ref_columns"],
                    referent_schema=fk["ref_schema"],
                    ondelete=fk["ondelete"],
                    onupdate=fk["onupdate"],
                )


def _drop_table(conn: sa.Connection, entry: _archive.Entry) -> None:
    info, schema, table = entry.info, entry.info["schema"], entry.table
    names = [c["name"] for c in info["columns"]]
    sequences = [s for s in map(serial_sequence, info["columns"]) if s]
    if sa.inspect(conn).has_table(table, schema=schema):
        conn.execute(sa.table(table, schema=schema).delete())
    else:
        ensure_enums(conn, info["columns"])
        for seq in sequences:
            conn.execute(CreateSequence(sequence_of(seq), if_not_exists=True))
        op.create_table(table, *table_elements(info), schema=schema)
        for index in info["indexes"]:
            op.create_index(
                index["name"], table, index["columns"], unique=index["unique"], schema=schema
            )
    _ops_data.insert_all(conn, entry, names)
    _fix_sequences(conn, entry, sequences)


def _fix_sequences(conn: sa.Connection, entry: _archive.Entry, sequences: list[str]) -> None:
    """Each serial column's sequence: owned by the column again, and past its largest value.

    Names are quoted by the dialect (a table named ``it's`` or ``100%``), the
    sequence passed as a value where it is one (``setval``).
    """
    prep = conn.dialect.identifier_preparer
    for col in entry.info["columns"]:
        seq = serial_sequence(col)
        exists = (
            seq in sequences
            and conn.execute(sa.text("SELECT to_regclass(:seq)"), {"seq": seq}).scalar()
            is not None
        )
        if seq is not None and exists:
            name = col["name"]
            tbl = sa.table(entry.table, sa.column(name), schema=entry.info["schema"])
            owner = f"{prep.format_table(tbl)}.{prep.quote(name)}"
            conn.exec_driver_sql(
                f"ALTER SEQUENCE {prep.format_sequence(sequence_of(seq))} OWNED BY {owner}"
            )
            top = sa.select(sa.func.max(tbl.c[name])).scalar_subquery()
            conn.execute(sa.select(sa.func.setval(sa.cast(sa.literal(seq), REGCLASS), top)))


def _alter_column_type(conn: sa.Connection, entry: _archive.Entry) -> None:
    info, schema = entry.info, entry.info["schema"]
    col = info["column"]
    ensure_enums(conn, [col])
    using = None
    if conn.dialect.name == "postgresql":
        quote = conn.dialect.identifier_preparer.quote
        using = f"{quote(col['name'])}::text::{col['type']}"
    with op.batch_alter_table(entry.table, schema=schema) as batch:
        batch.alter_column(
            col["name"],
            type_=DDLType(col["type"]),
            existing_nullable=col["nullable"],
            postgresql_using=using,
        )
    _ops_data.restore_values(conn, entry, info["key"], [col["name"]])


def _backfill(conn: sa.Connection, entry: _archive.Entry) -> None:
    info = entry.info
    _ops_data.undo_backfill(conn, entry, info["key"], info["columns"])


def _insert_rows(conn: sa.Connection, entry: _archive.Entry) -> None:
    _ops_data.delete_rows(conn, entry, entry.info["key"])


def _set_not_null(conn: sa.Connection, entry: _archive.Entry) -> None:
    del conn
    col = entry.info["column"]
    with op.batch_alter_table(entry.table, schema=entry.info["schema"]) as batch:
        batch.alter_column(col["name"], nullable=True, existing_type=DDLType(col["type"]))


def _enum_labels(conn: sa.Connection, entry: _archive.Entry) -> None:
    info = entry.info
    if _current_labels(conn, info["name"], info["schema"]) != info["labels"]:
        _ops_enum.swap(conn, info["name"], info["schema"], info["labels"], info["usages"])


def _current_labels(conn: sa.Connection, name: str, schema: str | None) -> list[str]:
    insp: Any = sa.inspect(conn)
    found = [e["labels"] for e in insp.get_enums(schema=schema) if e["name"] == name]
    return list(found[0]) if found else []


def _rename_column(conn: sa.Connection, entry: _archive.Entry) -> None:
    info = entry.info
    cols = _oplog.columns(conn, entry.table, info["schema"], entry.revision)
    if info["new"] in cols and info["old"] not in cols:
        with op.batch_alter_table(entry.table, schema=info["schema"]) as batch:
            batch.alter_column(info["new"], new_column_name=info["old"])


def _rename_table(conn: sa.Connection, entry: _archive.Entry) -> None:
    info = entry.info
    insp = sa.inspect(conn)
    if insp.has_table(info["new"], schema=info["schema"]) and not insp.has_table(
        info["old"], schema=info["schema"]
    ):
        op.rename_table(info["new"], info["old"], schema=info["schema"])


def _create_table(conn: sa.Connection, entry: _archive.Entry) -> None:
    schema = entry.info["schema"]
    if sa.inspect(conn).has_table(entry.table, schema=schema):
        op.drop_table(entry.table, schema=schema)
    drop_enums(conn, entry.info["enums"], schema)


def _add_column(conn: sa.Connection, entry: _archive.Entry) -> None:
    schema = entry.info["schema"]
    if entry.info["column"] in _oplog.columns(conn, entry.table, schema, entry.revision):
        with op.batch_alter_table(entry.table, schema=schema) as batch:
            batch.drop_column(entry.info["column"])
    drop_enums(conn, entry.info["enums"], schema)


_HANDLERS: dict[str, Callable[[sa.Connection, _archive.Entry], None]] = {
    "drop_column": _drop_column,
    "drop_table": _drop_table,
    "alter_column_type": _alter_column_type,
    "backfill": _backfill,
    "insert_rows": _insert_rows,
    "set_not_null": _set_not_null,
    "enum_labels": _enum_labels,
    "rename_column": _rename_column,
    "rename_table": _rename_table,
    "create_table": _create_table,
    "add_column": _add_column,
}

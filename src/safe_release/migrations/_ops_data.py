"""Set-based moves of row values between a table and the archive.

Reads are one SELECT per operation; writes are executemany in batches of
:data:`._archive.BATCH` rows, matched by key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from safe_release.migrations import _archive, _oplog

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence


def _where(clause: Any) -> Any:
    return sa.text(clause) if isinstance(clause, str) else clause


def _table(conn: sa.Connection, entry: _archive.Entry) -> sa.TableClause:
    return _oplog.data_table(conn, entry.table, entry.info["schema"])


def archive_values(
    conn: sa.Connection, entry: _archive.Entry, names: Sequence[str], where: Any = None
) -> int:
    """Archive ``names`` of every row of the entry's table (or the rows matching ``where``)."""
    tbl = _table(conn, entry)
    query = sa.select(*(tbl.c[n] for n in names))
    if where is not None:
        query = query.where(_where(where))
    rows = conn.execute(query)
    return _archive.add_rows(conn, entry, (list(r) for r in rows.all()))


def _chunks(rows: list[list[Any]], size: int = _archive.BATCH) -> Iterator[list[list[Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def restore_values(
    conn: sa.Connection, entry: _archive.Entry, key: Sequence[str], names: Sequence[str]
) -> None:
    """Write archived ``names`` back, row by key (rows are ``[*key, *names]``)."""
    tbl = _table(conn, entry)
    stmt = (
        sa.update(tbl)
        .where(_oplog.key_match(tbl, key))
        .values({n: sa.bindparam(f"v_{n}", type_=tbl.c[n].type) for n in names})
    )
    for batch in _archive.row_batches(conn, entry):
        conn.execute(stmt, [_params(key, names, row) for row in batch])


def _params(
    key: Sequence[str], names: Sequence[str], row: list[Any], prefix: str = "v_"
) -> dict[str, Any]:
    params = {f"k_{k}": row[i] for i, k in enumerate(key)}
    params.update({f"{prefix}{n}": row[len(key) + j] for j, n in enumerate(names)})
    return params


def select_by_keys(
    conn: sa.Connection,
    tbl: sa.TableClause,
    key: Sequence[str],
    names: Sequence[str],
    keys: list[tuple[Any, ...]],
) -> list[list[Any]]:
    """``[*key, *names]`` of the rows whose key is in ``keys`` (in batches)."""
    found: list[list[Any]] = []
    key_expr: Any = tbl.c[key[0]] if len(key) == 1 else sa.tuple_(*(tbl.c[k] for k in key))
    for start in range(0, len(keys), _archive.BATCH):
        chunk = keys[start : start + _archive.BATCH]
        values: list[Any] = [k[0] for k in chunk] if len(key) == 1 else chunk
        query = sa.select(*(tbl.c[k] for k in key), *(tbl.c[n] for n in names))
        found.extend(list(r) for r in conn.execute(query.where(key_expr.in_(values))))
    return found


def backfill(
    conn: sa.Connection,
    entry: _archive.Entry,
    key: Sequence[str],
    values: dict[str, Any],
    where: Any,
) -> int:
    """Update the rows; archive ``[*key, *old, *new]`` of each row changed."""
    tbl = _table(conn, entry)
    names = list(values)
    query = sa.select(*(tbl.c[k] for k in key), *(tbl.c[n] for n in names))
    update = sa.update(tbl).values(values)
    if where is not None:
        query, update = query.where(_where(where)), update.where(_where(where))
    old = [list(r) for r in conn.execute(query)]
    conn.execute(update)
    new = {
        tuple(r[: len(key)]): r[len(key) :]
        for r in select_by_keys(conn, tbl, key, names, [tuple(r[: len(key)]) for r in old])
    }
    rows = (r + new.get(tuple(r[: len(key)]), [None] * len(names)) for r in old)
    return _archive.add_rows(conn, entry, rows)


def _same(col: Any, param: sa.BindParameter[Any]) -> sa.ColumnElement[bool]:
    if isinstance(col.type, sa.JSON):
        return sa.cast(col, sa.Text).is_not_distinct_from(sa.cast(param, sa.Text))
    return col.is_not_distinct_from(param)  # type: ignore[no-any-return]


def undo_backfill(
    conn: sa.Connection, entry: _archive.Entry, key: Sequence[str], names: Sequence[str]
) -> None:
    """Put old values back, per column, only where the backfilled value is still there."""
    tbl = _table(conn, entry)
    for j, name in enumerate(names):
        col = tbl.c[name]
        stmt = (
            sa.update(tbl)
            .where(_oplog.key_match(tbl, key), _same(col, sa.bindparam("w_new", type_=col.type)))
            .values({name: sa.bindparam("v_old", type_=col.type)})
        )
        for batch in _archive.row_batches(conn, entry):
            conn.execute(
                stmt,
                [
                    {
                        **{f"k_{k}": r[i] for i, k in enumerate(key)},
                        "v_old": r[len(key) + j],
                        "w_new": r[len(key) + len(names) + j],
                    }
                    for r in batch
                ],
            )


def insert_rows(
    conn: sa.Connection, entry: _archive.Entry, key: Sequence[str], rows: Sequence[dict[str, Any]]
) -> int:
    """Insert ``rows``; archive the key of each inserted row."""
    tbl = _table(conn, entry)
    stmt = sa.insert(tbl).returning(*(tbl.c[k] for k in key))
    keys = [list(r) for r in conn.execute(stmt, list(rows))]
    return _archive.add_rows(conn, entry, keys)


def delete_rows(conn: sa.Connection, entry: _archive.Entry, key: Sequence[str]) -> None:
    """Delete the rows whose keys ``entry`` archived."""
    tbl = _table(conn, entry)
    stmt = sa.delete(tbl).where(_oplog.key_match(tbl, key))
    for batch in _archive.row_batches(conn, entry):
        conn.execute(stmt, [_params(key, [], row) for row in batch])


def insert_all(conn: sa.Connection, entry: _archive.Entry, names: Sequence[str]) -> None:
    """Insert every archived row (``names`` in order) into the entry's table."""
    tbl = _table(conn, entry)
    for batch in _archive.row_batches(conn, entry):
        conn.execute(sa.insert(tbl), [dict(zip(names, row, strict=True)) for row in batch])

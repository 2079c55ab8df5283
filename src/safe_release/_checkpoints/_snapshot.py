"""Snapshot tables: naming, creation, and the content hash of their rows.

A snapshot is created empty with the source columns' own types, filled with one
``INSERT … SELECT``, then given a primary key on the checkpoint's key columns
(so that a restore finds a logged key's row by index, not by scanning). An SQLite
snapshot file's table is instead created keyed, ``WITHOUT ROWID`` with its primary
key on the key columns (`create_keyed`), and filled in key order: the rows are
stored in the key's B-tree itself, so each lookup of a restore's joins is one
descent (not the index's and then the rowid's), and there is no index to build.

The content hash is computed by the database. On PostgreSQL >= 14 a capture
stores a keyed hash per row (see `_rowhash`, ``hre:…``; ``hrh:…`` before the
values whose type's equality is not identity were hashed by their exact form).
Snapshots recorded by earlier versions are still checked as they were hashed (so is
``hrh:…``): two keyed 64-bit sums
of ``hash_record_extended(ROW(…), seed)`` (``hrx:…``); the seeds are derived from
the store's signing key, the release and the step, and are never stored, so that
whoever can write the snapshot cannot forge a matching sum. PostgreSQL < 14: two
128-bit sums of per-row MD5s (``sha256:…``, not keyed).

A seed never travels in a statement's text or as a bound parameter: both are
written to the server's log (``log_statement``, ``log_min_duration_statement``)
and to SQLAlchemy's echo. It is sent as ``COPY`` data into a temporary table of the
session, dropped at the commit (`pg_seed`), and the statements read it from there.

Every statement built here from names (of tables, columns, snapshots) runs as it
is (`run`), not through ``text()``, which would take a ``:word`` in a quoted name
for a bind parameter.
SQLite snapshots normally live in their own file (see `_snapfile`), whose bytes
are hashed; an in-database SQLite snapshot (in-memory database) is hashed as
SHA-256 over the rows' ``quote()`` encoding, concatenated by ``group_concat`` in
fixed chunks of rowids, so that Python only sees a few large strings.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy import Column, MetaData, Table, inspect, text
from sqlalchemy.exc import DBAPIError

from safe_release.exceptions import CheckpointError

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence

    from sqlalchemy import Connection, CursorResult
    from sqlalchemy.util.typing import TupleAny
    from typing_extensions import Unpack

    from safe_release._checkpoints._protocol import CheckpointContext

__all__ = [
    "MAX_IDENTIFIER",
    "ROW_HASH_KINDS",
    "add_key",
    "create_empty",
    "create_keyed",
    "drop",
    "exists",
    "identifier",
    "pg_hashable",
    "pg_pinned",
    "pg_row_hashed",
    "pg_seed",
    "quoted",
    "regclass",
    "run",
    "seeds",
    "snapshot_hash",
    "snapshot_name",
    "snapshot_table",
    "sqlite_keyed_columns",
]

MAX_IDENTIFIER = 63
_CHUNK = 65_536
_UNSAFE = re.compile(r"[^0-9a-z_]")
# PostgreSQL settings that change how a value is written as text; pinned while hashing
_PG_SETTINGS = {
    "TimeZone": "UTC",
    "DateStyle": "ISO, YMD",
    "IntervalStyle": "postgres",
    "extra_float_digits": "3",
    "bytea_output": "hex",
}
_PG_KEYED_HASH = 140_000  # hash_record_extended: PostgreSQL 14
# a keyed hash per row (`_rowhash`): of the values' exact forms; of the values
ROW_HASH_KINDS = ("hre:", "hrh:")
_SEED_PURPOSE = {"purpose": "safe_release table snapshot content hash"}
# the session's temporary table the seeds are copied into (dropped at the commit)
_SEED_TABLE = "pg_temp.sr_seed"
_INSUFFICIENT_PRIVILEGE = "42501"


def run(conn: Connection, sql: str) -> CursorResult[Unpack[TupleAny]]:
    """Run ``sql`` (built of names quoted by the dialect, and constants) as it is.

    Not through ``text()``: a ``:word`` inside a quoted name is not a bind
    parameter. The driver gets the statement with its (empty) parameters, as for any
    compiled one, so a ``%`` the dialect doubled in a quoted name comes out single.
    """
    return conn.exec_driver_sql(sql)


def identifier(prefix: str, release_id: str, seq: int, suffix: str = "") -> str:
    """``<prefix>_<release id>_<seq><suffix>``, cut to PostgreSQL's 63-character limit."""
    rid = _UNSAFE.sub("", release_id.lower())
    tail = f"_{seq}{suffix}"
    return f"{prefix}_{rid}"[: MAX_IDENTIFIER - len(tail)] + tail


def snapshot_name(release_id: str, seq: int) -> str:
    """``sr_snap_<release id>_<seq>``, cut to PostgreSQL's 63-character limit."""
    return identifier("sr_snap", release_id, seq)


def snapshot_table(
    source: Table, name: str, columns: Sequence[str], schema: str | None = None
) -> Table:
    """A Core description of the snapshot of ``source`` (its schema, its column types)."""
    cols = [Column(c, source.c[c].type) for c in columns]
    return Table(name, MetaData(), *cols, schema=schema or source.schema)


def create_empty(conn: Connection, source: Table, snap: Table) -> None:
    """Create ``snap`` with exactly the source columns' database types, and no rows."""
    quote = conn.dialect.identifier_preparer.quote
    cols = ", ".join(quote(c.name) for c in snap.columns)
    run(conn, f"DROP TABLE IF EXISTS {quoted(conn, snap)}")
    run(
        conn,
        f"CREATE TABLE {quoted(conn, snap)} AS SELECT {cols} "  # noqa: S608 - quoted names
        f"FROM {quoted(conn, source)} WHERE false",
    )


def create_keyed(conn: Connection, source: Table, snap: Table, key: Sequence[str]) -> None:
    """SQLite: create ``snap`` ``WITHOUT ROWID``, its primary key on ``key``, and no rows.

    Each column is declared with the source column's declared type (the same
    affinity as ``CREATE TABLE … AS`` gives it, so values are stored alike). The
    primary key makes the key columns unique and NOT NULL: a fill that breaks
    either fails (the caller says which).
    """
    run(conn, f"DROP TABLE IF EXISTS {quoted(conn, snap)}")
    columns = sqlite_keyed_columns(conn, source, [c.name for c in snap.columns], key)
    run(conn, f"CREATE TABLE {quoted(conn, snap)} ({columns}) WITHOUT ROWID")


def sqlite_keyed_columns(
    conn: Connection,
    source: Table,
    columns: Sequence[str],
    key: Sequence[str],
    extra: Sequence[str] = (),
) -> str:
    """``"a" TYPE, …, PRIMARY KEY ("k", …)``: ``columns`` of SQLite table ``source``.

    The types are the source's declared ones (``PRAGMA table_xinfo``), or none
    (BLOB affinity, as ``CREATE TABLE … AS`` gives an expression without one).
    ``extra``: more column definitions, put before the primary key.
    """
    prep = conn.dialect.identifier_preparer
    schema = prep.quote(source.schema or "main")
    info = run(conn, f"PRAGMA {schema}.table_xinfo({prep.quote(source.name)})")
    declared = {str(r[1]): str(r[2] or "") for r in info}
    defs = [f"{prep.quote(c)} {declared.get(c, '')}".rstrip() for c in columns]
    pk = ", ".join(prep.quote(k) for k in key)
    return ", ".join([*defs, *extra, f"PRIMARY KEY ({pk})"])


def add_key(conn: Connection, snap: Table, key: Sequence[str]) -> None:
    """Index the filled snapshot by ``key`` (unique): a logged key's row is found at once."""
    cols = ", ".join(conn.dialect.identifier_preparer.quote(k) for k in key)
    if conn.dialect.name == "postgresql":
        run(conn, f"ALTER TABLE {quoted(conn, snap)} ADD PRIMARY KEY ({cols})")
        return
    index = conn.dialect.identifier_preparer.quote(f"{snap.name}_key")
    schema = f"{conn.dialect.identifier_preparer.quote(snap.schema)}." if snap.schema else ""
    run(
        conn,
        f"CREATE UNIQUE INDEX {schema}{index} ON "
        f"{conn.dialect.identifier_preparer.quote(snap.name)} ({cols})",
    )


def drop(conn: Connection, snap: Table) -> None:
    """Drop the snapshot table if it is there."""
    run(conn, f"DROP TABLE IF EXISTS {quoted(conn, snap)}")


def exists(conn: Connection, snap: Table) -> bool:
    """Whether the snapshot table is there."""
    if conn.dialect.name == "postgresql":  # one catalog lookup, not the inspector's query
        found = conn.execute(
            text("SELECT to_regclass(:t) IS NOT NULL"), {"t": regclass(conn, snap)}
        ).scalar_one()
        return bool(found)
    return inspect(conn).has_table(snap.name, schema=snap.schema)


def quoted(conn: Connection, table: Table) -> str:
    """``"schema"."table"``, quoted for this connection's dialect (in a statement's text)."""
    return conn.dialect.identifier_preparer.format_table(table)


def regclass(conn: Connection, table: Table) -> str:
    """``"schema"."table"`` as a parameter's value, e.g. for ``to_regclass(:t)``.

    In a statement's text a driver with ``%`` placeholders needs a ``%`` of a name
    doubled (`quoted` does it); a value is not parsed, so it gets the name as it is.
    """
    name = quoted(conn, table)
    doubled = conn.dialect.identifier_preparer.quote("%") != '"%"'
    return name.replace("%%", "%") if doubled else name


def pg_row_hashed(conn: Connection, recorded: str | None = None) -> bool:
    """Whether this snapshot has (capture: gets) a per-row keyed hash column ``sr_h``."""
    if conn.dialect.name != "postgresql":
        return False
    if recorded is not None:
        return recorded.startswith(ROW_HASH_KINDS)
    version = int(str((conn.dialect.server_version_info or (0,))[0]))
    return version * 10_000 >= _PG_KEYED_HASH


def snapshot_hash(
    conn: Connection, snap: Table, ctx: CheckpointContext, recorded: str | None = None
) -> tuple[int, str]:
    """The snapshot's row count and content hash (``hrx:…``, ``sha256:…``).

    ``recorded``: the hash taken at capture, whose kind is used again (so that a
    server upgraded since still compares like with like).
    """
    if conn.dialect.name != "postgresql":
        return _sqlite_hash(conn, snap)
    version = int(str((conn.dialect.server_version_info or (0,))[0]))
    keyed = recorded.startswith("hrx:") if recorded else version * 10_000 >= _PG_KEYED_HASH
    if keyed:
        return _pg_keyed_hash(conn, snap, (pg_seed(conn, ctx, 0), pg_seed(conn, ctx, 1)))
    return _pg_md5_hash(conn, snap)


# -- PostgreSQL -------------------------------------------------------------------------


def seeds(ctx: CheckpointContext) -> tuple[int, int]:
    """Two 63-bit seeds only the signing key's holder can compute (never stored).

    HS256 over a fixed payload is deterministic, so its signature is a secret
    derived from the store's key: the current one at capture, and after that the
    key that signed the record's manifest (the same one, unless the key was
    rotated since: then a previous key of the ring). HMAC of it with the release
    and step gives the seeds of this one snapshot.
    """
    secret = ctx.store.signer.signature(_SEED_PURPOSE, key_of=ctx.manifest).encode()
    mac = hmac.new(secret, f"{ctx.release_id}:{ctx.seq}".encode(), hashlib.sha256).digest()
    mask = (1 << 63) - 1
    return (int.from_bytes(mac[:8], "big") & mask, int.from_bytes(mac[8:16], "big") & mask)


def pg_seed(conn: Connection, ctx: CheckpointContext, which: int = 0) -> str:
    """SQL that is seed ``which`` of `seeds` in this transaction; the seed is not in it.

    The seed is sent as ``COPY`` data (never logged by the server, nor echoed by
    SQLAlchemy: it bypasses both) into ``pg_temp.sr_seed``, a temporary table only
    this session can read, dropped at the commit. The SQL returned reads it back
    by a tag naming the release, step and seed, which is not secret. The role
    needs the ``TEMPORARY`` privilege on the database (PostgreSQL grants it to
    everyone unless revoked); without it, `CheckpointError` says so.
    """
    tag = f"{_UNSAFE.sub('', ctx.release_id.lower())}:{ctx.seq}:{which}"
    if run(conn, f"SELECT to_regclass('{_SEED_TABLE}') IS NULL").scalar():
        try:
            run(
                conn,
                f"CREATE TEMPORARY TABLE {_SEED_TABLE.split('.')[1]} "
                "(tag text NOT NULL, v bigint NOT NULL) ON COMMIT DROP",
            )
        except DBAPIError as exc:
            if getattr(exc.orig, "sqlstate", None) != _INSUFFICIENT_PRIVILEGE:
                raise
            msg = (
                "a table checkpoint on PostgreSQL needs a temporary table (it holds the "
                "snapshot's hash seed, which is never sent in a statement); grant the "
                "role it: GRANT TEMPORARY ON DATABASE <database> TO <role>"
            )
            raise CheckpointError(msg) from exc
    dbapi = conn.dialect.loaded_dbapi
    statement = f"COPY {_SEED_TABLE} (tag, v) FROM STDIN"
    driver: Any = conn.connection.driver_connection  # psycopg's: COPY is not in the DBAPI
    try:
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            copy.write_row((tag, seeds(ctx)[which]))
    except dbapi.Error as exc:
        raise DBAPIError.instance(statement, None, exc, dbapi.Error) from exc
    return f"(SELECT v FROM {_SEED_TABLE} WHERE tag = '{tag}' LIMIT 1)"  # noqa: S608 - constants


def _pg_keyed_hash(conn: Connection, snap: Table, seeds: tuple[str, str]) -> tuple[int, str]:
    name, fields = quoted(conn, snap), ", ".join(pg_hashable(conn, snap))
    sql = (
        f"SELECT count(*), coalesce(sum(hash_record_extended(ROW({fields}), {seeds[0]})), "  # noqa: S608 - quoted names
        f"0), coalesce(sum(hash_record_extended(ROW({fields}), {seeds[1]})), 0) "
        f"FROM {name} AS s"
    )
    with pg_pinned(conn):
        count, low, high = run(conn, sql).one()
    digest = hashlib.sha256(f"{count}:{low}:{high}".encode()).hexdigest()
    return int(count), f"hrx:{digest}"


def pg_hashable(
    conn: Connection,
    snap: Table,
    refs: Sequence[str] | None = None,
    forms: Mapping[str, str | None] | None = None,
) -> list[str]:
    """The snapshot's columns as hash inputs, as text where a type cannot be hashed.

    json, xml and geometric types have no extended hash function. ``refs``: how
    the statement names each column (default ``s."<name>"``). ``forms``: columns
    hashed by their exact form instead (`_rowhash`): the result of the function named
    (quoted SQL), or their text if None.
    """
    quote = conn.dialect.identifier_preparer.quote
    cols = [f"s.{quote(c.name)}" for c in snap.columns]
    named = list(refs) if refs is not None else cols
    forms = forms or {}
    plain = [c for c, col in zip(cols, snap.columns, strict=True) if col.name not in forms]
    probe = f"(SELECT (NULL::{quoted(conn, snap)}).*) AS s"
    every = not plain or _pg_can_hash(conn, plain, probe)
    fields = []
    for c, col, ref in zip(cols, snap.columns, named, strict=True):
        if col.name in forms:
            form = forms[col.name]
            fields.append(f"({ref})::text" if form is None else f"{form}({ref})")
        else:
            fields.append(ref if every or _pg_can_hash(conn, [c], probe) else f"{ref}::text")
    return fields


def _pg_can_hash(conn: Connection, cols: list[str], probe: str) -> bool:
    # hash_record_extended looks the types' hash functions up even for NULLs
    sql = f"SELECT hash_record_extended(ROW({', '.join(cols)}), 0) FROM {probe}"  # noqa: S608 - quoted names
    try:
        with conn.begin_nested():
            run(conn, sql)
    except DBAPIError:
        return False
    return True


def _pg_md5_hash(conn: Connection, snap: Table) -> tuple[int, str]:
    name = quoted(conn, snap)
    part = "('x' || substr(h, {0}, 16))::bit(64)::bigint::numeric"
    sql = (
        f"SELECT count(*), coalesce(sum({part.format(1)}), 0), "  # noqa: S608 - quoted names
        f"coalesce(sum({part.format(17)}), 0) FROM (SELECT md5(s::text) AS h FROM {name} AS s) q"
    )
    with pg_pinned(conn):
        count, low, high = run(conn, sql).one()
    digest = hashlib.sha256(f"{count}:{low}:{high}".encode()).hexdigest()
    return int(count), f"sha256:{digest}"


@contextmanager
def pg_pinned(conn: Connection) -> Iterator[None]:
    """Pin the text-output settings for this transaction, then put the old values back."""
    keys = list(_PG_SETTINGS)
    reads = ", ".join(f"current_setting(:k{i})" for i in range(len(keys)))
    params = {f"k{i}": k for i, k in enumerate(keys)}
    old = conn.execute(text(f"SELECT {reads}"), params).one()
    _pg_set(conn, dict(_PG_SETTINGS))
    yield  # on an error the transaction is rolled back, and the settings with it
    _pg_set(conn, dict(zip(keys, (str(v) for v in old), strict=True)))


def _pg_set(conn: Connection, values: dict[str, str]) -> None:
    sets = ", ".join(f"set_config(:k{i}, :v{i}, true)" for i in range(len(values)))
    params: dict[str, str] = {}
    for i, (key, value) in enumerate(values.items()):
        params[f"k{i}"], params[f"v{i}"] = key, value
    conn.execute(text(f"SELECT {sets}"), params)


# -- SQLite (in-database snapshot) ---------------------------------------------------


def _sqlite_hash(conn: Connection, snap: Table) -> tuple[int, str]:
    name = quoted(conn, snap)
    quote = conn.dialect.identifier_preparer.quote
    row = "||','||".join(f"quote({quote(c.name)})" for c in snap.columns)
    top = run(conn, f"SELECT max(rowid) FROM {name}").scalar() or 0  # noqa: S608
    # the driver's own placeholders: no text() parsing of the quoted names
    sql = (
        f"SELECT count(*), CAST(group_concat({row}, char(10)) AS BLOB) FROM {name} "  # noqa: S608
        "WHERE rowid BETWEEN ? AND ?"
    )
    hasher, count = hashlib.sha256(), 0
    for lo, hi in _chunks(int(top)):
        n, blob = conn.exec_driver_sql(sql, (lo, hi)).one()
        count += int(n)
        hasher.update(bytes(blob or b""))
        hasher.update(b"\x00")
    return count, f"sha256:{hasher.hexdigest()}"


def _chunks(top: int) -> Iterator[tuple[int, int]]:
    for lo in range(1, top + 1, _CHUNK):
        yield lo, lo + _CHUNK - 1

"""Restores that put back the stored values exactly, not values merely equal to them.

A job that lower-cases e-mail addresses under a case-insensitive collation, rewrites
``1.10`` as ``1.1`` in an unconstrained ``numeric``, or ``1 day`` as ``24 hours``,
changed what is stored though the type's equality calls the values equal: the
rollback must put the stored values back, and its verification must not call the
table "equal to the checkpoint" before it has. Columns whose type has no equality at
all (``point``, ``xml``) are restored like the others.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa

import safe_release as sr
from safe_release._checkpoints import CheckpointContext, _rowhash, _snapshot
from safe_release._report import ReleaseStatus, Verification
from safe_release.exceptions import CheckpointError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from sqlalchemy import Connection


class Boom(Exception):  # noqa: N818 - the job's own error
    pass


def fail_release(store: sr.Store, table: sa.Table, job: Callable[[Connection], Any]) -> Any:
    """Run ``job`` in a release that checkpoints ``table`` and then fails; its report."""
    checkpoint = [sr.table_checkpoint(store.engine, table)]
    with (  # noqa: PT012 - the release is the block
        pytest.raises(Boom) as info,
        sr.release("catalog", store=store, checkpoint=checkpoint),
    ):
        with store.engine.begin() as conn:
            job(conn)
        raise Boom
    return info.value.rollback_report  # type: ignore[attr-defined]


def exact_rows(store: sr.Store, table: sa.Table) -> list[tuple[Any, ...]]:
    """Every row as stored: its binary form on PostgreSQL, each value and type on SQLite."""
    name = store.engine.dialect.identifier_preparer.format_table(table)
    with store.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            sql = f"SELECT record_send(t) FROM {name} AS t ORDER BY record_send(t)"  # noqa: S608
            return [tuple(r) for r in conn.exec_driver_sql(sql)]
        cols = [c.name for c in table.columns]
        picked = ", ".join(f'quote("{c}"), typeof("{c}")' for c in cols)
        sql = f"SELECT {picked} FROM {name} ORDER BY 1"  # noqa: S608
        return [tuple(r) for r in conn.exec_driver_sql(sql)]


def restored(report: Any) -> str:
    """The detail of the one restored step (``N changed, N inserted, N deleted``)."""
    assert (report.status, report.failed) == (ReleaseStatus.ROLLED_BACK, ())
    assert report.verification is Verification.VERIFIED
    (step,) = report.restored
    return str(step.detail)


def create(store: sr.Store, name: str, columns: str, rows: list[str]) -> sa.Table:
    """Create ``name`` with the columns given as SQL, insert ``rows`` (SQL values lists)."""
    prep = store.engine.dialect.identifier_preparer
    target = prep.quote(name)
    if store.schema:
        target = f"{prep.quote(store.schema)}.{target}"
    with store.engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE TABLE {target} ({columns})")
        for row in rows:
            conn.exec_driver_sql(f"INSERT INTO {target} VALUES ({row})")  # noqa: S608
    return sa.Table(name, sa.MetaData(schema=store.schema), autoload_with=store.engine)


def qualified(store: sr.Store, table: sa.Table) -> str:
    return store.engine.dialect.identifier_preparer.format_table(table)


@pytest.fixture(name="customers")
def fixture_customers(store: sr.Store) -> Iterator[sa.Table]:
    """``customers``: a case-insensitive key and e-mail (NOCASE; ``citext``)."""
    if store.engine.dialect.name == "postgresql":
        with store.engine.begin() as conn:
            conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS citext")
        ci = "citext"
    else:
        ci = "TEXT COLLATE NOCASE"
    table = create(
        store,
        "customers",
        f"sku {ci} PRIMARY KEY, email {ci}, note TEXT",
        ["'SKU-A', 'Ann@Example.COM', 'x'", "'SKU-B', 'Bob@Example.COM', 'y'"],
    )
    yield table
    table.drop(store.engine)


class TestCaseInsensitive:
    def test_a_lower_cased_column_is_put_back(self, store: sr.Store, customers: sa.Table) -> None:
        """``UPDATE … SET email = lower(email)`` is undone, and only then verified."""
        before = exact_rows(store, customers)
        report = fail_release(
            store,
            customers,
            lambda conn: conn.execute(
                customers.update().values(email=sa.func.lower(customers.c.email))
            ),
        )
        assert restored(report) == "2 changed, 0 inserted, 0 deleted"
        assert exact_rows(store, customers) == before

    def test_a_lower_cased_key_is_put_back(self, store: sr.Store, customers: sa.Table) -> None:
        """A key whose case alone changed matches its snapshot row; it is put back too."""
        before = exact_rows(store, customers)
        report = fail_release(
            store,
            customers,
            lambda conn: conn.execute(
                customers.update().where(customers.c.sku == "SKU-A").values(sku="sku-a")
            ),
        )
        assert restored(report) == "1 changed, 0 inserted, 0 deleted"
        assert exact_rows(store, customers) == before

    def test_a_key_deleted_and_inserted_in_another_case(
        self, store: sr.Store, customers: sa.Table
    ) -> None:
        before = exact_rows(store, customers)

        def job(conn: Connection) -> None:
            conn.execute(customers.delete().where(customers.c.sku == "SKU-B"))
            conn.execute(customers.insert().values(sku="sku-b", email="bob@example.com", note="y"))

        report = fail_release(store, customers, job)
        assert restored(report).startswith("1 changed")
        assert exact_rows(store, customers) == before

    def test_verification_sees_a_case_change(self, store: sr.Store, customers: sa.Table) -> None:
        """Comparing with the checkpoint counts a case-only change as a difference."""
        cp = sr.table_checkpoint(store.engine, customers)
        ctx = CheckpointContext(store=store, release_id="r" + uuid.uuid4().hex[:8], seq=1)
        state = cp.capture(ctx)
        try:
            assert cp.verify(state, ctx) == (True, "equal to the checkpoint")
            with store.engine.begin() as conn:
                conn.execute(customers.update().values(email=sa.func.upper(customers.c.email)))
            assert cp.verify(state, ctx) == (False, "2 differ, 0 missing, 0 extra")
        finally:
            cp.discard(state, ctx)


# (column, PostgreSQL type, value at capture, what the job writes): the job writes a
# value its type calls equal where it has an equality, another value where it has none
Column = tuple[str, str, str, str]
Sweep = tuple[sa.Table, list[Column]]
_PG_TYPES: list[Column] = [
    ("n", "numeric", "'1.10'", "'1.1'"),
    ("n_fixed", "numeric(10,2)", "'1.10'", "'1.11'"),
    ("n_nan", "numeric", "'NaN'", "'0'"),
    ("f8", "float8", "'-0'", "'0'"),
    ("f8_inf", "float8", "'Infinity'", "'-Infinity'"),
    ("f4", "real", "'NaN'", "'-0'"),
    ("iv", "interval", "'1 day'", "'24 hours'"),
    ("iv_month", "interval", "'1 mon'", "'30 days'"),
    ("js", "json", """'{"a": 1}'""", """'{"a":1}'"""),
    ("jb", "jsonb", """'{"a": 1.0}'""", """'{"a": 1}'"""),
    ("x", "xml", "'<a>1</a>'", "'<a>2</a>'"),
    ("p", "point", "'(1,2)'", "'(1,3)'"),
    ("l", "line", "'{1,2,3}'", "'{2,4,6}'"),
    ("ls", "lseg", "'[(0,0),(1,1)]'", "'[(0,0),(1,2)]'"),
    ("bx", "box", "'(1,1),(0,0)'", "'(2,0.5),(0,0)'"),
    ("pa", "path", "'((0,0),(1,1))'", "'[(0,0),(1,1)]'"),
    ("pg", "polygon", "'((0,0),(1,1),(1,0))'", "'((0,0),(1,1),(1,0.5))'"),
    ("ci", "circle", "'<(0,0),1>'", "'<(1,1),1>'"),
    ("ia", "int[]", "'[0:0]={1}'", "'{1}'"),
    ("na", "numeric[]", "'{1.10}'", "'{1.1}'"),
    ("pt", "point[]", """'{"(1,2)"}'""", """'{"(1,3)"}'"""),
    ("r", "int4range", "'[1,3)'", "'[1,4)'"),
    ("nr", "numrange", "'[1.10,2)'", "'[1.1,2)'"),
    ("tr", "tstzrange", "'[2026-01-01 00:00+00,2026-01-02 00:00+00)'", "'[2026-01-01 00:00+00,)'"),
    ("tv", "tsvector", "'a b'", "'a c'"),
    ("tq", "tsquery", "'a & b'", "'a | b'"),
    ("m", "money", "'1.00'", "'2.00'"),
    ("ip", "inet", "'10.0.0.1/8'", "'10.0.0.1/16'"),
    ("cd", "cidr", "'10.0.0.0/8'", "'10.0.0.0/16'"),
    ("mac", "macaddr", "'08:00:2b:01:02:03'", "'08:00:2b:01:02:04'"),
    ("mood", "sr_mood", "'sad'", "'happy'"),
    ("dn", "sr_dnum", "'1.10'", "'1.1'"),
    ("dp", "sr_dpoint", "'(1,2)'", "'(1,3)'"),
    ("pair", "sr_pair", """'(1.10,"(1,2)")'""", """'(1.1,"(1,2)")'"""),
    ("ct", "citext", "'Ab'", "'ab'"),
    ("tz", "timetz", "'12:00+01'", "'11:00+00'"),
    ("bt", "bit(4)", "'1010'", "'0101'"),
    ("vb", "varbit", "'1'", "'11'"),
    (
        "u",
        "uuid",
        "'00000000-0000-0000-0000-00000000000a'",
        "'00000000-0000-0000-0000-00000000000b'",
    ),
    ("by", "bytea", "'\\x01'", "'\\x02'"),
    ("ts", "timestamptz", "'2026-01-01 00:00+00'", "'2026-01-01 00:00:00.000001+00'"),
    ("lsn", "pg_lsn", "'0/16'", "'0/17'"),
    ("snap", "pg_snapshot", "'10:20:'", "'10:21:'"),
    ("vc", "varchar(8)", "'Ab'", "'ab'"),
    ("ch", "char(4)", "'ab'", "'Ab'"),
    ("bp", "bpchar", "'ab'", "'ab '"),
]
_PG14_TYPES: list[Column] = [
    ("mr", "int4multirange", "'{[1,3)}'", "'{[1,4)}'"),
    ("n_inf", "numeric", "'Infinity'", "'-Infinity'"),
]
_PG_SETUP = [
    "CREATE EXTENSION IF NOT EXISTS citext",
    "CREATE TYPE {s}sr_mood AS ENUM ('sad', 'happy')",
    "CREATE DOMAIN {s}sr_dnum AS numeric",
    "CREATE DOMAIN {s}sr_dpoint AS point",
    "CREATE TYPE {s}sr_pair AS (n numeric, p point)",
]


def _pg_columns(conn: Connection, schema: str) -> list[Column]:
    """The sweep's columns this server has; the helper types created in ``schema``."""
    for sql in _PG_SETUP:
        conn.exec_driver_sql(sql.format(s=f'"{schema}".'))
    columns = [
        (name, f'"{schema}".{typ}' if typ.startswith("sr_") else typ, old, new)
        for name, typ, old, new in _PG_TYPES
    ]
    if (conn.dialect.server_version_info or (0,)) >= (14,):
        columns += _PG14_TYPES
    icu = conn.exec_driver_sql("SELECT count(*) FROM pg_collation WHERE collprovider = 'i'")
    if icu.scalar():  # a nondeterministic, case-insensitive collation
        conn.exec_driver_sql(
            f'CREATE COLLATION "{schema}".sr_ci '
            "(provider = icu, locale = 'und-u-ks-level2', deterministic = false)"
        )
        columns.append(("ci_text", f'text COLLATE "{schema}".sr_ci', "'Ab'", "'ab'"))
    return columns


@pytest.fixture(name="pg_store")
def fixture_pg_store(pg_url: str, clock: Any) -> Iterator[sr.Store]:
    """A store in a schema of its own on the session's PostgreSQL server."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    store = sr.connect(pg_url, schema=schema, clock=clock)
    yield store
    with store.engine.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    store.close()


@pytest.mark.postgres
class TestEveryPostgresType:
    """Every built-in kind of type: captured, compared and restored byte for byte."""

    @pytest.fixture(name="sweep")
    def fixture_sweep(self, pg_store: sr.Store) -> Sweep:
        """``sweep``: an id and one column per type; 5 rows per column, all alike."""
        schema = str(pg_store.schema)
        with pg_store.engine.begin() as conn:
            columns = _pg_columns(conn, schema)
            defs = ", ".join(f"{name} {typ}" for name, typ, _, _ in columns)
            conn.exec_driver_sql(f'CREATE TABLE "{schema}".sweep (id int PRIMARY KEY, {defs})')
            values = ", ".join(f"{old}::{typ}" for _, typ, old, _ in columns)
            conn.exec_driver_sql(
                f'INSERT INTO "{schema}".sweep SELECT g, {values} '  # noqa: S608
                f"FROM generate_series(1, {5 * len(columns)}) AS g"
            )
        # by its name: reflected, the types SQLAlchemy does not know included
        return sr.table_checkpoint(pg_store.engine, f"{schema}.sweep").table, columns

    @pytest.mark.parametrize("touched", ["few", "every"])
    def test_each_column_changed_alone_is_put_back(
        self, pg_store: sr.Store, sweep: Sweep, touched: str
    ) -> None:
        """Row k has only column k changed: each is found changed and restored.

        ``few``: the change log's keys are compared; ``every``: every row was
        written (the whole table is compared).
        """
        table, columns = sweep
        name, total = qualified(pg_store, table), 5 * len(columns)
        before = exact_rows(pg_store, table)

        def job(conn: Connection) -> None:
            for k, (col, typ, _, new) in enumerate(columns, start=1):
                conn.exec_driver_sql(f"UPDATE {name} SET {col} = {new}::{typ} WHERE id = {k}")  # noqa: S608
            if touched == "every":  # a write that changes nothing
                conn.exec_driver_sql(f"UPDATE {name} SET id = id WHERE id > {len(columns)}")  # noqa: S608
            conn.exec_driver_sql(f"DELETE FROM {name} WHERE id = {total}")  # noqa: S608
            conn.exec_driver_sql(
                f"INSERT INTO {name} SELECT {total + 1}, "
                + ", ".join(f"{new}::{typ}" for _, typ, _, new in columns)
            )

        report = fail_release(pg_store, table, job)
        assert restored(report) == f"{len(columns)} changed, 1 inserted, 1 deleted"
        assert exact_rows(pg_store, table) == before

    def test_a_wiped_table_is_refilled(self, pg_store: sr.Store, sweep: Sweep) -> None:
        """Every row deleted: the snapshot's rows come back, checked as they are copied."""
        table, columns = sweep
        before = exact_rows(pg_store, table)
        report = fail_release(pg_store, table, lambda conn: conn.execute(table.delete()))
        assert restored(report) == f"0 changed, {5 * len(columns)} inserted, 0 deleted"
        assert exact_rows(pg_store, table) == before

    def test_verification_counts_every_column(self, pg_store: sr.Store, sweep: Sweep) -> None:
        table, columns = sweep
        cp = sr.table_checkpoint(pg_store.engine, table)
        ctx = CheckpointContext(store=pg_store, release_id="r" + uuid.uuid4().hex[:8], seq=1)
        state = cp.capture(ctx)
        try:
            assert cp.verify(state, ctx) == (True, "equal to the checkpoint")
            with pg_store.engine.begin() as conn:
                name = qualified(pg_store, table)
                for k, (col, typ, _, new) in enumerate(columns, start=1):
                    sql = f"UPDATE {name} SET {col} = {new}::{typ} WHERE id = {k}"  # noqa: S608
                    conn.exec_driver_sql(sql)
            assert cp.verify(state, ctx) == (False, f"{len(columns)} differ, 0 missing, 0 extra")
        finally:
            cp.discard(state, ctx)

    @pytest.mark.parametrize("column", ["p", "x", "pt", "js"])
    def test_a_key_without_equality_is_refused_at_capture(
        self, pg_store: sr.Store, sweep: Sweep, column: str
    ) -> None:
        """A key the restore could not match rows by is refused before the job runs."""
        table, _ = sweep
        ran = []
        checkpoint = [sr.table_checkpoint(pg_store.engine, table, key=[column])]
        with (
            pytest.raises(CheckpointError, match=rf"key column {column!r} .* no equality"),
            sr.release("catalog", store=pg_store, checkpoint=checkpoint),
        ):
            ran.append(True)
        assert ran == []


class TestSqliteStorage:
    """SQLite: collations and the columns that keep a value's storage class."""

    @pytest.fixture(name="loose")
    def fixture_loose(self, sqlite_store: sr.Store) -> Iterator[sa.Table]:
        table = create(
            sqlite_store,
            "loose",
            "id INTEGER PRIMARY KEY, untyped, blob BLOB, nocase TEXT COLLATE NOCASE, "
            "rtrim TEXT COLLATE RTRIM, num NUMERIC, real REAL",
            [f"{k}, 1, 2, 'Ab', 'a', 1, 1.5" for k in range(1, 41)],
        )
        yield table
        table.drop(sqlite_store.engine)

    @pytest.mark.parametrize("touched", ["few", "every"])
    def test_equal_values_of_another_form_are_put_back(
        self, sqlite_store: sr.Store, loose: sa.Table, touched: str
    ) -> None:
        before = exact_rows(sqlite_store, loose)
        changes = ["untyped = 1.0", "blob = 2.0", "nocase = 'ab'", "rtrim = 'a  '", "num = '1'"]

        def job(conn: Connection) -> None:
            for k, change in enumerate(changes, start=1):
                conn.exec_driver_sql(f"UPDATE loose SET {change} WHERE id = {k}")  # noqa: S608
            if touched == "every":
                conn.exec_driver_sql("UPDATE loose SET id = id WHERE id > 5")

        report = fail_release(sqlite_store, loose, job)
        # num = '1' stores the integer 1 again: NUMERIC affinity, nothing changed
        assert restored(report) == "4 changed, 0 inserted, 0 deleted"
        assert exact_rows(sqlite_store, loose) == before

    def test_a_key_in_another_case_under_rtrim(self, sqlite_store: sr.Store) -> None:
        table = create(
            sqlite_store,
            "codes",
            "code TEXT COLLATE RTRIM PRIMARY KEY, label TEXT",
            ["'GB', 'United Kingdom'", "'DE', 'Germany'"],
        )
        before = exact_rows(sqlite_store, table)
        report = fail_release(
            sqlite_store,
            table,
            lambda conn: conn.exec_driver_sql("UPDATE codes SET code = 'GB  ' WHERE code = 'GB'"),
        )
        assert restored(report) == "1 changed, 0 inserted, 0 deleted"
        assert exact_rows(sqlite_store, table) == before


@pytest.mark.postgres
class TestSnapshotHash:
    """A snapshot edited into an equal but not identical value is refused, not restored."""

    @pytest.fixture(name="amounts")
    def fixture_amounts(self, pg_store: sr.Store) -> sa.Table:
        with pg_store.engine.begin() as conn:
            conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS citext")
        return create(
            pg_store,
            "amounts",
            "id int PRIMARY KEY, n numeric, ct citext, jb jsonb, q int",
            [f"""{k}, 1.10, 'Ab', '{{"a": 1.0}}', 0""" for k in range(1, 21)],
        )

    def _capture(self, store: sr.Store, table: sa.Table) -> tuple[Any, Any, CheckpointContext]:
        cp = sr.table_checkpoint(store.engine, table)
        ctx = CheckpointContext(store, uuid.uuid4().hex, 1)
        return cp, cp.capture(ctx), ctx

    def _snapshot(self, store: sr.Store, state: Any) -> str:
        return f'"{store.schema}"."{state["snapshot"]}"'

    @pytest.mark.parametrize(
        ("column", "value"), [("n", "1.1"), ("ct", "'ab'"), ("jb", """'{"a": 1}'""")]
    )
    @pytest.mark.parametrize("wiped", [False, True])
    def test_an_equal_value_forged_into_the_snapshot_is_refused(
        self, pg_store: sr.Store, amounts: sa.Table, column: str, value: str, *, wiped: bool
    ) -> None:
        """The hash covers the exact form: ``1.10`` → ``1.1`` in the snapshot is found.

        ``wiped``: every row deleted (the rows are checked as they are copied back);
        else one row changed (the change log's keys are checked).
        """
        cp, state, ctx = self._capture(pg_store, amounts)
        assert str(state["hash"]).startswith("hre:")
        assert set(state["exact"]) == {"n", "ct", "jb"}
        with pg_store.engine.begin() as conn:
            snap = self._snapshot(pg_store, state)
            conn.exec_driver_sql(f"UPDATE {snap} SET {column} = {value} WHERE id = 3")  # noqa: S608
            job = amounts.delete() if wiped else amounts.update().where(amounts.c.id == 3)
            conn.execute(job if wiped else job.values(q=1))
        before = exact_rows(pg_store, amounts)
        with pytest.raises(sr.SnapshotTamperedError, match="differ from their capture"):
            cp.restore(state, ctx)
        assert exact_rows(pg_store, amounts) == before
        cp.discard(state, ctx)

    def test_a_hash_of_an_earlier_version_still_verifies(
        self, pg_store: sr.Store, amounts: sa.Table
    ) -> None:
        """``hrh:`` (every value hashed as it is, no ``exact``) is checked as it was taken."""
        cp, state, ctx = self._capture(pg_store, amounts)
        snap = self._snapshot(pg_store, state)
        with pg_store.engine.begin() as conn:  # the sr_h an earlier version wrote
            seed = _snapshot.pg_seed(conn, ctx)
            fields = "s.id, s.n, s.ct, s.jb, s.q"
            conn.exec_driver_sql(
                f"UPDATE {snap} AS s SET sr_h = hash_record_extended(ROW({fields}), {seed})"  # noqa: S608
            )
            count, total = conn.exec_driver_sql(
                f"SELECT count(*), sum(sr_h) FROM {snap}"  # noqa: S608
            ).one()
        old = {k: v for k, v in state.items() if k != "exact"}
        old["hash"] = _rowhash.digest(int(count), int(total), "hrh:")
        with pg_store.engine.begin() as conn:
            conn.execute(amounts.update().where(amounts.c.id == 3).values(n=2))
        assert cp.restore(old, ctx) == "1 changed, 0 inserted, 0 deleted"
        assert cp.verify(old, ctx) == (True, "equal to the checkpoint")
        cp.discard(old, ctx)

    def test_a_nocase_key_without_a_unique_index(self, sqlite_store: sr.Store) -> None:
        """key= a NOCASE column no index covers: a case-only change is still put back."""
        table = create(
            sqlite_store,
            "cust",
            "id INTEGER PRIMARY KEY, email TEXT COLLATE NOCASE, note TEXT",
            ["1, 'Ann@X.com', 'a'", "2, 'Bob@X.com', 'b'"],
        )
        before = exact_rows(sqlite_store, table)
        checkpoint = [sr.table_checkpoint(sqlite_store.engine, table, key=["email"])]
        with (  # noqa: PT012 - the release is the block
            pytest.raises(Boom) as info,
            sr.release("catalog", store=sqlite_store, checkpoint=checkpoint),
        ):
            with sqlite_store.engine.begin() as conn:
                conn.exec_driver_sql("UPDATE cust SET email = lower(email)")
            raise Boom
        assert restored(info.value.rollback_report) == "2 changed, 0 inserted, 0 deleted"  # type: ignore[attr-defined]
        assert exact_rows(sqlite_store, table) == before

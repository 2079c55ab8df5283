"""compat: recorded application schemas checked against an upgraded database."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa

import safe_release as sr
from safe_release.migrations import compat
from safe_release.migrations._metadata_json import SchemaDesc, describe_metadata

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from safe_release.testing import FakeClock
    from tests.conftest import Backend

APP = "erp"
STATUS = ("new", "paid", "shipped")


def _status(*values: str) -> sa.Enum:
    return sa.Enum(*values, name="order_status", create_constraint=True)


def base_columns() -> list[sa.Column[Any]]:
    """The orders table every application version maps."""
    return [
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("sku", sa.String(20), nullable=False),
        sa.Column("note", sa.String(50), nullable=True),
        sa.Column("status", _status(*STATUS), nullable=False),
    ]


def app_metadata(*extra: sa.Column[Any], drop: tuple[str, ...] = ()) -> sa.MetaData:
    """An application's MetaData: orders (base columns + ``extra`` - ``drop``)."""
    md = sa.MetaData()
    cols = [c for c in base_columns() if c.name not in drop]
    sa.Table("orders", md, *cols, *extra)
    return md


class Erp:
    """The ERP's tables in the store's database (PostgreSQL: the store's schema)."""

    def __init__(self, store: sr.Store) -> None:
        self.store = store
        self.md: sa.MetaData | None = None

    def shape(
        self,
        *extra: sa.Column[Any],
        drop: tuple[str, ...] = (),
        replace: dict[str, sa.Column[Any]] | None = None,
    ) -> None:
        """Rebuild ``orders`` as base columns + ``extra`` - ``drop``, ``replace``d."""
        self.drop()
        md = sa.MetaData(schema=self.store.schema)
        cols = [(replace or {}).get(c.name, c) for c in base_columns() if c.name not in drop]
        sa.Table("orders", md, *cols, *extra)
        md.create_all(self.store.engine)
        self.md = md

    def drop(self) -> None:
        """Drop what the last shape created (tables and enum types)."""
        if self.md is not None:
            self.md.drop_all(self.store.engine)
            self.md = None

    def check(self, version: str) -> compat.CompatResult:
        """compat.check of ``version`` against the current shape."""
        return compat.check(self.store, APP, version, self.store.engine, schema=self.store.schema)

    def floor(self) -> compat.RollbackFloor:
        """compat.rollback_floor against the current shape."""
        return compat.rollback_floor(self.store, APP, self.store.engine, schema=self.store.schema)


@pytest.fixture(name="erp")
def fixture_erp(store: sr.Store) -> Iterator[Erp]:
    """The ERP's orders table beside the store; dropped afterwards."""
    erp = Erp(store)
    yield erp
    erp.drop()


@pytest.fixture(name="v1")
def fixture_v1(store: sr.Store) -> str:
    """Version 1.0 of the application recorded."""
    compat.record(store, APP, "1.0", app_metadata())
    return "1.0"


def codes(result: compat.CompatResult) -> set[tuple[str, str, str | None]]:
    """(access, code, column) of every problem."""
    return {(p.access, p.code, p.column) for p in (*result.read, *result.write)}


class TestCheck:
    def test_same_shape_is_ok(self, erp: Erp, v1: str) -> None:
        """The schema the version was recorded from is compatible with it."""
        erp.shape()
        result = erp.check(v1)
        assert result.ok
        assert result.read == result.write == ()

    def test_check_on_a_connection(self, erp: Erp, v1: str) -> None:
        """A Connection works as well as an Engine."""
        erp.shape()
        with erp.store.engine.connect() as conn:
            assert compat.check(erp.store, APP, v1, conn, schema=erp.store.schema).ok

    def test_new_nullable_column_is_safe(self, erp: Erp, v1: str) -> None:
        """A new nullable column: old code reads and writes as before."""
        erp.shape(sa.Column("memo", sa.Text, nullable=True))
        assert erp.check(v1).ok

    def test_new_not_null_with_server_default_is_safe(self, erp: Erp, v1: str) -> None:
        """A new NOT NULL column the database fills in: old INSERTs still work."""
        erp.shape(sa.Column("qty", sa.Integer, nullable=False, server_default="1"))
        assert erp.check(v1).ok

    def test_new_not_null_without_default_blocks_writes(self, erp: Erp, v1: str) -> None:
        """A new NOT NULL column without a default: old code can read but not write."""
        erp.shape(sa.Column("region", sa.String(10), nullable=False))
        result = erp.check(v1)
        assert codes(result) == {("write", "new-required-column", "region")}
        assert result.read == ()
        assert "orders" in result.write[0].table

    def test_dropped_column_blocks_reads(self, erp: Erp, v1: str) -> None:
        """A dropped column: the old code selects and writes it."""
        erp.shape(drop=("note",))
        assert codes(erp.check(v1)) == {
            ("read", "column-missing", "note"),
            ("write", "column-missing", "note"),
        }

    def test_renamed_column_blocks_reads(self, erp: Erp, v1: str) -> None:
        """A rename is a drop for the old code (its name is gone)."""
        erp.shape(sa.Column("comment", sa.String(50)), drop=("note",))
        assert ("read", "column-missing", "note") in codes(erp.check(v1))

    def test_dropped_table_blocks_reads(self, erp: Erp, v1: str) -> None:
        """A table the old code maps is gone."""
        erp.shape()
        erp.drop()
        result = erp.check(v1)
        assert [(p.code, p.column) for p in result.read] == [("table-missing", None)]

    def test_widened_string_is_safe(self, erp: Erp, v1: str) -> None:
        """A longer VARCHAR (or TEXT) still holds what the old code writes."""
        erp.shape(
            replace={
                "sku": sa.Column("sku", sa.String(200), nullable=False),
                "note": sa.Column("note", sa.Text),
            }
        )
        assert erp.check(v1).ok

    def test_narrowed_string_blocks_writes(self, erp: Erp, v1: str) -> None:
        """A shorter VARCHAR: what the old code writes may no longer fit."""
        erp.shape(replace={"note": sa.Column("note", sa.String(10))})
        result = erp.check(v1)
        assert codes(result) == {("write", "type-narrowed", "note")}
        assert "VARCHAR(50) -> VARCHAR(10)" in result.write[0].message

    def test_changed_type_blocks_reads(self, erp: Erp, v1: str) -> None:
        """A column of another kind of type: the old code reads the wrong values."""
        erp.shape(replace={"sku": sa.Column("sku", sa.Integer, nullable=False)})
        assert codes(erp.check(v1)) == {("read", "type-changed", "sku")}

    def test_now_not_null_blocks_writes(self, erp: Erp, v1: str) -> None:
        """A column the old code may leave NULL became NOT NULL without a default."""
        erp.shape(replace={"note": sa.Column("note", sa.String(50), nullable=False)})
        assert codes(erp.check(v1)) == {("write", "now-not-null", "note")}

    def test_removed_enum_value_blocks_writes(self, erp: Erp, v1: str) -> None:
        """An enum value the old code writes was removed."""
        erp.shape(replace={"status": sa.Column("status", _status("new", "paid"), nullable=False)})
        result = erp.check(v1)
        assert ("write", "enum-value-removed", "status") in codes(result)
        assert "shipped" in result.write[0].message

    def test_added_enum_value_blocks_reads(self, erp: Erp, v1: str) -> None:
        """A new enum value: the old code cannot read rows holding it."""
        erp.shape(
            replace={"status": sa.Column("status", _status(*STATUS, "returned"), nullable=False)}
        )
        assert codes(erp.check(v1)) == {("read", "enum-value-added", "status")}

    def test_sdk_tables_are_ignored(self, erp: Erp, store: sr.Store) -> None:
        """sr_ tables in the application's metadata are never compared."""
        md = app_metadata()
        sa.Table("sr_mine", md, sa.Column("id", sa.Integer, primary_key=True))
        compat.record(store, APP, "1.0", md)
        erp.shape()
        assert erp.check("1.0").ok


class TestTypes:
    @pytest.mark.parametrize(
        ("old", "new", "problem"),
        [
            (sa.Numeric(10, 2), sa.Numeric(12, 4), None),
            (sa.Numeric(10, 4), sa.Numeric(10, 2), "type-narrowed"),
            (sa.Integer(), sa.BigInteger(), None),
            (sa.Double(), sa.Double(), None),
            (sa.String(20), sa.Text(), None),
            (sa.Text(), sa.String(20), "type-narrowed"),
            (sa.DateTime(), sa.Integer(), "type-changed"),
            (sa.Boolean(), sa.Boolean(), None),
        ],
    )
    def test_type_rules(
        self, erp: Erp, store: sr.Store, old: Any, new: Any, problem: str | None
    ) -> None:
        """Widening keeps old code working; narrowing or another kind of type does not."""
        compat.record(store, APP, "1.0", app_metadata(sa.Column("v", old)))
        erp.shape(sa.Column("v", new))
        found = {p.code for p in (*erp.check("1.0").read, *erp.check("1.0").write)}
        assert found == ({problem} if problem else set())

    def test_bigint_to_int(self, erp: Erp, store: sr.Store, backend: Backend) -> None:
        """BIGINT -> INTEGER narrows on PostgreSQL; SQLite integers are all 64-bit."""
        compat.record(store, APP, "1.0", app_metadata(sa.Column("v", sa.BigInteger)))
        erp.shape(sa.Column("v", sa.Integer))
        found = [p.code for p in erp.check("1.0").write]
        assert found == (["type-narrowed"] if backend.name == "postgresql" else [])

    def test_string_becomes_enum(self, erp: Erp, store: sr.Store) -> None:
        """A free string restricted to enum values: the old code may write others."""
        compat.record(store, APP, "1.0", app_metadata(sa.Column("kind", sa.String(10))))
        erp.shape(sa.Column("kind", sa.Enum("a", "b", name="kind", create_constraint=True)))
        result = erp.check("1.0")
        assert [(p.code, p.column) for p in result.write] == [("type-narrowed", "kind")]
        assert "now restricted to a, b" in result.write[0].message

    def test_server_default_removed(self, erp: Erp, store: sr.Store) -> None:
        """A NOT NULL column the old code left to its server default lost the default."""
        compat.record(
            store,
            APP,
            "1.0",
            app_metadata(sa.Column("qty", sa.Integer, nullable=False, server_default="1")),
        )
        erp.shape(sa.Column("qty", sa.Integer, nullable=False))
        assert codes(erp.check("1.0")) == {("write", "default-removed", "qty")}

    def test_tables_recorded_with_a_schema(self, erp: Erp, store: sr.Store) -> None:
        """A table recorded with its schema is looked up there, whatever schema= says."""
        md = sa.MetaData(schema=store.schema)
        sa.Table("orders", md, *base_columns())
        compat.record(store, APP, "1.0", md)
        erp.shape()
        assert compat.check(store, APP, "1.0", store.engine).ok


def _step_v3_not_null(erp: Erp) -> None:
    erp.shape(sa.Column("qty", sa.Integer, nullable=False), sa.Column("channel", sa.String(20)))


class TestRollbackFloor:
    @pytest.fixture(name="three")
    def fixture_three(self, store: sr.Store, clock: FakeClock) -> None:
        """v1, v2 (+ nullable qty), v3 (qty NOT NULL with a Python default, + channel)."""
        compat.record(store, APP, "1.0", app_metadata())
        clock.advance(60)
        compat.record(store, APP, "2.0", app_metadata(sa.Column("qty", sa.Integer)))
        clock.advance(60)
        compat.record(
            store,
            APP,
            "3.0",
            app_metadata(
                sa.Column("qty", sa.Integer, nullable=False, default=1),
                sa.Column("channel", sa.String(20)),
            ),
        )
        clock.advance(60)

    @pytest.mark.usefixtures("three")
    def test_floor_moves_with_upgrades(self, erp: Erp, store: sr.Store) -> None:
        """Each upgrade step moves the floor to the oldest version still compatible."""
        erp.shape(sa.Column("qty", sa.Integer), sa.Column("channel", sa.String(20)))
        assert erp.floor().floor == "1.0"
        _step_v3_not_null(erp)
        floor = erp.floor()
        assert (floor.floor, floor.safe) == ("3.0", ("3.0",))
        assert [r.version for r in floor.results] == ["3.0", "2.0", "1.0"]
        erp.shape(
            sa.Column("qty", sa.Integer, nullable=False),
            sa.Column("channel", sa.String(20)),
            drop=("note",),
        )
        assert erp.floor().floor is None
        compat.record(
            store,
            APP,
            "4.0",
            app_metadata(
                sa.Column("qty", sa.Integer, nullable=False, default=1),
                sa.Column("channel", sa.String(20)),
                drop=("note",),
            ),
        )
        assert erp.floor().floor == "4.0"

    def test_an_incompatible_middle_version_stops_the_floor(
        self, erp: Erp, store: sr.Store, clock: FakeClock
    ) -> None:
        """The floor needs every newer version compatible, not just the oldest."""
        for version, extra in (("1.0", ()), ("2.0", (sa.Column("legacy", sa.Text),)), ("3.0", ())):
            compat.record(store, APP, version, app_metadata(*extra))
            clock.advance(1)
        erp.shape()
        floor = erp.floor()
        assert {r.version: r.ok for r in floor.results} == {"3.0": True, "2.0": False, "1.0": True}
        assert floor.floor == "3.0"

    def test_retired_versions_are_skipped(
        self, erp: Erp, store: sr.Store, clock: FakeClock
    ) -> None:
        """A retired version is neither a rollback target nor a blocker."""
        for version, extra in (("1.0", ()), ("2.0", (sa.Column("legacy", sa.Text),)), ("3.0", ())):
            compat.record(store, APP, version, app_metadata(*extra))
            clock.advance(1)
        erp.shape()
        compat.retire(store, APP, "2.0")
        floor = erp.floor()
        assert floor.retired == ("2.0",)
        assert floor.floor == "1.0"
        assert [r.version for r in floor.results] == ["3.0", "1.0"]

    @pytest.mark.usefixtures("three")
    def test_reports(self, erp: Erp) -> None:
        """as_dict is JSON; format_text names the floor, versions, tables and columns."""
        _step_v3_not_null(erp)
        floor = erp.floor()
        data = json.loads(json.dumps(floor.as_dict()))
        assert data["floor"] == "3.0"
        assert data["results"][1]["write"][0]["column"] == "qty"
        text = floor.format_text()
        assert "rollback floor of 'erp': 3.0" in text
        assert "orders.qty" in text
        assert "now-not-null" in text
        assert "new-required-column" in text

    def test_every_version_retired(self, erp: Erp, store: sr.Store, v1: str) -> None:
        """With every version retired there is no floor, and the text says why."""
        compat.retire(store, APP, v1)
        erp.shape()
        floor = erp.floor()
        assert (floor.floor, floor.results, floor.retired) == (None, (), (v1,))
        assert "every recorded version is retired" in floor.format_text()

    def test_unknown_app_is_a_typed_error(self, erp: Erp) -> None:
        """No recorded version: InvalidArgumentError saying how to record one."""
        with pytest.raises(sr.InvalidArgumentError, match=r"compat\.record"):
            erp.floor()


class TestRecord:
    def test_record_is_idempotent(self, store: sr.Store, v1: str) -> None:
        """Recording the same schema again changes nothing."""
        compat.record(store, APP, v1, app_metadata())
        assert [v.version for v in compat.versions(store, APP)] == [v1]

    def test_changed_schema_for_a_version_is_refused(self, store: sr.Store, v1: str) -> None:
        """A released version's schema must not silently change."""
        with pytest.raises(sr.InvalidArgumentError, match="new version"):
            compat.record(store, APP, v1, app_metadata(sa.Column("x", sa.Integer)))

    def test_versions_and_retirement(self, store: sr.Store, clock: FakeClock, v1: str) -> None:
        """versions() lists oldest first; retire() is idempotent and is_retired sees it."""
        clock.advance(5)
        compat.record(store, APP, "2.0", app_metadata())
        assert not compat.is_retired(store, APP, v1)
        compat.retire(store, APP, v1)
        first = compat.versions(store, APP)[0].retired_at
        clock.advance(5)
        compat.retire(store, APP, v1)
        listed = compat.versions(store, APP)
        assert [(v.version, v.retired) for v in listed] == [("1.0", True), ("2.0", False)]
        assert listed[0].retired_at == first
        assert listed[0].recorded_at < listed[1].recorded_at
        assert compat.is_retired(store, APP, v1)
        assert not compat.is_retired(store, APP, "9.9")
        assert compat.versions(store, "other") == []

    @pytest.mark.parametrize(
        ("call", "match"),
        [
            (lambda s: compat.record(s, "", "1", sa.MetaData()), "app must be"),
            (lambda s: compat.record(s, APP, " ", sa.MetaData()), "version must be"),
            (lambda s: compat.record(s, APP, "1", object()), "Base.metadata"),
            (lambda s: compat.retire(s, APP, "9.9"), "no schema is recorded"),
            (lambda s: compat.check(s, APP, "9.9", s.engine), "no schema is recorded"),
            (
                lambda _s: compat.record("nope", APP, "1", sa.MetaData()),  # type: ignore[arg-type]
                "safe_release Store",
            ),
        ],
    )
    def test_bad_input_is_a_typed_error(
        self, sqlite_store: sr.Store, call: Callable[[sr.Store], object], match: str
    ) -> None:
        """Empty names, non-MetaData, unknown versions: InvalidArgumentError with advice."""
        with pytest.raises(sr.InvalidArgumentError, match=match):
            call(sqlite_store)

    def test_check_needs_an_engine(self, sqlite_store: sr.Store) -> None:
        """check() on something that is not an Engine or Connection says what to pass."""
        compat.record(sqlite_store, APP, "1.0", app_metadata())
        with pytest.raises(sr.InvalidArgumentError, match="Engine or Connection"):
            compat.check(sqlite_store, APP, "1.0", "sqlite://")  # type: ignore[arg-type]


class TestMetadataJson:
    def _stored(self, store: sr.Store) -> str:
        t = store.tables.app_schema
        with store.engine.connect() as conn:
            return str(conn.execute(sa.select(t.c.metadata_json)).scalar_one())

    def test_round_trip_is_stable(self, store: sr.Store, v1: str) -> None:
        """The stored JSON parses and re-serialises to the same text and content."""
        assert v1
        stored = self._stored(store)
        assert SchemaDesc.from_json(stored).to_json() == stored
        assert describe_metadata(app_metadata()).to_json() == stored

    def test_description(self, store: sr.Store, v1: str) -> None:
        """Types, nullability, keys, defaults and enum values are described."""
        assert v1
        data = json.loads(self._stored(store))
        cols = {c["name"]: c for c in data["tables"][0]["columns"]}
        assert cols["id"]["primary_key"]
        assert cols["id"]["autoincrement"]
        assert cols["sku"]["type"]["generic"] == "String"
        assert cols["sku"]["type"]["length"] == 20
        assert cols["sku"]["type"]["compiled"]["postgresql"] == "VARCHAR(20)"
        assert cols["note"]["nullable"]
        assert cols["status"]["type"]["enum"] == list(STATUS)

    def test_no_default_values_or_urls_are_stored(self, store: sr.Store) -> None:
        """Default values and server-default text never reach the store."""
        md = app_metadata(
            sa.Column(
                "token", sa.String(40), default="hunter2-secret", server_default="s3cr3t-server"
            ),
            sa.Column("dsn", sa.Text, server_default=sa.text("'postgresql://u:pw@h/db'")),
        )
        compat.record(store, APP, "1.0", md)
        stored = self._stored(store)
        for secret in ("hunter2", "s3cr3t", "postgresql://", "pw@"):
            assert secret not in stored
        cols = {c["name"]: c for c in json.loads(stored)["tables"][0]["columns"]}
        assert cols["token"]["default"]
        assert cols["token"]["server_default"]


class TestGeneratedKeys:
    def test_bigint_key_and_identity_unchanged_are_ok(self, store: sr.Store) -> None:
        """A BigInteger key and an Identity() column, schema unchanged: no problem.

        (SQLite generates neither; not generating them now is no change.)
        """
        md = sa.MetaData(schema=store.schema)
        sa.Table(
            "ledger",
            md,
            sa.Column("id", sa.BigInteger, primary_key=True),
            sa.Column("seq", sa.Integer, sa.Identity(), nullable=False),
            sa.Column("memo", sa.String(20)),
        )
        md.create_all(store.engine)
        try:
            recorded = sa.MetaData()
            for table in md.tables.values():
                table.to_metadata(recorded, schema=None)
            compat.record(store, "books", "1.0", recorded)
            result = compat.check(store, "books", "1.0", store.engine, schema=store.schema)
            assert result.ok, result.format_text()
        finally:
            md.drop_all(store.engine)

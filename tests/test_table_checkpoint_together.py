"""Table checkpoints of one database restored together: orders and their lines.

A job that deletes an order with its lines, adds an order with lines and moves a
line to the new order cannot be undone one table at a time: whichever table comes
first, a foreign key refuses it. A release restores them in one transaction.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa

import safe_release as sr
from safe_release._checkpoints import CheckpointContext, _snapfile
from safe_release._checkpoints._table import restore_tables
from safe_release._report import ReleaseStatus
from safe_release.exceptions import RollbackFailedError
from tests.test_table_checkpoint import forge, stamping_trigger

if TYPE_CHECKING:
    from collections.abc import Iterator


class Boom(Exception):  # noqa: N818 - the job's own error
    pass


def make_tables(
    store: sr.Store, *, on_delete: str | None = None, deferrable: bool = False
) -> tuple[sa.Table, sa.Table]:
    """``orders`` and ``lines`` (a foreign key to ``orders``), two orders of one line."""
    md = sa.MetaData(schema=store.schema)
    orders = sa.Table(
        "orders", md, sa.Column("id", sa.Integer, primary_key=True), sa.Column("total", sa.Integer)
    )
    fk = sa.ForeignKey(orders.c.id, ondelete=on_delete, deferrable=deferrable or None)
    lines = sa.Table(
        "lines",
        md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("order_id", sa.Integer, fk, nullable=on_delete == "SET NULL"),
        sa.Column("qty", sa.Integer),
    )
    md.create_all(store.engine)
    with store.engine.begin() as conn:
        conn.execute(orders.insert(), [{"id": 1, "total": 10}, {"id": 2, "total": 20}])
        conn.execute(
            lines.insert(),
            [{"id": 1, "order_id": 1, "qty": 1}, {"id": 2, "order_id": 2, "qty": 2}],
        )
    return orders, lines


@pytest.fixture(name="tables")
def fixture_tables(store: sr.Store) -> Iterator[tuple[sa.Table, sa.Table]]:
    orders, lines = make_tables(store)
    yield orders, lines
    orders.metadata.drop_all(store.engine)


def contents(store: sr.Store, *tables: sa.Table) -> list[list[tuple[Any, ...]]]:
    with store.engine.connect() as conn:
        return [[tuple(r) for r in conn.execute(sa.select(t).order_by(t.c.id))] for t in tables]


def contents_by(store: sr.Store, *tables: sa.Table) -> list[list[tuple[Any, ...]]]:
    """Every row of each table, ordered by its primary key."""
    with store.engine.connect() as conn:
        return [
            [tuple(r) for r in conn.execute(sa.select(t).order_by(*t.primary_key))] for t in tables
        ]


def reorganise(store: sr.Store, orders: sa.Table, lines: sa.Table) -> None:
    """What the buggy job does: every move a foreign key cares about."""
    with store.engine.begin() as conn:
        conn.execute(lines.delete().where(lines.c.order_id == 1))
        conn.execute(orders.delete().where(orders.c.id == 1))
        conn.execute(orders.insert().values(id=3, total=30))
        conn.execute(lines.insert().values(id=3, order_id=3, qty=3))
        conn.execute(lines.update().where(lines.c.id == 2).values(order_id=3, qty=9))


def fail_release(store: sr.Store, checkpoints: list[Any], job: Any) -> sr.RollbackReport:
    """Run ``job`` in a release that then fails; the rollback's report."""

    def run() -> None:
        with sr.release("orders", store=store, checkpoint=checkpoints):
            job()
            raise Boom

    with pytest.raises(Boom) as info:
        run()
    return info.value.rollback_report  # type: ignore[attr-defined,no-any-return]


class TestTogether:
    @pytest.mark.parametrize("lines_first", [False, True])
    def test_orders_and_lines_put_back(
        self, store: sr.Store, tables: tuple[sa.Table, sa.Table], *, lines_first: bool
    ) -> None:
        """Whatever the order of the checkpoints, both tables come back, verified."""
        orders, lines = tables
        before = contents(store, orders, lines)
        cps = [sr.table_checkpoint(store.engine, t) for t in (orders, lines)]
        report = fail_release(
            store, cps[::-1] if lines_first else cps, lambda: reorganise(store, orders, lines)
        )
        assert (report.status, report.failed) == (ReleaseStatus.ROLLED_BACK, ())
        assert contents(store, orders, lines) == before
        assert all(c.ok for c in report.checks)
        details = sorted(s.detail for s in report.restored)
        assert details == ["0 changed, 1 inserted, 1 deleted", "1 changed, 1 inserted, 1 deleted"]

    def test_a_config_checkpoint_between_the_tables(
        self, store: sr.Store, tables: tuple[sa.Table, sa.Table]
    ) -> None:
        """Config captured between the tables does not split them (it lives in the store)."""
        orders, lines = tables
        before = contents(store, orders, lines)
        pricing = store.config("pricing")
        pricing.publish({"floor": 1}, author="t")
        cps = [
            sr.table_checkpoint(store.engine, orders),
            pricing,
            sr.table_checkpoint(store.engine, lines),
        ]

        def job() -> None:
            pricing.publish({"floor": 0}, author="bug")
            reorganise(store, orders, lines)

        report = fail_release(store, cps, job)
        assert (report.status, report.failed) == (ReleaseStatus.ROLLED_BACK, ())
        assert contents(store, orders, lines) == before
        assert pricing.current().content == {"floor": 1}

    @pytest.mark.parametrize("lines_first", [False, True])
    @pytest.mark.parametrize(
        ("on_delete", "deferrable"), [("CASCADE", False), ("SET NULL", False), (None, True)]
    )
    def test_foreign_key_kinds(
        self, store: sr.Store, on_delete: str | None, *, deferrable: bool, lines_first: bool
    ) -> None:
        """Cascades and deferrable keys: all put back.

        A cascade from the restore's own delete (``orders`` restored first: the new
        order goes, and with it the line moved to it) is undone in a later pass; a
        DEFERRABLE foreign key (PostgreSQL) is checked at the commit.
        """
        if deferrable and store.dialect != "postgresql":
            pytest.skip("DEFERRABLE constraints are PostgreSQL's")
        orders, lines = make_tables(store, on_delete=on_delete, deferrable=deferrable)
        try:
            before = contents(store, orders, lines)
            cps = [sr.table_checkpoint(store.engine, t) for t in (orders, lines)]
            report = fail_release(
                store, cps[::-1] if lines_first else cps, lambda: reorganise(store, orders, lines)
            )
            assert report.status is ReleaseStatus.ROLLED_BACK
            assert contents(store, orders, lines) == before
        finally:
            orders.metadata.drop_all(store.engine)

    @pytest.mark.parametrize("forged", ["orders", "lines"])
    def test_a_tampered_snapshot_restores_neither(
        self, store: sr.Store, tables: tuple[sa.Table, sa.Table], forged: str
    ) -> None:
        """Either snapshot altered: nothing of either table is restored."""
        orders, lines = tables
        cps = [sr.table_checkpoint(store.engine, t) for t in (orders, lines)]
        ctxs = [CheckpointContext(store, uuid.uuid4().hex, 1) for _ in cps]
        states = [cp.capture(c) for cp, c in zip(cps, ctxs, strict=True)]
        reorganise(store, orders, lines)
        after = contents(store, orders, lines)
        if forged == "orders":
            forge(store, states[0], "UPDATE {snap} SET total = 99 WHERE id = 2")
        else:
            forge(store, states[1], "UPDATE {snap} SET qty = 99 WHERE id = 1")
        with pytest.raises(sr.SnapshotTamperedError, match=forged):
            restore_tables(list(zip(cps, states, ctxs, strict=True)))
        assert contents(store, orders, lines) == after

    def test_refused_for_good_restores_nothing(
        self, store: sr.Store, tables: tuple[sa.Table, sa.Table]
    ) -> None:
        """A line whose order is outside every checkpoint: refused, nothing restored.

        The release's rollback fails, saying so, and its steps wait for `recover`.
        """
        orders, lines = tables
        cps = [
            sr.table_checkpoint(store.engine, orders, where="id = 2"),
            sr.table_checkpoint(store.engine, lines),
        ]

        def job() -> None:
            with store.engine.begin() as conn:
                conn.execute(lines.delete().where(lines.c.order_id == 1))
                conn.execute(orders.delete().where(orders.c.id == 1))  # outside the scope
                conn.execute(orders.update().where(orders.c.id == 2).values(total=0))

        with pytest.raises(RollbackFailedError, match="lines"):
            fail_release(store, cps, job)
        assert contents(store, orders) == [[(2, 0)]]  # the orders step rolled back too

    def test_database_failure_midway_restores_nothing_until_recover(
        self, store: sr.Store, tables: tuple[sa.Table, sa.Table]
    ) -> None:
        """The connection fails between the statements: neither table is half-restored.

        The release waits in ``rollback_failed``; ``recover()`` then restores both.
        """
        orders, lines = tables
        before = contents(store, orders, lines)
        cps = [sr.table_checkpoint(store.engine, t) for t in (orders, lines)]
        failures: list[str] = []

        def flaky(_conn: object, _cursor: object, statement: str, *_: object) -> None:
            if (
                not failures
                and statement.startswith("INSERT INTO")
                and "lines" in statement.split("SELECT", maxsplit=1)[0]
            ):
                failures.append(statement)
                raise sa.exc.OperationalError(statement, {}, Exception("connection lost"))

        def job() -> None:
            reorganise(store, orders, lines)
            sa.event.listen(store.engine, "before_cursor_execute", flaky)

        try:
            with pytest.raises(RollbackFailedError, match="restoring table"):
                fail_release(store, cps, job)
        finally:
            sa.event.remove(store.engine, "before_cursor_execute", flaky)
        assert failures  # it did fail midway
        assert contents(store, orders, lines) == [[(2, 20), (3, 30)], [(2, 3, 9), (3, 3, 3)]]
        [report] = store.recover(checkpoint=cps)
        assert report.status is ReleaseStatus.ROLLED_BACK
        assert contents(store, orders, lines) == before

    def test_keys_that_refer_to_each_other(self, store: sr.Store) -> None:
        """Orders name their main line, lines their order: only a deferred check works.

        Neither row can be inserted before the other; SQLite's deferred foreign keys
        and PostgreSQL's DEFERRABLE ones are checked at the commit, when both are back.
        """
        md = sa.MetaData(schema=store.schema)
        deferrable = store.dialect == "postgresql" or None
        orders = sa.Table(
            "orders",
            md,
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("main_line", sa.Integer),
        )
        lines = sa.Table(
            "lines",
            md,
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column(
                "order_id",
                sa.Integer,
                sa.ForeignKey(orders.c.id, deferrable=deferrable),
                nullable=False,
            ),
        )
        orders.append_constraint(
            sa.ForeignKeyConstraint(
                ["main_line"],
                [lines.c.id],
                use_alter=True,
                name="orders_main_line",
                deferrable=deferrable,
            )
        )
        md.create_all(store.engine)
        try:
            with store.engine.begin() as conn:
                conn.execute(orders.insert().values(id=1, main_line=None))
                conn.execute(lines.insert().values(id=1, order_id=1))
                conn.execute(orders.update().values(main_line=1))
            before = contents(store, orders, lines)
            cps = [sr.table_checkpoint(store.engine, t) for t in (orders, lines)]

            def job() -> None:
                with store.engine.begin() as conn:
                    conn.execute(orders.update().values(main_line=None))
                    conn.execute(lines.delete())
                    conn.execute(orders.delete())

            report = fail_release(store, cps, job)
            assert report.status is ReleaseStatus.ROLLED_BACK
            assert contents(store, orders, lines) == before
        finally:
            with store.engine.begin() as conn:
                conn.execute(orders.update().values(main_line=None))
            md.drop_all(store.engine)

    def test_one_table_twice_emptied(
        self, store: sr.Store, tables: tuple[sa.Table, sa.Table]
    ) -> None:
        """The same table checkpointed whole and in part, then emptied: refilled once."""
        orders, _ = tables
        before = contents(store, orders)
        cps = [
            sr.table_checkpoint(store.engine, orders),
            sr.table_checkpoint(store.engine, orders, where="id = 1"),
        ]

        def job() -> None:
            with store.engine.begin() as conn:
                conn.execute(orders.update().values(total=0))
            with store.engine.begin() as conn:  # the lines first: they refer to the orders
                conn.execute(sa.delete(tables[1]))
                conn.execute(orders.delete())

        report = fail_release(store, [*cps, sr.table_checkpoint(store.engine, tables[1])], job)
        assert report.status is ReleaseStatus.ROLLED_BACK
        assert contents(store, orders) == before

    def test_stamping_trigger_does_not_stop_the_restore(
        self, store: sr.Store, tables: tuple[sa.Table, sa.Table]
    ) -> None:
        """A trigger that stamps every updated row: restored once, the check says so."""
        orders, lines = tables
        ddl = stamping_trigger(
            store,
            "orders",
            column="total",
            assign="NEW.total := NEW.total + 1000",
            update="UPDATE orders SET total = NEW.total + 1000 WHERE id = NEW.id",
            when="WHEN NEW.total < 1000",
        )
        cps = [sr.table_checkpoint(store.engine, t) for t in (orders, lines)]

        def job() -> None:
            reorganise(store, orders, lines)
            with store.engine.begin() as conn:
                for sql in ddl:  # from now on, as a release deployed with a new trigger
                    conn.execute(sa.text(sql))
                conn.execute(orders.update().where(orders.c.id == 2).values(total=5))

        report = fail_release(store, cps, job)
        assert report.status is ReleaseStatus.ROLLED_BACK
        totals = dict(contents(store, orders)[0])
        assert totals == {1: 10, 2: 1020}  # restored, then stamped by the trigger
        assert not all(c.ok for c in report.checks)

    def test_identity_put_back_without_cascading(self, store: sr.Store) -> None:
        """PostgreSQL: an order's ALWAYS identity restored in place; its lines stay."""
        if store.dialect != "postgresql":
            pytest.skip("ALWAYS identities are PostgreSQL's")
        md = sa.MetaData(schema=store.schema)
        orders = sa.Table(
            "orders",
            md,
            sa.Column("code", sa.String(8), primary_key=True),
            sa.Column("id", sa.Integer, sa.Identity(always=True)),
        )
        lines = sa.Table(
            "lines",
            md,
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("code", sa.String(8), sa.ForeignKey(orders.c.code, ondelete="CASCADE")),
            sa.Column("qty", sa.Integer),
        )
        md.create_all(store.engine)
        try:
            with store.engine.begin() as conn:
                conn.execute(orders.insert(), [{"code": "A"}, {"code": "B"}])
                conn.execute(
                    lines.insert(), [{"id": i, "code": "AB"[i % 2], "qty": i} for i in range(20)]
                )
            before = contents_by(store, orders, lines)
            cps = [sr.table_checkpoint(store.engine, t) for t in (lines, orders)]

            def job() -> None:
                with store.engine.begin() as conn:
                    conn.execute(
                        orders.update().where(orders.c.code == "A").values(id=sa.text("DEFAULT"))
                    )
                    conn.execute(lines.update().where(lines.c.id == 1).values(qty=99))

            report = fail_release(store, cps, job)
            assert report.status is ReleaseStatus.ROLLED_BACK
            assert all(c.ok for c in report.checks)
            assert contents_by(store, orders, lines) == before
        finally:
            md.drop_all(store.engine)

    def test_two_databases_at_one_url(self, store: sr.Store) -> None:
        """Two in-memory SQLite databases share a URL: each restored on its own engine."""
        engines = [sa.create_engine("sqlite://", poolclass=sa.pool.StaticPool) for _ in range(2)]
        stocks = [
            sa.Table(
                f"stock{i}",
                sa.MetaData(),
                sa.Column("sku", sa.String(8), primary_key=True),
                sa.Column("qty", sa.Integer),
            )
            for i in range(2)
        ]
        for i, (engine, stock) in enumerate(zip(engines, stocks, strict=True)):
            stock.metadata.create_all(engine)
            with engine.begin() as conn:
                conn.execute(stock.insert(), [{"sku": "A", "qty": i}])
        cps = [sr.table_checkpoint(e, t) for e, t in zip(engines, stocks, strict=True)]

        def job() -> None:
            for engine, stock in zip(engines, stocks, strict=True):
                with engine.begin() as conn:
                    conn.execute(stock.update().values(qty=50))

        report = fail_release(store, cps, job)
        assert report.status is ReleaseStatus.ROLLED_BACK
        for i, (engine, stock) in enumerate(zip(engines, stocks, strict=True)):
            with engine.connect() as conn:
                assert conn.execute(sa.select(stock.c.qty)).scalar_one() == i

    def test_no_deadlock_with_an_application_transaction(
        self, store: sr.Store, tables: tuple[sa.Table, sa.Table]
    ) -> None:
        """PostgreSQL: an application writing orders then lines during the restore.

        The restore takes both locks at once or waits holding none, so the two
        cannot deadlock: both commit.
        """
        if store.dialect != "postgresql":
            pytest.skip("table locks are PostgreSQL's")
        orders, lines = tables
        before = contents(store, orders, lines)
        cps = [sr.table_checkpoint(store.engine, t) for t in (orders, lines)]
        app = sa.create_engine(store.engine.url)
        started, outcome = threading.Event(), {}

        def application() -> None:
            try:
                with app.begin() as conn:
                    conn.execute(orders.update().where(orders.c.id == 2).values(total=20))
                    started.set()
                    time.sleep(0.5)
                    conn.execute(lines.insert().values(id=100, order_id=2, qty=1))
                outcome["app"] = "committed"
            except sa.exc.DBAPIError as exc:  # pragma: no cover - the failure asserted
                outcome["app"] = type(exc.orig).__name__

        def job() -> None:
            with store.engine.begin() as conn:
                conn.execute(orders.update().values(total=0))
                conn.execute(lines.update().values(qty=0))
            thread.start()
            started.wait(5)

        thread = threading.Thread(target=application)
        try:
            report = fail_release(store, cps, job)
        finally:
            thread.join(10)
            app.dispose()
        assert outcome == {"app": "committed"}
        assert report.status is ReleaseStatus.ROLLED_BACK
        orders_now, lines_now = contents(store, orders, lines)
        assert orders_now == before[0]
        assert [r for r in lines_now if r[0] != 100] == before[1]

    def test_rows_of_one_table_that_refer_to_each_other(self, store: sr.Store) -> None:
        """Categories and their parents, a unique name besides the key: one table alone.

        Its cheapest order deletes first, which the moved child refuses; the restore
        then goes statement by statement and updates the child before the delete.
        """
        md = sa.MetaData(schema=store.schema)
        cat = sa.Table(
            "cat",
            md,
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("name", sa.String(20), unique=True),
            sa.Column("parent_id", sa.Integer),
        )
        cat.append_constraint(sa.ForeignKeyConstraint(["parent_id"], [cat.c.id]))
        md.create_all(store.engine)
        try:
            with store.engine.begin() as conn:
                conn.execute(
                    cat.insert(),
                    [
                        {"id": 1, "name": "root", "parent_id": None},
                        {"id": 2, "name": "child", "parent_id": 1},
                    ],
                )
            before = contents(store, cat)

            def job() -> None:
                with store.engine.begin() as conn:
                    conn.execute(cat.insert().values(id=3, name="new", parent_id=None))
                    conn.execute(cat.update().where(cat.c.id == 2).values(parent_id=3))

            report = fail_release(store, [sr.table_checkpoint(store.engine, cat)], job)
            assert report.status is ReleaseStatus.ROLLED_BACK
            assert [s.detail for s in report.restored] == ["1 changed, 0 inserted, 1 deleted"]
            assert contents(store, cat) == before
        finally:
            md.drop_all(store.engine)

    @pytest.mark.parametrize("deferrable", [False, True])
    def test_swapped_unique_values(self, store: sr.Store, *, deferrable: bool) -> None:
        """Two rows that swapped a unique value: refused, unless the constraint defers.

        No order of updates puts them back; a DEFERRABLE unique constraint
        (PostgreSQL) is checked at the commit, when both are back.
        """
        if deferrable and store.dialect != "postgresql":
            pytest.skip("DEFERRABLE constraints are PostgreSQL's")
        md = sa.MetaData(schema=store.schema)
        listings = sa.Table(
            "listings",
            md,
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("sku", sa.String(8)),
            sa.UniqueConstraint("sku", deferrable=deferrable or None),
        )
        md.create_all(store.engine)
        try:
            with store.engine.begin() as conn:
                conn.execute(listings.insert(), [{"id": 1, "sku": "A"}, {"id": 2, "sku": "B"}])
            before = contents(store, listings)

            def job() -> None:
                with store.engine.begin() as conn:
                    for row, sku in ((1, "tmp"), (2, "A"), (1, "B")):
                        conn.execute(listings.update().where(listings.c.id == row).values(sku=sku))

            cps = [sr.table_checkpoint(store.engine, listings)]
            if not deferrable:
                with pytest.raises(RollbackFailedError, match="restoring table"):
                    fail_release(store, cps, job)
                assert contents(store, listings) == [[(1, "B"), (2, "A")]]
                return
            report = fail_release(store, cps, job)
            assert report.status is ReleaseStatus.ROLLED_BACK
            assert contents(store, listings) == before
        finally:
            md.drop_all(store.engine)

    def test_twice_is_a_no_op(self, store: sr.Store, tables: tuple[sa.Table, sa.Table]) -> None:
        """Restoring the same checkpoints again (as recover would) changes nothing."""
        orders, lines = tables
        before = contents(store, orders, lines)
        cps = [sr.table_checkpoint(store.engine, t) for t in (orders, lines)]
        ctxs = [CheckpointContext(store, uuid.uuid4().hex, 1) for _ in cps]
        states = [cp.capture(c) for cp, c in zip(cps, ctxs, strict=True)]
        reorganise(store, orders, lines)
        items = list(zip(cps, states, ctxs, strict=True))
        assert restore_tables(items) == [
            "0 changed, 1 inserted, 1 deleted",
            "1 changed, 1 inserted, 1 deleted",
        ]
        assert contents(store, orders, lines) == before
        assert restore_tables(items) == ["0 changed, 0 inserted, 0 deleted"] * 2

    def test_more_files_than_one_attach(
        self, store: sr.Store, tables: tuple[sa.Table, sa.Table], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """SQLite: more snapshot files than one connection attaches go in turns."""
        if store.dialect != "sqlite":
            pytest.skip("snapshot files are SQLite's")
        monkeypatch.setattr(_snapfile, "MAX_ATTACHED", 1)
        orders, lines = tables
        before = contents(store, orders, lines)
        cps = [sr.table_checkpoint(store.engine, t) for t in (orders, lines)]
        ctxs = [CheckpointContext(store, uuid.uuid4().hex, 1) for _ in cps]
        states = [cp.capture(c) for cp, c in zip(cps, ctxs, strict=True)]
        with store.engine.begin() as conn:  # no foreign key in the way of turns
            conn.execute(orders.update().values(total=0))
            conn.execute(lines.update().values(qty=0))
        assert (
            restore_tables(list(zip(cps, states, ctxs, strict=True)))
            == ["2 changed, 0 inserted, 0 deleted"] * 2
        )
        assert contents(store, orders, lines) == before


class TestTamperedBatch:
    def test_one_tampered_manifest_refuses_the_whole_batch(
        self, store: sr.Store, tables: tuple[sa.Table, sa.Table]
    ) -> None:
        """A batch member whose manifest does not verify: no table of the batch is restored."""
        orders, lines = tables
        cps = [sr.table_checkpoint(store.engine, t) for t in (orders, lines)]
        t = store.tables.checkpoint

        def job() -> None:
            reorganise(store, orders, lines)
            with store.engine.begin() as conn:
                row = conn.execute(sa.select(t).where(t.c.name.like("%orders%"))).one()
                forged = (
                    row.manifest[:-2]
                    + ("A" if row.manifest[-2] != "A" else "B")
                    + row.manifest[-1]
                )
                conn.execute(
                    sa.update(t)
                    .where(t.c.release_id == row.release_id, t.c.seq == row.seq)
                    .values(manifest=forged)
                )
                release_id = row.release_id
            sr.resign_release(store, release_id, force=True)  # the seal passes; the manifest not

        after: list[list[tuple[Any, ...]]] = []
        with pytest.raises(RollbackFailedError) as info:
            fail_release(store, cps, lambda: (job(), after.extend(contents(store, orders, lines))))
        report = info.value.report
        assert isinstance(report, sr.RollbackReport)
        assert report.status is ReleaseStatus.ROLLBACK_FAILED
        details = sorted(s.detail.split(":")[0] for s in report.failed)
        assert details == ["SnapshotTamperedError", "not restored"]
        assert contents(store, orders, lines) == after  # neither table half-restored


class TestForeignKeyActions:
    @pytest.fixture(name="family")
    def fixture_family(self, store: sr.Store) -> Iterator[tuple[sa.Table, sa.Table]]:
        """``parents`` and ``kids`` (ON UPDATE CASCADE, ON DELETE SET NULL), three of each."""
        md = sa.MetaData(schema=store.schema)
        parents = sa.Table("parents", md, sa.Column("id", sa.Integer, primary_key=True))
        kids = sa.Table(
            "kids",
            md,
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column(
                "parent_id",
                sa.Integer,
                sa.ForeignKey(parents.c.id, onupdate="CASCADE", ondelete="SET NULL"),
            ),
        )
        md.create_all(store.engine)
        with store.engine.begin() as conn:
            conn.execute(parents.insert(), [{"id": n} for n in (1, 2, 3)])
            conn.execute(kids.insert(), [{"id": n, "parent_id": n} for n in (1, 2, 3)])
        yield parents, kids
        md.drop_all(store.engine)

    def test_the_jobs_own_cascades_run_and_roll_back(
        self, store: sr.Store, family: tuple[sa.Table, sa.Table]
    ) -> None:
        """A checkpointed child table does not break the job's valid ON UPDATE/DELETE actions."""
        parents, kids = family
        before = contents(store, parents, kids)
        cps = [sr.table_checkpoint(store.engine, t) for t in (parents, kids)]

        def job() -> None:
            with store.engine.begin() as conn:
                if conn.dialect.name == "sqlite":
                    conn.exec_driver_sql("PRAGMA foreign_keys = ON")
                conn.execute(parents.update().where(parents.c.id == 1).values(id=100))
                conn.execute(kids.update().where(kids.c.id == 1).values(id=10))
                conn.execute(parents.delete().where(parents.c.id == 2))
            assert contents(store, kids)[0] == [(2, None), (3, 3), (10, 100)]

        report = fail_release(store, cps, job)
        assert (report.status, report.failed) == (ReleaseStatus.ROLLED_BACK, ())
        assert contents(store, parents, kids) == before

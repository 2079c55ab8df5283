"""Reliability: a rollback meets a bad snapshot or a database that goes away.

The job of ``tests/reliability/world.py`` (config, ERP rows, Amazon prices and a
shipment) runs in a release whose body, before failing, damages what the
rollback will need: a row or the signed manifest of its table snapshot, the
snapshot of another release copied over its own, the snapshot table dropped.
The rollback must refuse that step with a typed error and leave the ERP table
exactly as the job left it (restored whole or not at all, never mixed), while
restoring everything else. A database that goes down at the k-th statement of
the rollback gives a typed error, and ``recover()`` finishes the rollback once
it is back.
"""

from __future__ import annotations

import base64
import contextlib
import json
import sqlite3
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import Engine, create_engine, event, inspect, select, text
from sqlalchemy import update as sql_update

import safe_release as sr
from safe_release._release import recover, release, release_record
from safe_release._report import ReleaseStatus
from safe_release.adapters.amazon import AmazonAdapter
from safe_release.exceptions import RollbackFailedError, SafeReleaseError
from safe_release.testing import FakeAmazon
from tests.reliability import world

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from safe_release._report import RollbackReport, StepResult
    from safe_release.testing import FakeClock
    from tests.conftest import Backend

table_checkpoint = sr.table_checkpoint

LEASE_S = 30.0


@dataclass
class Scene:
    """A store, the ERP table beside it, a fake marketplace and the job's adapter."""

    store: sr.Store
    erp: Engine
    schema: str | None
    clock: FakeClock
    fake: FakeAmazon = field(init=False)
    adapter: AmazonAdapter = field(init=False)

    def __post_init__(self) -> None:
        self.table = world.prices_table(self.schema)
        self.pricing = self.store.config(world.CONFIG)
        self.reset()

    def reset(self) -> None:
        """Put the world back to its seed (new fake, rows and config as before the job)."""
        self.table.metadata.drop_all(self.erp)
        world.seed_erp(self.erp, self.table)
        self.pricing.publish(world.BEFORE_CONFIG, author="ops")
        self.fake = FakeAmazon(clock=self.clock)
        world.seed_fake(self.fake)
        c = self.fake.credentials
        self.adapter = AmazonAdapter(
            seller_id=c.seller_id,
            client_id=c.client_id,
            client_secret=c.client_secret,
            refresh_token=c.refresh_token,
            marketplace_id=c.marketplace_id,
            transport=self.fake.transport,
            clock=self.clock,
            limits=dict.fromkeys(
                ("patchListingsItem", "getListingsItem", "confirmShipment", "getOrderItems"),
                world.FAST,
            ),
        )

    def live(self) -> list[Any]:
        """The job's checkpoints as live objects."""
        return [self.pricing, table_checkpoint(self.erp, self.table)]

    def state(self) -> dict[str, Any]:
        """Rows, config and marketplace prices as they are now."""
        return world.world_state(self.erp, self.table, self.store, self.fake)

    def rows(self) -> list[tuple[Any, ...]]:
        """The ERP rows as they are now."""
        return world.erp_rows(self.erp, self.table)

    def run(self, damage: Callable[[str], None] = lambda _rid: None, **options: Any) -> str:
        """Run the job in a release; ``damage(release id)`` runs just before it fails."""
        options.setdefault("scope", world.SCOPE)
        rel = release(
            "price-sync",
            store=self.store,
            checkpoint=self.live(),
            adapters=[self.adapter],
            **options,
        )
        with rel:
            world.run_job(self.erp, self.table, self.pricing, self.adapter)
            damage(rel.id)
            raise world.JobFailedError
        raise AssertionError  # pragma: no cover - the body raised

    def snapshot(self, release_id: str) -> str:
        """The name of the release's snapshot table (in the ERP database, or its own file)."""
        if self.snapshot_file(release_id) is not None:
            with sqlite3.connect(self.snapshot_file(release_id)) as conn:
                names = [
                    r[0]
                    for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
                ]
        else:
            names = inspect(self.erp).get_table_names(schema=self.schema)
        [name] = [n for n in names if n.startswith("sr_snap_") and release_id in n]
        return name

    def snapshot_file(self, release_id: str) -> Path | None:
        """SQLite: the file beside the ERP database that holds the release's snapshot."""
        database = self.erp.url.database
        if self.erp.dialect.name != "sqlite" or not database:
            return None
        path = Path(database)
        [found] = path.parent.glob(f"{path.name}.sr-snap-{release_id}_*")
        return found

    def alter_snapshot(self, release_id: str, statement: str) -> None:
        """Run ``statement`` (``{t}``: the snapshot table) where the snapshot lives."""
        sql = statement.format(
            t=f'"{self.snapshot(release_id)}"'
            if self.snapshot_file(release_id)
            else self.qualified(self.snapshot(release_id))
        )
        path = self.snapshot_file(release_id)
        if path is not None:
            with contextlib.closing(sqlite3.connect(path)) as conn, conn:
                conn.execute(sql)
            return
        with self.erp.begin() as conn:
            conn.execute(text(sql))

    def drop_snapshot(self, release_id: str) -> None:
        """Remove the release's snapshot (its table, or its file on SQLite)."""
        path = self.snapshot_file(release_id)
        if path is not None:
            path.unlink()
            return
        with self.erp.begin() as conn:
            conn.execute(text(f"DROP TABLE {self.qualified(self.snapshot(release_id))}"))

    def qualified(self, name: str) -> str:
        """A table name quoted for SQL, with its schema."""
        return f'"{self.schema}"."{name}"' if self.schema else f'"{name}"'

    def checkpoint_rows(self, release_id: str) -> list[Any]:
        """The release's checkpoint records (sr_checkpoint rows)."""
        t = self.store.tables.checkpoint
        with self.store.engine.connect() as conn:
            return list(
                conn.execute(select(t).where(t.c.release_id == release_id).order_by(t.c.seq))
            )


@pytest.fixture(name="scene")
def fixture_scene(
    backend: Backend, store: sr.Store, clock: FakeClock, tmp_path: Path
) -> Iterator[Scene]:
    """The job's world beside the store (ERP: its own SQLite file, or the store's schema)."""
    url = f"sqlite:///{tmp_path / 'erp.db'}" if backend.name == "sqlite" else backend.url
    erp = create_engine(url)
    scene = Scene(store, erp, backend.schema, clock)
    yield scene
    scene.adapter.close()
    erp.dispose()


def _fails(scene: Scene, damage: Callable[[str], None]) -> tuple[str, RollbackReport]:
    """Run the damaging job; its rollback must fail with RollbackFailedError and a report."""
    ids: list[str] = []

    def record_and_damage(rid: str) -> None:
        ids.append(rid)
        damage(rid)

    with pytest.raises(RollbackFailedError) as info:
        scene.run(record_and_damage)
    assert isinstance(info.value.__context__ or info.value.__cause__, BaseException)
    report = info.value.report
    assert report is not None
    assert report.status is ReleaseStatus.ROLLBACK_FAILED
    assert release_record(scene.store, ids[0]).status is ReleaseStatus.ROLLBACK_FAILED
    return ids[0], report


def _table_step(report: RollbackReport) -> StepResult:
    [step] = [s for s in report.failed if "erp_prices" in s.name]
    return step


def _job_rows() -> list[tuple[Any, ...]]:
    """The rows as `world.run_job` leaves them."""
    rows = {r[0]: r for r in world_seed_rows()}
    for sku in world.SKUS[:3]:
        rows[sku] = (sku, Decimal("0.01"), rows[sku][2], "zeroed")
    del rows[world.SKUS[7]]
    rows["SKU-NEW"] = ("SKU-NEW", Decimal("1.00"), 1, None)
    return [rows[k] for k in sorted(rows)]


def world_seed_rows() -> list[tuple[Any, ...]]:
    """The seed rows of the ERP table (as `world.seed_erp` writes them)."""
    return [
        (sku, Decimal(f"{10 + n}.99"), n * 3, None if n % 2 else f"row {n}")
        for n, sku in enumerate(world.SKUS)
    ]


def _others_restored(scene: Scene, before: dict[str, Any]) -> None:
    """Config and marketplace are back although the table step failed; no write twice."""
    state = scene.state()
    assert (state["config"], state["prices"]) == (before["config"], before["prices"])
    scene.fake.assert_no_duplicate_writes()


class TestTamperedSnapshot:
    @pytest.mark.parametrize("how", ["changed", "inserted", "deleted"])
    def test_altered_snapshot_rows_are_refused(self, scene: Scene, how: str) -> None:
        """A snapshot row changed, added or removed: refused, the table left as the job left it."""
        before = scene.state()
        statements = {
            "changed": "UPDATE {t} SET price = 999 WHERE sku = 'SKU-1'",
            "inserted": "INSERT INTO {t} (sku, price, qty) VALUES ('SKU-X', 1, 1)",
            "deleted": "DELETE FROM {t} WHERE sku = 'SKU-2'",
        }

        def damage(rid: str) -> None:
            scene.alter_snapshot(rid, statements[how])

        rid, report = _fails(scene, damage)
        step = _table_step(report)
        assert step.detail.startswith("SnapshotTamperedError"), step
        assert scene.rows() == _job_rows()
        _others_restored(scene, before)
        assert recover(scene.store, checkpoint=scene.live(), adapters=[scene.adapter]) != []
        assert scene.rows() == _job_rows()  # still refused: never half-restored
        assert release_record(scene.store, rid).status is ReleaseStatus.ROLLBACK_FAILED

    @pytest.mark.parametrize("column", ["manifest", "state"])
    def test_altered_manifest_or_state_is_refused(self, scene: Scene, column: str) -> None:
        """The signed manifest (or the state it signs) edited in the store: refused."""
        before = scene.state()

        def damage(rid: str) -> None:
            t = scene.store.tables.checkpoint
            [row] = [r for r in scene.checkpoint_rows(rid) if r.kind == "table"]
            if column == "manifest":
                head, payload, sig = row.manifest.split(".")
                body = json.loads(_b64decode(payload))
                body["state"] = json.loads(row.state) | {"rows": 1}
                value = ".".join((head, _b64encode(json.dumps(body)), sig))
            else:
                value = json.dumps(json.loads(row.state) | {"rows": 1})
            with scene.store.engine.begin() as conn:
                conn.execute(
                    sql_update(t)
                    .where(t.c.release_id == rid, t.c.seq == row.seq)
                    .values({column: value})
                )

        _, report = _fails(scene, damage)
        _refused_by_seal(report)
        assert scene.rows() == _job_rows()
        _others_restored(scene, before)


def _refused_by_seal(report: RollbackReport) -> None:
    """The edited record failed its seal; the table was not restored from it."""
    assert _table_step(report).detail.startswith("RecordTamperedError"), report


class TestSnapshotOfAnotherRelease:
    def test_copied_checkpoint_of_another_release_is_refused(self, scene: Scene) -> None:
        """Release B's table checkpoint replaced by release A's (validly signed): refused."""
        with pytest.raises(world.JobFailedError):
            scene.run(on_failure="manual", scope="elsewhere")  # A: parked, snapshot kept
        [a_id] = [r.id for r in _releases(scene.store)]
        [a_row] = [r for r in scene.checkpoint_rows(a_id) if r.kind == "table"]
        scene.reset()
        before = scene.state()

        def damage(rid: str) -> None:
            t = scene.store.tables.checkpoint
            [row] = [r for r in scene.checkpoint_rows(rid) if r.kind == "table"]
            with scene.store.engine.begin() as conn:
                conn.execute(
                    sql_update(t)
                    .where(t.c.release_id == rid, t.c.seq == row.seq)
                    .values(state=a_row.state, manifest=a_row.manifest)
                )

        _, report = _fails(scene, damage)
        _refused_by_seal(report)
        assert scene.rows() == _job_rows()
        _others_restored(scene, before)


class TestMissingSnapshot:
    def test_dropped_snapshot_table(self, scene: Scene) -> None:
        """Snapshot dropped (table, or file on SQLite): SnapshotMissingError, rest back."""
        before = scene.state()

        def damage(rid: str) -> None:
            scene.drop_snapshot(rid)

        rid, report = _fails(scene, damage)
        step = _table_step(report)
        assert step.detail.startswith("SnapshotMissingError"), step
        assert "erp_prices" in report.summary()
        assert any(s.kind != "kept" and "config" in s.name for s in report.restored)
        assert scene.rows() == _job_rows()
        _others_restored(scene, before)
        record = release_record(scene.store, rid)
        assert record.status is ReleaseStatus.ROLLBACK_FAILED
        assert record.report is not None
        assert [s.name for s in record.report.failed] == [s.name for s in report.failed]


class DatabaseSwitch:
    """Takes the database "down": from the k-th statement on, every statement fails."""

    def __init__(self, *engines: Engine) -> None:
        self.armed = False
        self.release_id = ""
        self.log: list[str] = []
        self.after: int | None = None
        self.seen = 0
        self.down = False
        for engine in engines:
            event.listen(engine, "before_cursor_execute", self._statement, retval=True)

    def _statement(
        self,
        _conn: object,
        _cursor: object,
        sql: str,
        params: Any,
        _context: object,
        _many: object,
    ) -> tuple[str, Any]:
        if self.armed:
            self.seen += 1
            self.log.append(" ".join(sql.split()[:3]))
            if self.after is not None and self.seen >= self.after:
                self.down = True
        if self.down:
            return "SELECT * FROM sr_the_database_is_down", params
        return sql, params

    def arm(self, release_id: str) -> None:
        """Called by the job just before it fails: count from here."""
        self.release_id, self.armed = release_id, True

    @contextlib.contextmanager
    def failing_from(self, k: int | None) -> Iterator[None]:
        self.armed, self.after, self.seen, self.down, self.log = False, k, 0, False, []
        try:
            yield
        finally:
            self.armed, self.after, self.down = False, None, False


class TestDatabaseDown:
    def _count(self, scene: Scene, switch: DatabaseSwitch) -> int:
        """Run the job once without a fault: the number of its rollback's last durable statement.

        That is the scope lock's release in the final transaction; on PostgreSQL the
        advisory unlock after it may fail harmlessly (the session's lock goes with it).
        """
        with switch.failing_from(None), pytest.raises(world.JobFailedError):
            scene.run(switch.arm)
        scene.reset()
        last = max(
            n
            for n, sql in enumerate(switch.log, 1)
            if sql.startswith("DELETE FROM") and "release_lock" in sql
        )
        assert last >= switch.seen - 2, switch.log[last - 1 :]  # then at most the unlock
        return last

    def _fail_at(self, scene: Scene, switch: DatabaseSwitch, k: int) -> str:
        """Run the job with the database going down at statement k: a typed error."""
        with switch.failing_from(k), pytest.raises(SafeReleaseError) as info:
            scene.run(switch.arm)
        assert isinstance(info.value, RollbackFailedError), (k, info.value)
        scene.clock.advance(LEASE_S + 1)  # the failed release's lock row may be left
        return switch.release_id

    def test_rollback_interrupted_by_the_database_is_finished_by_recover(
        self, scene: Scene
    ) -> None:
        """Database down at the k-th rollback statement: typed error; recover() completes."""
        switch = DatabaseSwitch(scene.store.engine, scene.erp)
        total = self._count(scene, switch)
        assert total > 10  # a real rollback: many statements
        points = sorted({1, 2, *range(3, total, max(1, total // 10)), total})
        for k in points:
            before = scene.state()
            rid = self._fail_at(scene, switch, k)
            assert scene.rows() in (before["rows"], _job_rows()), k  # never mixed
            reports = recover(scene.store, checkpoint=scene.live(), adapters=[scene.adapter])
            if (
                release_record(scene.store, rid).status is not ReleaseStatus.ROLLED_BACK or reports
            ):  # (rolled back before the fault: see test_down_in_the_last_...)
                assert [(r.release_id, r.status) for r in reports] == [
                    (rid, ReleaseStatus.ROLLED_BACK)
                ], (k, reports)
            assert scene.state() == before, k
            scene.fake.assert_no_duplicate_writes()
            assert recover(scene.store, checkpoint=scene.live(), adapters=[scene.adapter]) == []
            scene.reset()

    def test_down_in_the_last_transaction_is_finished_by_recover(self, scene: Scene) -> None:
        """Database down for the last transaction only: recover() records the report."""
        switch = DatabaseSwitch(scene.store.engine, scene.erp)
        rid = self._fail_at(scene, switch, self._count(scene, switch))
        recover(scene.store, checkpoint=scene.live(), adapters=[scene.adapter])
        record = release_record(scene.store, rid)
        assert (record.status, record.report is not None, record.finished_at is not None) == (
            ReleaseStatus.ROLLED_BACK,
            True,
            True,
        )
        with scene.store.engine.connect() as conn:
            assert list(conn.execute(select(scene.store.tables.release_lock))) == []


def _releases(store: sr.Store) -> list[Any]:
    from safe_release._release import releases  # noqa: PLC0415 - private until exported

    return releases(store, limit=0)


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _b64encode(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode()).rstrip(b"=").decode()

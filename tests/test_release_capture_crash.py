"""A process that dies between a table capture and its record: recover() cleans up."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

import safe_release as sr
from safe_release._checkpoints import CheckpointContext, CheckpointSet
from safe_release._release import recover, release
from safe_release._report import ReleaseStatus

if TYPE_CHECKING:
    from safe_release.testing import FakeClock


def _stock(store: sr.Store) -> sa.Table:
    md = sa.MetaData(schema=store.schema)
    table = sa.Table(
        "stock",
        md,
        sa.Column("sku", sa.String(10), primary_key=True),
        sa.Column("qty", sa.Integer, nullable=False),
    )
    md.create_all(store.engine)
    with store.engine.begin() as conn:
        conn.execute(table.insert(), [{"sku": f"S{i}", "qty": i} for i in range(20)])
    return table


def _left_behind(store: sr.Store) -> list[str]:
    """Triggers on the ERP table, change logs and snapshots (tables or files)."""
    with store.engine.connect() as conn:
        if store.dialect == "sqlite":
            names = [
                r[0]
                for r in conn.exec_driver_sql(
                    "SELECT name FROM sqlite_master WHERE type IN ('trigger', 'table')"
                )
            ]
            db = Path(str(store.engine.url.database))
            names += [p.name for p in db.parent.glob(f"{db.name}.sr-snap-*")]
        else:
            names = [
                r[0]
                for r in conn.execute(
                    sa.text(
                        "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal "
                        "AND tgrelid = to_regclass(:t)"
                    ),
                    {"t": f'"{store.schema}".stock'},
                )
            ]
            names += sa.inspect(conn).get_table_names(schema=store.schema)
    return sorted(
        n
        for n in names
        if n.startswith(("sr_snap", "sr_chg", "sr-snap"))
        or (store.dialect == "postgresql" and not n.startswith(("sr_", "stock")))
    )


def _die_mid_capture(store: sr.Store, cp: sr.TableCheckpoint) -> sr.Release:
    """Enter a release, record a capture's intent, capture, and 'die' before recording it."""
    rel = release("sync", store=store, lease=10)
    rel.__enter__()
    cps = CheckpointSet(store, rel.id, rel.scope)
    cps._insert(
        {"release_id": rel.id, "seq": 1, "kind": cp.kind, "name": cp.describe(), "state": {}},
        status="capturing",
    )
    cp.capture(CheckpointContext(store, rel.id, 1))
    assert rel._lock is not None
    rel._lock.close()  # the process is gone: no heartbeat, no exit
    rel._unbind()
    return rel


class TestInterruptedCapture:
    def test_recover_drops_what_the_capture_left(self, store: sr.Store, clock: FakeClock) -> None:
        """Snapshot, change log and triggers are dropped; the record says so; rows intact."""
        table = _stock(store)
        cp = sr.table_checkpoint(store.engine, table)
        rel = _die_mid_capture(store, cp)
        assert _left_behind(store) != []
        clock.advance(11)
        [report] = recover(store, checkpoint=[cp])
        assert report.status is ReleaseStatus.ROLLED_BACK
        assert _left_behind(store) == []
        [record] = CheckpointSet(store, rel.id, rel.scope).records()
        assert record.status == "discarded"
        with store.engine.begin() as conn:  # the ERP's writes work: no orphan trigger
            conn.execute(table.update().values(qty=0))

    def test_without_the_live_checkpoint_it_is_reported(
        self, store: sr.Store, clock: FakeClock
    ) -> None:
        """Without the live table checkpoint, recover() says what to pass; nothing dropped."""
        table = _stock(store)
        cp = sr.table_checkpoint(store.engine, table)
        _die_mid_capture(store, cp)
        clock.advance(11)
        [report] = recover(store)
        assert report.status is ReleaseStatus.ROLLBACK_FAILED
        assert "pass the live checkpoint" in report.failed[0].detail
        [report] = recover(store, checkpoint=[cp])
        assert report.status is ReleaseStatus.ROLLED_BACK
        assert _left_behind(store) == []

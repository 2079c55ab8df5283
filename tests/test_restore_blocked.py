"""A rollback never waits without bound on the job's own open transaction (issue 12, item 5).

The scoped-session pattern: the job's session still holds an uncommitted UPDATE of
a checkpointed table when the exception leaves the release. The restore must not
wait for ever: it waits a bounded time, fails with `RestoreBlockedError` naming the
situation, and leaves the release for `recover`; given the session
(``sessions=[...]``), the release rolls it back first and restores at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

import safe_release as sr
from safe_release._checkpoints import _together
from safe_release._report import ReleaseStatus

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from tests.conftest import Backend


class Boom(Exception):  # noqa: N818 - the job's own error
    """The job failing."""


@pytest.fixture(name="erp")
def fixture_erp(backend: Backend, store: sr.Store, tmp_path: Path) -> Iterator[sa.Engine]:
    """The ERP's database: its own SQLite file (a short busy timeout), or the store's server."""
    if backend.name == "sqlite":
        engine = sa.create_engine(
            f"sqlite:///{tmp_path / 'erp.db'}", connect_args={"timeout": 0.5}
        )
    else:
        engine = sa.create_engine(
            backend.url, connect_args={"options": f"-c search_path={store.schema}"}
        )
    yield engine
    engine.dispose()


@pytest.fixture(name="prices")
def fixture_prices(erp: sa.Engine) -> Iterator[sa.Table]:
    md = sa.MetaData()
    table = sa.Table(
        "prices",
        md,
        sa.Column("sku", sa.String(20), primary_key=True),
        sa.Column("price", sa.Integer),
    )
    md.create_all(erp)
    with erp.begin() as conn:
        conn.execute(sa.insert(table), [{"sku": "SKU-1", "price": 10}])
    yield table
    md.drop_all(erp)


def _price(erp: sa.Engine, prices: sa.Table) -> int:
    with erp.connect() as conn:
        return int(conn.execute(sa.select(prices.c.price)).scalar_one())


class TestOpenSession:
    def test_the_wait_is_bounded_and_named(
        self, store: sr.Store, erp: sa.Engine, prices: sa.Table, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A session left open: RestoreBlockedError after the bounded wait; recover finishes."""
        monkeypatch.setattr(_together, "RESTORE_LOCK_WAIT_S", 0.5)
        cp = sr.table_checkpoint(erp, prices)
        session = Session(erp)
        with (  # noqa: PT012 - the body is under test
            pytest.raises(sr.RollbackFailedError) as info,
            sr.release("prices", store=store, checkpoint=[cp]),
        ):
            session.execute(sa.update(prices).values(price=1))
            session.flush()
            raise Boom  # the session still holds its uncommitted UPDATE
        report = info.value.report
        assert isinstance(report, sr.RollbackReport)
        assert report.status is ReleaseStatus.ROLLBACK_FAILED
        [step] = report.failed
        assert step.detail.startswith("RestoreBlockedError"), step
        assert "sessions=" in step.detail
        session.rollback()
        session.close()
        with erp.begin() as conn:  # what the job had committed meanwhile
            conn.execute(sa.update(prices).values(price=2))
        [done] = store.recover(checkpoint=[cp])
        assert done.status is ReleaseStatus.ROLLED_BACK
        assert _price(erp, prices) == 10

    def test_given_sessions_are_rolled_back_first(
        self, store: sr.Store, erp: sa.Engine, prices: sa.Table
    ) -> None:
        """sessions=[session]: rolled back before the restore, which then does not wait."""
        cp = sr.table_checkpoint(erp, prices)
        session = Session(erp)
        with (  # noqa: PT012 - the body is under test
            pytest.raises(Boom) as info,
            sr.release("prices", store=store, checkpoint=[cp], sessions=[session]),
        ):
            with erp.begin() as conn:
                conn.execute(sa.update(prices).values(price=2))  # committed by the job
            session.execute(sa.update(prices).values(price=1))
            session.flush()
            raise Boom
        report = info.value.rollback_report  # type: ignore[attr-defined]
        assert report.status is ReleaseStatus.ROLLED_BACK
        assert _price(erp, prices) == 10
        session.close()

    def test_sessions_must_roll_back(self, store: sr.Store) -> None:
        """sessions= items without rollback() are refused before anything starts."""
        with pytest.raises(sr.InvalidArgumentError, match="sessions="):
            sr.release("prices", store=store, sessions=[object()])

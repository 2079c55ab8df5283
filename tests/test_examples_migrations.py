"""examples/erp_migrations: up, down and up again on both backends without losing data."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from safe_release.exceptions import ContractBlockedError
from safe_release.migrations import compat

if TYPE_CHECKING:
    from collections.abc import Iterator

    import safe_release as sr
    from tests.conftest import Backend

PROJECT = Path(__file__).resolve().parent.parent / "examples" / "erp_migrations"
UTC = dt.timezone.utc


@pytest.fixture(name="engine")
def fixture_engine(backend: Backend) -> Iterator[sa.Engine]:
    """The ERP database (PostgreSQL: the test's own schema via search_path)."""
    url = sa.make_url(backend.url)
    if backend.schema is not None:
        url = url.update_query_dict({"options": f"-csearch_path={backend.schema}"})
        admin = sa.create_engine(backend.url)
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{backend.schema}"'))
        admin.dispose()
    engine = sa.create_engine(url)
    yield engine
    engine.dispose()


def config(engine: sa.Engine, store: sr.Store) -> Config:
    """The example's own alembic.ini and env.py, pointed at ``engine``'s database."""
    cfg = Config(str(PROJECT / "alembic.ini"))
    cfg.set_main_option(
        "sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%")
    )
    cfg.attributes["safe_release_store"] = store
    return cfg


def seed(engine: sa.Engine) -> None:
    """Orders, prices and listings as the 0001 schema holds them."""
    meta = sa.MetaData()
    meta.reflect(engine)
    with engine.begin() as conn:
        conn.execute(
            meta.tables["orders"].insert(),
            [
                {
                    "id": i,
                    "sku": f"SKU-{i % 7}",
                    "qty": i % 5 + 1,
                    "status": ["new", "paid", "cancelled", "legacy"][i % 4],
                    "placed_at": None
                    if i % 6 == 0
                    else dt.datetime(2024, 5, 1, i % 24, tzinfo=UTC),
                    "note": None if i % 3 == 0 else f"gift wrap #{i}",
                }
                for i in range(1, 101)
            ],
        )
        conn.execute(
            meta.tables["prices"].insert(),
            [
                {
                    "sku": f"SKU-{i}",
                    "amount": Decimal(f"{i}9.9{i}"),
                    "currency": None if i % 2 else "USD",
                }
                for i in range(7)
            ],
        )
        conn.execute(
            meta.tables["listings"].insert(),
            [
                {"id": i, "sku": f"SKU-{i}", "title": None if i == 3 else f"Mug {i} \u2615"}
                for i in range(7)
            ],
        )


def snapshot(engine: sa.Engine) -> dict[str, Any]:
    """Every row of every ERP table, as stored, and each table's columns."""
    with engine.connect() as conn:
        insp = sa.inspect(conn)
        return {
            t: (
                sorted(
                    conn.exec_driver_sql(f'SELECT * FROM "{t}"').all(),  # noqa: S608
                    key=repr,
                ),
                [(c["name"], str(c["type"]), c["nullable"]) for c in insp.get_columns(t)],
            )
            for t in ("orders", "prices", "listings")
        }


class TestErpMigrations:
    def test_up_down_up_keeps_every_row(self, engine: sa.Engine, sqlite_store: sr.Store) -> None:
        """Head, back to 0001 (data identical), head again (data carried forward)."""
        cfg = config(engine, sqlite_store)
        command.upgrade(cfg, "0001")
        seed(engine)
        before = snapshot(engine)
        compat.record(sqlite_store, "erp-web", "1.4", sa.MetaData())
        compat.retire(sqlite_store, "erp-web", "1.4")
        command.upgrade(cfg, "head")
        command.downgrade(cfg, "0001")
        assert snapshot(engine) == before
        command.upgrade(cfg, "head")
        with engine.connect() as conn:
            listings = dict(conn.execute(sa.text("SELECT id, headline FROM listings")).all())
            statuses = {r[0] for r in conn.execute(sa.text("SELECT status FROM orders"))}
        assert listings[1] == "Mug 1 \u2615"
        assert listings[3] is None
        assert "legacy" not in statuses
        command.downgrade(cfg, "base")
        with engine.connect() as conn:
            assert not sa.inspect(conn).has_table("orders")

    def test_contract_waits_for_retirement(
        self, engine: sa.Engine, sqlite_store: sr.Store
    ) -> None:
        """Without erp-web 1.4 retired the chain stops before the contract revision."""
        cfg = config(engine, sqlite_store)
        with pytest.raises(ContractBlockedError, match=r"erp-web 1\.4"):
            command.upgrade(cfg, "head")

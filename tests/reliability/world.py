"""The small ERP world the crash and failure tests release into.

An ERP ``prices`` table (its own SQLite file, or its own PostgreSQL schema), a
``pricing`` config in the store, and a seller on `FakeAmazon` with eight
listings and one unshipped order. `run_job` is the job: it publishes a buggy
config, rewrites rows (changed, inserted, deleted), pushes eight price changes
and one shipment confirmation (irreversible), then fails.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import Column, Integer, MetaData, Numeric, String, Table, delete, insert, select
from sqlalchemy import update as sql_update

from safe_release.adapters import Limit
from safe_release.adapters.amazon import AmazonAdapter

if TYPE_CHECKING:
    import httpx
    from sqlalchemy import Engine

    import safe_release as sr
    from safe_release.testing import FakeAmazon

SKUS = tuple(f"SKU-{n}" for n in range(8))
ORDER_ID = "111-0000001-0000001"
SCOPE = "price-sync"
CONFIG = "pricing"
BEFORE_CONFIG = {"floor": "5.00", "markup": 1.2}
BUGGY_CONFIG = {"floor": "0.00", "markup": -1}
FAST = Limit(200.0, 200)  # pacing is not under test here: keep children quick


class JobFailedError(Exception):
    """The job's own failure, raised at the end of its body."""


def prices_table(schema: str | None) -> Table:
    """The ERP's prices table (in ``schema`` on PostgreSQL)."""
    return Table(
        "erp_prices",
        MetaData(schema=schema),
        Column("sku", String(40), primary_key=True),
        Column("price", Numeric(10, 2), nullable=False),
        Column("qty", Integer, nullable=False),
        Column("note", String(80)),
    )


def seed_erp(engine: Engine, table: Table) -> None:
    """Create and fill the ERP table."""
    table.metadata.create_all(engine)
    rows = [
        {
            "sku": sku,
            "price": Decimal(f"{10 + n}.99"),
            "qty": n * 3,
            "note": None if n % 2 else f"row {n}",
        }
        for n, sku in enumerate(SKUS)
    ]
    with engine.begin() as conn:
        conn.execute(insert(table), rows)


def seed_fake(fake: FakeAmazon) -> None:
    """Eight listings and one unshipped order; quotas wide open."""
    for n, sku in enumerate(SKUS):
        fake.add_listing(sku, price=Decimal(f"{20 + n}.50"), quantity=5)
    fake.add_order(ORDER_ID, items=[("SKU-0", 1)])
    for operation in ("patchListingsItem", "getListingsItem", "confirmShipment", "getOrderItems"):
        fake.set_limit(operation, rate=FAST.rate, burst=FAST.burst)


@dataclass(frozen=True)
class Seller:
    """What a process needs to act as the fake's seller (fake credentials only)."""

    base_url: str
    seller_id: str
    client_id: str
    client_secret: str
    refresh_token: str
    marketplace_id: str

    @classmethod
    def of(cls, fake: FakeAmazon, base_url: str) -> Seller:
        """The fake's default seller, reached at ``base_url``."""
        c = fake.credentials
        return cls(
            base_url, c.seller_id, c.client_id, c.client_secret, c.refresh_token, c.marketplace_id
        )


def amazon(
    seller: Seller | dict[str, Any],
    transport: httpx.BaseTransport | None = None,
) -> AmazonAdapter:
    """An AmazonAdapter on the served fake (real clock, wide limits)."""
    s = seller if isinstance(seller, Seller) else Seller(**seller)
    limits = dict.fromkeys(
        ("patchListingsItem", "getListingsItem", "confirmShipment", "getOrderItems"), FAST
    )
    return AmazonAdapter(
        seller_id=s.seller_id,
        client_id=s.client_id,
        client_secret=s.client_secret,
        refresh_token=s.refresh_token,
        marketplace_id=s.marketplace_id,
        base_url=s.base_url,
        token_url=s.base_url + "/auth/o2/token",
        transport=transport,
        limits=limits,
    )


def run_job(
    erp: Engine, table: Table, pricing: sr.ConfigStore[Any], adapter: AmazonAdapter
) -> None:
    """The job's body: every kind of change, then the failure (not raised here)."""
    pricing.publish(BUGGY_CONFIG, author="job", message="buggy markup")
    with erp.begin() as conn:
        conn.execute(
            sql_update(table)
            .where(table.c.sku.in_(SKUS[:3]))
            .values(price=Decimal("0.01"), note="zeroed")
        )
        conn.execute(delete(table).where(table.c.sku == SKUS[7]))
        conn.execute(insert(table).values(sku="SKU-NEW", price=Decimal("1.00"), qty=1))
    for n, sku in enumerate(SKUS):
        adapter.update_price(sku, Decimal(f"{n + 1}.01"))
    items = adapter.get_order_items(ORDER_ID)
    adapter.confirm_shipment(
        ORDER_ID,
        {
            "packageReferenceId": "1",
            "carrierCode": "UPS",
            "trackingNumber": "1Z999AA10123456784",
            "shipDate": "2026-01-01T10:00:00Z",
            "orderItems": [
                {"orderItemId": i["OrderItemId"], "quantity": i["QuantityOrdered"]} for i in items
            ],
        },
    )


def erp_rows(erp: Engine, table: Table) -> list[tuple[Any, ...]]:
    """Every ERP row, by key."""
    with erp.connect() as conn:
        return [tuple(r) for r in conn.execute(select(table).order_by(table.c.sku))]


def world_state(erp: Engine, table: Table, store: sr.Store, fake: FakeAmazon) -> dict[str, Any]:
    """What must equal the checkpoint after a rollback: rows, config, marketplace prices."""
    return {
        "rows": erp_rows(erp, table),
        "config": store.config(CONFIG).refresh().content,
        "prices": fake.prices,
    }

"""The ERP a doc page's price-sync example assumes, built small and real.

README.md and docs/releases.md show a guarded price sync that uses an ERP
engine with a ``prices`` table, an Amazon adapter, pricing rules and the job's
own ``compute_prices``. Those pages call `price_sync_world` in a hidden
(``invisible-code-block``) block so that their visible example runs as written:
on an SQLite file in the page's scratch directory and a `FakeAmazon`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, NamedTuple

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Column, MetaData, Numeric, String, Table, create_engine, select, update

import safe_release as sr
from safe_release.adapters.amazon import AmazonAdapter
from safe_release.testing import FakeAmazon, FakeClock

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from sqlalchemy import Engine

_CENT = Decimal("0.01")
_LISTED = {"SKU-1": Decimal("20.00"), "SKU-2": Decimal("12.50"), "SKU-3": Decimal("8.00")}


class PricingRules(BaseModel):
    """The rules the example job reads (the same fields as README's config example)."""

    model_config = ConfigDict(frozen=True)

    min_margin: Decimal = Field(gt=0, lt=1)
    max_discount: Decimal = Field(ge=0, le=Decimal("0.9"))


class PriceSyncWorld(NamedTuple):
    """What the example uses, by the names it uses."""

    engine: Engine
    amazon: AmazonAdapter
    fake: FakeAmazon
    PricingRules: type[PricingRules]
    compute_prices: Callable[[PricingRules], Iterator[tuple[str, Decimal]]]


def price_sync_world(erp_file: str = "erp_prices.db") -> PriceSyncWorld:
    """An ERP prices table (US and EU rows), listings on a fake Amazon, and rules v1.

    The rules are published as version 1 of the ``pricing`` config of the store
    at ``$SAFE_RELEASE_URL``, so ``pricing.value`` has a head to read.
    """
    engine = create_engine(f"sqlite:///{erp_file}")
    prices = Table(
        "prices",
        MetaData(),
        Column("sku", String(40), primary_key=True),
        Column("store", String(2), primary_key=True),
        Column("list_price", Numeric(12, 2), nullable=False),
        Column("price", Numeric(12, 2), nullable=False),
    )
    prices.metadata.create_all(engine)
    clock = FakeClock()
    fake = FakeAmazon(clock=clock)
    with engine.begin() as conn:
        for sku, listed in _LISTED.items():
            fake.add_listing(sku, price=listed, quantity=5)
            for store in ("US", "EU"):
                conn.execute(prices.insert().values(sku=sku, store=store, list_price=listed,
                                                    price=listed))  # fmt: skip
    creds = fake.credentials
    amazon = AmazonAdapter(
        seller_id=creds.seller_id,
        client_id=creds.client_id,
        client_secret=creds.client_secret,
        refresh_token=creds.refresh_token,
        transport=fake.transport,
        clock=clock,
    )
    with sr.connect() as store:
        rules = {"min_margin": "0.15", "max_discount": "0.10"}
        store.config("pricing", schema=PricingRules).publish(rules, author="docs")

    def compute_prices(rules: PricingRules) -> Iterator[tuple[str, Decimal]]:
        """The US prices after the largest allowed discount; the ERP rows are updated."""
        us = prices.c.store == "US"
        with engine.begin() as conn:
            for sku, listed in conn.execute(select(prices.c.sku, prices.c.list_price).where(us)):
                price = (listed * (1 - rules.max_discount)).quantize(_CENT)
                conn.execute(update(prices).where(us, prices.c.sku == sku).values(price=price))
                yield sku, price

    return PriceSyncWorld(engine, amazon, fake, PricingRules, compute_prices)

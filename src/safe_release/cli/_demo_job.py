"""The demo's ERP side: a prices table, pricing rules, and the price-sync job."""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Column, MetaData, Numeric, String, Table, select, update

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy import Engine

__all__ = ["BUGGY", "GOOD", "PRICES", "PricingRules", "SyncResult", "seed", "sync_prices"]

_CENT = Decimal("0.01")


class PricingRules(BaseModel):
    """What the repricing job reads on every run."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    discount: float = Field(ge=0, lt=1, description="share taken off the list price")
    min_margin: float = Field(ge=0, le=1, description="lowest margin over landed cost")


GOOD = PricingRules(discount=0.04, min_margin=0.10)
BUGGY = PricingRules(discount=0.40, min_margin=0.10)
"""A percent typed as a fraction: 40 % off instead of 4 %. It passes validation."""

_MD = MetaData()
PRICES = Table(
    "erp_prices",
    _MD,
    Column("sku", String(40), primary_key=True),
    Column("cost", Numeric(12, 2), nullable=False),
    Column("list_price", Numeric(12, 2), nullable=False),
    Column("price", Numeric(12, 2), nullable=False),
)


def seed(engine: Engine, skus: int, *, add_listing: Callable[[str, Decimal], object]) -> None:
    """Create the ERP's prices table and the matching marketplace listings."""
    rng = random.Random(7)  # noqa: S311 - demo data, not security
    _MD.create_all(engine)
    rows = []
    for i in range(skus):
        sku, cost = f"DEMO-{i:04d}", Decimal(rng.randint(800, 4000)) / 100
        listed = (cost * Decimal(str(rng.uniform(1.45, 2.1)))).quantize(_CENT)
        rows.append({"sku": sku, "cost": cost, "list_price": listed, "price": listed})
        add_listing(sku, listed)
    with engine.begin() as conn:
        conn.execute(PRICES.insert(), rows)


@dataclass
class SyncResult:
    """What one run of the job did."""

    pushed: int = 0
    refused: int = 0


def sync_prices(
    engine: Engine,
    push: Callable[[str, Decimal], object],
    rules: PricingRules,
    observe: Callable[..., None],
    progress: Callable[[int], None],
) -> SyncResult:
    """Price every SKU: refuse prices under the margin floor, push and record the rest."""
    result = SyncResult()
    with engine.connect() as conn:
        rows = conn.execute(select(PRICES).order_by(PRICES.c.sku)).all()
    factor = Decimal(str(1 - rules.discount))
    for index, row in enumerate(rows, 1):
        price = (row.list_price * factor).quantize(_CENT, rounding=ROUND_HALF_UP)
        if price < row.cost * Decimal(str(1 + rules.min_margin)):
            result.refused += 1
            observe(ok=False)  # a sale at this price would lose money
        else:
            push(row.sku, price)
            with engine.begin() as conn:
                conn.execute(update(PRICES).where(PRICES.c.sku == row.sku).values(price=price))
            result.pushed += 1
            observe(ok=True)
        progress(index)
    return result

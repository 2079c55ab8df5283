"""A pricing job reading a versioned, validated config, and an operator rolling it back.

Run it with ``python examples/config_pricing.py [DATABASE_URL]`` (an SQLite file in
a temporary directory by default).
"""

from __future__ import annotations

import sys
import tempfile
from decimal import Decimal
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

import safe_release as sr


class PricingRules(BaseModel):
    """What the repricer may do, per marketplace."""

    model_config = ConfigDict(frozen=True)

    min_margin: Decimal = Field(gt=0, lt=1, description="never sell below cost x (1 + margin)")
    max_discount: Decimal = Field(ge=0, le=Decimal("0.9"))
    floors: dict[str, Decimal] = Field(default_factory=dict, description="per marketplace")


def reprice(cost: Decimal, list_price: Decimal, rules: PricingRules, market: str) -> Decimal:
    """The job's pricing step: discount, but never under the margin or the floor."""
    lowest = max(cost * (1 + rules.min_margin), rules.floors.get(market, Decimal(0)))
    return max(list_price * (1 - rules.max_discount), lowest).quantize(Decimal("0.01"))


def main(url: str) -> None:
    """Publish two versions, reprice with each, then roll the bad one back."""
    with sr.connect(url) as store:
        pricing = store.config("pricing", schema=PricingRules)
        good = pricing.publish(
            {"min_margin": "0.15", "max_discount": "0.20", "floors": {"US": "12.00"}},
            author="pricing-team",
            message="Q4 rules",
        )
        pricing.mark_good(good.version, author="pricing-team")
        print("v1 price:", reprice(Decimal(10), Decimal(20), pricing.value, "US"))

        pricing.publish(
            {"min_margin": "0.01", "max_discount": "0.80", "floors": {}},
            author="intern",
            message="Black Friday!!",
            expected_version=good.version,
        )
        print("v2 price:", reprice(Decimal(10), Decimal(20), pricing.value, "US"))
        print(pricing.diff(1, 2))

        restored = pricing.rollback(author="oncall", message="margin too thin")
        print(f"rolled back: v{restored.version} restores v{restored.restores}")
        print("price now:", reprice(Decimal(10), Decimal(20), pricing.value, "US"))


if __name__ == "__main__":
    if len(sys.argv) > 1:
        main(sys.argv[1])
    else:
        with tempfile.TemporaryDirectory() as tmp:
            main(f"sqlite:///{Path(tmp) / 'pricing.db'}")

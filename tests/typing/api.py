# mypy: warn-unused-ignores, enable-error-code="ignore-without-code"
"""The public API as a user's code sees it: type-checked by mypy, never run.

Check it from the repository root with

    mypy --strict --warn-unused-ignores tests/typing/api.py

Each ``# type: ignore[code]`` marks a line that must stay a type error: if the
API's types stop refusing it, the ignore is unused and the check fails.
pytest does not collect this file (its name does not start with ``test_``).
"""

from __future__ import annotations

import os
from decimal import Decimal
from typing import TYPE_CHECKING

import sqlalchemy as sa
from pydantic import BaseModel, JsonValue
from typing_extensions import assert_type

import safe_release as sr
from safe_release import exceptions
from safe_release.adapters.amazon import AmazonAdapter, ListingChange

if TYPE_CHECKING:
    from safe_release.adapters import MarketplaceAdapter


class PricingRules(BaseModel):
    min_margin: float
    floor_usd: Decimal


# -- the store and a typed config -------------------------------------------------

store = sr.connect("sqlite:///safe_release.db")
assert_type(store, sr.Store)

pricing = store.config("pricing", schema=PricingRules)
assert_type(pricing, sr.ConfigStore[PricingRules])
assert_type(pricing.value, PricingRules)
assert_type(pricing.value_for("B07XJ8C8F5"), PricingRules)
floor: Decimal = pricing.value.floor_usd

untyped = store.config("flags")
assert_type(untyped, sr.ConfigStore[JsonValue])

v1 = pricing.publish(
    PricingRules(min_margin=0.12, floor_usd=Decimal("4.99")),
    author="alice",
    message="initial rules",
    expected_version=0,
)
assert_type(v1, sr.ConfigVersion)
v2 = pricing.publish({"min_margin": 0.15, "floor_usd": "5.49"}, author="bob")
assert_type(pricing.get(v2.version), sr.ConfigVersion)
assert_type(pricing.diff(1, 2), sr.ConfigDiff)
assert_type(pricing.rollback(author="alice"), sr.ConfigVersion)
pricing.publish(v1.content, author="bob", rollout=sr.Rollout(percent=10))

missing_field = pricing.value.ceiling_usd  # type: ignore[attr-defined]
pricing.publish({"min_margin": 0.1})  # type: ignore[call-arg]
store.config("pricing", schema=dict)  # type: ignore[type-var]

# -- checkpoints, adapters, a release --------------------------------------------

engine = sa.create_engine("sqlite:///erp.db")
prices = sr.table_checkpoint(engine, "prices", where="store = 'US'", key="sku")
assert_type(prices, sr.TableCheckpoint)

amazon = AmazonAdapter(
    seller_id="A1SELLER",
    client_id=os.environ["LWA_CLIENT_ID"],
    client_secret=os.environ["LWA_CLIENT_SECRET"],
    refresh_token=os.environ["LWA_REFRESH_TOKEN"],
    region="na",
)
adapter: MarketplaceAdapter = amazon
AmazonAdapter(seller_id="A1SELLER")  # type: ignore[call-arg]

with sr.release(
    "price-sync",
    store=store,
    checkpoint=[pricing, prices],
    adapters=[amazon],
    trigger=sr.ErrorRate(max=0.05, min_calls=50),
) as rel:
    assert_type(rel, sr.Release)
    change = amazon.update_price("SKU-1", Decimal("19.99"))
    assert_type(change, ListingChange)
    rel.observe(ok=True)

current = sr.current_release()
assert_type(current, sr.Release | None)


async def release_async() -> None:
    async with sr.release("price-sync", store=store, checkpoint=[prices]) as arel:
        assert_type(arel, sr.Release)


sr.release("x")  # type: ignore[call-arg]
sr.release("x", store=store, on_failure="later")  # type: ignore[arg-type]
# Items that are not checkpoints or adapters are refused before anything runs.
sr.release("x", store=store, checkpoint=[42])  # type: ignore[list-item]
sr.release("x", store=store, adapters=[object()])  # type: ignore[list-item]

# -- @guarded keeps the function's signature, sync and async ----------------------


@sr.guarded("price-sync", store=store, checkpoint=[pricing], adapters=[amazon])
def sync_prices(skus: list[str], *, dry_run: bool = False) -> int:
    return len(skus) if not dry_run else 0


@sr.guarded("inbound", store=store)
async def plan_inbound(sku: str) -> str:
    return sku


assert_type(sync_prices(["SKU-1"], dry_run=True), int)
sync_prices("SKU-1")  # type: ignore[arg-type]
sync_prices(["SKU-1"], force=True)  # type: ignore[call-arg]


async def use_async() -> None:
    assert_type(await plan_inbound("SKU-1"), str)
    _: str = plan_inbound("SKU-1")  # type: ignore[assignment]
    await plan_inbound(1)  # type: ignore[arg-type]


# -- recover after a crash ------------------------------------------------------

reports = store.recover(checkpoint=[pricing, prices], adapters=[amazon])
assert_type(reports, list[sr.RollbackReport])
assert_type(store.recover(), list[sr.RollbackReport])
store.recover(checkpoint=[42])  # type: ignore[list-item]
store.recover(adapters=["amazon"])  # type: ignore[list-item]
store.recover([pricing])  # type: ignore[call-arg]

# -- errors ---------------------------------------------------------------------

try:
    pricing.publish({"min_margin": "high"}, author="bob", expected_version=2)
except sr.VersionConflictError as exc:
    assert_type(exc.expected, int)
    assert_type(exc.actual, int)
except sr.ConfigValidationError as exc:
    assert_type(exc.fields, tuple[str, ...])
except sr.SafeReleaseError:
    pass

try:
    sync_prices(["SKU-1"])
except sr.RollbackFailedError as exc:
    assert_type(exc.release_id, str | None)
    assert_type(exc.original, BaseException | None)
except sr.ReleaseLockedError as exc:
    assert_type(exc.holder, str | None)
except exceptions.RateLimitedError as exc:
    assert_type(exc.retry_after, float | None)
    assert_type(exc.status, int)

error: exceptions.SafeReleaseError = sr.InvalidArgumentError("bad")
value_error: ValueError = sr.InvalidArgumentError("bad")
lookup_error: LookupError = sr.ConfigNotFoundError("none")
config_error: sr.ConfigError = sr.StoreError("down")  # type: ignore[assignment]
no_release_id = sr.ConfigError("refused").release_id  # type: ignore[attr-defined]

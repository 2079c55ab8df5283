"""Compensating N price writes on each marketplace's fake, at its quota's pace.

``run(n)`` pushes ``n`` journaled price changes through an `AmazonAdapter`, lets
the quota refill, then times ``Journal.compensate`` on the fake clock. The ideal
is what the quota allows: ``(n - burst) / rate``. Used by ``bench_restore.py``
(5,000 writes) and by ``tests/test_ledger_pacing.py`` (a few hundred).

``run_ebay(n)`` and ``run_walmart(n)`` do the same on `FakeEbay` and
`FakeWalmart` (used by ``bench_marketplaces.py``). Both journal one ledger entry
per item and compensate each item alone, newest first, with its own call:

- eBay: the writes are ``bulkUpdatePriceQuantity`` calls of 25 offers; each
  compensation is a ``bulkUpdatePriceQuantity`` of one offer. eBay documents only
  daily quotas (read from the fake with getRateLimits in the same run); when they
  admit all ``n`` calls, the time bound is the adapter's own declared pace for
  the operation (eBay publishes none), so the ideal is ``(n - burst) / rate`` of
  that pace, plus the wait for the next day if the day's budget is short.
- Walmart: the writes are one price feed (``POST /v3/feeds?feedType=price``),
  each SKU's price read first by the adapter (``getItem``, its inverse); each
  compensation is a ``PUT /v3/price``, whose bucket the fake refills at its
  documented 100 calls an hour: the ideal is ``(n - capacity) * per / capacity``
  from the fake's own bucket.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import safe_release as sr
from safe_release._ledger import Journal
from safe_release.adapters.amazon import AmazonAdapter
from safe_release.adapters.ebay import EbayAdapter, OfferUpdate
from safe_release.adapters.walmart import WalmartAdapter
from safe_release.testing import FakeAmazon, FakeClock, FakeEbay, FakeWalmart

if TYPE_CHECKING:
    from collections.abc import Iterable

    from safe_release.testing import Call

__all__ = ["amazon_adapter", "ebay_adapter", "run", "run_ebay", "run_walmart", "walmart_adapter"]

OPERATION = "patchListingsItem"
EBAY_OPERATION = "bulkUpdatePriceQuantity"
EBAY_RESOURCE = "sell.inventory"
WALMART_OPERATION = "updatePrice"
OLD, NEW = Decimal("10.00"), Decimal("12.50")


def run(n: int = 5000, *, store: sr.Store | None = None) -> dict[str, Any]:
    """Figures: simulated and ideal seconds, their ratio, 429s, duplicates, wall seconds."""
    with contextlib.ExitStack() as stack:
        if store is None:
            folder = stack.enter_context(tempfile.TemporaryDirectory())
            store = stack.enter_context(sr.connect(f"sqlite:///{Path(folder) / 'bench.db'}"))
        clock = FakeClock()
        fake = FakeAmazon(clock=clock)
        adapter = stack.enter_context(amazon_adapter(fake, clock))
        journal = Journal(store, release_id=f"bench-{time.time_ns()}", scope="bench")
        adapter.bind_journal(journal)
        for i in range(n):
            fake.add_listing(f"SKU-{i}", price=Decimal("10.00"), quantity=1)
        for i in range(n):
            adapter.update_price(f"SKU-{i}", Decimal("12.50"))
        clock.advance(120)  # the quota refills: compensation starts with a full bucket
        first = len(fake.calls)
        started, wall = clock.monotonic(), time.perf_counter()
        steps = journal.compensate([adapter])
        simulated, wall = clock.monotonic() - started, time.perf_counter() - wall
    limit = fake.limit(OPERATION)
    ideal = max(n - limit.burst, 0) / limit.rate
    return {
        "writes": n,
        "simulated_s": simulated,
        "ideal_s": ideal,
        "ratio": simulated / ideal if ideal else 1.0,
        "throttled_429": sum(c.status == 429 for c in fake.calls[first:]),
        "duplicates": _duplicates(fake),
        "failed_steps": sum(not s.ok for s in steps),
        "restored": sum(p == Decimal("10.00") for p in fake.prices.values()),
        "wall_s": wall,
    }


def amazon_adapter(fake: FakeAmazon, clock: FakeClock) -> AmazonAdapter:
    """An adapter for ``fake``'s seller on ``clock`` (a context manager too)."""
    creds = fake.credentials
    return AmazonAdapter(
        seller_id=creds.seller_id,
        client_id=creds.client_id,
        client_secret=creds.client_secret,
        refresh_token=creds.refresh_token,
        marketplace_id=creds.marketplace_id,
        transport=fake.transport,
        clock=clock,
    )


def _duplicates(fake: FakeAmazon | FakeEbay | FakeWalmart) -> int:
    try:
        fake.assert_no_duplicate_writes()
    except AssertionError as exc:
        return str(exc).count("applied")
    return 0


# -- eBay ------------------------------------------------------------------------------


def run_ebay(n: int = 5000, *, store: sr.Store | None = None) -> dict[str, Any]:
    """`run` on FakeEbay: ``n`` offers repriced in bulk, then compensated one by one.

    Besides `run`'s figures: ``operation`` and ``quota`` (what the ideal is
    computed from), ``daily_limit`` and ``daily_remaining`` (the fake's
    sell.inventory budget as getRateLimits reports it just before the rollback).
    """
    with contextlib.ExitStack() as stack:
        store = store or _sqlite_store(stack)
        clock = FakeClock()
        fake = FakeEbay(clock=clock)
        adapter = stack.enter_context(ebay_adapter(fake, clock))
        journal = Journal(store, release_id=f"bench-ebay-{time.time_ns()}", scope="bench")
        adapter.bind_journal(journal)
        offers = [fake.add_offer(f"SKU-{i}", price=OLD, quantity=1) for i in range(n)]
        results = adapter.bulk_update_price_quantity([OfferUpdate(o, price=NEW) for o in offers])
        written = sum(r.ok for r in results)
        clock.advance(120)  # the job goes on a while: the pace's bucket is full again
        (budget,) = [s for s in adapter.sync_rate_limits() if s.key.split("|")[2] == EBAY_RESOURCE]
        op = adapter.operation(EBAY_OPERATION)
        first = len(fake.calls)
        started, wall = clock.monotonic(), time.perf_counter()
        steps = journal.compensate([adapter])
        simulated, wall = clock.monotonic() - started, time.perf_counter() - wall
        calls = fake.calls[first:]
        now = clock.time()
    # the day's budget admits min(n, remaining) at once; the rest waits for the reset
    day_wait = 0.0 if n <= budget.remaining else max(budget.reset_at - now, 0.0)
    pace = max(n - op.limit.burst, 0) / op.limit.rate
    ideal = day_wait + pace
    return {
        "writes": n,
        "written": written,
        "operation": EBAY_OPERATION,
        "quota": (
            f"daily {EBAY_RESOURCE} {budget.limit:,} (remaining {budget.remaining:,}, from "
            f"getRateLimits); pace {op.limit.rate:g}/s burst {op.limit.burst} "
            "(the adapter's own: eBay publishes no per-second rate)"
        ),
        "daily_limit": budget.limit,
        "daily_remaining": budget.remaining,
        "simulated_s": simulated,
        "ideal_s": ideal,
        "ratio": simulated / ideal if ideal else 1.0,
        "calls": sum(c.operation == EBAY_OPERATION for c in calls),
        "throttled_429": sum(c.status == 429 for c in calls),
        "duplicates": _repeats(_ebay_targets(calls)) + _duplicates(fake),
        "failed_steps": sum(not s.ok for s in steps),
        "restored": sum(p == OLD for p in fake.prices.values()),
        "wall_s": wall,
    }


def ebay_adapter(fake: FakeEbay, clock: FakeClock) -> EbayAdapter:
    """An adapter for ``fake``'s user on ``clock`` (a context manager too)."""
    creds = fake.credentials
    return EbayAdapter(
        user_id=creds.user_id,
        client_id=creds.client_id,
        client_secret=creds.client_secret,
        refresh_token=creds.refresh_token,
        scopes=creds.scopes,
        transport=fake.transport,
        clock=clock,
    )


def _ebay_targets(calls: Iterable[Call]) -> list[str]:
    """The offer each applied bulk revision revised, one entry per offer per call."""
    return [
        offer["offerId"]
        for c in calls
        if c.operation == EBAY_OPERATION and c.applied
        for request in (c.json or {}).get("requests", [])
        for offer in request.get("offers", [])
    ]


# -- Walmart ---------------------------------------------------------------------------


def run_walmart(n: int = 5000, *, store: sr.Store | None = None) -> dict[str, Any]:
    """`run` on FakeWalmart: ``n`` prices set by one price feed, then put back one by one.

    Besides `run`'s figures: ``operation`` and ``quota`` (the fake's
    ``updatePrice`` bucket the ideal is computed from).
    """
    with contextlib.ExitStack() as stack:
        store = store or _sqlite_store(stack)
        clock = FakeClock()
        fake = FakeWalmart(clock=clock)
        adapter = stack.enter_context(walmart_adapter(fake, clock))
        journal = Journal(store, release_id=f"bench-walmart-{time.time_ns()}", scope="bench")
        adapter.bind_journal(journal)
        skus = [f"SKU-{i}" for i in range(n)]
        for sku in skus:
            fake.add_item(sku, price=OLD, quantity=1)
        # each SKU's price is read first (getItem): the inverse its compensation sends
        results = adapter.submit_price_feed(dict.fromkeys(skus, NEW))
        written = sum(r.ok for r in results)
        capacity, per = fake.bucket(WALMART_OPERATION)
        clock.advance(per)  # the job goes on a while: the bucket is full again
        first = len(fake.calls)
        started, wall = clock.monotonic(), time.perf_counter()
        steps = journal.compensate([adapter])
        simulated, wall = clock.monotonic() - started, time.perf_counter() - wall
        calls = fake.calls[first:]
    ideal = max(n - capacity, 0) * per / capacity
    return {
        "writes": n,
        "written": written,
        "operation": WALMART_OPERATION,
        "quota": (
            f"PUT /v3/price bucket {capacity:,} per {per:g} s, refilled gradually (the "
            "fake's; Walmart's documented default, WIRE.md 7)"
        ),
        "simulated_s": simulated,
        "ideal_s": ideal,
        "ratio": simulated / ideal if ideal else 1.0,
        "calls": sum(c.operation == WALMART_OPERATION for c in calls),
        "throttled_429": sum(c.status == 429 for c in calls),
        "duplicates": _repeats(
            str((c.json or {}).get("sku"))
            for c in calls
            if c.operation == WALMART_OPERATION and c.applied
        )
        + _duplicates(fake),
        "failed_steps": sum(not s.ok for s in steps),
        "restored": sum(p == OLD for p in fake.prices.values()),
        "wall_s": wall,
    }


def walmart_adapter(fake: FakeWalmart, clock: FakeClock) -> WalmartAdapter:
    """An adapter for ``fake``'s seller on ``clock`` (a context manager too)."""
    creds = fake.credentials
    return WalmartAdapter(
        client_id=creds.client_id,
        client_secret=creds.client_secret,
        seller_id=creds.seller_id,
        base_url="https://marketplace.walmartapis.test",
        transport=fake.transport,
        clock=clock,
    )


# -- shared ----------------------------------------------------------------------------


def _sqlite_store(stack: contextlib.ExitStack) -> sr.Store:
    folder = stack.enter_context(tempfile.TemporaryDirectory())
    return stack.enter_context(sr.connect(f"sqlite:///{Path(folder) / 'bench.db'}"))


def _repeats(targets: Iterable[str]) -> int:
    """How many writes repeated one already applied to the same target."""
    seen: dict[str, int] = {}
    for target in targets:
        seen[target] = seen.get(target, 0) + 1
    return sum(count - 1 for count in seen.values())


if __name__ == "__main__":
    for runner in (run, run_ebay, run_walmart):
        print(runner.__name__)
        for key, value in runner().items():
            print(f"{key:>16}: {value}")

"""Compensating N price writes on FakeAmazon with its real patchListingsItem quota.

``run(n)`` pushes ``n`` journaled price changes through an `AmazonAdapter`, lets
the quota refill, then times ``Journal.compensate`` on the fake clock. The ideal
is what the quota allows: ``(n - burst) / rate``. Used by ``bench_restore.py``
(5,000 writes) and by ``tests/test_ledger_pacing.py`` (a few hundred).
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import safe_release as sr
from safe_release._ledger import Journal
from safe_release.adapters.amazon import AmazonAdapter
from safe_release.testing import FakeAmazon, FakeClock

__all__ = ["run"]

OPERATION = "patchListingsItem"


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


def _duplicates(fake: FakeAmazon) -> int:
    try:
        fake.assert_no_duplicate_writes()
    except AssertionError as exc:
        return str(exc).count("applied")
    return 0


if __name__ == "__main__":
    for key, value in run().items():
        print(f"{key:>14}: {value}")

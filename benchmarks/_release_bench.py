"""Two figures of ``bench_restore.py`` that need whole releases.

``overhead(runs)``: the median wall time of ``with sr.release(...): pass`` (no
failure) on an SQLite file store, or on PostgreSQL with ``url=`` — what wrapping
a job costs; with ``checkpoint=True`` the release also checkpoints a config
store (a sealed checkpoint record captured, then finished).

``compensation(n)``: a release pushes ``n`` price changes to a FakeAmazon with its
real patchListingsItem quota (5/s, burst 5), then fails; the rollback compensates
them through the same paced adapter. Measured on the fake clock from the start of
the rollback to "restored"; the ideal is what the quota allows, ``(n - burst) / rate``.
"""

from __future__ import annotations

import contextlib
import statistics
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

from _compensation import amazon_adapter

import safe_release as sr
from safe_release.testing import FakeAmazon, FakeClock

__all__ = ["compensation", "overhead"]

_OP = "patchListingsItem"


def overhead(
    runs: int = 300, warmup: int = 20, *, url: str | None = None, checkpoint: bool = False
) -> dict[str, float]:
    """Median and p90 milliseconds of an empty release (SQLite file, or ``url``)."""
    schema = f"bench_{uuid.uuid4().hex[:8]}" if url is not None else None
    with (
        tempfile.TemporaryDirectory() as folder,
        sr.connect(url or f"sqlite:///{Path(folder) / 'bench.db'}", schema=schema) as store,
    ):
        try:
            items: list[Any] = []
            if checkpoint:
                cfg = store.config("bench")
                cfg.publish({"floor": 1}, author="bench")
                items.append(cfg)
            times = []
            for i in range(warmup + runs):
                started = time.perf_counter()
                with sr.release("bench", store=store, checkpoint=items):
                    pass
                if i >= warmup:
                    times.append(time.perf_counter() - started)
        finally:
            if schema is not None:
                with store.engine.begin() as conn:
                    conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    times.sort()
    return {
        "median_ms": statistics.median(times) * 1e3,
        "p90_ms": times[int(len(times) * 0.9)] * 1e3,
    }


class _JobFailedError(Exception):
    """The benchmark's job fails on purpose after its writes."""


def compensation(n: int = 5000) -> dict[str, Any]:
    """Simulated and ideal seconds of compensating ``n`` price writes, 429s, duplicates."""
    clock = FakeClock()
    fake = FakeAmazon(clock=clock)
    for i in range(n):
        fake.add_listing(f"SKU-{i}", price=Decimal("10.00"), quantity=1)
    with contextlib.ExitStack() as stack:
        folder = stack.enter_context(tempfile.TemporaryDirectory())
        store = stack.enter_context(
            sr.connect(f"sqlite:///{Path(folder) / 'bench.db'}", clock=clock)
        )
        adapter = stack.enter_context(amazon_adapter(fake, clock))
        rel = sr.release("reprice", store=store, adapters=[adapter])
        wall = time.perf_counter()
        with contextlib.suppress(_JobFailedError), rel:
            for i in range(n):
                adapter.update_price(f"SKU-{i}", Decimal("12.00"))
            clock.advance(60)  # the job goes on a while: the bucket is full again
            fake.reset_calls()
            raise _JobFailedError
        wall = time.perf_counter() - wall
    report = rel.report
    assert report is not None  # noqa: S101 - the job failed: there is a report
    assert report.rollback_started_at is not None  # noqa: S101
    assert report.restored_at is not None  # noqa: S101
    limit = fake.limit(_OP)
    simulated = (report.restored_at - report.rollback_started_at).total_seconds()
    ideal = (n - limit.burst) / limit.rate
    writes = [c for c in fake.calls if c.operation == _OP]
    return {
        "writes": n,
        "simulated_s": simulated,
        "ideal_s": ideal,
        "ratio": simulated / ideal,
        "throttled_429": sum(c.status == 429 for c in writes),
        "duplicates": 0 if _no_duplicates(fake) else 1,
        "restored": sum(fake.price(f"SKU-{i}") == Decimal("10.00") for i in range(n)),
        "status": report.status.value,
        "wall_s": wall,
    }


def _no_duplicates(fake: FakeAmazon) -> bool:
    try:
        fake.assert_no_duplicate_writes()
    except AssertionError:
        return False
    return True

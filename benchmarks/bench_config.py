"""Benchmark the versioned config store on SQLite and PostgreSQL.

Usage::

    python benchmarks/bench_config.py [--pg-url URL] [--quick] [--write-docs]

Measures, on each backend:

1. the cached ``current()`` against an uncached read of the same version
   (``get(head)``, a fresh SELECT); targets: >= 50x faster and < 5 µs per call;
2. ``publish`` throughput (sequential, pricing-sized content);
3. ``history(limit=50)`` with 100 names x 1,000 versions stored against 1 name x
   60 versions (target: at most 2x slower), plus the query plan of that query.

PostgreSQL comes from ``--pg-url``, else ``$SAFE_RELEASE_BENCH_PG_URL``, else
``$SAFE_RELEASE_TEST_PG_URL``, else a throw-away server started from the local
PostgreSQL binaries (``safe_release.testing.TemporaryPostgres``); without any it
is reported as skipped. Each run
works in throw-away SQLite files and PostgreSQL schemas and removes them after.
The exit code is 1 when a target fails.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import os
import platform
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from _common import DOCS, PG_ENVS, postgres_url, write_docs
from _common import parser as common_parser

import safe_release as sr

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Iterator


HISTORY_LIMIT = 50
CACHED_TARGET_RATIO = 50.0
CACHED_TARGET_US = 5.0
HISTORY_TARGET_RATIO = 2.0
SEED_TIME = datetime(2025, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Sizes:
    """How much work each measurement does."""

    batches: int  # timed batches of cached reads
    batch_calls: int  # cached reads per batch
    uncached_calls: int
    publishes: int
    names: int  # names in the big history store
    versions: int  # versions per name in the big history store
    small_versions: int  # versions of the one name in the small history store
    history_calls: int  # timed history() calls per store


FULL = Sizes(1000, 1000, 2000, 200, 100, 1000, 60, 300)
QUICK = Sizes(200, 1000, 300, 50, 10, 100, 60, 150)


@dataclass
class Result:
    """The figures measured on one backend."""

    backend: str
    cached_us: float = 0.0
    cached_batches: int = 0
    refreshed_batches: int = 0
    uncached_us: float = 0.0
    publishes: int = 0
    publish_per_s: float = 0.0
    publish_ms: float = 0.0
    stored_rows: int = 0
    seed_s: float = 0.0
    small_rows: int = 0
    history_small_us: float = 0.0
    history_big_us: float = 0.0
    plan: str = ""
    plan_ok: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def cached_ratio(self) -> float:
        """How many times faster the cached read is than the uncached one."""
        return self.uncached_us / self.cached_us

    @property
    def history_ratio(self) -> float:
        """History latency with many versions stored, relative to few."""
        return self.history_big_us / self.history_small_us


# -- backends -------------------------------------------------------------------


class Backend:
    """Throw-away stores on one database: SQLite files or PostgreSQL schemas."""

    def __init__(self, label: str, pg_url: str | None) -> None:
        self.label = label
        self._pg_url = pg_url
        self._tmp = tempfile.TemporaryDirectory(prefix="sr-bench-")
        self._stores: list[tuple[sr.Store, str | None]] = []

    def open(self, name: str) -> sr.Store:
        """A new, empty, upgraded store called ``name``."""
        if self._pg_url is None:
            store = sr.connect(f"sqlite:///{self._tmp.name}/{name}.db")
            self._stores.append((store, None))
            return store
        schema = f"sr_bench_{name}_{os.getpid()}"
        store = sr.connect(self._pg_url, schema=schema)
        self._stores.append((store, schema))
        return store

    def close(self) -> None:
        """Drop the schemas, close the stores and delete the files."""
        for store, schema in self._stores:
            if schema is not None:
                with store.engine.begin() as conn:
                    conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            store.close()
        self._tmp.cleanup()


def db_version(store: sr.Store) -> str:
    """The database server's (or library's) version and durability settings."""
    if store.dialect == "sqlite":
        return f"SQLite {sqlite3.sqlite_version} (WAL, synchronous=NORMAL)"
    with store.engine.connect() as conn:
        version = conn.exec_driver_sql("SHOW server_version").scalar_one()
        fsync = conn.exec_driver_sql("SHOW fsync").scalar_one()
        sync = conn.exec_driver_sql("SHOW synchronous_commit").scalar_one()
    return f"PostgreSQL {str(version).split()[0]} (fsync={fsync}, synchronous_commit={sync})"


# -- content ---------------------------------------------------------------------


def pricing(revision: int) -> dict[str, Any]:
    """A small pricing config (about 0.7 kB of canonical JSON)."""
    rules = [
        {"sku": f"SKU-{k:05d}", "markup": round(1.1 + k / 100, 2), "min_price": 9.99 + k}
        for k in range(8)
    ]
    return {
        "currency": "EUR",
        "default_markup": 1.25,
        "rounding": "0.99",
        "revision": revision,
        "rules": rules,
    }


def canonical(value: object) -> str:
    """The SDK's canonical JSON encoding (sorted keys, no whitespace)."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def version_rows(name: str, count: int) -> list[dict[str, Any]]:
    """Rows for ``sr_config_version`` as ``ConfigRepo.insert_version`` writes them."""
    rows = []
    for number in range(1, count + 1):
        text = canonical(pricing(number))
        rows.append(
            {
                "name": name,
                "version": number,
                "content": text,
                "content_hash": hashlib.sha256(text.encode("utf-8")).hexdigest(),
                "size": len(text.encode("utf-8")),
                "author": "bench-seed",
                "message": f"seeded version {number}",
                "created_at": SEED_TIME + timedelta(minutes=number),
                "parent": number - 1 or None,
                "rolled_back_from": None,
                "restores": None,
            }
        )
    return rows


def seed(store: sr.Store, names: list[str], count: int) -> float:
    """Bulk-insert ``count`` versions of each name; returns the seconds taken."""
    tables = store.tables
    heads = [
        {
            "name": n,
            "head": count,
            "latest": count,
            "last_good": None,
            "candidate": None,
            "rollout_bp": None,
            "updated_at": SEED_TIME + timedelta(minutes=count),
        }
        for n in names
    ]
    began = time.perf_counter()
    with store.engine.begin() as conn:
        conn.execute(sa.insert(tables.config), heads)
        for name in names:
            conn.execute(sa.insert(tables.config_version), version_rows(name, count))
    if store.dialect == "postgresql":
        with store.engine.begin() as conn:
            conn.exec_driver_sql(f'ANALYZE "{store.schema}".sr_config_version')
    return time.perf_counter() - began


# -- measurements ------------------------------------------------------------------


@contextmanager
def no_gc() -> Iterator[None]:
    """Collect, then keep the cyclic garbage collector off while timing (as timeit does)."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def cache_state(store: sr.Store) -> list[tuple[int, float]]:
    """Identity and check time of every cache entry (changes on a refresh)."""
    return [(id(e), e.checked_at) for e in store.read_cache.entries.values()]


def time_cached(store: sr.Store, cfg: sr.ConfigStore[Any], sizes: Sizes) -> tuple[float, int]:
    """Median µs per cached ``current()`` call, and how many batches refreshed.

    Each batch starts right after an explicit ``refresh()``, so with the default
    1 s ttl no timed batch (a fraction of a millisecond) should need a refresh;
    any that did is counted by comparing the cache before and after.
    """
    current, calls = cfg.current, range(sizes.batch_calls)
    per_call: list[float] = []
    refreshed = 0
    with no_gc():
        for _ in range(sizes.batches):
            cfg.refresh()
            before = cache_state(store)
            began = time.perf_counter_ns()
            for _ in calls:
                current()
            elapsed = time.perf_counter_ns() - began
            refreshed += cache_state(store) != before
            per_call.append(elapsed / sizes.batch_calls / 1000)
    return statistics.median(per_call), refreshed


def time_each(call: Callable[[], object], count: int, warmup: int = 20) -> float:
    """Median µs of ``count`` individually timed calls (after ``warmup`` untimed)."""
    for _ in range(warmup):
        call()
    samples = []
    with no_gc():
        for _ in range(count):
            began = time.perf_counter_ns()
            call()
            samples.append((time.perf_counter_ns() - began) / 1000)
    return statistics.median(samples)


def measure_reads(backend: Backend, result: Result, sizes: Sizes) -> None:
    """Cached ``current()`` against ``get(head)`` on a config with a few versions."""
    store = backend.open("reads")
    cfg = store.config("pricing")
    for revision in range(1, 6):
        cfg.publish(pricing(revision), author="bench")
    head = cfg.current().version
    result.cached_us, result.refreshed_batches = time_cached(store, cfg, sizes)
    result.cached_batches = sizes.batches
    result.uncached_us = time_each(lambda: cfg.get(head), sizes.uncached_calls)


def measure_publish(backend: Backend, result: Result, sizes: Sizes) -> None:
    """Sequential publishes of pricing-sized content, after 5 untimed ones."""
    cfg = backend.open("publish").config("pricing")
    for revision in range(5):
        cfg.publish(pricing(revision), author="bench")
    began = time.perf_counter()
    for revision in range(sizes.publishes):
        cfg.publish(pricing(revision), author="bench", message="bench publish")
    seconds = time.perf_counter() - began
    result.publishes = sizes.publishes
    result.publish_per_s = sizes.publishes / seconds
    result.publish_ms = seconds / sizes.publishes * 1000


def measure_history(backend: Backend, result: Result, sizes: Sizes) -> None:
    """``history(limit=50)`` with many versions stored against few; then the plan."""
    small, big = backend.open("hist_small"), backend.open("hist_big")
    names = [f"pricing/shop-{i:03d}" for i in range(sizes.names)]
    seed(small, [names[0]], sizes.small_versions)
    result.seed_s = seed(big, names, sizes.versions)
    result.small_rows, result.stored_rows = sizes.small_versions, sizes.names * sizes.versions
    target = names[len(names) // 2]
    small_cfg, big_cfg = small.config(names[0]), big.config(target)
    for cfg in (small_cfg, big_cfg):
        if len(cfg.history(limit=HISTORY_LIMIT)) != HISTORY_LIMIT:
            msg = f"history(limit={HISTORY_LIMIT}) returned too few versions"
            raise RuntimeError(msg)
    small_us, big_us = time_history(small_cfg, big_cfg, sizes.history_calls)
    result.history_small_us, result.history_big_us = small_us, big_us
    result.plan, result.plan_ok = history_plan(big, target)


def time_history(
    small: sr.ConfigStore[Any], big: sr.ConfigStore[Any], count: int
) -> tuple[float, float]:
    """Median µs of ``history(limit=50)`` on each store, timed alternately.

    The two stores take turns going first, so drift in machine load and caches
    falls on both alike.
    """
    samples: dict[int, list[float]] = {0: [], 1: []}
    for _ in range(10):
        small.history(limit=HISTORY_LIMIT)
        big.history(limit=HISTORY_LIMIT)
    with no_gc():
        for turn in range(count):
            order = [(0, small), (1, big)]
            for index, cfg in order if turn % 2 == 0 else order[::-1]:
                began = time.perf_counter_ns()
                cfg.history(limit=HISTORY_LIMIT)
                samples[index].append((time.perf_counter_ns() - began) / 1000)
    return statistics.median(samples[0]), statistics.median(samples[1])


def history_sql(store: sr.Store, name: str) -> str:
    """The SQL ``ConfigRepo.history`` runs, with the values inlined."""
    table = store.tables.config_version
    stmt = (
        sa.select(table)
        .where(table.c.name == name)
        .order_by(table.c.version.desc())
        .limit(HISTORY_LIMIT)
    )
    compiled = stmt.compile(dialect=store.engine.dialect, compile_kwargs={"literal_binds": True})
    return str(compiled)


def history_plan(store: sr.Store, name: str) -> tuple[str, bool]:
    """The history query's plan in one line, and whether it walks the primary key."""
    sql = history_sql(store, name)
    with store.engine.connect() as conn:
        if store.dialect == "postgresql":
            lines = [str(r[0]) for r in conn.exec_driver_sql(f"EXPLAIN {sql}")]
            pkey = sa.inspect(conn).get_pk_constraint("sr_config_version", store.schema)
        else:
            lines = [str(r[3]) for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")]
            pkey = {"name": "sqlite_autoindex_sr_config_version_1"}
    plan = " / ".join(
        re.sub(r"\s+", " ", re.sub(r"\(cost=[^)]*\)|->", "", line)).strip() for line in lines
    )
    uses_pk = re.search(rf"(Index Scan|Index Only Scan|INDEX) .*{pkey['name']}", plan)
    return plan, bool(uses_pk) and "Sort" not in plan and "TEMP B-TREE" not in plan


def run_backend(label: str, pg_url: str | None, sizes: Sizes) -> tuple[Result, str]:
    """Every measurement on one backend; returns the figures and the DB version."""
    backend = Backend(label, pg_url)
    result = Result(label)
    try:
        version = db_version(backend.open("probe"))
        print(f"  {label}: reads ...", flush=True)
        measure_reads(backend, result, sizes)
        print(f"  {label}: publish ...", flush=True)
        measure_publish(backend, result, sizes)
        print(
            f"  {label}: history (seeding {sizes.names * sizes.versions:,} rows) ...", flush=True
        )
        measure_history(backend, result, sizes)
    finally:
        backend.close()
    return result, version


# -- report ---------------------------------------------------------------------------


def us(value: float) -> str:
    """Microseconds, with sensible precision."""
    return f"{value:.2f}" if value < 10 else f"{value:,.0f}"


def table(results: list[Result]) -> str:
    """The results as a Markdown table, one column per backend."""
    first = results[0]
    rows: list[tuple[str, Callable[[Result], str]]] = [
        ("cached `current()`, median µs/call", lambda r: us(r.cached_us)),
        ("uncached `get(head)`, median µs/call", lambda r: us(r.uncached_us)),
        ("ratio uncached / cached", lambda r: f"{r.cached_ratio:,.0f}x"),
        (
            f"`publish`, versions/s ({first.publishes} sequential)",
            lambda r: f"{r.publish_per_s:,.0f} ({r.publish_ms:.2f} ms each)",
        ),
        (
            f"`history(limit=50)`, median µs, 1 name x {first.small_rows} versions",
            lambda r: us(r.history_small_us),
        ),
        (
            f"`history(limit=50)`, median µs, {first.stored_rows:,} versions stored",
            lambda r: us(r.history_big_us),
        ),
        ("ratio many / few versions", lambda r: f"{r.history_ratio:.2f}x"),
        (f"bulk seed of {first.stored_rows:,} version rows, s", lambda r: f"{r.seed_s:.1f}"),
        ("history query plan", lambda r: f"`{r.plan}`"),
    ]
    lines = [
        "| measure | " + " | ".join(r.backend for r in results) + " |",
        "|---|" + "---|" * len(results),
    ]
    lines += [
        f"| {label} | " + " | ".join(cell(r) for r in results) + " |" for label, cell in rows
    ]
    return "\n".join(lines)


def checks(result: Result) -> list[tuple[bool, str]]:
    """The targets of one backend: (passed, explanation)."""
    r = result
    refreshed = f"{r.refreshed_batches}/{r.cached_batches} timed batches included a refresh"
    return [
        (
            r.cached_ratio >= CACHED_TARGET_RATIO and r.cached_us < CACHED_TARGET_US,
            (
                f"{r.backend}: cached current() {us(r.cached_us)} µs (target < "
                f"{CACHED_TARGET_US:g}), {r.cached_ratio:,.0f}x faster than get(head) (target >= "
                f"{CACHED_TARGET_RATIO:g}x); {refreshed}"
            ),
        ),
        (
            r.history_ratio <= HISTORY_TARGET_RATIO,
            (
                f"{r.backend}: history(limit=50) with {r.stored_rows:,} versions stored is "
                f"{r.history_ratio:.2f}x the time with {r.small_rows} (target <= "
                f"{HISTORY_TARGET_RATIO:g}x)"
            ),
        ),
        (
            r.plan_ok,
            f"{r.backend}: the history query walks the (name, version) primary key index, no sort",
        ),
    ]


def verdicts(results: list[Result], skipped: list[str]) -> tuple[list[str], bool]:
    """PASS/FAIL/SKIP lines, and whether every target passed."""
    lines, ok = [], True
    for result in results:
        for passed, text in checks(result):
            ok = ok and passed
            lines.append(f"{'PASS' if passed else 'FAIL'}  {text}")
    lines += [f"SKIP  {text}" for text in skipped]
    return lines, ok


def header(versions: list[str], sizes: Sizes) -> list[str]:
    """Who measured what, where."""
    system = f"{platform.system()} {platform.release()}"
    ours = f"safe_release {sr.__version__}"
    return [
        f"Python {platform.python_version()}, SQLAlchemy {sa.__version__}, {ours}",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, {system}",
        *[f"Database: {v}" for v in versions],
        sizes_line(sizes),
    ]


def sizes_line(sizes: Sizes) -> str:
    """How much work this run did."""
    kind = "quick" if sizes is QUICK else "full"
    return (
        f"Sizes: {kind} ({sizes.batches} x {sizes.batch_calls:,} cached reads, "
        f"{sizes.uncached_calls:,} uncached reads, {sizes.publishes} publishes, "
        f"{sizes.names} names x {sizes.versions:,} versions)"
    )


def docs_section(head: list[str], body: str, lines: list[str], command: str) -> str:
    """The Markdown written between the markers in ``docs/performance.md``."""
    date = datetime.now(tz=timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    info = "\n".join(f"- {line}" for line in head)
    verdict = "\n".join(lines)
    return (
        "## Config store\n\n"
        f"Measured {date} with `{command}`.\n\n"
        f"{info}\n\n{body}\n\n"
        "Cached reads are timed in batches of 1,000 calls (loop overhead included), "
        "each batch started right after a refresh, with the real clock and the default "
        "`ttl=1` s; uncached reads and `history` are timed call by call. Medians "
        "throughout. The version rows for `history` are bulk-inserted as `publish` "
        "would write them. Every `publish` commits its own transaction: on a server with "
        "`fsync=on` its rate is bounded by the disk's flush latency, so figures taken "
        "with `fsync=off` are an upper bound.\n\n"
        f"```text\n{verdict}\n```\n"
    )


# -- main -------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = common_parser(__doc__ or "")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 when every target passes, 1 when one fails."""
    args = parse_args(argv)
    targets: list[tuple[str, str | None]] = [("SQLite", None)]
    skipped = []
    with contextlib.ExitStack() as stack:
        url = postgres_url(args, stack)
        if url is not None:
            targets.append(("PostgreSQL", url))
        else:
            skipped.append(
                "PostgreSQL: no URL (--pg-url, $"
                + ", $".join(PG_ENVS)
                + ") and no local PostgreSQL binaries"
            )
        return _run(args, targets, skipped)


def _run(
    args: argparse.Namespace, targets: list[tuple[str, str | None]], skipped: list[str]
) -> int:
    """Measure every target, print the report, write the docs when asked."""
    sizes = QUICK if args.quick else FULL
    print("bench_config: measuring ...", flush=True)
    results, versions = [], []
    for label, target_url in targets:
        result, version = run_backend(label, target_url, sizes)
        results.append(result)
        versions.append(version)
    head, body = header(versions, sizes), table(results)
    lines, ok = verdicts(results, skipped)
    print("\n" + "\n".join(head) + "\n\n" + body + "\n\n" + "\n".join(lines))
    if args.write_docs:
        command = "python benchmarks/bench_config.py" + (" --quick" if args.quick else "")
        write_docs("bench_config", docs_section(head, body, lines, command))
        print(f"\nwrote {DOCS}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

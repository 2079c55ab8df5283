"""Benchmark eBay's daily quota and rollbacks on eBay's and Walmart's quotas.

Usage::

    python benchmarks/bench_marketplaces.py [--pg-url URL] [--quick] [--write-docs]

1. eBay daily quota, one process (fake clock). FakeEbay's ``sell.inventory``
   budget is set (``set_daily_limit``) to 5,000 calls a day, of which another
   client spent 3,000 earlier in the day: 2,000 remain (``--quick``: 500 and 300,
   200 remain). A job wants 1.5x that many offer reads (``getOffer``) through an
   `EbayAdapter` seeded with ``sync_rate_limits()``. Target: it sends exactly the
   budget, gets no 429 (errorId 2001) and stops with `QuotaExhaustedError`.
   Peers on a fresh fake with the same budget: a plain httpx client with no budget
   (every call sent; a refused one is dropped), and the same client retrying
   each 429 up to 5 tries with exponential backoff (0.25 s x 2^n, on the fake
   clock), as a generic retry policy does.
2. eBay daily quota, 4 processes (real clock). One FakeEbay with the same budget
   runs behind ``fake.serve()`` on 127.0.0.1 in this process; 4 spawned workers
   each want half the remaining budget (twice the budget in all). Each builds an
   `EbayAdapter` whose ``base_url``
   is that server, with a `StoreLimiter` on one shared store (an SQLite file;
   PostgreSQL when there is one), syncs, waits at a barrier, then reads until
   `QuotaExhaustedError`. The per-second pace of ``getOffer`` is raised with
   ``limits=`` (eBay publishes none; the adapter's own 10/s would only make
   the run slower): the day's budget, not the pace, bounds the job. Target:
   the fake answered exactly the budget, 0 calls over it, no 429, every
   worker stopped with `QuotaExhaustedError`. Peers: the same workers with a
   budget of their own each (`MemoryLimiter`: seeded alike, not shared), and
   plain clients.
3. Rollbacks: 5,000 price writes (``--quick``: 500) journaled and compensated,
   on the fake clock, per marketplace (``_compensation.py``): FakeAmazon
   (``patchListingsItem``, 5/s burst 5), FakeEbay (``bulkUpdatePriceQuantity`` of
   25 offers; each offer compensated alone) and FakeWalmart (one price feed,
   each price read first with ``getItem``; each SKU put back by
   ``PUT /v3/price``, 100 an hour). Target: <= 1.05x the
   ideal computed from the fake's quota in the same run, no 429, no duplicate,
   every price restored.

The counts are the fake's own (``fake.calls``). Exit code 1 when a target fails.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import _compensation
import httpx
import sqlalchemy as sa
from _common import DOCS, markers, postgres_url, write_docs
from _common import parser as common_parser

import safe_release as sr
from safe_release._clock import SystemClock
from safe_release.adapters import Limit, StoreLimiter
from safe_release.adapters.ebay import EbayAdapter
from safe_release.exceptions import QuotaExhaustedError
from safe_release.testing import FakeAmazon, FakeClock, FakeEbay

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Iterator
    from multiprocessing.queues import Queue
    from multiprocessing.synchronize import Barrier

    from safe_release._clock import Clock

RESOURCE = "sell.inventory"
READ = "getOffer"
TOKEN_PATH = "/identity/v1/oauth2/token"  # noqa: S105 - a path
OFFER_PATH = "/sell/inventory/v1/offer/{}"
WORKERS = 4
RETRY_TRIES, RETRY_BASE = 5, 0.25
FAST_PACE = Limit(2000.0, 50)
"""``getOffer``'s pace in the 4-process runs (``limits=``): well above what they reach."""
RATIO_TARGET = 1.05
DAY_RESET_HOUR = 7  # eBay's day ends at 07:00Z (midnight US Pacific, summer time)
TIMEOUT_S = 300.0


@dataclass(frozen=True)
class Sizes:
    """The daily budget and the job sizes of one run."""

    label: str
    daily_limit: int
    spent_before: int
    job: int
    per_worker: int
    writes: int

    @property
    def remaining(self) -> int:
        """The calls left of the day when the job starts."""
        return self.daily_limit - self.spent_before


FULL = Sizes("full", 5000, 3000, 3000, 1000, 5000)
QUICK = Sizes("quick", 500, 300, 300, 100, 500)


@dataclass
class Row:
    """One strategy's run on the daily budget, counted at the fake."""

    strategy: str
    budget: int
    sent: int = 0
    ok: int = 0
    refused: int = 0
    stopped: str = "-"
    seconds: float = 0.0
    judged: bool = False
    note: str = ""
    per_worker: list[int] = field(default_factory=list)

    @property
    def over(self) -> int:
        """Calls sent beyond the budget (each one refused by eBay)."""
        return max(self.sent - self.budget, 0)

    @property
    def passed(self) -> bool:
        """Exactly the budget sent, no 429, stopped by the typed error."""
        return (
            self.sent == self.budget
            and self.ok == self.budget
            and self.refused == 0
            and self.stopped.startswith("QuotaExhaustedError")
        )


# -- a plain client (the peers) ------------------------------------------------------------


class PlainClient:
    """An httpx client with a user token and no budget: what a script without safe_release does."""

    def __init__(
        self, client: httpx.Client, creds: dict[str, Any], clock: Clock, *, tries: int = 1
    ) -> None:
        self.client, self.creds, self.clock, self.tries = client, creds, clock, tries
        self.token = self._token()

    def _token(self) -> str:
        c = self.creds
        answer = self.client.post(
            TOKEN_PATH,
            auth=(c["client_id"], c["client_secret"]),
            data={
                "grant_type": "refresh_token",
                "refresh_token": c["refresh_token"],
                "scope": " ".join(c["scopes"]),
            },
        )
        answer.raise_for_status()
        return str(answer.json()["access_token"])

    def read(self, offer_id: str) -> int:
        """GET the offer; retry a 429 (``tries`` in all) with backoff; the last status."""
        status, attempt = 0, 0
        while attempt < self.tries:
            response = self.client.get(
                OFFER_PATH.format(offer_id), headers={"authorization": f"Bearer {self.token}"}
            )
            status = response.status_code
            if status in (401, 403):  # the token expired: refresh, not a try
                self.token = self._token()
                continue
            if status != 429:
                return status
            attempt += 1
            if attempt < self.tries:
                self.clock.sleep(RETRY_BASE * 2 ** (attempt - 1))
        return status


def credentials(fake: FakeEbay) -> dict[str, Any]:
    """The fake user's credentials as plain values (picklable, for spawned workers)."""
    c = fake.credentials
    return {
        "user_id": c.user_id,
        "client_id": c.client_id,
        "client_secret": c.client_secret,
        "refresh_token": c.refresh_token,
        "scopes": tuple(c.scopes),
    }


def adapter_for(creds: dict[str, Any], **options: Any) -> EbayAdapter:
    """An EbayAdapter acting for ``creds``' user."""
    return EbayAdapter(
        user_id=creds["user_id"],
        client_id=creds["client_id"],
        client_secret=creds["client_secret"],
        refresh_token=creds["refresh_token"],
        scopes=creds["scopes"],
        **options,
    )


def budgeted_fake(sizes: Sizes, clock: Clock) -> tuple[FakeEbay, str]:
    """A FakeEbay whose day has ``sizes.remaining`` calls left, and an offer to read."""
    fake = FakeEbay(clock=clock)
    offer = fake.add_offer("SKU-1", price=Decimal("19.99"), quantity=5)
    fake.set_daily_limit(RESOURCE, sizes.daily_limit)
    with httpx.Client(transport=fake.transport, base_url="https://api.ebay.test") as client:
        earlier = PlainClient(client, credentials(fake), clock)
        for _ in range(sizes.spent_before):  # another tool's calls, earlier in the day
            earlier.read(offer)
    if fake.daily_used(RESOURCE) != sizes.spent_before:
        msg = f"FakeEbay counted {fake.daily_used(RESOURCE)} calls, not {sizes.spent_before}"
        raise RuntimeError(msg)
    fake.reset_calls()
    return fake, offer


def count(row: Row, fake: FakeEbay) -> Row:
    """Fill ``row`` from the fake's log of ``getOffer`` calls."""
    reads = [c for c in fake.calls if c.operation == READ]
    row.sent = len(reads)
    row.ok = sum(c.status == 200 for c in reads)
    row.refused = sum(c.status == 429 for c in reads)
    return row


def stop_text(exc: QuotaExhaustedError) -> str:
    """How a job stopped: the typed error and the reset it names."""
    reset = "?" if exc.reset_at is None else exc.reset_at.strftime("%H:%MZ")
    return f"QuotaExhaustedError (resets {reset})"


# -- 1. one process, fake clock ------------------------------------------------------------


def one_process(sizes: Sizes) -> list[Row]:
    """The job through a synced EbayAdapter, then the plain peers, each on a fresh fake."""
    rows = [_one_adapter(sizes)]
    for tries in (1, RETRY_TRIES):
        clock = FakeClock()
        fake, offer = budgeted_fake(sizes, clock)
        name = "plain httpx, no budget" + (
            f", retrying 429 ({tries} tries, {RETRY_BASE:g} s x 2^n)" if tries > 1 else ""
        )
        row = Row(name, sizes.remaining)
        began = clock.monotonic()
        with httpx.Client(transport=fake.transport, base_url="https://api.ebay.test") as http:
            client = PlainClient(http, credentials(fake), clock, tries=tries)
            failed = sum(client.read(offer) != 200 for _ in range(sizes.job))
        row.stopped = f"no: {failed:,} of {sizes.job:,} reads failed"
        row.seconds = clock.monotonic() - began
        rows.append(count(row, fake))
    return rows


def _one_adapter(sizes: Sizes) -> Row:
    clock = FakeClock()
    fake, offer = budgeted_fake(sizes, clock)
    row = Row("safe_release EbayAdapter, synced", sizes.remaining, judged=True)
    with adapter_for(credentials(fake), transport=fake.transport, clock=clock) as ebay:
        (state,) = [s for s in ebay.sync_rate_limits() if s.key.split("|")[2] == RESOURCE]
        row.note = f"synced: limit {state.limit:,}, remaining {state.remaining:,}"
        began = clock.monotonic()
        try:
            for _ in range(sizes.job):
                ebay.get_offer(offer)
        except QuotaExhaustedError as exc:
            row.stopped = stop_text(exc)
        row.seconds = clock.monotonic() - began
    return count(row, fake)


# -- 2. four processes, real clock ---------------------------------------------------------


@dataclass(frozen=True)
class Job:
    """One worker's orders (picklable: spawned workers get it as their argument)."""

    kind: str  # "store", "memory" or "plain"
    base_url: str
    creds: dict[str, Any]
    offer: str
    calls: int
    store_url: str | None = None
    schema: str | None = None


def worker(job: Job, barrier: Barrier, out: Queue[dict[str, Any]]) -> None:
    """Read ``job.offer`` until the budget stops it (or ``job.calls`` times); report."""
    result: dict[str, Any] = {"ok": 0, "stopped": "-", "error": ""}
    try:
        with contextlib.ExitStack() as stack:
            read = _reader(job, stack)
            barrier.wait(timeout=TIMEOUT_S)
            try:
                for _ in range(job.calls):
                    if read() == 200:
                        result["ok"] += 1
            except QuotaExhaustedError as exc:
                result["stopped"] = stop_text(exc)
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which fails the run
        result["error"] = f"{type(exc).__name__}: {exc}"[:300]
        with contextlib.suppress(Exception):
            barrier.abort()
    out.put(result)


def _reader(job: Job, stack: contextlib.ExitStack) -> Callable[[], int]:
    """A function reading the offer once (its status), set up and synced before the barrier."""
    if job.kind == "plain":
        http = stack.enter_context(httpx.Client(base_url=job.base_url))
        client = PlainClient(http, job.creds, SystemClock())
        return lambda: client.read(job.offer)
    options: dict[str, Any] = {
        "base_url": job.base_url,
        "token_url": job.base_url + TOKEN_PATH,
        "limits": {READ: FAST_PACE},
    }
    if job.kind == "store":
        store = stack.enter_context(sr.connect(job.store_url or "", schema=job.schema))
        options["limiter"] = StoreLimiter(store)
    ebay = stack.enter_context(adapter_for(job.creds, **options))
    ebay.sync_rate_limits()

    def read() -> int:
        ebay.get_offer(job.offer)
        return 200

    return read


def four_processes(
    sizes: Sizes, kind: str, label: str, store: tuple[str, str | None] | None
) -> Row:
    """``WORKERS`` spawned workers of ``kind`` on one served FakeEbay (real clock)."""
    _clear_of_the_reset()
    fake, offer = budgeted_fake(sizes, SystemClock())
    row = Row(label, sizes.remaining, judged=kind == "store")
    ctx = mp.get_context("spawn")
    barrier, out = ctx.Barrier(WORKERS), ctx.Queue()
    with fake.serve() as base_url:
        job = Job(
            kind,
            base_url,
            credentials(fake),
            offer,
            sizes.per_worker,
            *(store if store is not None else (None, None)),
        )
        procs = [ctx.Process(target=worker, args=(job, barrier, out)) for _ in range(WORKERS)]
        began = time.perf_counter()
        for proc in procs:
            proc.start()
        results = [out.get(timeout=TIMEOUT_S) for _ in procs]
        row.seconds = time.perf_counter() - began
        for proc in procs:
            proc.join(timeout=60)
    errors = [r["error"] for r in results if r["error"]]
    stops = sorted({r["stopped"] for r in results})
    row.per_worker = [r["ok"] for r in results]
    if kind == "plain":
        row.stopped = f"no: each sent all its {sizes.per_worker:,} reads"
    elif all(r["stopped"].startswith("QuotaExhaustedError") for r in results):
        row.stopped = f"{stops[0]}, all {WORKERS}"
    else:
        row.stopped = "; ".join(stops)
    if errors or any(p.exitcode != 0 for p in procs):
        row.stopped = "worker failed: " + (errors[0] if errors else "exit code")
    row.note = "answers per worker: " + " / ".join(f"{n:,}" for n in row.per_worker)
    return count(row, fake)


def _clear_of_the_reset() -> None:
    """Wait if eBay's day (07:00Z) ends within a minute: one run, one day."""
    now = time.time()
    day = 86_400.0
    reset = (now - DAY_RESET_HOUR * 3600.0) // day * day + day + DAY_RESET_HOUR * 3600.0
    if reset - now < 60:
        time.sleep(reset - now + 1)


# -- stores --------------------------------------------------------------------------------


@contextlib.contextmanager
def stores(
    args: argparse.Namespace, tmp: Path
) -> Iterator[list[tuple[str, tuple[str, str | None]]]]:
    """(label, (url, schema)) of each store to share the budget over; schemas dropped after."""
    found: list[tuple[str, tuple[str, str | None]]] = []
    with contextlib.ExitStack() as stack:
        sqlite_url = f"sqlite:///{tmp / 'limiter.db'}"
        sr.connect(sqlite_url).close()  # created and upgraded before the workers race
        found.append((f"SQLite {sqlite3.sqlite_version}", (sqlite_url, None)))
        pg = postgres_url(args, stack)
        if pg is not None:
            schema = f"sr_bench_market_{os.getpid()}"
            sr.connect(pg, schema=schema).close()
            stack.callback(_drop_schema, pg, schema)
            found.append((f"PostgreSQL {_pg_version(pg)}", (pg, schema)))
        yield found


def _engine(url: str) -> sa.Engine:
    parsed = sa.make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return sa.create_engine(parsed)


def _pg_version(url: str) -> str:
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            return str(conn.exec_driver_sql("SHOW server_version").scalar_one()).split()[0]
    finally:
        engine.dispose()


def _drop_schema(url: str, schema: str) -> None:
    engine = _engine(url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        engine.dispose()


# -- 3. rollbacks --------------------------------------------------------------------------


def rollbacks(sizes: Sizes) -> list[dict[str, Any]]:
    """Compensating ``sizes.writes`` price writes on each marketplace's fake."""
    amazon = _compensation.run(sizes.writes)
    amazon["marketplace"], amazon["operation"] = "Amazon", _compensation.OPERATION
    limit = FakeAmazon().limit(_compensation.OPERATION)
    amazon["quota"] = (
        f"{limit.rate:g}/s burst {limit.burst} (the fake's; SP-API's documented limit)"
    )
    amazon["calls"] = amazon["writes"]
    ebay = _compensation.run_ebay(sizes.writes)
    ebay["marketplace"] = "eBay"
    walmart = _compensation.run_walmart(sizes.writes)
    walmart["marketplace"] = "Walmart"
    return [amazon, ebay, walmart]


def rollback_passed(f: dict[str, Any]) -> bool:
    """<= 1.05x ideal, no 429, no duplicate, no failed step, every price restored."""
    return bool(
        f["ratio"] <= RATIO_TARGET
        and f["throttled_429"] == 0
        and f["duplicates"] == 0
        and f["failed_steps"] == 0
        and f["restored"] == f["writes"]
    )


# -- report --------------------------------------------------------------------------------


def quota_table(rows: list[Row], unit: str) -> str:
    """The daily-budget rows as a Markdown table."""
    lines = [
        (
            f"| strategy | budget | calls sent | answered 200 | answered 429 (2001) | over budget "
            f"| over / budget | stopped with | {unit} |"
        ),
        "|---|---|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r.strategy} | {r.budget:,} | {r.sent:,} | {r.ok:,} | {r.refused:,} | {r.over:,} "
        f"| {100 * r.over / r.budget:.1f} % | {r.stopped} | {r.seconds:.1f} |"
        for r in rows
    ]
    notes = [f"- {r.strategy}: {r.note}" for r in rows if r.note]
    return "\n".join(lines) + ("\n\n" + "\n".join(notes) if notes else "")


def rollback_table(results: list[dict[str, Any]]) -> str:
    """The rollback figures as a Markdown table."""
    lines = [
        (
            "| marketplace | compensating call | quota the ideal uses | writes | simulated, s "
            "| ideal, s | ratio | 429 answers | duplicates | restored | wall, s |"
        ),
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {f['marketplace']} | `{f['operation']}` | {f['quota']} | {f['writes']:,} "
        f"| {f['simulated_s']:,.1f} | {f['ideal_s']:,.1f} | {f['ratio']:.4f}x "
        f"| {f['throttled_429']} | {f['duplicates']} | {f['restored']:,} | {f['wall_s']:.1f} |"
        for f in results
    ]
    return "\n".join(lines)


def verdicts(
    single: list[Row], multi: list[Row], rolled: list[dict[str, Any]]
) -> tuple[list[str], bool]:
    """PASS/FAIL lines for every judged figure, and the peers' cost for comparison."""
    lines, ok = [], True
    one, four = "one process", f"{WORKERS} processes"
    judged = [(one, single[0]), *((four, r) for r in multi if r.judged)]
    peers = [*((one, r) for r in single[1:]), *((four, r) for r in multi if not r.judged)]
    for where, row in judged:
        ok = ok and row.passed
        lines.append(
            f"{'PASS' if row.passed else 'FAIL'}  eBay daily quota, {where}, {row.strategy}: "
            f"{row.sent:,} calls sent of a budget of {row.budget:,} (over by {row.over}), "
            f"{row.refused} answered 429 errorId 2001, stopped with {row.stopped}"
        )
    for where, peer in peers:
        lines.append(
            f"INFO  peer, {where}, {peer.strategy}: {peer.refused:,} answered 429 "
            f"({100 * peer.refused / max(peer.budget, 1):.1f} % of the budget), "
            f"over by {peer.over:,}"
        )
    for f in rolled:
        passed = rollback_passed(f)
        ok = ok and passed
        lines.append(
            f"{'PASS' if passed else 'FAIL'}  {f['marketplace']}: compensating "
            f"{f['writes']:,} price writes by `{f['operation']}` ({f['quota']}): "
            f"{f['simulated_s']:,.1f} s simulated vs {f['ideal_s']:,.1f} s ideal = "
            f"{f['ratio']:.4f}x (target <= {RATIO_TARGET:g}x), {f['throttled_429']} answered "
            f"429, {f['duplicates']} duplicates, {f['failed_steps']} failed steps, "
            f"{f['restored']:,} restored"
        )
    return lines, ok


def header(sizes: Sizes, store_labels: list[str], version: str) -> list[str]:
    """Who measured what, where."""
    return [
        (
            f"Python {platform.python_version()}, httpx {httpx.__version__}, SQLAlchemy "
            f"{sa.__version__}, safe_release {version}"
        ),
        (
            f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, "
            f"{platform.system()} {platform.release()}"
        ),
        "Stores for the 4-process runs: " + (", ".join(store_labels) or "none"),
        (
            f"Sizes: {sizes.label} (daily {RESOURCE} limit {sizes.daily_limit:,}, "
            f"{sizes.spent_before:,} spent earlier, {sizes.remaining:,} remaining; job "
            f"{sizes.job:,} reads; {WORKERS} workers x {sizes.per_worker:,} reads; "
            f"{sizes.writes:,} price writes rolled back)"
        ),
    ]


def _version() -> str:
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607 - git from PATH
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).parent,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        rev = "?"
    return f"{sr.__version__} (git {rev})"


def docs_section(
    head: list[str], body: str, lines: list[str], command: str, runtime: float
) -> str:
    """The Markdown written between the markers in ``docs/performance.md``."""
    date = datetime.now(tz=timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    info = "\n".join(f"- {line}" for line in head)
    verdict = "\n".join(lines)
    return (
        "## eBay and Walmart: daily quotas and rollbacks\n\n"
        f"Measured {date} with `{command}` ({runtime:.0f} s).\n\n"
        f"{info}\n\n"
        "Every count is the fake's own. A call over the budget is one eBay refuses (429, "
        "errorId 2001); only the safe_release rows with a StoreLimiter or alone in their "
        "process are judged, the others are peers run on a fresh fake with the same "
        f"budget.\n\n{body}\n\n```text\n{verdict}\n```\n"
    )


def place_block(path: Path = DOCS) -> None:
    """Put this benchmark's (empty) section right after bench_throttle's, if it has none."""
    start, end = markers("bench_marketplaces")
    text = path.read_text(encoding="utf-8")
    if start in text:
        return
    _, after = markers("bench_throttle")
    at = text.find(after)
    if at == -1:
        return  # write_docs appends it at the end
    at += len(after)
    path.write_text(text[:at] + f"\n\n{start}\n{end}" + text[at:], encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 when every target passes, 1 when one fails."""
    args = common_parser(__doc__ or "").parse_args(argv)
    sizes = QUICK if args.quick else FULL
    began, version = time.monotonic(), _version()
    with (
        tempfile.TemporaryDirectory(prefix="sr-market-") as folder,
        stores(args, Path(folder)) as shared,
    ):
        print("1. eBay daily quota, one process ...", flush=True)
        single = one_process(sizes)
        print(f"2. eBay daily quota, {WORKERS} processes ...", flush=True)
        multi = [
            four_processes(sizes, "store", f"safe_release, StoreLimiter on {label}", target)
            for label, target in shared
        ]
        multi.append(
            four_processes(
                sizes, "memory", "safe_release, a MemoryLimiter each (not shared)", None
            )
        )
        multi.append(four_processes(sizes, "plain", "plain httpx, no budget", None))
        print("3. compensating price writes ...", flush=True)
        rolled = rollbacks(sizes)
    head = header(sizes, [label for label, _ in shared], version)
    body = "\n\n".join(
        [
            f"### eBay daily quota, one process (fake clock)\n\n"
            f"A job of {sizes.job:,} `getOffer` reads with {sizes.remaining:,} calls left of "
            f"the day.\n\n" + quota_table(single, "fake-clock s"),
            f"### eBay daily quota, {WORKERS} processes sharing one budget (real clock)\n\n"
            f"One FakeEbay served on 127.0.0.1; {WORKERS} spawned workers want "
            f"{sizes.per_worker:,} reads each ({WORKERS * sizes.per_worker:,}) with "
            f"{sizes.remaining:,} calls left of the day. `getOffer`'s pace raised to "
            f"{FAST_PACE.rate:g}/s burst {FAST_PACE.burst} (`limits=`) so that the budget, "
            "not the pace, bounds the job.\n\n" + quota_table(multi, "wall s"),
            "### Rollbacks on each marketplace's quota (fake clock)\n\n"
            "Each price write is journaled with its inverse; the rollback compensates every "
            "item alone, newest first. eBay: the writes are `bulkUpdatePriceQuantity` calls "
            "of 25 offers and each compensation a `bulkUpdatePriceQuantity` of one offer; "
            "eBay documents only daily quotas (which admit all of them), so the ideal is "
            "the adapter's own declared pace. Walmart: the writes are one price feed (each "
            "SKU's price read first with `getItem`, for its inverse), each compensation a "
            "`PUT /v3/price` on the fake's 100-an-hour bucket. The ideal is "
            "(writes - burst) / rate of that quota, read from the fake in the same run.\n\n"
            + rollback_table(rolled),
        ]
    )
    lines, ok = verdicts(single, multi, rolled)
    runtime = time.monotonic() - began
    print("\n" + "\n".join(head) + "\n\n" + body + "\n\n" + "\n".join(lines))
    print(f"\nruntime {runtime:.0f} s")
    if args.write_docs:
        command = "python benchmarks/bench_marketplaces.py" + (" --quick" if args.quick else "")
        place_block()
        write_docs("bench_marketplaces", docs_section(head, body, lines, command, runtime))
        print(f"wrote {DOCS}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

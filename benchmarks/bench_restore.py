"""Benchmark table checkpoints (capture, full and 1 % restore) on SQLite and PostgreSQL.

Usage::

    python benchmarks/bench_restore.py [--pg-url URL] [--quick] [--write-docs]

On each backend, with a 100,000-row ``prices`` table (``--quick``: 10,000):

1. capture (``table_checkpoint(...).capture``: change log and triggers, server-side
   copy into the snapshot (on SQLite its own file), key index, row count and
   content hash) against the database's own
   ``INSERT INTO prices_copy SELECT * FROM prices`` into an empty table created with
   the same definition as ``prices`` (columns and primary key); target <= 1.5x;
2. full restore against that same copy; target <= 2.0x, in two scenarios:
   (a) "wiped": every row deleted since the capture (``DELETE FROM prices``), so the
   restore re-inserts all 100,000 rows; (b) "rewritten": every row updated
   (``UPDATE prices SET price = price + 1``), so the restore rewrites all of them.
   Both verify the snapshot first;
3. restore after 1 % of the rows changed against each full restore; target <= 0.25x
   of both. The 1 % are every 100th row, so they lie on most of the table's pages;
   for information, the same restore after 1 % changed side by side (a range of SKUs,
   so on 1 % of the pages), "1 % clustered".

Then the same rounds once more with the bare statements (``_restore_floor.py``): a
plain snapshot table, one statement per restore and its commit, no snapshot check,
change log or catalog read, the 1 % restore told the changed keys for free. Its
ratios ("bare-SQL floor") are what no restore built on those statements can beat.

With ``--profile``, one restore of each scenario is run again with every SQL
statement timed, and the statements are printed slowest first.

Each restore restores a checkpoint captured (untimed) just before its change, as a
release does: a restore finishes its checkpoint (drops the change log), so a
second restore of the same checkpoint would compare the whole table. Before each
change (untimed) the previous snapshot is discarded and, on PostgreSQL, ``prices``
is vacuumed (as autovacuum would), and the copy's table is emptied with
``TRUNCATE``, so that no run measures the dead rows of the runs before it.

Then, for whole releases (``_release_bench.py``): ``release()`` overhead with no
checkpoint (<= 10 ms median on SQLite), and a failed release compensating 5,000
price writes on FakeAmazon's real quota, on the fake clock (<= 1.05x the quota's
ideal, zero 429s, zero duplicates).

The operations are interleaved with the copy, in rounds (copy, capture; copy, wiped
restore; copy, 1 % restore; copy, clustered 1 % restore; copy, rewritten restore),
ROUNDS rounds. Each ratio is the median over the rounds of the operation / the copy
measured just before it (the 1 % restores: / the full restores of their own round, just
before and after them), so that the machine's speed drifting between rounds cancels
out; the milliseconds shown are medians over the rounds. The exit code is 1 when a target fails.
"""

from __future__ import annotations

import contextlib
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import _release_bench
import _restore_floor
import sqlalchemy as sa
from _common import DOCS, PG_ENVS, postgres_url, write_docs
from _common import parser as common_parser

import safe_release as sr
from safe_release._checkpoints import CheckpointContext, table_checkpoint

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable

CAPTURE_TARGET = 1.5
FULL_TARGET = 2.0
PARTIAL_TARGET = 0.25
RELEASE_OVERHEAD_MS = 10.0
COMPENSATION_RATIO = 1.05
ROUNDS = 9  # pairs per figure (a full run and --quick alike)
# (name, the change since the capture), in the order of a round: the 1 % restore sits
# between the two full restores it is held against; {t} is the prices table
SCENARIOS = (
    ("wiped", "DELETE FROM {t}"),
    ("1 %", "UPDATE {t} SET price = price + 1 WHERE sku LIKE '%00'"),  # 1/100
    # for information: the same number of rows, side by side (a range of SKUs) rather
    # than every 100th, so on 1 % of the pages rather than most of them
    ("1 % clustered", "UPDATE {t} SET price = price + 1 WHERE sku < '{c}'"),
    ("rewritten", "UPDATE {t} SET price = price + 1"),
)


@dataclass
class Result:
    """The samples of one backend (seconds), in the order they were taken.

    ``samples[op][i]`` and ``samples["copy " + op][i]`` are one pair: the copy ran
    just before the operation, in round ``i``.
    """

    backend: str
    rows: int = 0
    samples: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    # the same scenarios restored by the bare statements (`_restore_floor`)
    floor: dict[str, list[float]] = field(default_factory=dict)
    details: list[str] = field(default_factory=list)
    profiles: list[str] = field(default_factory=list)

    def ms(self, op: str) -> float:
        """Median milliseconds of ``op`` (``"copy"``: every copy of every pair)."""
        if op == "copy":
            every = [s for k, v in self.samples.items() if k.startswith("copy ") for s in v]
            return statistics.median(every) * 1e3
        return statistics.median(self.samples[op]) * 1e3

    def to_copy(self, op: str, *, floor: bool = False) -> float:
        """Median over the rounds of ``op`` / the copy measured just before it."""
        samples = self.floor if floor else self.samples
        return _median_ratio(samples[op], samples[f"copy {op}"])

    def partial_to(self, full: str, *, floor: bool = False, partial: str = "1 %") -> float:
        """Median over the rounds of the ``partial`` restore / the ``full`` one of its round."""
        samples = self.floor if floor else self.samples
        return _median_ratio(samples[partial], samples[full])

    def pairs(self) -> int:
        """How many pairs each ratio is the median of."""
        return min(len(v) for v in self.samples.values())


def clustered(rows: int) -> str:
    """The SKU below which the first 1 % of ``rows`` lie (the clustered 1 % change)."""
    return f"SKU-{rows // 100:07d}"


def _median_ratio(top: list[float], bottom: list[float]) -> float:
    return statistics.median(a / b for a, b in zip(top, bottom, strict=True))


def prices_table(schema: str | None, name: str = "prices") -> sa.Table:
    """The benchmark's prices table (a copy has the same definition)."""
    return sa.Table(
        name,
        sa.MetaData(schema=schema),
        sa.Column("sku", sa.String(64), primary_key=True),
        sa.Column("store", sa.String(8), primary_key=True),
        sa.Column("price", sa.Numeric(18, 4)),
        sa.Column("qty", sa.Integer),
        sa.Column("currency", sa.String(3)),
        sa.Column("updated_at", sa.DateTime(timezone=True)),
    )


def seed(engine: sa.Engine, table: sa.Table, rows: int) -> None:
    """Fill ``table`` with ``rows`` prices."""
    at = datetime(2025, 1, 1, tzinfo=timezone.utc)
    data = [
        {
            "sku": f"SKU-{i:07d}",
            "store": ("US", "EU", "JP")[i % 3],
            "price": Decimal(i % 997) + Decimal("0.1234"),
            "qty": i % 50,
            "currency": "USD",
            "updated_at": at,
        }
        for i in range(rows)
    ]
    with engine.begin() as conn:
        conn.execute(table.insert(), data)


def once(work: Callable[[], object]) -> float:
    """Seconds ``work`` takes, run once."""
    began = time.perf_counter()
    work()
    return time.perf_counter() - began


def copier(engine: sa.Engine, prices: sa.Table, copy: sa.Table) -> Callable[[], float]:
    """Time one database copy of ``prices`` into ``copy``, emptied (untimed) first."""
    q = engine.dialect.identifier_preparer.format_table
    statement = "TRUNCATE" if engine.dialect.name == "postgresql" else "DELETE FROM"

    def measured() -> float:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"{statement} {q(copy)}")

        def do_copy() -> None:
            with engine.begin() as conn:
                conn.exec_driver_sql(f"INSERT INTO {q(copy)} SELECT * FROM {q(prices)}")

        return once(do_copy)

    return measured


def measure(
    label: str, store: sr.Store, rows: int, *, rounds: int, profile: bool = False
) -> Result:
    """Every measurement on one store's database, interleaved with the copy.

    Each round runs: copy, capture; then per scenario the checkpoint's capture
    (untimed), copy, the change (untimed), restore. Each operation's ratio to the
    copy is taken against the copy measured just before it, and the 1 % restore's
    ratio to each full restore within the round (the 1 % restore sits between them),
    so that the machine's speed drifting between rounds cancels out of the ratios.
    """
    engine, schema = store.engine, store.schema
    prices, copy = prices_table(schema), prices_table(schema, "prices_copy")
    prices.metadata.create_all(engine)
    copy.metadata.create_all(engine)
    seed(engine, prices, rows)
    bench = _Bench(store, prices, copier(engine, prices, copy), Result(label, rows))
    for _ in range(rounds):
        bench.capture_pair()
        for name, sql in SCENARIOS:
            bench.restore_pair(name, sql)
    bench.result.details = [f"{name}: {bench.details[name]}" for name, _ in SCENARIOS]
    bench.discard_last()  # no trigger of the checkpoint's left on prices
    bench.result.floor = _restore_floor.floor_samples(
        engine,
        prices,
        prices_table(schema, "prices_floor"),
        rounds=rounds,
        scenarios=SCENARIOS,
        timed_copy=bench.timed_copy,
        vacuum=lambda: vacuum(engine, prices),
        bound=clustered(rows),
        changed={"1 %": prices.c.sku.like("%00"), "1 % clustered": prices.c.sku < clustered(rows)},
    )
    if profile:
        for name, sql in SCENARIOS:
            bench.change(sql)
            bench.result.profiles.append(profiled(engine, f"{label}, {name}", bench.restore))
    bench.discard_last()
    return bench.result


class _Bench:
    """One backend's checkpoint, the checkpoint taken last, and the samples so far."""

    def __init__(
        self, store: sr.Store, prices: sa.Table, timed_copy: Callable[[], float], result: Result
    ) -> None:
        self.store, self.prices, self.timed_copy, self.result = store, prices, timed_copy, result
        self.cp, self.release = table_checkpoint(store.engine, prices), uuid.uuid4().hex
        self.seqs = iter(range(1, 10_000))
        # (context, state) of the checkpoint taken last; discarded (untimed) before the
        # next operation, as a finished release would, so no run pays for another's triggers
        self.pending: list[tuple[CheckpointContext, dict[str, Any]]] = []
        self.details: dict[str, str] = {}

    def discard_last(self) -> None:
        while self.pending:
            ctx, state = self.pending.pop()
            self.cp.discard(state, ctx)

    def capture_pair(self) -> None:
        """Copy, then capture a new checkpoint (timed)."""
        self.discard_last()
        ctx = CheckpointContext(self.store, self.release, next(self.seqs))
        self.pending.append((ctx, {}))
        self.result.samples["copy capture"].append(self.timed_copy())
        began = time.perf_counter()
        state = self.cp.capture(ctx)
        self.result.samples["capture"].append(time.perf_counter() - began)
        self.pending[-1] = (ctx, state)

    def change(self, sql: str, name: str | None = None) -> None:
        """Capture (untimed) a checkpoint of its own, then change ``prices``.

        As in a release: the restore finishes the checkpoint (drops its log).
        ``name``: time a copy between the capture and the change (``prices`` is
        whole then; after a wipe there would be nothing to copy).
        """
        engine = self.store.engine
        self.discard_last()
        vacuum(engine, self.prices)  # as autovacuum would
        ctx = CheckpointContext(self.store, self.release, next(self.seqs))
        self.pending.append((ctx, self.cp.capture(ctx)))
        if name is not None:
            self.result.samples[f"copy {name}"].append(self.timed_copy())
        with engine.begin() as conn:
            q = engine.dialect.identifier_preparer.format_table
            conn.execute(sa.text(sql.format(t=q(self.prices), c=clustered(self.result.rows))))

    def restore(self) -> None:
        ctx, state = self.pending[-1]
        self.details["last"] = self.cp.restore(state, ctx)

    def restore_pair(self, name: str, sql: str) -> None:
        """Capture (untimed), copy (timed), change (untimed), restore (timed)."""
        self.change(sql, name)
        self.result.samples[name].append(once(self.restore))
        self.details[name] = self.details["last"]


def profiled(engine: sa.Engine, title: str, work: Callable[[], object]) -> str:
    """Run ``work`` once with every SQL statement timed; the statements, slowest first."""
    spans: list[tuple[float, str]] = []
    began: list[float] = []

    def before(*_: object) -> None:
        began.append(time.perf_counter())

    def after(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        spans.append((time.perf_counter() - began.pop(), " ".join(statement.split())))

    sa.event.listen(engine, "before_cursor_execute", before)
    sa.event.listen(engine, "after_cursor_execute", after)
    start = time.perf_counter()
    try:
        work()
    finally:
        total = time.perf_counter() - start
        sa.event.remove(engine, "before_cursor_execute", before)
        sa.event.remove(engine, "after_cursor_execute", after)
    in_sql = sum(s for s, _ in spans)
    head = (
        f"-- {title}: {total * 1e3:.1f} ms, {len(spans)} statements "
        f"({in_sql * 1e3:.1f} ms in SQL, {(total - in_sql) * 1e3:.1f} ms outside)"
    )
    lines = [head]
    lines += [f"{s * 1e3:8.2f} ms  {sql[:150]}" for s, sql in sorted(spans, reverse=True)]
    return "\n".join(lines)


def vacuum(engine: sa.Engine, table: sa.Table) -> None:
    """Reclaim the dead rows of the last change and restore (PostgreSQL; SQLite: no-op).

    Without it each run's ``UPDATE`` of every row leaves 100,000 dead rows behind,
    and later runs measure the bloat rather than the restore.
    """
    if engine.dialect.name != "postgresql":
        return
    name = engine.dialect.identifier_preparer.format_table(table)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql(f"VACUUM ANALYZE {name}")


# -- whole releases ----------------------------------------------------------------------


def measure_release_overhead(
    runs: int, url: str | None = None, *, checkpoint: bool = False
) -> str:
    """Median ``release()`` overhead with no failure (SQLite file store, or ``url``)."""
    figures = _release_bench.overhead(runs, url=url, checkpoint=checkpoint)
    passed = figures["median_ms"] <= RELEASE_OVERHEAD_MS
    what = "a config checkpoint" if checkpoint else "no checkpoint"
    where = "PostgreSQL" if url else "SQLite"
    return (
        f"{'PASS' if passed else 'FAIL'}  release() overhead, {what}, {where}: "
        f"median {figures['median_ms']:.2f} ms (p90 {figures['p90_ms']:.2f} ms; "
        f"target <= {RELEASE_OVERHEAD_MS:g} ms)"
    )


def measure_compensation(writes: int) -> str:
    """A failed release compensating ``writes`` price changes on FakeAmazon's real quota."""
    f = _release_bench.compensation(writes)
    passed = (
        f["ratio"] <= COMPENSATION_RATIO
        and f["throttled_429"] == 0
        and f["duplicates"] == 0
        and f["restored"] == writes
    )
    return (
        f"{'PASS' if passed else 'FAIL'}  compensating {writes:,} price writes "
        f"(patchListingsItem 5/s, burst 5; fake clock): {f['simulated_s']:.1f} s simulated "
        f"vs {f['ideal_s']:.1f} s ideal = {f['ratio']:.4f}x (target <= "
        f"{COMPENSATION_RATIO:g}x), {f['throttled_429']} answered 429, "
        f"{f['duplicates']} duplicates, {f['restored']:,} prices restored, release "
        f"{f['status']}, {f['wall_s']:.1f} s wall"
    )


# -- report ------------------------------------------------------------------------------


def checks(r: Result) -> list[tuple[bool, str]]:
    """The targets of one backend: capture, both full restores, 1 % against both."""
    fulls = ("wiped", "rewritten")
    return [
        _check(r.to_copy("capture"), CAPTURE_TARGET, f"{r.backend}: capture / copy"),
        *(
            _check(r.to_copy(name), FULL_TARGET, f"{r.backend}: full restore ({name}) / copy")
            for name in fulls
        ),
        *(
            _check(
                r.partial_to(name),
                PARTIAL_TARGET,
                f"{r.backend}: 1 % restore / full restore ({name})",
            )
            for name in fulls
        ),
    ]


def _check(ratio: float, target: float, what: str) -> tuple[bool, str]:
    return ratio <= target, f"{what} = {ratio:.2f} (target <= {target})"


def _ratio_rows(*, floor: bool) -> list[tuple[str, Callable[[Result], str]]]:
    """The full restores / the copy and the 1 % restore / each (``floor``: bare SQL)."""
    head = "bare-SQL floor: " if floor else ""
    fulls = ("wiped", "rewritten")
    return [
        *(
            (
                f"{head}full restore ({name}) / copy",
                lambda r, name=name: f"{r.to_copy(name, floor=floor):.2f}",
            )
            for name in fulls
        ),
        *(
            (
                f"{head}1 % restore / full restore ({name})",
                lambda r, name=name: f"{r.partial_to(name, floor=floor):.2f}",
            )
            for name in fulls
        ),
    ]


def table(results: list[Result]) -> str:
    """A Markdown table, one column per backend."""
    rows: list[tuple[str, Callable[[Result], str]]] = [
        ("rows in `prices`", lambda r: f"{r.rows:,}"),
        ("pairs per ratio (rounds)", lambda r: f"{r.pairs()}"),
        (
            "`INSERT INTO prices_copy SELECT * FROM prices`, ms (every pair's copy)",
            lambda r: f"{r.ms('copy'):.0f}",
        ),
        ("capture, ms", lambda r: f"{r.ms('capture'):.0f}"),
        ("full restore, every row deleted (wiped), ms", lambda r: f"{r.ms('wiped'):.0f}"),
        ("full restore, every row updated (rewritten), ms", lambda r: f"{r.ms('rewritten'):.0f}"),
        ("restore after 1 % updated, ms", lambda r: f"{r.ms('1 %'):.1f}"),
        ("restore after 1 % updated, clustered, ms", lambda r: f"{r.ms('1 % clustered'):.1f}"),
        ("capture / copy", lambda r: f"{r.to_copy('capture'):.2f}"),
        *_ratio_rows(floor=False),
        (
            "1 % clustered / full restore (wiped, rewritten)",
            lambda r: (
                f"{r.partial_to('wiped', partial='1 % clustered'):.2f}, "
                f"{r.partial_to('rewritten', partial='1 % clustered'):.2f}"
            ),
        ),
        *_ratio_rows(floor=True),
        ("restore details", lambda r: "; ".join(r.details)),
    ]
    lines = [
        "| measure | " + " | ".join(r.backend for r in results) + " |",
        "|---|" + "---|" * len(results),
    ]
    lines += [
        f"| {label} | " + " | ".join(cell(r) for r in results) + " |" for label, cell in rows
    ]
    return "\n".join(lines)


def run(label: str, url: str | None, rows: int, *, profile: bool = False) -> Result:
    """One backend in a throw-away SQLite file or PostgreSQL schema."""
    with tempfile.TemporaryDirectory(prefix="sr-bench-") as tmp:
        schema = None if url is None else f"sr_bench_restore_{os.getpid()}"
        store = sr.connect(url or f"sqlite:///{tmp}/erp.db", schema=schema)
        try:
            print(f"  {label}: seeding {rows:,} rows and measuring ...", flush=True)
            return measure(label, store, rows, rounds=ROUNDS, profile=profile)
        finally:
            if schema is not None:
                with store.engine.begin() as conn:
                    conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            store.close()


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 when every target passes."""
    cli = common_parser(__doc__ or "")
    cli.add_argument(
        "--profile",
        action="store_true",
        help="time every SQL statement of one restore per scenario",
    )
    cli.add_argument("--sqlite-only", action="store_true", help="skip PostgreSQL")
    cli.add_argument("--pg-only", action="store_true", help="skip SQLite")
    args = cli.parse_args(argv)
    rows = 10_000 if args.quick else 100_000
    targets: list[tuple[str, str | None]] = [] if args.pg_only else [("SQLite", None)]
    skipped: list[str] = []
    with contextlib.ExitStack() as stack:
        url = None if args.sqlite_only else postgres_url(args, stack)
        if args.sqlite_only:
            skipped.append("PostgreSQL: --sqlite-only")
        elif url is not None:
            targets.append(("PostgreSQL", url))
        else:
            skipped.append("PostgreSQL: no URL (--pg-url, $" + ", $".join(PG_ENVS) + ")")
        results = [run(label, target, rows, profile=args.profile) for label, target in targets]
        return report(args, results, skipped, url)


def report(
    args: argparse.Namespace, results: list[Result], skipped: list[str], pg_url: str | None = None
) -> int:
    """Print the table and verdicts; write the docs when asked."""
    lines, ok = [], True
    for result in results:
        for passed, text in checks(result):
            ok = ok and passed
            lines.append(f"{'PASS' if passed else 'FAIL'}  {text}")
    if not args.pg_only:
        quick = args.quick
        runs = 100 if quick else 300
        extras = [measure_release_overhead(runs), measure_release_overhead(runs, checkpoint=True)]
        if pg_url is not None:
            extras += [
                measure_release_overhead(runs, pg_url),
                measure_release_overhead(runs, pg_url, checkpoint=True),
            ]
        for extra in (*extras, measure_compensation(500 if quick else 5000)):
            lines.append(extra)
            ok = ok and extra.startswith("PASS")
    lines += [f"SKIP  {s}" for s in skipped]
    head = (
        f"Python {platform.python_version()}, SQLAlchemy {sa.__version__}, "
        f"{os.cpu_count()} CPUs, {platform.system()} {platform.release()}"
    )
    body = table(results)
    for result in results:
        for prof in result.profiles:
            print("\n" + prof)
    print("\n" + head + "\n\n" + body + "\n\n" + "\n".join(lines))
    if args.write_docs:
        command = "python benchmarks/bench_restore.py" + (" --quick" if args.quick else "")
        date = datetime.now(tz=timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        write_docs(
            "bench_restore",
            (
                f"## Table checkpoints\n\nMeasured {date} with `{command}`; {head}.\n\n{body}\n\n"
                "The copy is `INSERT INTO prices_copy SELECT * FROM prices` into an empty table "
                "with the same definition. Full restores: after every row was deleted (the "
                "restore re-inserts them all) and after every row was updated (it rewrites them "
                "all); the 1 % restore (every 100th row) is held against both; the clustered "
                "1 % (the first 1 % of the SKUs) is shown for information. The operations are "
                "interleaved with the copy, in rounds (copy, capture; copy, wiped restore; copy, "
                "1 % restore; copy, clustered 1 % restore; copy, rewritten restore): each ratio "
                "is the median over the rounds of the operation / the copy measured just before "
                "it (the 1 % restores: / the full restores of their own round), so that the "
                "machine's speed drifting between rounds cancels out; the milliseconds are "
                "medians over the rounds. Each restore restores a checkpoint captured just "
                "before its change. The bare-SQL floor lines repeat the rounds with the "
                "restore's statements alone (`benchmarks/_restore_floor.py`): a plain snapshot "
                "table beside `prices`, one statement and its commit per restore, no snapshot "
                "check, change log or catalog read, and the 1 % restores told which keys "
                "changed.\n\n"
                "The release lines: `with sr.release(...): pass` (no failure) on an SQLite file "
                "store and on PostgreSQL, with no checkpoint and with a config checkpoint; every "
                "release and checkpoint record it writes is sealed (docs/security.md). The last "
                "line: a release that pushed 5,000 price changes to a FakeAmazon with its real "
                "patchListingsItem quota and then failed, timed on the fake clock from the start "
                "of its rollback to restored; each of its ledger entries and compensations is "
                "sealed too.\n\n"
                "```text\n" + "\n".join(lines) + "\n```\n"
            ),
        )
        print(f"\nwrote {DOCS}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

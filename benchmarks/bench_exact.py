"""Benchmark what comparing by identity costs a table restore, on SQLite and PostgreSQL.

Usage::

    python benchmarks/bench_exact.py [--pg-url URL] [--quick] [--write-docs]

A restore compares each column whose type's equality is identity with ``=`` (the
``prices`` table of ``bench_restore.py`` has only such columns, so its figures
are the cost there: none), and every other column by its exact form: on
PostgreSQL the bytes of its type's send function, on SQLite ``typeof()`` too for a
column without affinity; the snapshot's row hashes cover the same forms. Here
the table has the columns that need it: ``price numeric`` (unconstrained) and
``attrs jsonb`` on PostgreSQL, ``price NUMERIC`` and an untyped ``attrs`` on SQLite,
beside ``qty``, ``currency`` and the key ``(sku, store)``; 100,000 rows
(``--quick``: 10,000).

Each restore is timed twice per round, alternately: as the library does it
("exact") and with every column compared and hashed with ``=`` ("by equality", the
behaviour before, which calls ``1.10`` and ``1.1`` equal), each after its own capture
and the same change. The scenarios: 1 % of the rows changed (every 100th price),
1 % rewritten with their own values (every compared row is equal, so the exact form
of every column is computed: the worst case), and every row changed. The ratio is
the median over the rounds of exact / by equality. There is no target: the figures
say what the exactness costs where it applies.
"""

from __future__ import annotations

import contextlib
import platform
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from _common import parser as common_parser
from _common import postgres_url, write_docs

import safe_release as sr
from safe_release._checkpoints import CheckpointContext, _apply, _rowhash, table_checkpoint
from safe_release._checkpoints._columns import ColumnKinds

if TYPE_CHECKING:
    from collections.abc import Iterator

ROUNDS = 7
SCENARIOS = (
    ("1 % changed", "UPDATE {t} SET price = price + 1 WHERE sku LIKE '%00'"),
    ("1 % rewritten, same values", "UPDATE {t} SET price = price WHERE sku LIKE '%00'"),
    ("every row changed", "UPDATE {t} SET price = price + 1"),
)
VARIANTS = ("exact", "by equality")


@contextlib.contextmanager
def by_equality() -> Iterator[None]:
    """Restores and captures as before: every column compared and hashed with ``=``."""
    kinds, forms = _apply.column_kinds, _rowhash.forms

    def plain_kinds(conn: sa.Connection, table: sa.Table) -> ColumnKinds:
        found = kinds(conn, table)
        return ColumnKinds(found.generated, found.always)

    _apply.column_kinds = plain_kinds  # type: ignore[assignment]
    _rowhash.forms = lambda _kinds, _columns: {}  # type: ignore[assignment]
    try:
        yield
    finally:
        _apply.column_kinds, _rowhash.forms = kinds, forms  # type: ignore[assignment]


def make_table(engine: sa.Engine, schema: str | None, rows: int) -> sa.Table:
    """``exact_prices`` with ``rows`` rows, filled by the database itself."""
    pg = engine.dialect.name == "postgresql"
    name = f'"{schema}".exact_prices' if schema else "exact_prices"
    if pg:
        price, attrs, key = "numeric", "jsonb", "lpad(n::text, 7, '0')"
        series = f"generate_series(0, {rows - 1}) AS g(n)"
    else:
        price, attrs, key = "NUMERIC", "", "substr('0000000' || n, -7, 7)"
        series = (
            "(WITH RECURSIVE g(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM g "
            f"WHERE n < {rows - 1}) SELECT n FROM g)"
        )
    doc = """'{"colour": "red", "size": ' || (n % 7) || '.0}'"""
    with engine.begin() as conn:
        if schema:
            conn.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        conn.exec_driver_sql(
            f"CREATE TABLE {name} (sku varchar(64), store varchar(8), price {price}, "
            f"attrs {attrs}, qty integer, currency varchar(3), PRIMARY KEY (sku, store))"
        )
        conn.execute(
            sa.text(
                f"INSERT INTO {name} SELECT 'SKU-' || {key}, 'US', (n % 1000) + 0.10, "
                f"({doc}){'::jsonb' if pg else ''}, n % 50, 'USD' FROM {series}"
            )
        )
    return sa.Table("exact_prices", sa.MetaData(schema=schema), autoload_with=engine)


def restore_once(store: sr.Store, table: sa.Table, change: str, *, exact: bool) -> float:
    """Capture, change, then time the restore (seconds)."""
    context = contextlib.nullcontext() if exact else by_equality()
    name = store.engine.dialect.identifier_preparer.format_table(table)
    with context:
        cp = table_checkpoint(store.engine, table)
        ctx = CheckpointContext(store, uuid.uuid4().hex, 1)
        state = cp.capture(ctx)
        with store.engine.begin() as conn:
            conn.execute(sa.text(change.format(t=name)))
        if store.engine.dialect.name == "postgresql":
            with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql(f"VACUUM ANALYZE {name}")
        start = time.perf_counter()
        cp.restore(state, ctx)
        elapsed = time.perf_counter() - start
        cp.discard(state, ctx)
    return elapsed


def run(url: str, schema: str | None, rows: int) -> dict[str, dict[str, list[float]]]:
    """Every scenario, ROUNDS rounds, the two variants alternating; seconds."""
    store = sr.connect(url, schema=schema)
    samples: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    try:
        table = make_table(store.engine, schema, rows)
        for i in range(ROUNDS):
            for scenario, change in SCENARIOS:
                order = VARIANTS if i % 2 == 0 else VARIANTS[::-1]
                for variant in order:
                    seconds = restore_once(store, table, change, exact=variant == "exact")
                    samples[scenario][variant].append(seconds)
    finally:
        with store.engine.begin() as conn:
            if schema:
                conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            else:
                conn.exec_driver_sql("DROP TABLE IF EXISTS exact_prices")
        store.close()
    return samples


def ratio(samples: dict[str, list[float]]) -> float:
    """Median over the rounds of exact / by equality."""
    pairs = zip(samples["exact"], samples["by equality"], strict=True)
    return statistics.median(a / b for a, b in pairs)


def report(results: dict[str, dict[str, dict[str, list[float]]]], rows: int) -> str:
    """The markdown section: milliseconds and ratios per backend and scenario."""
    backends = list(results)
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    head = (
        "## Exact comparison: what comparing by identity costs a restore\n\n"
        f"Measured {now} with `python benchmarks/bench_exact.py`; Python "
        f"{platform.python_version()}, SQLAlchemy {sa.__version__}, "
        f"{platform.system()} {platform.release()}. {rows:,} rows, {ROUNDS} rounds.\n\n"
    )
    lines = ["| restore of `exact_prices` | " + " | ".join(backends) + " |"]
    lines.append("|---" * (len(backends) + 1) + "|")
    for scenario, _ in SCENARIOS:
        for variant in VARIANTS:
            cells = [
                f"{statistics.median(results[b][scenario][variant]) * 1e3:.1f}" for b in backends
            ]
            lines.append(f"| {scenario}, {variant}, ms | " + " | ".join(cells) + " |")
        cells = [f"{ratio(results[b][scenario]):.2f}" for b in backends]
        lines.append(f"| {scenario}: exact / by equality | " + " | ".join(cells) + " |")
    tail = (
        "\n\nThe table has the columns whose type's equality is not identity "
        "(PostgreSQL: unconstrained `numeric`, `jsonb`; SQLite: an untyped column). "
        '"By equality" is the comparison and row hash before, which keeps `1.1` where '
        "`1.10` was; it is measured by patching the library in the benchmark only. "
        "`bench_restore.py`'s `prices` table has only columns compared with `=`.\n"
    )
    return head + "\n".join(lines) + tail


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print (and with --write-docs record) the figures."""
    args = common_parser(__doc__ or "").parse_args(argv)
    rows = 10_000 if args.quick else 100_000
    results: dict[str, dict[str, dict[str, list[float]]]] = {}
    with contextlib.ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        results["SQLite"] = run(f"sqlite:///{folder / 'exact.db'}", None, rows)
        url = postgres_url(args, stack)
        if url is not None:
            results["PostgreSQL"] = run(url, f"bench_exact_{uuid.uuid4().hex[:8]}", rows)
    section = report(results, rows)
    print(section)
    if args.write_docs:
        write_docs("bench_exact", section)
    return 0


if __name__ == "__main__":
    sys.exit(main())

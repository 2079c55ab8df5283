"""bench_migrations: the migration checker against plain Alembic on a 50-revision chain.

The chain (written into a temporary directory) creates 10 related tables, then
adds and drops columns (batch mode), indexes, server defaults and a reversible
data migration: 50 revisions, every downgrade correct, so the check walks them
all. `safe_release.migrations.check` runs on it with 1,000 seeded rows per
table on an SQLite file. The comparison is the least any up/down/up check can
cost: plain ``alembic upgrade head`` + ``downgrade base`` + ``upgrade head`` on
the same chain (an empty SQLite file, through the same env.py). Each ratio is
the median of rounds in which both are run back to back. Target: <= 3x.
"""

from __future__ import annotations

import platform
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import sqlalchemy
from alembic import command

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._common import parser, write_docs  # noqa: E402
from tests.alembic_util import AlembicProject  # noqa: E402

from safe_release.migrations import check  # noqa: E402

TARGET = 3.0
TABLES = 10
REVISIONS = 50


def _create(n: int) -> tuple[str, str]:
    parent = f', sa.Column("parent_id", sa.Integer, sa.ForeignKey("t{n - 1}.id"))' if n > 0 else ""
    up = (
        f'op.create_table("t{n}", sa.Column("id", sa.Integer, primary_key=True), '
        f'sa.Column("sku", sa.String(40), nullable=False, unique=True), '
        f'sa.Column("price", sa.Numeric(12, 2)), sa.Column("qty", sa.Integer, '
        f'nullable=False), sa.Column("updated_at", sa.DateTime(timezone=True)), '
        f'sa.Column("attrs", sa.JSON){parent})'
    )
    return up, f'op.drop_table("t{n}")'


def _change(i: int) -> tuple[str, str]:
    t = f"t{i % TABLES}"
    kind = i % 4
    if kind == 0:
        return (
            f'op.add_column("{t}", sa.Column("c{i}", sa.String(30)))',
            f'with op.batch_alter_table("{t}") as b:\n    b.drop_column("c{i}")',
        )
    if kind == 1:
        return (
            f'op.create_index("ix_{t}_{i}", "{t}", ["qty"])',
            f'op.drop_index("ix_{t}_{i}", table_name="{t}")',
        )
    if kind == 2:
        return (
            (
                f'op.add_column("{t}", sa.Column("d{i}", sa.Integer, nullable=False, '
                f'server_default="0"))'
            ),
            f'with op.batch_alter_table("{t}") as b:\n    b.drop_column("d{i}")',
        )
    return (
        f'op.execute("UPDATE {t} SET qty = qty + 1")',
        f'op.execute("UPDATE {t} SET qty = qty - 1")',
    )


def build(root: Path) -> AlembicProject:
    """The 50-revision chain."""
    project = AlembicProject(root)
    for n in range(REVISIONS):
        up, down = _create(n) if n < TABLES else _change(n)
        project.add(f"rev{n:03d}", up, down)
    return project


def plain(project: AlembicProject, folder: Path) -> float:
    """Seconds for upgrade head + downgrade base + upgrade head on an empty file."""
    db = folder / "plain.db"
    db.unlink(missing_ok=True)
    config = project.config(f"sqlite:///{db}")
    started = time.perf_counter()
    command.upgrade(config, "head")
    command.downgrade(config, "base")
    command.upgrade(config, "head")
    return time.perf_counter() - started


def plain_unsynced(project: AlembicProject, folder: Path) -> float:
    """The same with ``PRAGMA synchronous = OFF``, as the check's scratch file has it."""
    db = folder / "plain-nosync.db"
    db.unlink(missing_ok=True)
    engine = sqlalchemy.create_engine(f"sqlite:///{db}")
    sqlalchemy.event.listen(engine, "connect", _no_sync)
    config = project.config(f"sqlite:///{db}")
    started = time.perf_counter()
    for name, target in (("upgrade", "head"), ("downgrade", "base"), ("upgrade", "head")):
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            getattr(command, name)(config, target)
    seconds = time.perf_counter() - started
    engine.dispose()
    return seconds


def _no_sync(dbapi_connection: object, _record: object) -> None:
    dbapi_connection.execute("PRAGMA synchronous = OFF")  # type: ignore[attr-defined]


def checked(project: AlembicProject, rows: int) -> tuple[float, bool, int]:
    """Seconds for check() with ``rows`` per table; whether it passed; revisions walked."""
    started = time.perf_counter()
    report = check(project.config("sqlite://"), rows_per_table=rows)
    seconds = time.perf_counter() - started
    if not report.ok:
        print(report.format_text())
    return seconds, report.ok, len(report.checked)


def main(argv: list[str] | None = None) -> int:
    """Run the rounds, print the ratio, optionally write docs/performance.md."""
    args = parser(__doc__ or "").parse_args(argv)
    rounds, rows = (3, 100) if args.quick else (7, 1000)
    with tempfile.TemporaryDirectory(prefix="sr-bench-mig-") as tmp:
        folder = Path(tmp)
        project = build(folder / "project")
        plain(project, folder)  # warm-up: imports, revision modules compiled
        pairs, unsynced = [], []
        for _ in range(rounds):
            base = plain(project, folder)
            unsynced.append(plain_unsynced(project, folder))
            seconds, ok, walked = checked(project, rows)
            pairs.append((base, seconds))
            if not ok:
                return 1
    ratio = statistics.median(c / b for b, c in pairs)
    base = statistics.median(b for b, _ in pairs)
    spent = statistics.median(c for _, c in pairs)
    verdict = "PASS" if ratio <= TARGET else "FAIL"
    quiet = statistics.median(unsynced)
    quiet_ratio = statistics.median(c / u for (_, c), u in zip(pairs, unsynced, strict=True))
    lines = [
        (
            f"{REVISIONS}-revision chain, {TABLES} tables, {rows:,} seeded rows per table, SQLite "
            f"file, {rounds} rounds (median):"
        ),
        f"- plain alembic upgrade head + downgrade base + upgrade head: {base:.2f} s",
        (
            f"- safe_release.migrations.check ({walked} revisions up/down/up, schema and "
            f"per-column data compared): {spent:.2f} s"
        ),
        f"- ratio check / plain: {ratio:.2f} (target <= {TARGET:.0f}): {verdict}",
        (
            f"- for reference: plain with `PRAGMA synchronous = OFF` (as the check's scratch "
            f"file has it) took {quiet:.2f} s; check / that: {quiet_ratio:.2f}"
        ),
    ]
    print("\n".join(lines))
    if args.write_docs and not args.quick:
        write_docs("bench_migrations", _section(lines))
    return 0 if verdict == "PASS" else 1


_EXPLAINED = """\
The chain creates 10 related tables (foreign keys, unique SKUs, Numeric,
timestamptz and JSON columns), then adds and drops columns in batch mode, adds
and drops indexes, adds NOT NULL columns with server defaults and runs a
reversible data migration. The check walks each revision up, down and up
again (the same 150 migration steps as the plain run) on 1,000 rows per
table, compares schema and every column's values after each step, follows rows
written under each new schema through its downgrade, and seeds each new
table. Its scratch file runs with `PRAGMA synchronous = OFF` (nothing on it
needs to survive a crash); the plain run is `alembic` as a user runs it, on
the default synchronous setting, so the first ratio is the target's. The
last line holds the check against plain alembic on the same synchronous
setting (as on a disk where fsync costs nothing): each ratio is the median of
the rounds' own ratios.
"""


def _section(lines: list[str]) -> str:
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"## Migration checker (`benchmarks/bench_migrations.py`)\n\nMeasured {when} with "
        f"`python benchmarks/bench_migrations.py`; Python {platform.python_version()}, "
        f"SQLAlchemy {sqlalchemy.__version__}.\n\n"
        + lines[0]
        + "\n\n"
        + "\n".join(lines[1:])
        + "\n\n"
        + _EXPLAINED
    )


if __name__ == "__main__":
    raise SystemExit(main())

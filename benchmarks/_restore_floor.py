"""The bare-SQL floor of ``bench_restore.py``'s restores: what the statements alone cost.

A restore's figures are held against what the database needs at the least to put
the rows back, with none of a checkpoint's work around it: no snapshot check, no
change log, no catalog reads, no attached file. The snapshot is a plain table
beside ``prices`` with the same definition (``prices_floor``), and each restore is
one statement in its own transaction, committed:

- wiped: ``INSERT INTO prices SELECT * FROM prices_floor`` (the table is empty);
- 1 %: the ``UPDATE … FROM`` of the changed rows, told which keys changed (the
  change's own ``WHERE``) for free;
- rewritten: the ``UPDATE … FROM`` of every row that differs.

The statements are the checkpoint's own (`Diff`), the connection's SQLite page cache
is the one a restore sets, and the rounds are the main benchmark's: copy (timed),
change (untimed, after a ``VACUUM`` on PostgreSQL), restore (timed). The ratios
use the same pairing, so a library figure and its floor compare directly: where
the floor misses a target, no restore written on top of those statements can meet it.
"""

from __future__ import annotations

import time
from collections import defaultdict
from typing import TYPE_CHECKING

import sqlalchemy as sa

from safe_release._checkpoints._diff import Diff

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["floor_samples"]

# the page cache a restore's connection uses on SQLite (KiB), as `_snapfile` sets it
_CACHE_KIB = 65_536


def floor_samples(
    engine: sa.Engine,
    prices: sa.Table,
    snap: sa.Table,
    *,
    rounds: int,
    scenarios: tuple[tuple[str, str], ...],
    timed_copy: Callable[[], float],
    vacuum: Callable[[], None],
    changed: dict[str, sa.ColumnElement[bool]],
    bound: str,
) -> dict[str, list[float]]:
    """``samples[name]`` and ``samples["copy " + name]`` per scenario, seconds.

    ``snap`` is created (same definition as ``prices``), filled from ``prices`` and
    dropped after; ``prices`` ends each round as it began. ``changed[name]``: the
    rows that scenario's change touches, when not all; ``bound``: the change's ``{c}``.
    """
    snap.metadata.create_all(engine)
    q = engine.dialect.identifier_preparer.format_table
    with engine.begin() as conn:
        conn.exec_driver_sql(f"INSERT INTO {q(snap)} SELECT * FROM {q(prices)}")
    key = [c.name for c in prices.primary_key.columns]
    diff = Diff(prices, snap, key, where=None, dialect=engine.dialect.name)
    samples: dict[str, list[float]] = defaultdict(list)
    try:
        for _ in range(rounds):
            for name, change in scenarios:
                vacuum()
                samples[f"copy {name}"].append(timed_copy())
                with engine.begin() as conn:
                    conn.execute(sa.text(change.format(t=q(prices), c=bound)))
                samples[name].append(_restore(engine, diff, name, changed.get(name)))
    finally:
        snap.metadata.drop_all(engine)
    return samples


def _restore(
    engine: sa.Engine, diff: Diff, name: str, changed: sa.ColumnElement[bool] | None
) -> float:
    """Seconds of the one statement that puts ``name``'s change back, with its commit."""
    if name == "wiped":
        statement: sa.Executable = diff.insert_all()
    else:
        update = diff.update_changed()
        if update is None:
            msg = "prices has no column outside its key"
            raise ValueError(msg)
        statement = update if changed is None else update.where(changed)
    with engine.connect() as conn:
        sqlite = engine.dialect.name == "sqlite"
        if sqlite:
            cache = conn.exec_driver_sql("PRAGMA main.cache_size").scalar()
            conn.exec_driver_sql(f"PRAGMA main.cache_size = -{_CACHE_KIB}")
            conn.commit()
        began = time.perf_counter()
        with conn.begin():
            conn.execute(statement)
        took = time.perf_counter() - began
        if sqlite:
            conn.exec_driver_sql(f"PRAGMA main.cache_size = {int(str(cache))}")
            conn.commit()
    return took

"""``prune_checkpoints``: drop the snapshots of old releases, keep the last few per scope."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update

from safe_release._checkpoints._protocol import CheckpointContext
from safe_release._checkpoints._rebuild import find, rebuild
from safe_release._clock import utc_now
from safe_release._store._engine import read_tx, write_tx
from safe_release.exceptions import InvalidArgumentError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy import Row

    from safe_release._checkpoints._protocol import Checkpointable
    from safe_release._store._store import Store

__all__ = ["MIN_KEEP", "prune_checkpoints"]

MIN_KEEP = 3
_PRUNABLE = ("captured", "restored", "failed")
_UNFINISHED = ("running", "pending_rollback", "rolling_back", "rollback_failed")


def prune_checkpoints(
    store: Store, *, keep: int = MIN_KEEP, live: Sequence[Checkpointable] = ()
) -> int:
    """Drop the snapshots of all but the last ``keep`` releases of each scope.

    A release still running or rolling back is never pruned. Each pruned
    checkpoint's stored copy is discarded (a table checkpoint drops its snapshot
    table) and its record marked ``pruned``. Returns how many were pruned.
    """
    if isinstance(keep, bool) or not isinstance(keep, int) or keep < MIN_KEEP:
        msg = (f"prune_checkpoints(keep={keep!r}): the snapshots of the last {MIN_KEEP} "
               f"releases of each scope are always kept; give an int >= {MIN_KEEP}")
        raise InvalidArgumentError(msg)
    pruned = 0
    for row in _doomed(store, keep):
        state = json.loads(row.state)
        item = find(live, row.kind, row.name) or rebuild(store, row.kind, row.name, state)
        drop = getattr(item, "discard", None)
        if drop is None and row.kind == "table":
            continue  # its database is not reachable from here: keep it for a later prune
        if drop is not None:
            drop(state, CheckpointContext(store, row.release_id, row.seq))
        _mark(store, row)
        pruned += 1
    return pruned


def _doomed(store: Store, keep: int) -> list[Row[Any]]:
    t, r = store.tables.checkpoint, store.tables.release
    c = t.c
    with read_tx(store.engine, "listing checkpoints to prune") as conn:
        releases = conn.execute(select(c.scope, c.release_id, func.min(c.created_at)).group_by(
            c.scope, c.release_id)).all()
        unfinished = set(conn.execute(select(r.c.id).where(
            r.c.status.in_(_UNFINISHED))).scalars())
        by_scope: dict[str, list[tuple[Any, str]]] = {}
        for scope, release_id, at in releases:
            by_scope.setdefault(scope, []).append((at, release_id))
        old = [rid for group in by_scope.values()
               for _, rid in sorted(group, reverse=True)[keep:] if rid not in unfinished]
        if not old:
            return []
        rows = conn.execute(select(t).where(c.release_id.in_(old), c.status.in_(_PRUNABLE))
                            .order_by(c.release_id, c.seq))
        return list(rows)


def _mark(store: Store, row: Row[Any]) -> None:
    c = store.tables.checkpoint.c
    now = utc_now(store.clock)
    with write_tx(store.engine, "marking a checkpoint pruned") as conn:
        conn.execute(update(store.tables.checkpoint).where(
            c.release_id == row.release_id, c.seq == row.seq).values(
            status="pruned", detail="snapshot dropped by prune_checkpoints", updated_at=now))

"""``prune_checkpoints``: drop the snapshots of old releases, keep the last few per scope."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from safe_release._checkpoints._checkpoint_set import CheckpointSet
from safe_release._checkpoints._protocol import CheckpointContext
from safe_release._checkpoints._rebuild import find, rebuild
from safe_release._store import read_tx
from safe_release.exceptions import (
    InvalidArgumentError,
    RecordTamperedError,
    SnapshotTamperedError,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy import Row

    from safe_release._checkpoints._protocol import Checkpointable
    from safe_release._store import StoreCore

__all__ = ["MIN_KEEP", "prune_checkpoints"]

_log = logging.getLogger("safe_release.checkpoints")

MIN_KEEP = 3
_PRUNABLE = ("captured", "restored", "failed")
_UNFINISHED = ("running", "pending_rollback", "rolling_back", "rollback_failed")


def prune_checkpoints(
    store: StoreCore, *, keep: int = MIN_KEEP, live: Sequence[Checkpointable] = ()
) -> int:
    """Drop the snapshots of all but the last ``keep`` releases of each scope.

    A release still running or rolling back is never pruned. Each pruned
    checkpoint's stored copy is discarded (a table checkpoint drops its snapshot
    table) and its record marked ``pruned``. Returns how many were pruned.
    """
    if isinstance(keep, bool) or not isinstance(keep, int) or keep < MIN_KEEP:
        msg = (
            f"prune_checkpoints(keep={keep!r}): the snapshots of the last {MIN_KEEP} "
            f"releases of each scope are always kept; give an int >= {MIN_KEEP}"
        )
        raise InvalidArgumentError(msg)
    pruned = 0
    for row in _doomed(store, keep):
        records = CheckpointSet(store, row.release_id, row.scope)
        try:  # a forged record must not name what to drop
            state = records.verified_state(row)
        except (RecordTamperedError, SnapshotTamperedError) as exc:
            _log.error(
                "prune_checkpoints: checkpoint %s of release %s left alone: %s",
                row.seq,
                row.release_id,
                exc,
            )
            continue
        item = find(live, row.kind, row.name) or rebuild(store, row.kind, row.name, state)
        drop = getattr(item, "discard", None)
        if drop is None and row.kind == "table":
            continue  # its database is not reachable from here: keep it for a later prune
        if drop is not None:
            drop(state, CheckpointContext(store, row.release_id, row.seq, row.manifest))
        records.set_status(row.seq, "pruned", "snapshot dropped by prune_checkpoints")
        pruned += 1
    return pruned


def _doomed(store: StoreCore, keep: int) -> list[Row[Any]]:
    t, r = store.tables.checkpoint, store.tables.release
    c = t.c
    with read_tx(store.engine, "listing checkpoints to prune") as conn:
        releases = conn.execute(
            select(c.scope, c.release_id, func.min(c.created_at)).group_by(c.scope, c.release_id)
        ).all()
        unfinished = set(conn.execute(select(r.c.id).where(r.c.status.in_(_UNFINISHED))).scalars())
        by_scope: dict[str, list[tuple[Any, str]]] = {}
        for scope, release_id, at in releases:
            by_scope.setdefault(scope, []).append((at, release_id))
        old = [
            rid
            for group in by_scope.values()
            for _, rid in sorted(group, reverse=True)[keep:]
            if rid not in unfinished
        ]
        if not old:
            return []
        rows = conn.execute(
            select(t)
            .where(c.release_id.in_(old), c.status.in_(_PRUNABLE))
            .order_by(c.release_id, c.seq)
        )
        return list(rows)

"""``recover`` and ``rollback``: finish what a crash (or ``on_failure="manual"``) left.

Both take the scope's lock first, so they never race the release itself, each
other, or a second ``recover`` started at the same time; under the lock they
re-read the release, so one that was finished meanwhile is left alone. The
steps themselves resume where they stopped (see `RollbackRun`).
"""

from __future__ import annotations

import logging
from itertools import groupby
from typing import TYPE_CHECKING, Any

from safe_release._release._lock import ScopeLock, new_owner
from safe_release._release._records import load, release_record, releases
from safe_release._release._release import failed_error
from safe_release._release._rollback import RollbackRun, begin_rollback
from safe_release._report import ReleaseStatus, RollbackReport
from safe_release._store._engine import write_tx
from safe_release.exceptions import ReleaseLockedError, ReleaseStateError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from safe_release._release._records import ReleaseRecord
    from safe_release._store._store import Store

_log = logging.getLogger("safe_release.release")

__all__ = ["RECOVERY_LEASE", "recover", "rollback"]

RECOVERY_LEASE = 60.0
"""Seconds of lease a recovery holds (renewed while it runs)."""

_UNFINISHED = (ReleaseStatus.RUNNING, ReleaseStatus.ROLLING_BACK, ReleaseStatus.ROLLBACK_FAILED)
_ROLLBACKABLE = (ReleaseStatus.PENDING_ROLLBACK, ReleaseStatus.ROLLING_BACK,
                 ReleaseStatus.ROLLBACK_FAILED)


def _scope_lock(store: Store, record: ReleaseRecord) -> ScopeLock:
    owner = new_owner("recover-")
    return ScopeLock(store, record.scope, release_id=record.id, owner=owner,
                     lease=RECOVERY_LEASE)


def recover(store: Store, *, checkpoint: Sequence[Any] = (),
            adapters: Sequence[Any] = ()) -> list[RollbackReport]:
    """Finish every rollback a crash left half-done; safe to run twice, even at once.

    Rolls back releases left ``rolling_back`` or ``rollback_failed``, and
    ``running`` ones whose process is gone (their lease expired, or on
    PostgreSQL their session ended). Scopes whose lock a live process holds are
    skipped. ``checkpoint`` and ``adapters`` are the job's live objects, for
    checkpoints and marketplace writes the store cannot restore alone.
    """
    stuck = releases(store, statuses=tuple(s.value for s in _UNFINISHED), limit=0)
    stuck.sort(key=lambda r: r.scope)
    reports: list[RollbackReport] = []
    for _scope, group in groupby(stuck, key=lambda r: r.scope):
        records = list(group)  # newest first: the oldest checkpoint is restored last
        lock = _scope_lock(store, records[0])
        try:
            lock.acquire(0.0)
        except ReleaseLockedError as exc:  # a live release or another recovery holds it
            _log.warning("recover: scope %r is held by %s; its %d unfinished release(s) are "
                         "left for a later run", _scope, exc.holder, len(records))
            continue
        lock.start_heartbeat()
        try:
            for record in records:
                report = _finish(store, record.id, _UNFINISHED, checkpoint, adapters)
                if report is not None:
                    reports.append(report)
        finally:
            _unlock(store, lock)
    return reports


def rollback(store: Store, release_id: str, *, checkpoint: Sequence[Any] = (),
             adapters: Sequence[Any] = ()) -> RollbackReport:
    """Roll back a ``pending_rollback`` release (or finish a failed/interrupted rollback).

    Raises `ReleaseNotFoundError`, `ReleaseStateError` (running, succeeded or
    already rolled back), `ReleaseLockedError` (another release holds the scope)
    and `RollbackFailedError` (the rollback stopped on an error). Failed steps
    are in the returned report's ``failed``.
    """
    record = release_record(store, release_id)
    _check_rollbackable(record)
    lock = _scope_lock(store, record)
    lock.acquire(0.0)
    try:
        report = _finish(store, release_id, _ROLLBACKABLE, checkpoint, adapters)
    finally:
        _unlock(store, lock)
    if report is None:  # finished by someone else between the read and the lock
        record = release_record(store, release_id)
        _check_rollbackable(record)
        raise AssertionError  # pragma: no cover - _check_rollbackable raised
    return report


def _check_rollbackable(record: ReleaseRecord) -> None:
    if record.status in _ROLLBACKABLE:
        return
    advice = {
        ReleaseStatus.RUNNING: "it is still running; if its process died, run "
                               "'safe-release recover' once its lease has expired",
        ReleaseStatus.SUCCEEDED: "it succeeded; to undo it, release the previous config "
                                 "or data as a new release",
        ReleaseStatus.ROLLED_BACK: "it was already rolled back; see 'safe-release releases "
                                   "show'",
    }[record.status]
    msg = f"release {record.name} ({record.id}) is {record.status.value}: {advice}"
    raise ReleaseStateError(msg, release_id=record.id)


def _finish(store: Store, release_id: str, allowed: Sequence[ReleaseStatus],
            checkpoint: Sequence[Any], adapters: Sequence[Any]) -> RollbackReport | None:
    """Under the scope lock: mark ``rolling_back`` (if still allowed) and run the driver."""
    with write_tx(store.engine, "recovering a release") as conn:
        record = load(conn, store, release_id)
        if record.status not in allowed:
            return None
        crashed = record.status is ReleaseStatus.RUNNING
        error = ("crashed: its process stopped before the release finished (lease "
                 "expired); rolled back by recover") if crashed and not record.error else None
        begin_rollback(conn, store, record, error=error,
                       kind="recovered" if crashed else "rollback_resumed")
        record = load(conn, store, release_id)
    report, error_exc = RollbackRun(store, record, live=checkpoint, adapters=adapters).run()
    if error_exc is not None:
        raise failed_error(report, None, error_exc)
    return report


def _unlock(store: Store, lock: ScopeLock) -> None:
    try:
        with write_tx(store.engine, "freeing a release lock") as conn:
            lock.release(conn)
    finally:
        lock.close()

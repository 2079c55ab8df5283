"""``recover`` and ``rollback``: finish what a crash (or ``on_failure="manual"``) left.

Both take the scope's lock first, so they never race the release itself, each
other, or a second ``recover`` started at the same time; under the lock they
re-read the release, so one that was finished meanwhile is left alone. The
steps themselves resume where they stopped (see `RollbackRun`).
"""

from __future__ import annotations

import logging
from itertools import groupby
from typing import TYPE_CHECKING, NoReturn

from sqlalchemy import select

from safe_release._release._lock import ScopeLock, new_owner
from safe_release._release._release import failed_error
from safe_release._release._release_rows import load, release_record, releases
from safe_release._release._rollback import RollbackRun, begin_rollback
from safe_release._report import ReleaseStatus, RollbackReport, StepResult
from safe_release._sealing import RELEASES, RESIGN_COMMAND
from safe_release._store import read_tx, write_tx
from safe_release.exceptions import (
    RecordTamperedError,
    ReleaseLockedError,
    ReleaseStateError,
    UnsignedRecordError,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from safe_release._checkpoints import Checkpointable
    from safe_release._release._release_rows import ReleaseRecord
    from safe_release._store import StoreCore
    from safe_release.adapters import MarketplaceAdapter

_log = logging.getLogger("safe_release.release")

__all__ = ["RECOVERY_LEASE", "recover", "rollback"]

RECOVERY_LEASE = 60.0
"""Seconds of lease a recovery holds (renewed while it runs)."""

_UNFINISHED = (ReleaseStatus.RUNNING, ReleaseStatus.ROLLING_BACK, ReleaseStatus.ROLLBACK_FAILED)
_ROLLBACKABLE = (
    ReleaseStatus.PENDING_ROLLBACK,
    ReleaseStatus.ROLLING_BACK,
    ReleaseStatus.ROLLBACK_FAILED,
)


def _scope_lock(store: StoreCore, record: ReleaseRecord) -> ScopeLock:
    owner = new_owner("recover-")
    return ScopeLock(store, record.scope, release_id=record.id, owner=owner, lease=RECOVERY_LEASE)


def recover(
    store: StoreCore,
    *,
    checkpoint: Sequence[Checkpointable] = (),
    adapters: Sequence[MarketplaceAdapter] = (),
    on_step: Callable[[StepResult], object] | None = None,
) -> list[RollbackReport]:
    """Finish every rollback a crash left half-done; safe to run twice, even at once.

    Rolls back releases left ``rolling_back`` or ``rollback_failed``, and
    ``running`` ones whose process is gone (their lease expired, or on
    PostgreSQL their session ended). Scopes whose lock a live process holds are
    skipped. ``checkpoint`` and ``adapters`` are the job's live objects, for
    checkpoints and marketplace writes the store cannot restore alone.
    ``on_step`` is told of each step as it is done (for a progress display).
    """
    stuck, refused = _unfinished(store)
    reports: list[RollbackReport] = []
    for _scope, group in groupby(stuck, key=lambda r: r.scope):
        records = list(group)  # newest first: the oldest checkpoint is restored last
        lock = _scope_lock(store, records[0])
        try:
            lock.acquire(0.0)
        except ReleaseLockedError as exc:  # a live release or another recovery holds it
            _log.warning(
                "recover: scope %r is held by %s; its %d unfinished release(s) are "
                "left for a later run",
                _scope,
                exc.holder,
                len(records),
            )
            continue
        lock.start_heartbeat()
        try:
            for record in records:
                try:
                    report = _finish(
                        store, record.id, _UNFINISHED, checkpoint, adapters, on_step=on_step
                    )
                except RecordTamperedError:  # altered between the listing and the lock
                    refused.append(record)
                    continue
                if report is not None:
                    reports.append(report)
        finally:
            _unlock(store, lock)
    if refused:
        _refuse(refused)
    return reports


def _unfinished(store: StoreCore) -> tuple[list[ReleaseRecord], list[ReleaseRecord]]:
    """Releases to finish (by scope), and the ones refused because they do not verify.

    Every release is looked at, not only those whose stored status says
    unfinished: a status rewritten to ``succeeded`` must not hide a release from
    recovery. Rows from before records were sealed are trusted to be finished
    when they say so (they could not be told from forged ones; see
    docs/security.md), and refused when they say unfinished.
    """
    unfinished = {s.value for s in _UNFINISHED}
    stuck, refused = [], []
    for record in releases(store, limit=0):
        if record.tampered is None:
            if record.status in _UNFINISHED:
                stuck.append(record)
        elif not _unsigned(store, record.id) or _stored_status(store, record.id) in unfinished:
            refused.append(record)
    stuck.sort(key=lambda r: r.scope)
    return stuck, refused


def _unsigned(store: StoreCore, release_id: str) -> bool:
    t = store.tables.release
    with read_tx(store.engine, "reading a release") as conn:
        return conn.execute(select(t.c.mac).where(t.c.id == release_id)).scalar() is None


def _stored_status(store: StoreCore, release_id: str) -> str | None:
    t = store.tables.release
    with read_tx(store.engine, "reading a release") as conn:
        status: str | None = conn.execute(select(t.c.status).where(t.c.id == release_id)).scalar()
        return status


def _refuse(refused: Sequence[ReleaseRecord]) -> NoReturn:
    ids = ", ".join(r.id for r in refused)
    unsigned = all(r.tampered and "before records were sealed" in r.tampered for r in refused)
    msg = (
        f"{len(refused)} release record(s) do not verify with the store's signing key and "
        f"were not recovered: {ids}. Nothing was restored or sent for them; the others "
        f"were recovered. Check each ('safe-release releases show ID'), then re-seal it "
        f"with '{RESIGN_COMMAND} ID' (add --force for a record altered after it was "
        "sealed) and run recover again"
    )
    error = UnsignedRecordError if unsigned else RecordTamperedError
    raise error(msg, table=RELEASES.table, key=tuple(r.id for r in refused))


def rollback(
    store: StoreCore,
    release_id: str,
    *,
    checkpoint: Sequence[Checkpointable] = (),
    adapters: Sequence[MarketplaceAdapter] = (),
    on_step: Callable[[StepResult], object] | None = None,
) -> RollbackReport:
    """Roll back a ``pending_rollback`` release (or finish a failed/interrupted rollback).

    Raises `ReleaseNotFoundError`, `ReleaseStateError` (running, succeeded or
    already rolled back), `ReleaseLockedError` (another release holds the scope)
    and `RollbackFailedError` (the rollback stopped on an error). Failed steps
    are in the returned report's ``failed``. ``on_step`` is told of each step as
    it is done (for a progress display).
    """
    record = release_record(store, release_id)
    if record.tampered is not None:
        with read_tx(store.engine, "reading a release") as conn:
            load(conn, store, release_id)  # raises the typed error
    _check_rollbackable(record)
    lock = _scope_lock(store, record)
    lock.acquire(0.0)
    try:
        report = _finish(store, release_id, _ROLLBACKABLE, checkpoint, adapters, on_step=on_step)
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
        ReleaseStatus.ROLLED_BACK: "it was already rolled back; see 'safe-release releases show'",
    }[record.status]
    msg = f"release {record.name} ({record.id}) is {record.status.value}: {advice}"
    raise ReleaseStateError(msg, release_id=record.id)


def _finish(
    store: StoreCore,
    release_id: str,
    allowed: Sequence[ReleaseStatus],
    checkpoint: Sequence[Checkpointable],
    adapters: Sequence[MarketplaceAdapter],
    *,
    on_step: Callable[[StepResult], object] | None = None,
) -> RollbackReport | None:
    """Under the scope lock: mark ``rolling_back`` (if still allowed) and run the driver."""
    with write_tx(store.engine, "recovering a release") as conn:
        record = load(conn, store, release_id)
        if record.status not in allowed:
            return None
        crashed = record.status is ReleaseStatus.RUNNING
        error = (
            (
                "crashed: its process stopped before the release finished (lease "
                "expired); rolled back by recover"
            )
            if crashed and not record.error
            else None
        )
        begin_rollback(
            conn, store, record, error=error, kind="recovered" if crashed else "rollback_resumed"
        )
        record = load(conn, store, release_id)
    run = RollbackRun(store, record, live=checkpoint, adapters=adapters, on_step=on_step)
    report, error_exc = run.run()
    if error_exc is not None:
        raise failed_error(report, None, error_exc)
    return report


def _unlock(store: StoreCore, lock: ScopeLock) -> None:
    try:
        with write_tx(store.engine, "freeing a release lock") as conn:
            lock.release(conn)
    finally:
        lock.close()

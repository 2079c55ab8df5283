"""Refresh locks: one refresher per token key, and the marker of a refresh in flight."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from safe_release._store import StoreCore, read_tx, write_tx
from safe_release.adapters._token_store import check_key
from safe_release.exceptions import InvalidArgumentError

__all__ = ["MemoryRefreshLock", "RefreshLock", "StoreRefreshLock"]

MAX_HOLDER = 200


@runtime_checkable
class RefreshLock(Protocol):
    """Who may refresh a key's tokens now, and what a refresh in flight is spending.

    A lock is held by ``holder`` until `release` or until its lease (``now`` +
    ``lease`` wall-clock seconds) runs out, so that a holder that died does not
    block the others for ever. The marker is the SHA-256 fingerprint of the
    refresh token a refresh is spending (never the token): set before the
    refresh is sent, cleared once its answer is saved. A marker still there
    with the fingerprint of the stored refresh token means that token was spent
    and its answer lost.
    """

    def acquire(self, key: str, holder: str, *, now: float, lease: float) -> bool:
        """Take the lock for ``holder`` (True), or find it held by another (False)."""
        ...

    def release(self, key: str, holder: str) -> None:
        """Give the lock back if ``holder`` still holds it (else nothing)."""
        ...

    def mark(self, key: str, fingerprint: str, *, now: float) -> None:
        """Record that a refresh spending the token of ``fingerprint`` is in flight."""
        ...

    def clear_mark(self, key: str) -> None:
        """Forget the in-flight marker (its answer was saved)."""
        ...

    def marker(self, key: str) -> str | None:
        """The fingerprint of the in-flight marker, or None."""
        ...


def _check(key: str, holder: str | None = None, lease: float | None = None) -> None:
    check_key(key)
    if holder is not None and (
        not isinstance(holder, str) or not holder or len(holder) > MAX_HOLDER
    ):
        msg = f"holder must be a non-empty string of at most {MAX_HOLDER} characters"
        raise InvalidArgumentError(msg)
    if lease is not None and not (isinstance(lease, (int, float)) and lease > 0):
        msg = f"lease must be a positive number of seconds, not {lease!r}"
        raise InvalidArgumentError(msg)


@dataclass
class _Row:
    holder: str | None = None
    expires_at: float = 0.0
    fingerprint: str | None = None
    marker_at: float | None = None


class MemoryRefreshLock:
    """A `RefreshLock` in this process's memory (threads and tasks of one process)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rows: dict[str, _Row] = {}

    def acquire(self, key: str, holder: str, *, now: float, lease: float) -> bool:
        """Take the lock for ``holder`` (True), or find it held by another (False)."""
        _check(key, holder, lease)
        with self._lock:
            row = self._rows.setdefault(key, _Row())
            if row.holder not in (None, holder) and now < row.expires_at:
                return False
            row.holder, row.expires_at = holder, now + lease
            return True

    def release(self, key: str, holder: str) -> None:
        """Give the lock back if ``holder`` still holds it."""
        _check(key, holder)
        with self._lock:
            row = self._rows.get(key)
            if row is not None and row.holder == holder:
                row.holder, row.expires_at = None, 0.0

    def mark(self, key: str, fingerprint: str, *, now: float) -> None:
        """Record the in-flight refresh of the token with ``fingerprint``."""
        _check(key)
        with self._lock:
            row = self._rows.setdefault(key, _Row())
            row.fingerprint, row.marker_at = fingerprint, now

    def clear_mark(self, key: str) -> None:
        """Forget the in-flight marker."""
        _check(key)
        with self._lock:
            row = self._rows.get(key)
            if row is not None:
                row.fingerprint, row.marker_at = None, None

    def marker(self, key: str) -> str | None:
        """The in-flight marker's fingerprint, or None."""
        _check(key)
        with self._lock:
            row = self._rows.get(key)
            return None if row is None else row.fingerprint

    def __repr__(self) -> str:
        with self._lock:
            held = sum(row.holder is not None for row in self._rows.values())
        return f"<MemoryRefreshLock {held} held>"


class StoreRefreshLock:
    """A `RefreshLock` in the store (table ``sr_refresh_lock``): shared by processes.

    One row per key holds the lock (holder, lease) and the in-flight marker;
    each step is one short write transaction (``SELECT … FOR UPDATE`` on
    PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite). No secret is stored.
    """

    def __init__(self, store: StoreCore) -> None:
        if not isinstance(store, StoreCore):
            msg = f"StoreRefreshLock needs a Store from sr.connect(), not {type(store).__name__}"
            raise InvalidArgumentError(msg)
        self._store = store
        self._table = store.tables.refresh_lock

    @property
    def store(self) -> StoreCore:
        """The store holding the locks."""
        return self._store

    def acquire(self, key: str, holder: str, *, now: float, lease: float) -> bool:
        """Take the lock for ``holder`` (True), or find it held by another (False)."""
        _check(key, holder, lease)
        c = self._table.c
        with write_tx(self._store.engine, "taking a refresh lock") as conn:
            dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
            fresh = dialect.insert(self._table).values(key=key, holder=None, expires_at=0.0)
            conn.execute(fresh.on_conflict_do_nothing(index_elements=["key"]))
            query = select(c.holder, c.expires_at).where(c.key == key).with_for_update()
            row = conn.execute(query).one()
            if row.holder not in (None, holder) and now < row.expires_at:
                return False
            values = {"holder": holder, "expires_at": now + lease}
            conn.execute(update(self._table).where(c.key == key).values(values))
            return True

    def release(self, key: str, holder: str) -> None:
        """Give the lock back if ``holder`` still holds it."""
        _check(key, holder)
        c = self._table.c
        with write_tx(self._store.engine, "releasing a refresh lock") as conn:
            conn.execute(
                update(self._table)
                .where(c.key == key, c.holder == holder)
                .values(holder=None, expires_at=0.0)
            )

    def mark(self, key: str, fingerprint: str, *, now: float) -> None:
        """Record the in-flight refresh of the token with ``fingerprint``."""
        _check(key)
        c = self._table.c
        with write_tx(self._store.engine, "marking a refresh in flight") as conn:
            dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
            fresh = dialect.insert(self._table).values(key=key, holder=None, expires_at=0.0)
            conn.execute(fresh.on_conflict_do_nothing(index_elements=["key"]))
            conn.execute(
                update(self._table)
                .where(c.key == key)
                .values(fingerprint=fingerprint, marker_at=now)
            )

    def clear_mark(self, key: str) -> None:
        """Forget the in-flight marker."""
        _check(key)
        c = self._table.c
        with write_tx(self._store.engine, "clearing a refresh marker") as conn:
            conn.execute(
                update(self._table).where(c.key == key).values(fingerprint=None, marker_at=None)
            )

    def marker(self, key: str) -> str | None:
        """The in-flight marker's fingerprint, or None."""
        _check(key)
        c = self._table.c
        with read_tx(self._store.engine, "reading a refresh marker") as conn:
            value = conn.execute(select(c.fingerprint).where(c.key == key)).scalar()
        return None if value is None else str(value)

    def __repr__(self) -> str:
        return f"<StoreRefreshLock {self._store!r}>"

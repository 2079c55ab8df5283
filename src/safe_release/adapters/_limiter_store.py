"""`StoreLimiter`: token buckets and daily budgets in the store, shared by processes."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from safe_release._store import StoreCore, read_tx, write_tx
from safe_release.adapters._limiter import (
    Bucket,
    BucketLimiterBase,
    Initial,
    Window,
    check_key,
)
from safe_release.exceptions import InvalidArgumentError, StoreError

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy import Connection

    from safe_release.adapters._operation import Limit

__all__ = ["StoreLimiter"]

T = TypeVar("T")
_DOING = "updating a rate-limit bucket"
_SPENDING = "updating a daily budget"


class StoreLimiter(BucketLimiterBase):
    """Token buckets and daily budgets in the SDK's store.

    Every process using the same store shares one bucket per quota key (table
    ``sr_rate_bucket``) and one window per daily budget (``sr_quota_window``), and
    a process restarted after a rollback continues from the stored level instead
    of a full bucket or an unused budget. Each reservation or spend is one short
    write transaction (the row is locked with ``SELECT … FOR UPDATE`` on
    PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite). ``initial`` applies to buckets
    never seen before.
    """

    def __init__(self, store: StoreCore, *, initial: Initial = "full") -> None:
        if not isinstance(store, StoreCore):
            msg = f"StoreLimiter needs a Store from sr.connect(), not {type(store).__name__}"
            raise InvalidArgumentError(msg)
        super().__init__(initial=initial)
        self._store = store
        self._table = store.tables.rate_bucket
        self._windows = store.tables.quota_window

    @property
    def store(self) -> StoreCore:
        """The store holding the buckets."""
        return self._store

    def _transact(
        self, key: str, limit: Limit, now: float, step: Callable[[Bucket], tuple[Bucket, T]]
    ) -> T:
        with write_tx(self._store.engine, _DOING) as conn:
            row = self._select(conn, key)
            if row is None:
                self._insert(conn, key, self._fresh(limit, now), now)
                row = self._select(conn, key)
            old = _bucket(row)
            new, out = step(old)
            if new != old:
                values = _values(new, now)
                conn.execute(update(self._table).where(self._table.c.key == key).values(values))
            return out

    def _select(self, conn: Connection, key: str) -> tuple[Any, ...] | None:
        c = self._table.c
        query = select(c.tat, c.rate, c.ceiling, c.epoch, c.paused_until).where(c.key == key)
        row = conn.execute(query.with_for_update()).first()
        return None if row is None else tuple(row)

    def _insert(self, conn: Connection, key: str, bucket: Bucket, now: float) -> None:
        """Create the row; a concurrent first sight in another process wins quietly."""
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        stmt = dialect.insert(self._table).values(key=key, **_values(bucket, now))
        conn.execute(stmt.on_conflict_do_nothing(index_elements=["key"]))

    def _load(self, key: str) -> Bucket | None:
        c = self._table.c
        query = select(c.tat, c.rate, c.ceiling, c.epoch, c.paused_until).where(c.key == key)
        with read_tx(self._store.engine, "reading a rate-limit bucket") as conn:
            row = conn.execute(query).first()
        return None if row is None else _bucket(tuple(row))

    def epoch(self, key: str) -> int:
        """The bucket's epoch (0 for a key never seen): one small read."""
        c = self._table.c
        query = select(c.epoch).where(c.key == check_key(key))
        with read_tx(self._store.engine, "reading a rate-limit epoch") as conn:
            value = conn.execute(query).scalar()
        return 0 if value is None else int(value)

    def _transact_window(
        self,
        key: str,
        fresh: Window | None,
        now: float,
        step: Callable[[Window | None], tuple[Window | None, T]],
    ) -> T:
        c = self._windows.c
        with write_tx(self._store.engine, _SPENDING) as conn:
            row = self._select_window(conn, key)
            if row is None and fresh is not None:
                # insert, then lock: a first sight in two processes at once must not
                # let both spend from two copies of the window
                dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
                stmt = dialect.insert(self._windows).values(key=key, **_window_values(fresh, now))
                conn.execute(stmt.on_conflict_do_nothing(index_elements=["key"]))
                row = self._select_window(conn, key)
            old = None if row is None else _window(row)
            new, out = step(old)
            if new is not None and new != old:
                values = _window_values(new, now)
                conn.execute(update(self._windows).where(c.key == key).values(values))
            return out

    def _select_window(self, conn: Connection, key: str) -> tuple[Any, ...] | None:
        c = self._windows.c
        query = select(c.used, c.reset_at, c.server_limit).where(c.key == key)
        row = conn.execute(query.with_for_update()).first()
        return None if row is None else tuple(row)

    def _load_window(self, key: str) -> Window | None:
        c = self._windows.c
        query = select(c.used, c.reset_at, c.server_limit).where(c.key == key)
        with read_tx(self._store.engine, "reading a daily budget") as conn:
            row = conn.execute(query).first()
        return None if row is None else _window(tuple(row))

    def __repr__(self) -> str:
        return f"<StoreLimiter {self._store!r} initial={self._initial!r}>"


def _bucket(row: tuple[Any, ...] | None) -> Bucket:
    if row is None:  # pragma: no cover - the row was just inserted in this transaction
        msg = "the rate-limit bucket vanished inside its own transaction; retry"
        raise StoreError(msg)
    tat, rate, ceiling, epoch, paused_until = row
    whole = _number(epoch)
    return Bucket(
        # an unreadable number (SQLite keeps whatever was written) makes the bucket
        # insane, so that it is replaced by a fresh one instead of raising
        tat=_number(tat) if math.isfinite(whole) else math.nan,
        rate=_number(rate),
        ceiling=None if ceiling is None else _number(ceiling),
        epoch=int(whole) if math.isfinite(whole) else 0,
        paused_until=_number(paused_until),
    )


def _number(value: object) -> float:
    """A stored number as a float; NaN when it is not one."""
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return math.nan


def _window(row: tuple[Any, ...]) -> Window:
    """A stored window; unreadable numbers become NaN (the window is then replaced)."""
    used, reset_at, limit = row
    # a NaN (not an int) marks an unreadable number: the window is then replaced
    return Window(
        used=_whole(used),  # type: ignore[arg-type]
        reset_at=_number(reset_at),
        limit=None if limit is None else _whole(limit),  # type: ignore[arg-type]
    )


def _whole(value: object) -> int | float:
    """A stored count as an int; NaN when it is not a finite number."""
    number = _number(value)
    return int(number) if math.isfinite(number) and number == int(number) else number


def _window_values(w: Window, now: float) -> dict[str, Any]:
    return {"used": w.used, "reset_at": w.reset_at, "server_limit": w.limit, "updated_at": now}


def _values(b: Bucket, now: float) -> dict[str, Any]:
    return {
        "tat": b.tat,
        "rate": b.rate,
        "ceiling": b.ceiling,
        "epoch": b.epoch,
        "paused_until": b.paused_until,
        "updated_at": now,
    }

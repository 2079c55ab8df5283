"""One release per scope: a lease row in ``sr_release_lock`` (plus an advisory lock on PostgreSQL).

The lease row names the holder (release id, owner token) and when its lease
ends; a heartbeat thread renews it every third of the lease while the release
runs, and an expired lease may be taken over. On PostgreSQL the holder also keeps
a session-level ``pg_try_advisory_lock`` on a connection of its own: the server
drops it when the process dies, so taking it proves the previous holder is gone
even before its lease ends.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import socket
import threading
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError

from safe_release._store import store_error, write_tx
from safe_release.exceptions import InvalidArgumentError, ReleaseLockedError, StoreError

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy import Connection

    from safe_release._store import StoreCore

__all__ = ["ScopeLock", "check_lease", "new_owner", "owner_is_dead"]

_log = logging.getLogger("safe_release.release")
_POLL_S = 0.05


def check_lease(lease: float) -> float:
    """Validate a lease length in seconds."""
    if isinstance(lease, bool) or not isinstance(lease, (int, float)) or not lease > 0:
        msg = f"lease={lease!r} must be a positive number of seconds"
        raise InvalidArgumentError(msg)
    return float(lease)


def _pid_namespace() -> str:
    with contextlib.suppress(OSError):
        return str(Path("/proc/self/ns/pid").readlink()).removeprefix("pid:").strip("[]")
    return "-"


_HOST = socket.gethostname()[:80]
_PIDNS = _pid_namespace()


def new_owner(tag: str = "") -> str:
    """An owner token: host, pid namespace, pid, and a random part (plus ``tag``)."""
    return f"{_HOST}:{_PIDNS}:{os.getpid()}:{tag}{uuid.uuid4().hex[:8]}"


def owner_is_dead(owner: str) -> bool:
    """Whether ``owner`` was a process of this host and pid namespace that has exited.

    Only then can it be known without waiting for the lease: a process on another
    host (or in another container's pid namespace) is presumed alive.
    """
    parts = owner.split(":")
    if len(parts) < 4 or parts[0] != _HOST or parts[1] != _PIDNS or _PIDNS == "-":  # noqa: PLR2004
        return False
    try:
        pid = int(parts[2])
    except ValueError:
        return False
    if pid == os.getpid() or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # EPERM: alive, someone else's
        return False
    return False


def _advisory_key(store: StoreCore, scope: str) -> int:
    digest = hashlib.sha256(f"safe_release:{store.schema or ''}:{scope}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class ScopeLock:
    """The lock of one scope, held for one release (or one recovery)."""

    def __init__(
        self, store: StoreCore, scope: str, *, release_id: str, owner: str, lease: float
    ) -> None:
        self.store = store
        self.scope = scope
        self.release_id = release_id
        self.owner = owner
        self.lease = check_lease(lease)
        self.lost = False
        self.renewed = threading.Event()
        """Set after each heartbeat renewal (for tests and monitoring)."""
        self._advisory: Connection | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- acquiring ----------------------------------------------------------------

    def acquire(self, wait: float = 0.0, then: Callable[[Connection], None] | None = None) -> None:
        """Take the lock, polling up to ``wait`` seconds; ``then(conn)`` runs in the same tx.

        Raises `ReleaseLockedError` naming the holder when the scope stays locked.
        """
        clock = self.store.clock
        deadline = clock.monotonic() + wait
        while True:
            holder = self._try(then)
            if holder is None:
                return
            remaining = deadline - clock.monotonic()
            if remaining <= 0:
                raise self._locked(holder, wait)
            clock.sleep(min(_POLL_S, remaining))

    def _locked(self, holder: str, wait: float) -> ReleaseLockedError:
        waited = f" after waiting {wait:g} s" if wait > 0 else ""
        msg = (
            f"scope {self.scope!r} is locked by release {holder}{waited}; one release per "
            "scope runs at a time: wait for it to finish, pass wait=SECONDS to queue, or "
            "run 'safe-release recover' if its process died"
        )
        return ReleaseLockedError(msg, scope=self.scope, holder=holder, release_id=self.release_id)

    def _try(self, then: Callable[[Connection], None] | None) -> str | None:
        """One attempt: ``None`` when taken, else the holder's release id."""
        proven_dead = False
        if self.store.dialect == "postgresql":
            if not self._take_advisory():
                return self._holder() or "(unknown)"
            proven_dead = True  # every holder keeps the advisory lock while it lives
        try:
            with write_tx(self.store.engine, "taking a release lock") as conn:
                holder = self._claim(conn, proven_dead=proven_dead)
                if holder is None and then is not None:
                    then(conn)
        except BaseException:
            self._drop_advisory()
            raise
        if holder is not None:
            self._drop_advisory()
        return holder

    def _claim(self, conn: Connection, *, proven_dead: bool) -> str | None:
        t = self.store.tables.release_lock
        now = self.store.clock.time()
        row = conn.execute(select(t).where(t.c.scope == self.scope).with_for_update()).first()
        values = {
            "release_id": self.release_id,
            "owner": self.owner,
            "acquired_at": now,
            "expires_at": now + self.lease,
        }
        if row is None:
            dialect_insert = pg_insert if self.store.dialect == "postgresql" else sqlite_insert
            stmt: Any = dialect_insert(t).values(scope=self.scope, **values)
            done = conn.execute(
                stmt.on_conflict_do_nothing(index_elements=["scope"]).returning(t.c.scope)
            ).first()
            return None if done is not None else "(another release, just now)"
        mine = row.owner == self.owner and row.release_id == self.release_id
        if not (mine or proven_dead or row.expires_at <= now or owner_is_dead(row.owner)):
            return str(row.release_id)
        if not mine:
            _log.warning(
                "release lock of scope %r taken over from release %s (%s)",
                self.scope,
                row.release_id,
                "lease expired" if row.expires_at <= now else "its process is gone",
            )
        conn.execute(update(t).where(t.c.scope == self.scope).values(**values))
        return None

    def _holder(self) -> str | None:
        t = self.store.tables.release_lock
        try:
            with self.store.engine.connect() as conn:
                return conn.execute(
                    select(t.c.release_id).where(t.c.scope == self.scope)
                ).scalar_one_or_none()
        except DBAPIError as exc:
            raise store_error("reading a release lock", self.store.engine, exc) from exc

    # -- PostgreSQL advisory lock ---------------------------------------------------

    def _take_advisory(self) -> bool:
        engine = self.store.engine
        conn = engine.connect()
        try:
            got = conn.execute(
                text("SELECT pg_try_advisory_lock(:k)"),
                {"k": _advisory_key(self.store, self.scope)},
            ).scalar()
            conn.commit()  # the lock is session-level: it outlives this transaction
        except DBAPIError as exc:
            conn.close()
            raise store_error("taking a release lock", engine, exc) from exc
        if not got:
            conn.close()
            return False
        self._advisory = conn
        return True

    def _drop_advisory(self) -> None:
        conn, self._advisory = self._advisory, None
        if conn is None:
            return
        try:
            conn.execute(
                text("SELECT pg_advisory_unlock(:k)"), {"k": _advisory_key(self.store, self.scope)}
            )
            conn.commit()
        except DBAPIError:  # the session is gone, and its lock with it
            _log.warning("could not unlock the advisory lock of scope %r", self.scope)
            conn.invalidate()
        finally:
            conn.close()

    # -- holding and releasing ------------------------------------------------------

    def start_heartbeat(self) -> None:
        """Renew the lease every third of it, on a daemon thread, until `close`."""
        self._thread = threading.Thread(
            target=self._beat, daemon=True, name=f"safe_release lease {self.scope}"
        )
        self._thread.start()

    def _beat(self) -> None:
        while not self._stop.wait(self.lease / 3) and self._beat_once():
            pass

    def _beat_once(self) -> bool:
        """Renew once; ``False`` when the lock was lost (stop beating)."""
        try:
            if self.renew():
                return True
        except StoreError:
            _log.warning("could not renew the lease of scope %r; retrying", self.scope)
            return True
        self.lost = True
        _log.error(
            "release %s lost the lock of scope %r (taken over); its rollback "
            "would race the new holder",
            self.release_id,
            self.scope,
        )
        return False

    def renew(self) -> bool:
        """Push the lease end forward; ``False`` if the lock is no longer ours."""
        t = self.store.tables.release_lock
        with write_tx(self.store.engine, "renewing a release lock") as conn:
            done = conn.execute(
                update(t)
                .where(
                    t.c.scope == self.scope,
                    t.c.release_id == self.release_id,
                    t.c.owner == self.owner,
                )
                .values(expires_at=self.store.clock.time() + self.lease)
            )
        self.renewed.set()
        return done.rowcount == 1

    def release(self, conn: Connection) -> bool:
        """Delete the lease row (inside the caller's transaction); ``False``: not ours."""
        t = self.store.tables.release_lock
        done = conn.execute(
            delete(t).where(
                t.c.scope == self.scope, t.c.release_id == self.release_id, t.c.owner == self.owner
            )
        )
        return done.rowcount == 1

    def close(self) -> None:
        """Stop the heartbeat and drop the advisory lock (the row goes with `release`)."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
        self._drop_advisory()

    def __repr__(self) -> str:
        return f"<ScopeLock {self.scope!r} release={self.release_id}>"

"""``release()`` and ``guarded()``: run a job so that a failure puts everything back.

A release takes its scope's lock and records itself (``running``) in one
transaction, captures its checkpoints, makes its journal the active one, and
runs the body. On success it runs the ``verify=`` checks and records
``succeeded`` and frees the lock in one transaction. On any exception (Ctrl-C
and ``SystemExit`` included) or a tripped trigger it records ``rolling_back``
before restoring anything, restores the checkpoints, compensates the
marketplace writes, verifies, notifies, and re-raises the original exception
with the `RollbackReport` attached.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, Literal

from safe_release._release import _args, _parts
from safe_release._release._lock import ScopeLock, check_lease, new_owner
from safe_release._release._release_rows import (
    describe_error,
    insert_release,
    load,
    now,
    sealed_release,
    set_state,
)
from safe_release._release._rollback import RollbackRun, begin_rollback, notify_all
from safe_release._release._verification import Check, normalize_checks, run_checks, verdict
from safe_release._report import ReleaseStatus, RollbackReport, Verification
from safe_release._store import write_tx
from safe_release._triggers import Observation, Observations, Trigger, describe_trigger
from safe_release.exceptions import (
    InvalidArgumentError,
    ReleaseLockedError,
    ReleaseStateError,
    RollbackFailedError,
    RollbackTriggered,
    StoreError,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from datetime import timedelta
    from types import TracebackType

    from typing_extensions import Self

    from safe_release._checkpoints import Checkpointable
    from safe_release._store import StoreCore
    from safe_release.adapters import MarketplaceAdapter

__all__ = ["OnFailure", "Release", "current_release", "release"]

_log = logging.getLogger("safe_release.release")

OnFailure = Literal["rollback", "manual"]
_CURRENT: ContextVar[Release | None] = ContextVar("safe_release_release", default=None)


def current_release() -> Release | None:
    """The release whose body is running in this context (thread or task), if any."""
    return _CURRENT.get()


def attach_report(exc: BaseException, report: RollbackReport) -> None:
    """Put the report on the exception: a note (``__notes__``) and ``rollback_report``."""
    note = report.summary()
    if hasattr(exc, "add_note"):
        exc.add_note(note)
    else:  # Python 3.10: no add_note, but tracebacks of 3.11+ tools read __notes__
        notes = getattr(exc, "__notes__", None)
        with contextlib.suppress(AttributeError, TypeError):
            exc.__notes__ = [*(notes or ()), note]  # type: ignore[attr-defined]
    with contextlib.suppress(AttributeError, TypeError):
        exc.rollback_report = report  # type: ignore[attr-defined]


class Release:
    """One run of a job, rolled back as a whole when it fails. Create it with `release`.

    ``id``, ``name`` and ``scope`` identify it; ``status`` and ``verification``
    follow the persisted state; ``report`` is the `RollbackReport` once it was
    rolled back (or parked in ``pending_rollback``); ``journal`` records its
    marketplace writes while it runs.
    """

    def __init__(
        self,
        name: str,
        *,
        store: StoreCore,
        checkpoint: Sequence[Checkpointable] = (),
        adapters: Sequence[MarketplaceAdapter] = (),
        trigger: Trigger | None = None,
        verify: Sequence[Check] = (),
        notify: Sequence[Callable[[RollbackReport], object]] = (),
        scope: str | None = None,
        on_failure: OnFailure = "rollback",
        wait: float | timedelta = 0.0,
        lease: float | timedelta = 30.0,
        sessions: Sequence[Any] = (),
    ) -> None:
        if on_failure not in {"rollback", "manual"}:
            msg = f"on_failure={on_failure!r} must be 'rollback' or 'manual'"
            raise InvalidArgumentError(msg)
        if trigger is not None and not callable(trigger):
            msg = "trigger= takes ErrorRate, Latency or a callable (observations) -> bool"
            raise InvalidArgumentError(msg)
        self.id = uuid.uuid4().hex
        self.name = _args.name(name, "name")
        self.scope = _args.name(scope if scope is not None else name, "scope")
        self.store = _args.checked_store(store)
        self.status: ReleaseStatus | None = None
        self.verification: Verification | None = None
        self.report: RollbackReport | None = None
        self.journal: _parts.JournalLike | None = None
        self.on_failure: OnFailure = on_failure
        self._checkpoints = _args.checked_checkpoints(_args.items(checkpoint, "checkpoint"))
        self._adapters = _args.checked_adapters(_args.items(adapters, "adapters"))
        self._checks = normalize_checks(_args.items(verify, "verify"))
        self._notify = _args.items(notify, "notify")
        self._sessions = _args.items(sessions, "sessions")
        if not all(callable(getattr(s, "rollback", None)) for s in self._sessions):
            msg = (
                "sessions= takes the job's open sessions or connections (objects with "
                "rollback(), such as a SQLAlchemy Session or Connection)"
            )
            raise InvalidArgumentError(msg)
        if not all(callable(n) for n in self._notify):
            msg = "notify= takes callables that receive the RollbackReport"
            raise InvalidArgumentError(msg)
        self._trigger = trigger
        self._wait = _args.seconds(wait, "wait", positive=False)
        self._lease = check_lease(_args.seconds(lease, "lease", positive=True))
        self._observations = Observations()
        self._tripped: RollbackTriggered | None = None
        self._lock: ScopeLock | None = None
        self._sealed: dict[str, Any] | None = None
        """The release row's sealed columns as this process wrote them."""
        self._undo: Callable[[], None] | None = None

    def __repr__(self) -> str:
        status = self.status.value if self.status else "new"
        return f"<Release {self.name!r} scope={self.scope!r} id={self.id[:12]} {status}>"

    @property
    def observations(self) -> Sequence[Observation]:
        """What `observe` recorded so far, oldest first."""
        return self._observations

    # -- observing ------------------------------------------------------------------

    def observe(self, ok: bool, latency: float | None = None) -> None:  # noqa: FBT001
        """Record one call's outcome; raise `RollbackTriggered` once the trigger trips."""
        if self.status is not ReleaseStatus.RUNNING:
            msg = (
                f"release {self.name} is not running ({self.status or 'not started'}); "
                "call observe() inside its with block"
            )
            raise ReleaseStateError(msg, release_id=self.id)
        if latency is not None and (
            isinstance(latency, bool) or not isinstance(latency, (int, float)) or not latency >= 0
        ):
            msg = f"observe(latency={latency!r}) takes seconds as a number >= 0, or None"
            raise InvalidArgumentError(msg)
        self._observations.append(Observation(bool(ok), latency, self.store.clock.monotonic()))
        if (
            self._tripped is None
            and self._trigger is not None
            and self._trigger(self._observations)
        ):
            self._tripped = self._triggered()
        if self._tripped is not None:
            raise self._tripped

    def _triggered(self) -> RollbackTriggered:
        assert self._trigger is not None  # noqa: S101 - only called with a trigger
        name = describe_trigger(self._trigger)
        obs = self._observations
        msg = (
            f"trigger {name} tripped after {len(obs)} call(s), {obs.failures()} failed: "
            f"release {self.name} rolls back"
        )
        return RollbackTriggered(msg, trigger=name, release_id=self.id)

    # -- entering ---------------------------------------------------------------------

    def _start(self) -> None:
        if self.status is not None:
            msg = f"release {self.name} ({self.id}) was already entered; create a new one"
            raise ReleaseStateError(msg, release_id=self.id)
        owner = new_owner()
        lock = ScopeLock(
            self.store, self.scope, release_id=self.id, owner=owner, lease=self._lease
        )
        values = {
            "id": self.id,
            "name": self.name,
            "scope": self.scope,
            "status": ReleaseStatus.RUNNING.value,
            "on_failure": self.on_failure,
            "owner": owner,
            "started_at": now(self.store),
        }
        sealed = self._sealed = sealed_release(self.store, values)
        values["mac"] = sealed["mac"]
        lock.acquire(self._wait, then=lambda conn: insert_release(conn, self.store, values))
        self._lock, self.status = lock, ReleaseStatus.RUNNING
        lock.start_heartbeat()
        try:
            if self._checkpoints:
                _parts.checkpoints_for(self.store, self.id, self.scope).capture(self._checkpoints)
            self.journal = _parts.journal_for(self.store, self.id, self.scope)
            self.journal.observer = self.observe
        except BaseException as exc:
            self._abort(exc)
            raise

    def _abort(self, exc: BaseException) -> None:
        """The body never ran (capture failed): record it and free the scope."""
        assert self._lock is not None  # noqa: S101 - set by _start
        lock = self._lock
        try:
            try:
                self._record_abort(lock, describe_error(exc))
            except StoreError:  # e.g. a text the database refuses: record the type alone
                self._record_abort(lock, type(exc).__qualname__)
        finally:
            lock.close()
            self.status = ReleaseStatus.ROLLED_BACK

    def _record_abort(self, lock: ScopeLock, error: str) -> None:
        with write_tx(self.store.engine, "recording a release that could not start") as conn:
            set_state(
                conn,
                self.store,
                self.id,
                "aborted",
                status=ReleaseStatus.ROLLED_BACK,
                error=error,
                finished_at=now(self.store),
            )
            lock.release(conn)

    def _bind(self) -> None:
        journal = self.journal
        undo_journal = _parts.activate_journal(journal)
        token = _CURRENT.set(self)
        _parts.bind_adapters(self._adapters, journal)

        def undo() -> None:
            _parts.bind_adapters(self._adapters, None)
            _CURRENT.reset(token)
            undo_journal()

        self._undo = undo

    def _unbind(self) -> None:
        undo, self._undo = self._undo, None
        if undo is not None:
            undo()

    def __enter__(self) -> Self:
        self._start()
        self._bind()
        return self

    async def __aenter__(self) -> Self:
        await asyncio.to_thread(self._start)
        self._bind()
        return self

    # -- leaving ----------------------------------------------------------------------

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> Literal[False]:
        self._unbind()
        return self._finish(exc)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> Literal[False]:
        self._unbind()
        return await asyncio.to_thread(self._finish, exc)

    def _finish(self, exc: BaseException | None) -> Literal[False]:
        failure = exc if exc is not None else self._tripped
        if self._lock is not None and (
            self._lock.lost or (failure is not None and not self._still_ours(self._lock))
        ):
            self._lock.close()
            raise self._lost_lock() from exc
        if failure is None:
            self._succeed()  # checks the lock in its own transaction
            return False
        self._release_sessions()
        if self.on_failure == "manual":
            self._park(failure)
        else:
            self._roll_back(failure)
        if exc is None:  # the body swallowed RollbackTriggered: it still rolled back
            raise failure
        return False

    @staticmethod
    def _still_ours(lock: ScopeLock) -> bool:
        """Whether the scope lock is still this release's (a store outage: assume so)."""
        if lock.lost:
            return False
        try:
            return lock.renew()
        except StoreError:
            return True  # the rollback's own writes will fail and say so

    def _lost_lock(self) -> ReleaseLockedError:
        msg = (
            f"release {self.name} ({self.id}) lost the lock of scope {self.scope!r} while "
            "it ran (its lease expired and another process took the scope over); it "
            "neither rolled back nor recorded success: whoever holds the scope now "
            "finishes it. See 'safe-release releases show' and run 'safe-release recover' "
            "if it is still unfinished"
        )
        return ReleaseLockedError(msg, scope=self.scope, holder=None, release_id=self.id)

    def _succeed(self) -> None:
        assert self._lock is not None  # noqa: S101 - set by _start
        checks = run_checks(self._checks, self._adapters)
        verification = verdict(checks)
        at = now(self.store)
        failed = [c.model_dump() for c in checks if not c.ok]
        try:
            with write_tx(self.store.engine, "recording a release's success") as conn:
                if not self._lock.release(conn):
                    raise self._lost_lock()  # rolls this transaction back
                set_state(
                    conn,
                    self.store,
                    self.id,
                    "succeeded",
                    {"checks": len(checks), "failed_checks": failed},
                    known=self._sealed,
                    status=ReleaseStatus.SUCCEEDED,
                    verification=verification,
                    verified_at=at if verification else None,
                    finished_at=at,
                )
        finally:
            self._lock.close()
        self.status, self.verification = ReleaseStatus.SUCCEEDED, verification
        if self._checkpoints:
            _parts.checkpoints_for(self.store, self.id, self.scope).finish(self._checkpoints)

    def _park(self, exc: BaseException) -> None:
        """``on_failure="manual"``: record ``pending_rollback``, restore nothing."""
        assert self._lock is not None  # noqa: S101 - set by _start
        at, error = now(self.store), describe_error(exc)
        try:
            with write_tx(self.store.engine, "recording a failed release") as conn:
                set_state(
                    conn,
                    self.store,
                    self.id,
                    "pending_rollback",
                    status=ReleaseStatus.PENDING_ROLLBACK,
                    detected_at=at,
                    error=error,
                )
                self._lock.release(conn)
        finally:
            self._lock.close()
        report = RollbackReport(
            release_id=self.id,
            name=self.name,
            scope=self.scope,
            status=ReleaseStatus.PENDING_ROLLBACK,
            reason=error,
            detected_at=at,
        )
        self.status, self.report = ReleaseStatus.PENDING_ROLLBACK, report
        notify_all(self.store, self.id, self._notify, report)
        attach_report(exc, report)
        _add_note(
            exc,
            f"nothing was restored (on_failure='manual'): run 'safe-release "
            f"rollback {self.id}' or store.rollback({self.id!r})",
        )

    def _release_sessions(self) -> None:
        """Roll back the job's own sessions: a restore would wait on their locks."""
        for session in self._sessions:
            _roll_back_session(self.id, session)

    def _roll_back(self, exc: BaseException) -> None:
        assert self._lock is not None  # noqa: S101 - set by _start
        lock = self._lock
        try:
            with write_tx(self.store.engine, "recording a rollback") as conn:
                begin_rollback(
                    conn, self.store, load(conn, self.store, self.id), error=describe_error(exc)
                )
                record = load(conn, self.store, self.id)
        except StoreError as store_exc:
            lock.close()
            self.status = ReleaseStatus.ROLLBACK_FAILED
            msg = (
                f"release {self.name} ({self.id}) failed and its rollback could not start: "
                f"{store_exc}; nothing was restored. Once the store is back, run "
                "'safe-release recover' (or store.recover())"
            )
            raise RollbackFailedError(msg, release_id=self.id, original=exc) from store_exc
        run = RollbackRun(
            self.store,
            record,
            live=self._checkpoints,
            adapters=self._adapters,
            checks=self._checks,
            notify=self._notify,
            finish=lock.release,
        )
        try:
            report, error = run.run()
        finally:
            lock.close()
        self.report, self.status, self.verification = report, report.status, report.verification
        if error is not None or report.status is ReleaseStatus.ROLLBACK_FAILED:
            raise failed_error(report, exc, error)
        attach_report(exc, report)


def _add_note(exc: BaseException, note: str) -> None:
    notes = list(getattr(exc, "__notes__", None) or ())
    with contextlib.suppress(AttributeError, TypeError):
        exc.__notes__ = [*notes, note]  # type: ignore[attr-defined]


def failed_error(
    report: RollbackReport, original: BaseException | None, cause: BaseException | None
) -> RollbackFailedError:
    """`RollbackFailedError` saying what was and was not restored, chained to ``cause``."""
    msg = (
        f"the rollback of release {report.name} ({report.release_id}) did not complete: "
        f"{len(report.restored)} step(s) restored, {len(report.failed)} failed"
        + (f" ({describe_error(cause)})" if cause is not None else "")
        + "; fix the cause and run 'safe-release recover' (or store.recover()), which "
        "finishes the steps left and is safe to run twice\n" + report.summary()
    )
    err = RollbackFailedError(msg, release_id=report.release_id, report=report, original=original)
    err.__cause__ = cause if cause is not None else original
    return err


def _roll_back_session(release_id: str, session: Any) -> None:
    try:
        session.rollback()
    except Exception as exc:  # noqa: BLE001 - logged; the restore's wait is bounded anyway
        _log.warning(
            "release %s: rolling back session %s failed (%s: %s)",
            release_id,
            type(session).__name__,
            type(exc).__name__,
            exc,
        )


def release(
    name: str,
    *,
    store: StoreCore,
    checkpoint: Sequence[Checkpointable] = (),
    adapters: Sequence[MarketplaceAdapter] = (),
    trigger: Trigger | None = None,
    verify: Sequence[Check] = (),
    notify: Sequence[Callable[[RollbackReport], object]] = (),
    scope: str | None = None,
    on_failure: OnFailure = "rollback",
    wait: float | timedelta = 0.0,
    lease: float | timedelta = 30.0,
    sessions: Sequence[Any] = (),
) -> Release:
    """A release of the job ``name``; use it as ``with`` or ``async with``.

    ``checkpoint`` items are captured on entry and restored on failure;
    ``adapters`` are bound to the release's journal (their writes are
    compensated on failure) and health-checked afterwards; ``trigger`` is run
    over `Release.observe`'s observations; ``verify`` checks run after a
    rollback and after a success; ``notify`` callables get the report.
    ``scope`` (default: ``name``) is what one lock covers; ``wait`` is how long
    to queue for it (0: fail at once with `ReleaseLockedError`); ``lease`` is how
    long the lock outlives a process that stops renewing it.
    ``on_failure="manual"`` restores nothing and waits in ``pending_rollback``.
    ``sessions`` are the job's own open sessions or connections (anything with
    ``rollback()``): on failure they are rolled back first, so that the restore
    does not wait on their uncommitted changes (it waits at most
    ``RESTORE_LOCK_WAIT_S``, then fails with `RestoreBlockedError`).
    """
    return Release(
        name,
        store=store,
        checkpoint=checkpoint,
        adapters=adapters,
        trigger=trigger,
        verify=verify,
        notify=notify,
        scope=scope,
        on_failure=on_failure,
        wait=wait,
        lease=lease,
        sessions=sessions,
    )

"""The rollback driver: restore checkpoints, compensate marketplace writes, verify, record.

Shared by a failing release, `rollback` (a ``pending_rollback`` release) and
`recover` (a rollback a crash left half-done). Each step is journaled by its
owner (checkpoint rows, ledger entries) before it is acted on and skipped once
done, so running the driver again finishes what is left and redoes nothing.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from safe_release._release import _parts
from safe_release._release._release_rows import (
    describe_error,
    event,
    now,
    release_record,
    set_state,
)
from safe_release._release._verification import guarded_steps, run_checks, verdict
from safe_release._report import ReleaseStatus, RollbackReport, StepResult
from safe_release._store import write_tx
from safe_release.exceptions import StoreError

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from datetime import datetime

    from sqlalchemy import Connection

    from safe_release._checkpoints import Checkpointable
    from safe_release._release._release_rows import ReleaseRecord
    from safe_release._release._verification import CheckFn
    from safe_release._store import StoreCore
    from safe_release.adapters import MarketplaceAdapter

__all__ = ["RollbackRun", "begin_rollback", "notify_all"]

_log = logging.getLogger("safe_release.release")


def begin_rollback(
    conn: Connection,
    store: StoreCore,
    record: ReleaseRecord,
    *,
    detected: datetime | None = None,
    error: str | None = None,
    kind: str = "rolling_back",
) -> None:
    """Write ``rolling_back`` (and when the failure was seen) before anything is restored."""
    at = now(store)
    values: dict[str, Any] = {"status": ReleaseStatus.ROLLING_BACK}
    if record.detected_at is None:
        values["detected_at"] = detected or at
    if record.rollback_started_at is None:
        values["rollback_started_at"] = at
    if error is not None:
        values["error"] = error
    set_state(conn, store, record.id, kind, **values)


@dataclass
class RollbackRun:
    """One run of the driver over a release already marked ``rolling_back``."""

    store: StoreCore
    record: ReleaseRecord
    live: Sequence[Checkpointable] = ()
    adapters: Sequence[MarketplaceAdapter] = ()
    checks: Sequence[tuple[str, CheckFn]] = ()
    notify: Sequence[Callable[[RollbackReport], object]] = ()
    finish: Callable[[Connection], object] | None = None
    """Runs inside the final transaction (the release frees its scope lock there)."""
    on_step: Callable[[StepResult], object] | None = None
    """Told of each step as it is done (a progress display); its errors are logged."""

    def run(self) -> tuple[RollbackReport, BaseException | None]:
        """Restore, compensate, verify, record; the report and the first rollback failure.

        A failed rollback is recorded (``rollback_failed``) before verification; a
        successful one is recorded ``rolled_back`` together with its report and the
        end of the release in one transaction after verification, with the time it
        was restored: a crash in between leaves it ``rolling_back`` for `recover`,
        never ``rolled_back`` without a report.
        """
        steps, error = self._restore()
        restored = error is None and all(s.ok for s in steps if s.kind != "kept")
        status = ReleaseStatus.ROLLED_BACK if restored else ReleaseStatus.ROLLBACK_FAILED
        restored_at = now(self.store) if restored else None
        if not restored:
            error = self._write("rollback_failed", error, status=status)
        checks = self._verify()
        verification = verdict(checks)
        steps = self._all_steps(steps)
        report = RollbackReport(
            release_id=self.record.id,
            name=self.record.name,
            scope=self.record.scope,
            status=status,
            verification=verification,
            reason=self.record.error or "",
            restored=tuple(s for s in steps if s.kind != "kept" and s.ok),
            failed=tuple(s for s in steps if s.kind != "kept" and not s.ok),
            kept=tuple(s for s in steps if s.kind == "kept"),
            checks=tuple(checks),
            detected_at=self.record.detected_at,
            rollback_started_at=self.record.rollback_started_at,
            restored_at=restored_at,
            verified_at=now(self.store) if verification is not None else None,
        )
        final: dict[str, Any] = {
            "verification": verification,
            "verified_at": report.verified_at,
            "report": report,
            "finished_at": now(self.store),
        }
        if restored:
            final.update(status=status, restored_at=restored_at)
        error = self._write(
            "restored" if restored else "finished", error, finish=self.finish, **final
        )
        notify_all(self.store, self.record.id, self.notify, report)
        return report, error

    def _all_steps(self, steps: list[StepResult]) -> list[StepResult]:
        """Every step of the rollback, an interrupted earlier run's included.

        The journal's step events come first (this run's are journaled as they
        happen; one whose journal write failed is added); a failed step that a later
        run redid is left out.
        """
        try:
            events = release_record(self.store, self.record.id).events
        except StoreError:
            return steps
        journaled = []
        for item in events:
            if item.kind == "step":
                with contextlib.suppress(ValueError):
                    journaled.append(StepResult.model_validate(item.detail))
        unmatched = list(journaled)
        for step in steps:
            if step in unmatched:
                unmatched.remove(step)
            else:
                journaled.append(step)
        return [
            s
            for i, s in enumerate(journaled)
            if s.ok or not any((t.kind, t.name) == (s.kind, s.name) for t in journaled[i + 1 :])
        ]

    def _restore(self) -> tuple[list[StepResult], BaseException | None]:
        steps: list[StepResult] = []
        rec = self.record
        try:
            cps = _parts.checkpoints_for(self.store, rec.id, rec.scope)
            steps += cps.restore(self.live, self._on_step)
            journal = _parts.journal_for(self.store, rec.id, rec.scope)
            steps += journal.compensate(self.adapters, self._on_step)
        except Exception as exc:  # noqa: BLE001 - recorded, then raised as RollbackFailedError
            _log.exception("rollback of release %s stopped", rec.id)
            return steps, exc
        return steps, None

    def _verify(self) -> list[StepResult]:
        rec = self.record
        checks = guarded_steps(
            "restored checkpoints",
            lambda: _parts.checkpoints_for(self.store, rec.id, rec.scope).verify(self.live),
        )
        checks += guarded_steps(
            "compensated marketplace writes",
            lambda: _parts.journal_for(self.store, rec.id, rec.scope).verify(self.adapters),
        )
        return checks + run_checks(self.checks, self.adapters)

    def _on_step(self, step: StepResult) -> None:
        try:
            with write_tx(self.store.engine, "journaling a rollback step") as conn:
                event(conn, self.store, self.record.id, "step", step.model_dump())
        except StoreError:
            _log.warning("could not journal step %s of release %s", step.name, self.record.id)
        if self.on_step is not None:
            try:
                self.on_step(step)
            except Exception:  # noqa: BLE001 - a progress display must not stop a rollback
                _log.warning("on_step failed on step %s", step.name, exc_info=True)

    def _write(
        self,
        kind: str,
        error: BaseException | None,
        finish: Callable[[Connection], object] | None = None,
        **values: Any,
    ) -> BaseException | None:
        """Record a transition; a store failure becomes the rollback failure (if none yet)."""
        try:
            with write_tx(self.store.engine, "recording a rollback") as conn:
                set_state(conn, self.store, self.record.id, kind, **values)
                if finish is not None:
                    finish(conn)
        except StoreError as exc:
            _log.warning("could not record %s of release %s: %s", kind, self.record.id, exc)
            return error or exc
        return error


def notify_all(
    store: StoreCore,
    release_id: str,
    notify: Sequence[Callable[[RollbackReport], object]],
    report: RollbackReport,
) -> None:
    """Call each notifier; a failing one is logged and journaled, never raised."""
    for notifier in notify:
        _notify_one(store, release_id, notifier, report)


def _notify_one(
    store: StoreCore,
    release_id: str,
    notifier: Callable[[RollbackReport], object],
    report: RollbackReport,
) -> None:
    try:
        notifier(report)
    except Exception as exc:  # noqa: BLE001 - a notifier must not mask the rollback
        name = getattr(notifier, "__name__", None) or type(notifier).__name__
        _log.warning(
            "notifier %s failed for release %s: %s", name, release_id, describe_error(exc)
        )
        try:
            with write_tx(store.engine, "journaling a notifier failure") as conn:
                event(
                    conn,
                    store,
                    release_id,
                    "notify_failed",
                    {"notifier": str(name), "error": describe_error(exc)},
                )
        except StoreError:
            _log.warning("could not journal the notifier failure")

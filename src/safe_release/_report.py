"""What a rollback did: the value objects shared by releases, checkpoints and the ledger."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

from pydantic import BaseModel, ConfigDict

__all__ = ["ReleaseStatus", "RollbackReport", "StepResult", "Verification"]


class ReleaseStatus(str, Enum):
    """Where a release is in its life."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    PENDING_ROLLBACK = "pending_rollback"
    """Failed with ``on_failure="manual"``: waits for ``safe-release rollback ID``."""
    ROLLING_BACK = "rolling_back"
    ROLLED_BACK = "rolled_back"
    ROLLBACK_FAILED = "rollback_failed"


class Verification(str, Enum):
    """The outcome of the checks run after a rollback (or a success)."""

    VERIFIED = "verified"
    UNVERIFIED = "unverified"


class StepResult(BaseModel):
    """One step of a rollback or one check: a restore, a compensation, a kept write."""

    model_config = ConfigDict(frozen=True)

    kind: str
    """``checkpoint``, ``compensation``, ``kept`` or ``check``."""
    name: str
    """What the step is about: ``table prices``, ``amazon patchListingsItem SKU-1`` …"""
    ok: bool
    detail: str = ""


class RollbackReport(BaseModel):
    """What a rollback restored, compensated, kept and verified, and how long it took."""

    model_config = ConfigDict(frozen=True)

    release_id: str
    name: str
    scope: str
    status: ReleaseStatus
    verification: Verification | None = None
    reason: str = ""
    """Why it rolled back: the exception type and message, or the tripped trigger."""
    restored: tuple[StepResult, ...] = ()
    """Checkpoints restored and marketplace writes compensated."""
    failed: tuple[StepResult, ...] = ()
    """Steps that did not complete; `Store.recover` retries them."""
    kept: tuple[StepResult, ...] = ()
    """Marketplace writes that cannot be undone (shipments, tracking, inbound plans)."""
    checks: tuple[StepResult, ...] = ()
    detected_at: datetime | None = None
    rollback_started_at: datetime | None = None
    restored_at: datetime | None = None
    verified_at: datetime | None = None

    @property
    def time_to_restore(self) -> float | None:
        """Seconds from detection to restored, when both are known."""
        if self.detected_at is None or self.restored_at is None:
            return None
        return (self.restored_at - self.detected_at).total_seconds()

    def summary(self) -> str:
        """A few human lines: the outcome, then the counts of each kind of step."""
        ttr = self.time_to_restore
        lines = [
            f"release {self.name} ({self.release_id}) {self.status.value}"
            + (f", {self.verification.value}" if self.verification else "")
            + (f" in {ttr:.2f} s" if ttr is not None else ""),
            f"  reason: {self.reason}" if self.reason else "",
            (
                f"  restored: {len(self.restored)}, failed: {len(self.failed)}, "
                f"kept: {len(self.kept)}, checks: {sum(c.ok for c in self.checks)}/"
                f"{len(self.checks)} passed"
            ),
        ]
        lines += [f"  failed: {s.name}: {s.detail}" for s in self.failed]
        lines += [f"  kept: {s.name}: {s.detail}" for s in self.kept]
        lines += [f"  check failed: {s.name}: {s.detail}" for s in self.checks if not s.ok]
        return "\n".join(line for line in lines if line)

"""The release's view of the checkpoint set and the side-effect journal.

Checkpoints (``safe_release._checkpoints``) and the ledger (``safe_release._ledger``)
are built beside the release; this module is the one seam between them, typed by
what the release needs, so the release's tests can run with stand-ins.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, cast

from safe_release._ledger import Journal
from safe_release._report import StepResult
from safe_release.adapters import reset_active_journal, set_active_journal

if TYPE_CHECKING:
    from safe_release._store import StoreCore

__all__ = [
    "Checkpoints",
    "JournalLike",
    "OnStep",
    "activate_journal",
    "bind_adapters",
    "checkpoints_for",
    "journal_for",
]

OnStep = Callable[[StepResult], None]


class Checkpoints(Protocol):
    """The checkpoints of one release (``CheckpointSet``)."""

    def capture(self, items: Sequence[Any]) -> None:
        """Capture each item in order (all or none)."""

    def restore(self, live: Sequence[Any], on_step: OnStep | None = None) -> list[StepResult]:
        """Restore what was captured, resuming after a crash."""

    def verify(self, live: Sequence[Any]) -> list[StepResult]:
        """Re-read restored state and compare it with the capture."""

    def finish(self, live: Sequence[Any]) -> None:
        """The release succeeded: stop tracking changes (snapshots are kept)."""


class JournalLike(Protocol):
    """The side-effect journal of one release (``Journal``)."""

    observer: Callable[[bool, float], None] | None

    def compensate(
        self, adapters: Sequence[Any], on_step: OnStep | None = None
    ) -> list[StepResult]:
        """Undo the release's marketplace writes, newest first, each at most once."""

    def verify(self, adapters: Sequence[Any]) -> list[StepResult]:
        """Read compensated values back."""


def checkpoints_for(store: Any, release_id: str, scope: str) -> Checkpoints:
    """The `CheckpointSet` of a release."""
    module = importlib.import_module("safe_release._checkpoints")
    return cast("Checkpoints", module.CheckpointSet(store, release_id, scope))


def journal_for(store: StoreCore, release_id: str, scope: str) -> JournalLike:
    """The `Journal` of a release."""
    return Journal(store, release_id=release_id, scope=scope)


def activate_journal(journal: JournalLike | None) -> Callable[[], None]:
    """Make ``journal`` the context's active one; returns the undo."""
    token = set_active_journal(cast("Journal | None", journal))
    return lambda: reset_active_journal(token)


def bind_adapters(adapters: Sequence[Any], journal: JournalLike | None) -> None:
    """Bind (or, with ``None``, unbind) each adapter to the journal."""
    for adapter in adapters:
        bind = getattr(adapter, "bind_journal", None)
        if bind is not None:
            bind(journal)

"""The `Checkpointable` protocol and the context a capture or restore runs in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from pydantic import JsonValue

if TYPE_CHECKING:
    from safe_release._store import StoreCore

__all__ = ["CheckpointContext", "Checkpointable", "JsonState"]

JsonState = dict[str, JsonValue]


@dataclass(frozen=True)
class CheckpointContext:
    """Where a capture or restore happens: the store, the release and the step number.

    ``seq`` numbers the checkpoints of one release from 1; a table checkpoint
    names its snapshot table after ``release_id`` and ``seq``. ``manifest`` is
    the record's signed manifest once it is recorded (None while capturing): a
    secret derived from the key that signed it is found again after a rotation.
    """

    store: StoreCore
    release_id: str
    seq: int
    manifest: str | None = None


@runtime_checkable
class Checkpointable(Protocol):
    """Something a release can snapshot before it runs and put back after a failure.

    ``kind`` and ``describe()`` identify it across processes (``recover`` matches a
    recorded checkpoint to a live object by both). ``capture`` returns the state as
    JSON (never a secret); ``restore`` puts it back, is safe to run twice, and
    returns a one-line detail. Optional methods, looked up by name:
    ``verify(state, ctx) -> tuple[bool, str]`` (re-read and compare after a
    restore), ``finish(state, ctx) -> None`` (the release succeeded or was restored:
    stop tracking), ``discard(state, ctx) -> None`` (retention: drop the stored
    copy) and ``abandon(ctx) -> None`` (a capture was interrupted: drop whatever it
    left, recorded or not).
    """

    @property
    def kind(self) -> str:
        """``table``, ``config``, ``alembic``, ``custom`` or a name of your own."""
        ...  # pragma: no cover

    def describe(self) -> str:
        """A stable identity, e.g. ``table prices where store = 'US'``."""
        ...  # pragma: no cover

    def capture(self, ctx: CheckpointContext) -> JsonState:
        """Take the snapshot; return its state (JSON, no secrets)."""
        ...  # pragma: no cover

    def restore(self, state: JsonState, ctx: CheckpointContext) -> str:
        """Put the captured state back; return a one-line detail."""
        ...  # pragma: no cover

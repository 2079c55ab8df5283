"""``checkpoint(capture_fn, restore_fn, *, name)``: a checkpoint made of two callables."""

from __future__ import annotations

from typing import TYPE_CHECKING

from safe_release._json import check_json
from safe_release.exceptions import ConfigContentError, InvalidArgumentError

if TYPE_CHECKING:
    from collections.abc import Callable

    from pydantic import JsonValue

    from safe_release._checkpoints._protocol import CheckpointContext, JsonState

__all__ = ["CustomCheckpoint", "checkpoint"]


class CustomCheckpoint:
    """What `checkpoint` returns: ``capture_fn()`` is kept, ``restore_fn(value)`` restores."""

    kind = "custom"

    def __init__(
        self,
        capture_fn: Callable[[], JsonValue],
        restore_fn: Callable[[JsonValue], None],
        name: str,
    ) -> None:
        self._capture, self._restore, self._name = capture_fn, restore_fn, name

    def describe(self) -> str:
        """The name it was given."""
        return self._name

    def __repr__(self) -> str:
        return f"<CustomCheckpoint {self._name!r}>"

    def capture(self, ctx: CheckpointContext) -> JsonState:
        """Call ``capture_fn`` and keep its (JSON) value."""
        del ctx
        value = self._capture()
        try:
            checked = check_json(value)
        except ConfigContentError as exc:
            msg = (
                f"checkpoint {self._name!r}: capture_fn returned a value that is not JSON "
                f"({exc}); return plain dicts, lists, strings, numbers, bools or None"
            )
            raise InvalidArgumentError(msg) from None
        return {"value": checked}

    def restore(self, state: JsonState, ctx: CheckpointContext) -> str:
        """Call ``restore_fn`` with the captured value."""
        del ctx
        self._restore(state.get("value"))
        return "restored by restore_fn"


def checkpoint(
    capture_fn: Callable[[], JsonValue],
    restore_fn: Callable[[JsonValue], None],
    *,
    name: str | None = None,
) -> CustomCheckpoint:
    """A checkpoint from two callables: ``capture_fn() -> JSON``, ``restore_fn(value)``.

    ``name`` identifies it across processes (``recover`` matches it by name), so
    give each checkpoint of a release its own; it defaults to the qualified
    name of ``capture_fn`` (``module.function``). ``restore_fn`` must be safe to run
    twice. Never return a secret from ``capture_fn``: the value is stored.
    """
    if not callable(capture_fn) or not callable(restore_fn):
        msg = "checkpoint() needs two callables: capture_fn() and restore_fn(value)"
        raise InvalidArgumentError(msg)
    if name is None:
        name = f"{getattr(capture_fn, '__module__', '')}.{getattr(capture_fn, '__qualname__', '')}"
        if "<lambda>" in name:
            msg = "checkpoint(): a lambda has no stable name; pass name=..."
            raise InvalidArgumentError(msg)
    if not isinstance(name, str) or not name.strip() or len(name) > 400:  # noqa: PLR2004
        msg = (
            "checkpoint(name=…) must be a non-empty string of at most 400 characters, "
            f"not {name!r}"
        )
        raise InvalidArgumentError(msg)
    return CustomCheckpoint(capture_fn, restore_fn, name)

"""The arguments of ``release()``, checked before anything is recorded."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from safe_release._checkpoints import Checkpointable
from safe_release._store import NAME_LENGTH, StoreCore
from safe_release.exceptions import InvalidArgumentError

__all__ = ["checked_adapters", "checked_checkpoints", "checked_store", "items", "name", "seconds"]


def seconds(value: float | timedelta, what: str, *, positive: bool) -> float:
    seconds = value.total_seconds() if isinstance(value, timedelta) else value
    if (
        isinstance(seconds, bool)
        or not isinstance(seconds, (int, float))
        or seconds < 0
        or (positive and seconds == 0)
    ):
        kind = "positive" if positive else "non-negative"
        msg = f"{what}={value!r} must be a {kind} number of seconds (or a timedelta)"
        raise InvalidArgumentError(msg)
    return float(seconds)


def items(value: Any, what: str) -> tuple[Any, ...]:
    if isinstance(value, (list, tuple)):
        return tuple(value)
    if value is None or isinstance(value, (str, bytes, dict)):
        msg = f"{what}= takes a list (or tuple), not {type(value).__name__}"
        raise InvalidArgumentError(msg)
    return (value,)


def checked_store(store: object) -> StoreCore:
    if not isinstance(store, StoreCore):
        msg = (
            f"store= takes the Store from sr.connect(...), not {type(store).__name__}; "
            "open it once and pass it to every release"
        )
        raise InvalidArgumentError(msg)
    return store


def checked_checkpoints(items: tuple[Any, ...]) -> tuple[Any, ...]:
    seen: set[tuple[str, str]] = set()
    for item in items:
        if not isinstance(item, Checkpointable):
            msg = (
                f"checkpoint= takes Checkpointable objects (a ConfigStore, "
                f"sr.table_checkpoint(...), sr.alembic_checkpoint(...), sr.checkpoint(...)), "
                f"not {type(item).__name__}"
            )
            raise InvalidArgumentError(msg)
        key = (item.kind, item.describe())
        if key in seen:
            msg = (
                f"checkpoint= lists {key[1]!r} ({key[0]}) twice; each checkpoint needs its "
                "own name, or a recovery could not tell them apart"
            )
            raise InvalidArgumentError(msg)
        seen.add(key)
    return items


def checked_adapters(items: tuple[Any, ...]) -> tuple[Any, ...]:
    for item in items:
        if not (
            isinstance(getattr(item, "identity", None), str)
            and callable(getattr(item, "bind_journal", None))
        ):
            msg = (
                f"adapters= takes marketplace adapters (sr.adapters.MarketplaceAdapter, "
                f"e.g. AmazonAdapter), not {type(item).__name__}"
            )
            raise InvalidArgumentError(msg)
    return items


def name(value: object, what: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > NAME_LENGTH:
        msg = f"a release {what} must be a non-empty string of at most {NAME_LENGTH} characters"
        raise InvalidArgumentError(msg)
    return value

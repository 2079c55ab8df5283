"""Find the live object for a recorded checkpoint, or rebuild one from its state.

A table checkpoint of the store's own database is rebuilt here. Other kinds that can
be rebuilt from their state and the store alone register how (`register_rebuild`):
the config layer, above this one, registers ``"config"`` when it is imported, so that
this layer never imports it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from safe_release._checkpoints._table import database_identity, table_checkpoint
from safe_release.exceptions import SafeReleaseError

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from safe_release._checkpoints._protocol import Checkpointable, JsonState
    from safe_release._store import StoreCore

__all__ = ["find", "rebuild", "register_rebuild"]

_REBUILDS: dict[str, Callable[[StoreCore, JsonState], Checkpointable | None]] = {}


def register_rebuild(
    kind: str, rebuild: Callable[[StoreCore, JsonState], Checkpointable | None]
) -> None:
    """Rebuild recorded checkpoints of ``kind`` with ``rebuild(store, state)``.

    ``rebuild`` returns None when the state cannot be rebuilt from (the checkpoint
    then needs its live object).
    """
    _REBUILDS[kind] = rebuild


def find(live: Sequence[Checkpointable], kind: str, name: str) -> Checkpointable | None:
    """The live object recorded as (kind, name), if one was passed."""
    for item in live:
        if item.kind == kind and item.describe() == name:
            return item
    return None


def rebuild(store: StoreCore, kind: str, name: str, state: JsonState) -> Checkpointable | None:
    """A checkpoint able to restore ``state`` without the original object, if possible.

    A table only when it lives in the store's own database; a kind registered with
    `register_rebuild` (a config: the store's own) by its function. Anything else
    (Alembic, custom) needs the live object.
    """
    del name
    if kind in _REBUILDS:
        return _REBUILDS[kind](store, state)
    if kind == "table" and state.get("database") == database_identity(store.engine):
        schema, table = state.get("schema"), state.get("table")
        where, key = state.get("where"), state.get("key")
        if not isinstance(table, str) or not isinstance(key, list):
            return None
        qualified = f"{schema}.{table}" if isinstance(schema, str) else table
        try:
            return table_checkpoint(
                store.engine,
                qualified,
                key=[str(k) for k in key],
                where=where if isinstance(where, str) else None,
            )
        except SafeReleaseError:
            return None
    return None

"""Find the live object for a recorded checkpoint, or rebuild one from its state."""

from __future__ import annotations

from typing import TYPE_CHECKING

from safe_release._checkpoints._table import database_identity, table_checkpoint
from safe_release.exceptions import SafeReleaseError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from safe_release._checkpoints._protocol import Checkpointable, JsonState
    from safe_release._store._store import Store

__all__ = ["find", "rebuild"]


def find(live: Sequence[Checkpointable], kind: str, name: str) -> Checkpointable | None:
    """The live object recorded as (kind, name), if one was passed."""
    for item in live:
        if item.kind == kind and item.describe() == name:
            return item
    return None


def rebuild(store: Store, kind: str, name: str, state: JsonState) -> Checkpointable | None:
    """A checkpoint able to restore ``state`` without the original object, if possible.

    A config is the store's own; a table only when it lives in the store's own
    database. Anything else (Alembic, custom) needs the live object.
    """
    del name
    if kind == "config" and isinstance(state.get("config"), str):
        return store.config(str(state["config"]))
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

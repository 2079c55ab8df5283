"""Versioned config stores: immutable versions, compare-and-set publishes, rollouts.

A `ConfigStore` is also a checkpoint of a release (it captures its head and rolls it
back); importing this package registers how a recorded config checkpoint is rebuilt
from its state (`safe_release._checkpoints.register_rebuild`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from safe_release._checkpoints import register_rebuild
from safe_release._config._configstore import DEFAULT_MAX_BYTES, DEFAULT_TTL, ConfigStore
from safe_release._config._models import Change, ConfigDiff, ConfigVersion, Rollout, RolloutState

if TYPE_CHECKING:
    from safe_release._checkpoints import JsonState
    from safe_release._store import StoreCore

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_TTL",
    "Change",
    "ConfigDiff",
    "ConfigStore",
    "ConfigVersion",
    "Rollout",
    "RolloutState",
]


def _rebuild(store: StoreCore, state: JsonState) -> ConfigStore[Any] | None:
    """The config a recorded checkpoint captured: the store's own."""
    name = state.get("config")
    if not isinstance(name, str):
        return None
    return ConfigStore(store, name, schema=None, max_bytes=DEFAULT_MAX_BYTES, ttl=DEFAULT_TTL)


register_rebuild("config", _rebuild)

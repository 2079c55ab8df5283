"""The per-process read cache a store keeps for the config layer above it."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

__all__ = ["ReadCache"]

E = TypeVar("E")


class ReadCache(Generic[E]):
    """Entries by (config name, schema class or None), shared by every handle on one store.

    ``E``: what the config layer keeps per entry (`safe_release._config` reads and
    writes them); the store only holds them, forgets a name's entries after a local
    write (`invalidate`) and all of them when it closes (`clear`).
    """

    __slots__ = ("entries",)

    def __init__(self) -> None:
        self.entries: dict[tuple[str, Any], E] = {}

    def invalidate(self, name: str) -> None:
        """Forget every entry of config ``name`` (after a local write)."""
        for key in [k for k in self.entries if k[0] == name]:
            self.entries.pop(key, None)

    def clear(self) -> None:
        """Forget everything."""
        self.entries.clear()

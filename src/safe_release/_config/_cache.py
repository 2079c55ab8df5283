"""The per-process read cache behind ``current()``, ``value`` and ``for_key``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from safe_release._config._models import ConfigVersion

__all__ = ["CacheEntry", "CacheKey", "ReadCache"]

CacheKey = tuple[str, Any]  # (config name, schema class or None)


@dataclass(slots=True)
class CacheEntry:
    """What one head check found, and when (``checked_at``, monotonic seconds)."""

    version: ConfigVersion
    value: Any
    checked_at: float
    candidate: ConfigVersion | None = None
    candidate_value: Any = None
    rollout_bp: int | None = None


class ReadCache:
    """Entries shared by every handle on the same store in this process."""

    __slots__ = ("entries",)

    def __init__(self) -> None:
        self.entries: dict[CacheKey, CacheEntry] = {}

    def invalidate(self, name: str) -> None:
        """Forget every entry of config ``name`` (after a local write)."""
        for key in [k for k in self.entries if k[0] == name]:
            self.entries.pop(key, None)

    def clear(self) -> None:
        """Forget everything."""
        self.entries.clear()

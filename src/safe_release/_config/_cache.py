"""The entries of the per-process read cache behind ``current()``, ``value`` and ``for_key``.

The cache itself is the store's (`safe_release._store.ReadCache`), shared by every
handle on one store.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from safe_release._config._models import ConfigVersion

__all__ = ["CacheEntry", "CacheKey"]

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

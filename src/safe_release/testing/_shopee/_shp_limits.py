"""Throttling per (partner, shop, API): token buckets on the fake clock.

Shopee publishes no numbers for these APIs (WIRE.md 7), so nothing is limited
until a test sets a limit [U].
"""

from __future__ import annotations

__all__ = ["RateLimits"]


class RateLimits:
    """Limits set per API (for every shop, or for one), and the buckets they fill."""

    def __init__(self) -> None:
        self._limits: dict[tuple[str, int | None], tuple[int, float]] = {}
        self._buckets: dict[tuple[int, int, str], tuple[float, float]] = {}

    def set(self, api: str, calls: int, per_seconds: float, shop_id: int | None) -> None:
        """Allow ``calls`` per ``per_seconds`` of ``api`` (for ``shop_id``, or every shop)."""
        self._limits[api, shop_id] = (calls, per_seconds)
        for key in [k for k in self._buckets if k[2] == api]:
            if shop_id is None or key[1] == shop_id:
                del self._buckets[key]

    def limit(self, api: str, shop_id: int) -> tuple[int, float] | None:
        """The limit that applies to ``shop_id``'s calls of ``api``, if any."""
        return self._limits.get((api, shop_id)) or self._limits.get((api, None))

    def take(self, partner_id: int, shop_id: int, api: str, now: float) -> bool:
        """Spend one call from the bucket; False when it is empty (throttled)."""
        limit = self.limit(api, shop_id)
        if limit is None:
            return True
        calls, per = limit
        key = (partner_id, shop_id, api)
        tokens, at = self._buckets.get(key, (float(calls), now))
        tokens = min(float(calls), tokens + (now - at) * calls / per)
        if tokens < 1:
            self._buckets[key] = (tokens, now)
            return False
        self._buckets[key] = (tokens - 1, now)
        return True

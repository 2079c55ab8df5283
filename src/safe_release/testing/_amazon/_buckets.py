"""Server-side token buckets: one per (operation, seller, app), on the fake's clock."""

from __future__ import annotations

from dataclasses import dataclass

from safe_release.adapters import Limit
from safe_release.testing._amazon._routes import ROUTES
from safe_release.testing._routing import check_known

__all__ = ["ServerBuckets", "check_operation"]


def check_operation(operation: str) -> str:
    """``operation`` if the fake knows it, else `UnknownOperationError`."""
    return check_known(operation, ROUTES, fake="FakeAmazon", marketplace="amazon")


@dataclass
class _Bucket:
    tokens: float
    updated: float


class ServerBuckets:
    """Amazon's quota state. Not thread-safe: `FakeAmazon` holds its lock around it."""

    def __init__(self) -> None:
        self._limits = {name: route.limit for name, route in ROUTES.items()}
        self._buckets: dict[tuple[str, str, str], _Bucket] = {}

    def limit(self, operation: str) -> Limit:
        """The limit the fake enforces for ``operation`` now."""
        return self._limits[check_operation(operation)]

    def set_limit(self, operation: str, *, rate: float, burst: int, now: float) -> None:
        """Enforce ``rate``/``burst`` from now on; saved tokens above ``burst`` are lost."""
        limit = Limit.checked(rate, burst, what=f"FakeAmazon.set_limit({operation!r})")
        check_operation(operation)
        for key, bucket in self._buckets.items():
            if key[0] == operation:
                self._refill(bucket, self._limits[operation], now)
                bucket.tokens = min(bucket.tokens, float(limit.burst))
        self._limits[operation] = limit

    def take(self, operation: str, seller: str, app: str, now: float) -> bool:
        """Take one token; ``False`` (a 429) if the bucket is empty."""
        bucket = self._bucket(operation, seller, app, now)
        if bucket.tokens < 1.0:
            return False
        bucket.tokens -= 1.0
        return True

    def tokens(self, operation: str, seller: str, app: str, now: float) -> float:
        """Tokens left in one bucket (a bucket never used is full)."""
        return self._bucket(operation, seller, app, now).tokens

    def drain(
        self, operation: str, keys: list[tuple[str, str]], now: float, *, everyone: bool
    ) -> None:
        """Empty the buckets of ``keys`` (and, if ``everyone``, all of ``operation``'s)."""
        check_operation(operation)
        for seller, app in keys:
            self._bucket(operation, seller, app, now)
        for (name, seller, app), bucket in self._buckets.items():
            if name == operation and (everyone or (seller, app) in keys):
                bucket.tokens, bucket.updated = 0.0, now

    def _bucket(self, operation: str, seller: str, app: str, now: float) -> _Bucket:
        limit = self.limit(operation)
        key = (operation, seller, app)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(float(limit.burst), now)
        self._refill(bucket, limit, now)
        return bucket

    @staticmethod
    def _refill(bucket: _Bucket, limit: Limit, now: float) -> None:
        elapsed = max(0.0, now - bucket.updated)
        bucket.tokens = min(float(limit.burst), bucket.tokens + elapsed * limit.rate)
        bucket.updated = max(bucket.updated, now)

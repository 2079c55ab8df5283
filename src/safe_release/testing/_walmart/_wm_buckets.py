"""Server-side token buckets, one per (API, seller), refilled gradually on the fake's clock."""

from __future__ import annotations

import math
from dataclasses import dataclass

from safe_release.exceptions import InvalidArgumentError, UnknownOperationError
from safe_release.testing._routing import check_known
from safe_release.testing._walmart._wm_routes import FEED_TYPES, ROUTES, bucket_names

__all__ = ["ServerBuckets", "check_api", "check_operation"]


def check_operation(operation: str) -> str:
    """``operation`` if the fake serves it, else `UnknownOperationError`."""
    return check_known(operation, ROUTES, fake="FakeWalmart", marketplace="walmart")


def check_api(api: str) -> str:
    """``api`` if it names a bucket, else `UnknownOperationError`."""
    if api not in bucket_names():
        msg = f"FakeWalmart has no bucket {api!r}; use one of {sorted(bucket_names())}"
        raise UnknownOperationError(msg, marketplace="walmart", operation=api)
    return api


@dataclass
class _Bucket:
    tokens: float
    updated: float


def _defaults() -> dict[str, tuple[int, float]]:
    limits = {name: (r.capacity, r.per_seconds) for name, r in ROUTES.items()}
    limits.update({f"feeds:{n}": (f.capacity, f.per_seconds) for n, f in FEED_TYPES.items()})
    limits.pop("submitFeed")
    return limits


class ServerBuckets:
    """Walmart's quota state. Not thread-safe: `FakeWalmart` holds its lock around it."""

    def __init__(self) -> None:
        self._limits = _defaults()
        self._buckets: dict[tuple[str, str], _Bucket] = {}

    def limit(self, api: str) -> tuple[int, float]:
        """(capacity, per_seconds) of ``api``'s buckets."""
        return self._limits[check_api(api)]

    def set_limit(self, api: str, *, capacity: int, per_seconds: float, now: float) -> None:
        """``capacity`` calls per ``per_seconds`` from now on; saved tokens above it are lost."""
        check_api(api)
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
            msg = f"capacity must be a whole number >= 1, not {capacity!r}"
            raise InvalidArgumentError(msg)
        if (
            isinstance(per_seconds, bool)
            or not isinstance(per_seconds, (int, float))
            or not (math.isfinite(per_seconds) and per_seconds > 0)
        ):
            msg = f"per_seconds must be a number of seconds > 0, not {per_seconds!r}"
            raise InvalidArgumentError(msg)
        for (name, _), bucket in self._buckets.items():
            if name == api:
                self._refill(bucket, self._limits[api], now)
                bucket.tokens = min(bucket.tokens, float(capacity))
        self._limits[api] = (capacity, float(per_seconds))

    def take(self, api: str, seller: str, now: float) -> bool:
        """Take one token; ``False`` (a 429) if the bucket has less than one."""
        bucket = self._bucket(api, seller, now)
        if bucket.tokens < 1.0:
            return False
        bucket.tokens -= 1.0
        return True

    def tokens(self, api: str, seller: str, now: float) -> float:
        """Tokens left in one bucket (a bucket never used is full)."""
        return self._bucket(api, seller, now).tokens

    def drain(self, api: str, seller: str, now: float) -> None:
        """Empty one bucket."""
        bucket = self._bucket(api, seller, now)
        bucket.tokens, bucket.updated = 0.0, now

    def hint(self, api: str, seller: str, now: float) -> tuple[int, float]:
        """(whole tokens left, when the next whole token arrives): the replenish headers."""
        capacity, per = self.limit(api)
        bucket = self._bucket(api, seller, now)
        if bucket.tokens >= capacity:
            return capacity, now
        missing = 1.0 - (bucket.tokens - math.floor(bucket.tokens))
        return math.floor(bucket.tokens), now + missing * per / capacity

    def _bucket(self, api: str, seller: str, now: float) -> _Bucket:
        limit = self.limit(api)
        bucket = self._buckets.get((api, seller))
        if bucket is None:
            bucket = self._buckets[api, seller] = _Bucket(float(limit[0]), now)
        self._refill(bucket, limit, now)
        return bucket

    @staticmethod
    def _refill(bucket: _Bucket, limit: tuple[int, float], now: float) -> None:
        capacity, per = limit
        elapsed = max(0.0, now - bucket.updated)
        bucket.tokens = min(float(capacity), bucket.tokens + elapsed * capacity / per)
        bucket.updated = max(bucket.updated, now)

"""Marketplace adapters: paced, retried, breaker-guarded calls to marketplaces.

`MarketplaceAdapter` is the base; `safe_release.adapters.amazon.AmazonAdapter`
the first concrete adapter. Quotas are paced by a token bucket per operation x
seller x app x region, held by a limiter backend: `MemoryLimiter` (one process,
the default), `StoreLimiter` (shared by every process on the store's database,
surviving restarts) or `RedisLimiter` (extra ``redis``). Inside a release, writes
are journaled with the `Inverse` that undoes them.
"""

from __future__ import annotations

from safe_release._backoff import RetryPolicy
from safe_release._ledger._inverse import Inverse
from safe_release.adapters._auth import Secret, TokenGrant, TokenProvider
from safe_release.adapters._base import MarketplaceAdapter
from safe_release.adapters._breaker import CircuitBreaker, OutageMode
from safe_release.adapters._core import Verdict
from safe_release.adapters._limiter import (
    BucketState,
    LimiterBackend,
    MemoryLimiter,
    Reservation,
)
from safe_release.adapters._limiter_redis import RedisLimiter
from safe_release.adapters._limiter_store import StoreLimiter
from safe_release.adapters._operation import Limit, Operation, SideEffect

__all__ = [
    "BucketState",
    "CircuitBreaker",
    "Inverse",
    "Limit",
    "LimiterBackend",
    "MarketplaceAdapter",
    "MemoryLimiter",
    "Operation",
    "OutageMode",
    "RedisLimiter",
    "Reservation",
    "RetryPolicy",
    "Secret",
    "SideEffect",
    "StoreLimiter",
    "TokenGrant",
    "TokenProvider",
    "Verdict",
]

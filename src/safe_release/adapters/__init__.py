"""Marketplace adapters: paced, retried, breaker-guarded calls to marketplaces.

`MarketplaceAdapter` is the base; `safe_release.adapters.amazon.AmazonAdapter`
the first concrete adapter. Quotas are paced by a token bucket per operation x
seller x app x region, held by a limiter backend: `MemoryLimiter` (one process,
the default), `StoreLimiter` (shared by every process on the store's database,
surviving restarts) or `RedisLimiter` (extra ``redis``). Inside a release, writes
are journaled with the `Inverse` that undoes them.

Names imported ``as`` themselves and left out of ``__all__`` are the package's
interface to the rest of safe_release (the ledger's journal), not public API.
"""

from __future__ import annotations

from safe_release._backoff import RetryPolicy
from safe_release._effects import Inverse, SideEffect
from safe_release._public import present as _present
from safe_release._secrets import Secret
from safe_release.adapters._auth import TokenGrant, TokenProvider
from safe_release.adapters._base import MarketplaceAdapter
from safe_release.adapters._batch import BatchItem, ItemResult
from safe_release.adapters._batch import BatchTicket as BatchTicket
from safe_release.adapters._breaker import CircuitBreaker, OutageMode
from safe_release.adapters._core import Verdict
from safe_release.adapters._journaling import WriteJournal as WriteJournal
from safe_release.adapters._journaling import active_journal as active_journal
from safe_release.adapters._journaling import reset_active_journal as reset_active_journal
from safe_release.adapters._journaling import set_active_journal as set_active_journal
from safe_release.adapters._limiter import (
    BucketState,
    LimiterBackend,
    MemoryLimiter,
    Reservation,
)
from safe_release.adapters._limiter_redis import RedisLimiter
from safe_release.adapters._limiter_store import StoreLimiter
from safe_release.adapters._operation import Limit, Operation
from safe_release.adapters._quota import BudgetState, Daily, Spend
from safe_release.adapters._refresh_lock import MemoryRefreshLock, RefreshLock, StoreRefreshLock
from safe_release.adapters._rotating import RotatingTokens
from safe_release.adapters._token_store import (
    FileTokenStore,
    MemoryTokenStore,
    StoredToken,
    TokenStore,
)

__all__ = [
    "BatchItem",
    "BucketState",
    "BudgetState",
    "CircuitBreaker",
    "Daily",
    "FileTokenStore",
    "Inverse",
    "ItemResult",
    "Limit",
    "LimiterBackend",
    "MarketplaceAdapter",
    "MemoryLimiter",
    "MemoryRefreshLock",
    "MemoryTokenStore",
    "Operation",
    "OutageMode",
    "RedisLimiter",
    "RefreshLock",
    "Reservation",
    "RetryPolicy",
    "RotatingTokens",
    "Secret",
    "SideEffect",
    "Spend",
    "StoreLimiter",
    "StoreRefreshLock",
    "StoredToken",
    "TokenGrant",
    "TokenProvider",
    "TokenStore",
    "Verdict",
]

_present(__name__, __all__, globals())

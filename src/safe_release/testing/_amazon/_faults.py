"""Fault injection for `FakeAmazon`: errors, latency, outages, throttle storms, lost answers."""

from __future__ import annotations

from safe_release.testing._amazon._buckets import check_operation
from safe_release.testing._fault_core import OutageFaults

__all__ = ["FakeAmazonFaults"]


class FakeAmazonFaults(OutageFaults):
    """What goes wrong at the fake, all deterministic for a given ``seed``.

    Set ``error_rate`` (share of SP-API calls answered 500 InternalFailure),
    ``latency`` (seconds each request takes, on the fake clock) and
    ``token_endpoint_throttled`` (LWA answers 429) directly; call the methods for
    the rest. `clear` turns everything off. A throttle storm answers 429
    QuotaExceeded; an outage answers 503 to every SP-API call; after `revoke_auth`
    the tokens get 403 'revoked, malformed or invalid'.
    """

    def __init__(self, seed: int) -> None:
        super().__init__(seed, check_operation)
        self.token_endpoint_throttled = False
        """When true, ``POST /auth/o2/token`` answers 429."""

    def take_ambiguous(self, operation: str) -> bool:
        """Consume one pending ambiguous fault for ``operation``."""
        return self._take("ambiguous", operation)

    def take_garbage(self, operation: str) -> bool:
        """Consume one pending garbage fault for ``operation``."""
        return self._take("garbage", operation)

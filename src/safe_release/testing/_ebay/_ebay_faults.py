"""Fault injection for `FakeEbay`: errors, latency, outages, storms, lost and garbled answers."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from safe_release.testing._ebay._ebay_routes import check_operation
from safe_release.testing._fault_core import FaultsCore, outage_window

if TYPE_CHECKING:
    from datetime import datetime

__all__ = ["FakeEbayFaults"]


class FakeEbayFaults(FaultsCore):
    """What goes wrong at the fake, all deterministic for a given ``seed``.

    Set ``error_rate`` (share of API calls answered with the API's 500 system
    error), ``latency`` (seconds each request takes, on the fake clock) and
    ``token_endpoint_throttled`` (the token endpoint answers 429) directly; call
    the methods for the rest. `clear` turns everything off. The 500 is errorId
    25001 on Inventory, 30500 on Fulfillment and 105000 on Analytics; a throttle
    storm answers 429 errorId 2001; after `revoke_auth` the tokens get 403 errorId
    1100 on Inventory, else 401 errorId 1001; ``garbage_next`` pages come from the
    edge.
    """

    _KINDS: ClassVar[tuple[str, ...]] = ("ambiguous", "garbage", "concurrent")
    outages: list[tuple[float, float, bool]]

    def __init__(self, seed: int) -> None:
        super().__init__(f"ebay-faults-{seed}", check_operation)
        self.token_endpoint_throttled = False
        """When true, ``POST /identity/v1/oauth2/token`` answers 429 with an errors[] body."""
        self.outages = []

    def outage(
        self, start: float | datetime, end: float | datetime, *, system_error: bool = False
    ) -> None:
        """While ``start <= clock.time() < end`` every API call fails.

        By default the edge answers 503 with an HTML page; with ``system_error``
        the API answers its own 500 (errorId 25001 on Inventory, 30500 on
        Fulfillment, 105000 on Analytics).
        """
        self.outages.append((*outage_window(start, end), system_error))

    def outage_at(self, now: float) -> bool | None:
        """``None`` outside an outage; else whether it answers a system error."""
        return next((kind for begin, end, kind in self.outages if begin <= now < end), None)

    def concurrent_access_next(self, operation: str, *, times: int = 1) -> None:
        """The next ``times`` calls of ``operation`` get 500 errorId 25025, not applied."""
        self._add("concurrent", operation, times)

    def take(self, kind: str, operation: str) -> bool:
        """Consume one pending fault (ambiguous, garbage, concurrent) for ``operation``."""
        return self._take(kind, operation)

    def clear(self) -> None:
        """Turn every fault off (revoked tokens stay revoked)."""
        super().clear()
        self.outages.clear()

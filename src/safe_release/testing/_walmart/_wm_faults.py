"""Fault injection for `FakeWalmart`: errors, latency, outages, storms, lost and odd answers."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from safe_release.exceptions import InvalidArgumentError
from safe_release.testing._fault_core import OutageFaults
from safe_release.testing._walmart._wm_buckets import check_operation

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["FakeWalmartFaults"]


class FakeWalmartFaults(OutageFaults):
    """What goes wrong at the fake, all deterministic for a given ``seed``.

    Set ``error_rate`` (share of calls answered 500 ``SYSTEM_ERROR.GMP_GATEWAY_API``),
    ``latency`` (seconds each request takes, on the fake clock),
    ``token_endpoint_throttled`` (``POST /v3/token`` answers 429),
    ``single_error_object`` (every error body's ``errors.error`` is one object, not a
    list) and ``garbage_replenish_headers`` (the replenish headers go missing, garbled
    or negative, in turn) directly; call the methods for the rest. `clear` turns
    everything off. An outage answers 503 without a body; after `revoke_auth` the
    tokens get 401 ``UNAUTHORIZED.GMP_GATEWAY_API``; a ``garbage_next`` call is not
    applied.
    """

    _KINDS: ClassVar[tuple[str, ...]] = ("ambiguous", "garbage", "timeout", "xml")

    def __init__(self, seed: int) -> None:
        super().__init__(seed, check_operation)
        self.token_endpoint_throttled = False
        """When true, ``POST /v3/token`` answers 429 REQUEST_THRESHOLD_VIOLATED."""
        self.single_error_object = False
        """When true, error bodies are ``{"errors": {"error": {...}}}`` (XML-converted JSON)."""
        self.garbage_replenish_headers = False
        """When true, answers cycle: no replenish headers, garbage values, negative values."""
        self._failing: set[str] = set()

    def downstream_timeout_next(self, operation: str, *, times: int = 1) -> None:
        """The next ``times`` calls of ``operation`` are processed, then answered 504.

        Only calls the operation answers 2xx count (a write is applied); the answer
        is ``DOWNSTREAM_SYSTEM_TIME_OUT.GMP_GATEWAY_API``, an ambiguous write.
        """
        self._add("timeout", operation, times)

    def xml_next(self, operation: str, *, times: int = 1) -> None:
        """The next ``times`` answers of ``operation`` are XML even when JSON was asked for."""
        self._add("xml", operation, times)

    def fail_feed_items(self, skus: Iterable[str]) -> None:
        """Items of these SKUs in feeds submitted from now on end ``DATA_ERROR``."""
        wanted = [skus] if isinstance(skus, str) else list(skus)
        if not all(isinstance(sku, str) and sku for sku in wanted):
            msg = f"fail_feed_items needs SKU strings, not {skus!r}"
            raise InvalidArgumentError(msg)
        self._failing.update(wanted)

    @property
    def failing_skus(self) -> frozenset[str]:
        """The SKUs `fail_feed_items` named."""
        return frozenset(self._failing)

    def take(self, kind: str, operation: str) -> bool:
        """Consume one pending fault of ``kind`` for ``operation``."""
        return self._take(kind, operation)

    def clear(self) -> None:
        """Turn every fault off (revoked tokens stay revoked)."""
        super().clear()
        self.single_error_object = self.garbage_replenish_headers = False
        self._failing.clear()

    def _active(self) -> list[tuple[str, object]]:
        return [
            *super()._active(),
            ("single_error_object", self.single_error_object),
            ("garbage_replenish_headers", self.garbage_replenish_headers),
            ("failing_skus", len(self._failing)),
        ]

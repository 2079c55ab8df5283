"""Fault injection for `FakeLazada`: throttling, campaign shutdowns, timeouts, odd answers."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from safe_release.exceptions import InvalidArgumentError
from safe_release.testing._checks import probability, whole
from safe_release.testing._fault_core import OutageFaults, outage_window
from safe_release.testing._lazada._lzd_routes import ROUTES, check_operation

if TYPE_CHECKING:
    from collections.abc import Iterable
    from datetime import datetime

__all__ = ["FakeLazadaFaults"]


class FakeLazadaFaults(OutageFaults):
    """What goes wrong at the fake, all deterministic for a given ``seed``.

    Set these directly: ``error_rate`` (share of business calls answered ``6``
    "E006: Unexpected internal error"), ``latency`` (seconds each request takes, on
    the fake clock), ``token_endpoint_throttled`` (token calls answer
    ``ApiCallLimit``), ``ban_seconds`` (the N of "this ban will last N seconds.",
    1 by default), ``ban_text`` (replaces N verbatim, for garbage ban lengths),
    ``service_timeout_rate`` (share of writes answered ``ServiceTimeout``; half of
    them applied, by a seeded draw), ``numbers_as_strings`` (token lifetimes,
    order ids, counts and ``result.success`` rendered as strings, as Lazada's API
    pages show them). Call the methods for the rest; `clear` turns everything off.

    An ``outage`` answers 503 without a body (the gateway was not reached); a
    ``garbage_next`` call gets a 502 HTML page and is not applied.
    """

    _KINDS: ClassVar[tuple[str, ...]] = ("ambiguous", "garbage", "timeout")

    def __init__(self, seed: int) -> None:
        super().__init__(f"lazada-faults-{seed}", check_operation)
        self._ban_seconds = 1
        self.ban_text: str | None = None
        """When set, the ``ApiCallLimit`` message says "this ban will last <ban_text> seconds."."""
        self.numbers_as_strings = False
        """When true, numeric scalars of token and order answers are JSON strings."""
        self._timeout_rate = 0.0
        self.shutdowns: list[tuple[float, float, frozenset[str] | None]] = []
        self._reject_signatures = 0
        self.campaign_locked: set[str] = set()
        self.item_errors: dict[str, tuple[str, bool]] = {}

    @property
    def ban_seconds(self) -> int:
        """The ban (whole seconds >= 1) an ``ApiCallLimit`` answer announces and enforces."""
        return self._ban_seconds

    @ban_seconds.setter
    def ban_seconds(self, value: int) -> None:
        self._ban_seconds = whole(value, what="faults.ban_seconds", minimum=1)

    @property
    def service_timeout_rate(self) -> float:
        """Share of writes answered ``ServiceTimeout`` (ambiguous: half are applied)."""
        return self._timeout_rate

    @service_timeout_rate.setter
    def service_timeout_rate(self, value: float) -> None:
        self._timeout_rate = probability(value, what="faults.service_timeout_rate")

    def campaign_shutdown(
        self,
        start: float | datetime,
        end: float | datetime,
        *,
        operations: Iterable[str] | None = None,
    ) -> None:
        """While ``start <= clock.time() < end`` business calls answer ``998`` (service disabled).

        ``operations`` limits the shutdown to those operations (all business ones by
        default; the token calls are never shut down).
        """
        chosen = None if operations is None else frozenset(map(check_operation, operations))
        self.shutdowns.append((*outage_window(start, end), chosen))

    def shut_down(self, operation: str, now: float) -> bool:
        """Whether a campaign shutdown covers ``operation`` at ``now``."""
        return any(
            begin <= now < end and (ops is None or operation in ops)
            for begin, end, ops in self.shutdowns
        )

    def service_timeout_next(self, operation: str, *, times: int = 1) -> None:
        """The next ``times`` calls of ``operation`` are applied, then answered ``ServiceTimeout``.

        Only calls that would have succeeded count.
        """
        self._add("timeout", operation, times)

    def lose_refresh_answer(self, *, times: int = 1) -> None:
        """The next ``times`` refreshes rotate the token pair, then the answer is lost."""
        self.ambiguous_next("token_refresh", times=times)

    def reject_valid_signatures(self, *, times: int = 1) -> None:
        """The next ``times`` correctly signed requests answer ``IncompleteSignature``."""
        self._reject_signatures += whole(times, what="times", minimum=1)

    def take_signature_rejection(self) -> bool:
        """Consume one `reject_valid_signatures` rejection."""
        if self._reject_signatures <= 0:
            return False
        self._reject_signatures -= 1
        return True

    def campaign_lock(self, seller_skus: Iterable[str]) -> None:
        """Price/quantity updates naming these SKUs answer ``501`` (a campaign lock)."""
        wanted = [seller_skus] if isinstance(seller_skus, str) else list(seller_skus)
        if not all(isinstance(sku, str) and sku for sku in wanted):
            msg = f"campaign_lock needs seller SKU strings, not {seller_skus!r}"
            raise InvalidArgumentError(msg)
        self.campaign_locked.update(wanted)

    def fail_item(self, item: int | str, *, code: str = "700024", retry: bool = True) -> None:
        """Pack (an order item id) or RTS (a package id) answers ``item`` with ``code``.

        The element carries ``item_err_code`` = ``code`` and ``retry``, beside
        ``result.success`` true; it stays failing until `clear`.
        """
        if isinstance(item, bool) or not isinstance(item, (int, str)) or item == "":
            msg = f"fail_item needs an order item id or a package id, not {item!r}"
            raise InvalidArgumentError(msg)
        if not isinstance(code, str) or not code or code == "0":
            msg = f"fail_item needs a non-zero error code string, not {code!r}"
            raise InvalidArgumentError(msg)
        self.item_errors[str(item)] = (code, bool(retry))

    def take(self, kind: str, operation: str) -> bool:
        """Consume one pending fault of ``kind`` for ``operation``."""
        return self._take(kind, operation)

    def roll_timeout(self, operation: str) -> tuple[bool, bool]:
        """(answer ``ServiceTimeout``, apply the write first) for a write about to succeed."""
        if self.take("timeout", operation):
            return True, True
        if (
            ROUTES[operation].write
            and self._timeout_rate > 0
            and self._draw() < self._timeout_rate
        ):
            return True, self._draw() < 0.5  # noqa: PLR2004 - half are applied
        return False, False

    def clear(self) -> None:
        """Turn every fault off (revoked tokens stay revoked)."""
        super().clear()
        self._ban_seconds = 1
        self.ban_text = None
        self.numbers_as_strings = False
        self._timeout_rate = 0.0
        self.shutdowns.clear()
        self._reject_signatures = 0
        self.campaign_locked.clear()
        self.item_errors.clear()

    def _active(self) -> list[tuple[str, object]]:
        return [
            *super()._active(),
            ("shutdowns", len(self.shutdowns)),
            ("service_timeout_rate", self._timeout_rate),
            ("numbers_as_strings", self.numbers_as_strings),
            ("campaign_locked", len(self.campaign_locked)),
            ("item_errors", len(self.item_errors)),
            ("reject_valid_signatures", self._reject_signatures),
        ]

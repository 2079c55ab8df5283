"""`FakeLazada`: an in-memory Lazada Open Platform (one seller) with its auth host."""

from __future__ import annotations

from typing import TYPE_CHECKING

from safe_release.exceptions import InvalidArgumentError
from safe_release.testing._checks import whole
from safe_release.testing._fake_core import FakeCore
from safe_release.testing._lazada._lzd_auth import TokenServer
from safe_release.testing._lazada._lzd_faults import FakeLazadaFaults
from safe_release.testing._lazada._lzd_gateway import Gateway, Quotas
from safe_release.testing._lazada._lzd_inspect import duplicate_report
from safe_release.testing._lazada._lzd_routes import ROUTES, check_operation
from safe_release.testing._lazada._lzd_state import Ids, LazadaState
from safe_release.testing._lazada._lzd_values import FakeLazadaCredentials
from safe_release.testing._lazada._lzd_wire import COUNTRY_OFFSETS

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime
    from decimal import Decimal

    from safe_release._clock import Clock
    from safe_release.testing._lazada._lzd_state import LineSpec
    from safe_release.testing._lazada._lzd_values import LazadaOrder, LazadaOrderItem, LazadaSku

__all__ = ["DAILY_BUDGETS", "FakeLazada"]

DAILY_BUDGETS = {"test": 10_000, "online": 10_000_000}
"""Calls per UTC day an app may make, by app status (WIRE.md section 7)."""


class FakeLazada(FakeCore[FakeLazadaFaults]):
    """Lazada's Open Platform and its auth host in memory, for tests.

    Plug it into any httpx client with ``transport=fake.transport`` (sync and
    async), or run it as a real server with ``with fake.serve() as base_url``; any
    host will do, the paths are ``/rest`` + the API path (``/rest/orders/get``,
    ``/rest/auth/token/refresh``; a base URL ending in ``/rest`` works the same).
    Every request must be signed with ``credentials.app_secret`` and carry a
    timestamp within 7200 s of ``clock`` (a new `FakeClock` by default), on which
    tokens expire (``app_status`` ``"online"``: 30 days access, 180 days refresh;
    ``"test"``: 7 and 30 days), per-second bans and the daily budget run. ``seed``
    makes ids and faults reproducible; ``repr(fake)`` never shows a secret.

    Every answer is HTTP 200: ``{"code": "0", "data": ..., "request_id": ...}``
    or ``{"type", "code", "message", "request_id"}``. The call log masks
    ``access_token``, ``refresh_token`` and ``code``.
    """

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        seed: int = 0,
        country: str = "sg",
        app_status: str = "online",
    ) -> None:
        if country not in COUNTRY_OFFSETS:
            msg = f"country must be one of {sorted(COUNTRY_OFFSETS)}, not {country!r}"
            raise InvalidArgumentError(msg)
        if app_status not in DAILY_BUDGETS:
            msg = f"app_status must be 'online' or 'test', not {app_status!r}"
            raise InvalidArgumentError(msg)
        super().__init__(
            clock,
            FakeLazadaFaults(seed),
            name="FakeLazada",
            check_operation=check_operation,
            duplicate_report=duplicate_report,
        )
        ids = Ids(f"lazada-{seed}")
        self.app_status = app_status
        self._state = LazadaState(ids, ids.digits(6), country)
        self._tokens = TokenServer()
        self._quotas = Quotas(DAILY_BUDGETS[app_status])
        self._platform = Gateway(self._state, self._tokens, self._quotas, self.faults)
        self._gateway = self._platform
        self._app = self._tokens.new_app(ids.digits(6), app_status)
        self.credentials = self.reauthorize()

    # -- auth ----------------------------------------------------------------------

    def reauthorize(self) -> FakeLazadaCredentials:
        """The seller consents again: a new token pair with a new refresh deadline.

        ``credentials`` becomes the new pair (earlier tokens keep their own state).
        """
        with self._lock:
            now = self.clock.time()
            access, refresh, expires, deadline = self._tokens.new_pair(
                self._state.seller_id,
                self._app.app_key,
                now=now,
                generation=self.faults.revocations,
            )
            self.credentials = FakeLazadaCredentials(
                self._app.app_key,
                self._app.secret,
                access,
                refresh,
                self._state.seller_id,
                self._state.country,
                expires,
                deadline,
            )
            return self.credentials

    def authorization_code(self) -> str:
        """A single-use code for ``/auth/token/create``, valid for 30 minutes."""
        with self._lock:
            return self._tokens.new_code(
                self._state.seller_id, self._app.app_key, self.clock.time()
            )

    @property
    def tokens_issued(self) -> int:
        """How many token pairs ``/auth/token/create`` and ``/auth/token/refresh`` handed out."""
        return self._tokens.issued

    @property
    def country(self) -> str:
        """The seller's country code (``sg``, ``my``, ...)."""
        return self._state.country

    # -- quotas --------------------------------------------------------------------

    def set_qps(self, operation: str, calls_per_second: int) -> None:
        """Allow ``calls_per_second`` calls of ``operation`` per second of the fake clock."""
        with self._lock:
            self._quotas.qps[check_operation(operation)] = whole(
                calls_per_second, what="calls_per_second", minimum=1
            )

    def qps(self, operation: str) -> int:
        """The per-second ceiling the fake enforces for ``operation``."""
        return self._quotas.qps[check_operation(operation)]

    @property
    def daily_budget(self) -> int:
        """Calls per UTC day (10,000 for a test app, 10,000,000 online)."""
        return self._quotas.daily_budget

    @daily_budget.setter
    def daily_budget(self, value: int) -> None:
        self._quotas.daily_budget = whole(value, what="daily_budget", minimum=1)

    @property
    def calls_today(self) -> int:
        """Calls counted against today's budget."""
        with self._lock:
            return self._quotas.used_today(self._app.app_key, self.clock.time())

    # -- seeding -------------------------------------------------------------------

    def add_sku(
        self,
        seller_sku: str,
        *,
        item_id: int,
        sku_id: int,
        price: Decimal | int | str,
        quantity: int,
        sale_price: Decimal | int | str | None = None,
    ) -> LazadaSku:
        """Create (or replace) a SKU of item ``item_id``."""
        with self._lock:
            return self._state.add_sku(
                seller_sku,
                item_id=item_id,
                sku_id=sku_id,
                price=price,
                quantity=quantity,
                sale_price=sale_price,
            )

    def add_order(
        self,
        *,
        lines: Sequence[LineSpec],
        created: float | datetime | None = None,
        status: str = "pending",
        payment_method: str = "COD",
        shipping_fee: Decimal | int | str = "0.00",
    ) -> int:
        """Create an order and return its id.

        ``lines`` are ``(seller_sku, quantity[, unit_price])``; each unit becomes an
        order item (as at Lazada) in ``status``. ``created`` defaults to now.
        """
        with self._lock:
            order = self._state.add_order(
                lines=lines,
                created=self.clock.time() if created is None else created,
                status=status,
                payment_method=payment_method,
                shipping_fee=shipping_fee,
            )
            return order.order_id

    # -- inspection ----------------------------------------------------------------

    @property
    def codes(self) -> dict[str, int]:
        """How many answers carried each envelope ``code`` since the last `reset_calls`.

        ``"0"`` counts successes; ``"ApiCallLimit"`` the throttled answers. Answers
        that never reached the platform (502, 503) are not counted.
        """
        with self._lock:
            return dict(self._platform.codes)

    def reset_calls(self) -> None:
        """Forget the call log and the `codes` counts (state, quotas and faults stay)."""
        with self._lock:
            super().reset_calls()
            self._platform.codes.clear()

    def sku(self, seller_sku: str) -> LazadaSku:
        """The SKU as it is now."""
        with self._lock:
            return self._state.sku(seller_sku)

    def price(self, seller_sku: str) -> Decimal:
        """The current price of ``seller_sku``."""
        return self.sku(seller_sku).price

    def sale_price(self, seller_sku: str) -> Decimal | None:
        """The current sale price of ``seller_sku`` (None when there is none)."""
        return self.sku(seller_sku).sale_price

    def quantity(self, seller_sku: str) -> int:
        """The current quantity of ``seller_sku``."""
        return self.sku(seller_sku).quantity

    @property
    def prices(self) -> dict[str, Decimal]:
        """Prices by seller SKU."""
        with self._lock:
            return {name: sku.price for name, sku in self._state.skus.items()}

    @property
    def quantities(self) -> dict[str, int]:
        """Quantities by seller SKU."""
        with self._lock:
            return {name: sku.quantity for name, sku in self._state.skus.items()}

    def order(self, order_id: int) -> LazadaOrder:
        """The order as it is now (its items and their statuses)."""
        with self._lock:
            if order_id not in self._state.orders:
                msg = f"FakeLazada has no order {order_id!r}; add one with fake.add_order()"
                raise InvalidArgumentError(msg)
            return self._state.order(order_id)

    def items(self, order_id: int) -> list[LazadaOrderItem]:
        """The order's items as they are now."""
        return list(self.order(order_id).items)

    @property
    def orders(self) -> list[LazadaOrder]:
        """Every order, in the order they were added."""
        with self._lock:
            return [self._state.order(i) for i in self._state.orders]

    @property
    def operations(self) -> list[str]:
        """The operation names the fake serves."""
        return list(ROUTES)

    def __repr__(self) -> str:
        with self._lock:
            state = self._state
            return (
                f"<FakeLazada country={state.country!r} app_status={self.app_status!r} "
                f"skus={len(state.skus)} orders={len(state.orders)} calls={len(self._calls)}>"
            )

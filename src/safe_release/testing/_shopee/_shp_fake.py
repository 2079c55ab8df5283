"""`FakeShopee`: an in-memory Shopee Open Platform v2 with signatures, tokens and faults."""

from __future__ import annotations

from typing import TYPE_CHECKING

from safe_release.exceptions import InvalidArgumentError
from safe_release.testing._checks import epoch, seconds, whole
from safe_release.testing._fake_core import FakeCore
from safe_release.testing._shopee._shp_auth import ShopeeTokens
from safe_release.testing._shopee._shp_faults import FakeShopeeFaults
from safe_release.testing._shopee._shp_gateway import AUTH_DAYS, Gateway
from safe_release.testing._shopee._shp_inspect import duplicate_report
from safe_release.testing._shopee._shp_limits import RateLimits
from safe_release.testing._shopee._shp_routes import check_operation
from safe_release.testing._shopee._shp_state import (
    ORDER_STATUSES,
    Ids,
    Shop,
    ShopeeState,
    check_region,
)
from safe_release.testing._shopee._shp_values import FakeShopeeCredentials

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from datetime import datetime, timedelta
    from decimal import Decimal

    from safe_release._clock import Clock
    from safe_release.testing._shopee._shp_state import Item, LineSpec, ModelSpec
    from safe_release.testing._shopee._shp_values import ShopeeItem, ShopeeOrder

__all__ = ["FakeShopee"]


class FakeShopee(FakeCore[FakeShopeeFaults]):
    """Shopee Open Platform v2 (one partner app, one or more shops) in memory, for tests.

    Plug it into any httpx client with ``transport=fake.transport`` (sync and
    async), or run it as a real server with ``with fake.serve() as base_url``; any
    host will do, the paths are ``/api/v2/...``. Every call is checked as Shopee
    checks it: the signature to the byte, the timestamp within 300 s of
    ``clock`` (a new `FakeClock` by default), the access token (14400 s) and the
    single-use refresh tokens (30 days). ``region`` is the default shop's (prices
    take two decimals in SG, MY, BR, MX, PL, ES and AR). ``seed`` makes ids and
    faults reproducible. ``fake.credentials`` is what an adapter needs to call as
    the default shop; ``repr(fake)`` never shows a secret.
    """

    def __init__(self, *, clock: Clock | None = None, seed: int = 0, region: str = "SG") -> None:
        super().__init__(
            clock,
            FakeShopeeFaults(seed),
            name="FakeShopee",
            check_operation=check_operation,
            duplicate_report=duplicate_report,
        )
        self.region = check_region(region)
        self._state = ShopeeState(Ids(f"shopee-{seed}"))
        self._tokens = ShopeeTokens(int(self._state.ids.digits(7)))
        self._limits = RateLimits()
        self._gateway = Gateway(self._state, self._tokens, self._limits, self.faults)
        self.credentials = self.add_shop(region=region)
        self._state.consent_shop = self.credentials.shop_id

    # -- partner, shops and tokens -------------------------------------------------

    @property
    def partner_id(self) -> int:
        """The partner (app) id every call names."""
        return self._tokens.partner_id

    @property
    def partner_key(self) -> str:
        """The partner key that signs every call."""
        return self._tokens.partner_key

    @property
    def shop_id(self) -> int:
        """The default shop's id."""
        return self.credentials.shop_id

    def add_shop(self, *, region: str | None = None) -> FakeShopeeCredentials:
        """Authorise a new shop of the partner: its id and a fresh token pair."""
        chosen = check_region(region if region is not None else self.region)
        with self._lock:
            now = self.clock.time()
            shop_id = int(self._state.ids.digits(9))
            self._state.shops[shop_id] = Shop(
                shop_id, chosen, f"Shop {shop_id}", now, now + AUTH_DAYS * 86400.0
            )
            return self._credentials(shop_id, now)

    def _credentials(self, shop_id: int, now: float) -> FakeShopeeCredentials:
        pair = self._tokens.issue(shop_id, now, generation=self.faults.revocations)
        return FakeShopeeCredentials(
            self.partner_id,
            self.partner_key,
            shop_id,
            pair.access_token,
            pair.refresh_token,
            pair.access_expires_at,
            pair.refresh_expires_at,
            self._state.shops[shop_id].region,
        )

    def _shop(self, shop_id: int | None) -> int:
        chosen = self.shop_id if shop_id is None else shop_id
        if chosen not in self._state.shops:
            msg = f"FakeShopee has no shop {shop_id!r}; add one with fake.add_shop()"
            raise InvalidArgumentError(msg)
        return chosen

    def authorize_shop(self, shop_id: int | None = None, *, days: int = AUTH_DAYS) -> str:
        """The seller consents again: a new one-use ``code`` for ``auth/token/get`` (10 min).

        The shop's authorisation runs ``days`` (at most 365) from now. Tokens
        issued before stay as they are.
        """
        length = whole(days, what="days", minimum=1)
        if length > AUTH_DAYS:
            msg = f"an authorisation lasts at most {AUTH_DAYS} days, not {days!r}"
            raise InvalidArgumentError(msg)
        with self._lock:
            shop = self._state.shops[self._shop(shop_id)]
            now = self.clock.time()
            shop.auth_time, shop.expire_time = now, now + length * 86400.0
            return self._tokens.new_code(shop.shop_id, now)

    def reauthorize(self, shop_id: int | None = None) -> FakeShopeeCredentials:
        """A re-authorisation with its code already exchanged: a fresh token pair."""
        with self._lock:
            chosen = self._shop(shop_id)
            now = self.clock.time()
            shop = self._state.shops[chosen]
            shop.auth_time, shop.expire_time = now, now + AUTH_DAYS * 86400.0
            return self._credentials(chosen, now)

    def refresh_token_state(self, refresh_token: str) -> str:
        """``live``, ``spent`` or ``unknown``: what became of a refresh token."""
        with self._lock:
            return self._tokens.refresh_state(refresh_token)

    @property
    def tokens_issued(self) -> int:
        """How many token pairs the fake has handed out (seeding included)."""
        return self._tokens.issued

    @property
    def refreshes(self) -> int:
        """How many refreshes succeeded (each spent one refresh token)."""
        return self._tokens.refreshes

    # -- throttling ----------------------------------------------------------------

    def set_rate_limit(
        self,
        api: str,
        *,
        calls: int,
        per_seconds: float | timedelta,
        shop_id: int | None = None,
    ) -> None:
        """Allow ``calls`` of ``api`` per ``per_seconds`` per (partner, shop) from now on.

        With ``shop_id`` only that shop's calls; otherwise every shop's (each its
        own bucket). Nothing is limited by default: Shopee publishes no numbers.
        """
        check_operation(api)
        count = whole(calls, what="calls", minimum=1)
        per = seconds(per_seconds, what="per_seconds")
        if per <= 0:
            msg = f"per_seconds must be > 0, not {per_seconds!r}"
            raise InvalidArgumentError(msg)
        with self._lock:
            self._limits.set(api, count, per, None if shop_id is None else self._shop(shop_id))

    @property
    def tracking_delay(self) -> float:
        """Seconds (fake clock) after ``ship_order`` before a tracking number shows; 120."""
        return self._state.tracking_delay

    @tracking_delay.setter
    def tracking_delay(self, value: float | timedelta) -> None:
        self._state.tracking_delay = seconds(value, what="tracking_delay")

    # -- items ---------------------------------------------------------------------

    def add_item(
        self,
        item_id: int,
        *,
        models: Mapping[int, ModelSpec],
        region: str | None = None,
        status: str = "NORMAL",
        shop_id: int | None = None,
    ) -> ShopeeItem:
        """Create (or replace) an item: ``models={model_id: (price, stock)}``.

        ``{0: (price, stock)}`` is an item without models. ``region`` (the shop's
        by default) decides the price precision.
        """
        with self._lock:
            chosen = self._shop(shop_id)
            where = (
                check_region(region) if region is not None else self._state.shops[chosen].region
            )
            item = self._state.add_item(chosen, item_id, dict(models), region=where, status=status)
            return item.snapshot()

    def _item(self, item_id: int, shop_id: int | None) -> Item:
        return self._state.item(self._shop(shop_id), item_id)

    def item(self, item_id: int, *, shop_id: int | None = None) -> ShopeeItem:
        """The item as it is now."""
        with self._lock:
            return self._item(item_id, shop_id).snapshot()

    def price(self, item_id: int, model_id: int = 0, *, shop_id: int | None = None) -> Decimal:
        """The model's current original price (model 0: the item without models)."""
        with self._lock:
            return self._model(item_id, model_id, shop_id)[0]

    def stock(self, item_id: int, model_id: int = 0, *, shop_id: int | None = None) -> int:
        """The model's current seller stock."""
        with self._lock:
            return self._model(item_id, model_id, shop_id)[1]

    def _model(self, item_id: int, model_id: int, shop_id: int | None) -> tuple[Decimal, int]:
        model = self._item(item_id, shop_id).models.get(model_id)
        if model is None:
            msg = f"item {item_id} has no model {model_id!r}"
            raise InvalidArgumentError(msg)
        return model.price, model.stock

    @property
    def prices(self) -> dict[tuple[int, int], Decimal]:
        """The default shop's prices by ``(item_id, model_id)``."""
        with self._lock:
            return {
                (i.item_id, m): x.price
                for i in self._state.items.values()
                if i.shop_id == self.shop_id
                for m, x in i.models.items()
            }

    @property
    def stocks(self) -> dict[tuple[int, int], int]:
        """The default shop's seller stock by ``(item_id, model_id)``."""
        with self._lock:
            return {
                (i.item_id, m): x.stock
                for i in self._state.items.values()
                if i.shop_id == self.shop_id
                for m, x in i.models.items()
            }

    # -- orders --------------------------------------------------------------------

    def add_order(
        self,
        *,
        items: Sequence[LineSpec],
        order_sn: str | None = None,
        status: str = "READY_TO_SHIP",
        created: float | datetime | None = None,
        channel: str = "pickup",
        shop_id: int | None = None,
    ) -> str:
        """Create an order of ``(item_id, model_id, quantity)`` lines; returns its order_sn.

        ``channel`` is what ``get_shipping_parameter`` asks for: ``pickup``,
        ``dropoff`` or ``non_integrated``. ``created`` defaults to now.
        """
        with self._lock:
            when = self.clock.time() if created is None else epoch(created, what="created")
            order = self._state.add_order(
                self._shop(shop_id),
                list(items),
                order_sn=order_sn,
                status=status,
                created=when,
                channel=channel,
            )
            return order.order_sn

    def set_order_status(self, order_sn: str, status: str) -> None:
        """Move an order to ``status`` (a buyer cancels; a failed pickup: ``RETRY_SHIP``)."""
        if status not in ORDER_STATUSES:
            msg = f"status must be one of {ORDER_STATUSES}, not {status!r}"
            raise InvalidArgumentError(msg)
        with self._lock:
            order = self._state.orders.get(order_sn)
            if order is None:
                raise self._no_order(order_sn)
            order.status, order.updated = status, self.clock.time()

    @staticmethod
    def _no_order(order_sn: str) -> InvalidArgumentError:
        msg = f"FakeShopee has no order {order_sn!r}; add one with fake.add_order()"
        return InvalidArgumentError(msg)

    def order(self, order_sn: str) -> ShopeeOrder:
        """The order as it is now (status, lines, shipment, visible tracking number)."""
        with self._lock:
            order = self._state.orders.get(order_sn)
            if order is None:
                raise self._no_order(order_sn)
            return order.snapshot(self.clock.time(), self._state.tracking_delay)

    @property
    def orders(self) -> list[ShopeeOrder]:
        """Every order, in the order they were added."""
        with self._lock:
            now, delay = self.clock.time(), self._state.tracking_delay
            return [order.snapshot(now, delay) for order in self._state.orders.values()]

    def __repr__(self) -> str:
        with self._lock:
            state = self._state
            return (
                f"<FakeShopee partner_id={self.partner_id} shops={len(state.shops)} "
                f"items={len(state.items)} orders={len(state.orders)} calls={len(self._calls)}>"
            )

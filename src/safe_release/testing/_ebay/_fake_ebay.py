"""`FakeEbay`: in-memory eBay Sell Inventory, Fulfillment, OAuth and Analytics APIs."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from safe_release.exceptions import InvalidArgumentError
from safe_release.testing._ebay._ebay_faults import FakeEbayFaults
from safe_release.testing._ebay._ebay_gateway import Gateway
from safe_release.testing._ebay._ebay_inspect import duplicate_report
from safe_release.testing._ebay._ebay_oauth import OAuthServer
from safe_release.testing._ebay._ebay_quotas import DailyQuotas, check_resource
from safe_release.testing._ebay._ebay_routes import USER_SCOPES, check_operation
from safe_release.testing._ebay._ebay_state import EbayState, Ids
from safe_release.testing._ebay._ebay_values import FakeEbayCredentials
from safe_release.testing._fake_core import FakeCore

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from decimal import Decimal

    from safe_release._clock import Clock
    from safe_release.testing._ebay._ebay_state import LineSpec
    from safe_release.testing._ebay._ebay_values import EbayFulfillment, EbayOffer, EbayOrder

__all__ = ["DEFAULT_USER", "FakeEbay"]

DEFAULT_USER = "demo_seller"


class FakeEbay(FakeCore[FakeEbayFaults]):
    """eBay's Sell Inventory, Sell Fulfillment, OAuth and Analytics APIs in memory, for tests.

    Plug it into any httpx client with ``transport=fake.transport`` (sync and
    async) and any base URL, or run it as a real server with ``with fake.serve()
    as base_url``. Time is ``clock`` (a new `FakeClock` by default): access tokens
    last 7200 s of it and the daily quotas reset at 07:00Z on it. ``seed`` makes
    ids and faults reproducible. ``fake.credentials`` is what an adapter needs to
    act for the default user; ``repr(fake)`` never shows a secret.
    """

    def __init__(
        self, *, clock: Clock | None = None, seed: int = 0, user_id: str = DEFAULT_USER
    ) -> None:
        super().__init__(
            clock,
            FakeEbayFaults(seed),
            name="FakeEbay",
            check_operation=check_operation,
            duplicate_report=duplicate_report,
        )
        self._ids = Ids(seed)
        self._state = EbayState(self._ids)
        self._quotas = DailyQuotas()
        self._oauth = OAuthServer()
        self._gateway = Gateway(self._state, self._quotas, self._oauth, self.faults)
        self._client_id = self._oauth.new_app(self._ids.digits(10))
        self.credentials = self.authorize(user_id)

    # -- users and tokens ----------------------------------------------------------

    def authorize(
        self, user_id: str, *, scopes: Iterable[str] = USER_SCOPES
    ) -> FakeEbayCredentials:
        """``user_id`` consents to ``scopes`` for the app; credentials with a new refresh token."""
        if not isinstance(user_id, str) or not user_id:
            msg = f"user_id must be a non-empty string, not {user_id!r}"
            raise InvalidArgumentError(msg)
        granted = tuple(scopes)
        if not granted or not all(isinstance(s, str) and s for s in granted):
            msg = "scopes must be one or more non-empty strings"
            raise InvalidArgumentError(msg)
        with self._lock:
            token = self._oauth.consent(user_id, self._client_id, frozenset(granted))
            return FakeEbayCredentials(
                self._client_id, self._oauth.apps[self._client_id], token, user_id, granted
            )

    def deauthorize(self, credentials: FakeEbayCredentials | None = None) -> None:
        """The user withdraws consent: refreshing answers 400 ``invalid_grant``."""
        with self._lock:
            self._oauth.revoke((credentials or self.credentials).refresh_token)

    @property
    def tokens_issued(self) -> int:
        """How many access tokens the token endpoint has handed out."""
        return self._oauth.issued

    def token_grants_used(self, grant: str = "refresh_token") -> int:
        """Tokens issued today through ``grant`` (``refresh_token`` or ``client_credentials``)."""
        if grant not in self._oauth.grant_limits:
            msg = f"grant must be 'refresh_token' or 'client_credentials', not {grant!r}"
            raise InvalidArgumentError(msg)
        with self._lock:
            return self._oauth.grant_used(grant, self._client_id, self.clock.time())

    def set_token_limit(self, grant: str, limit: int) -> None:
        """Another daily limit for the token endpoint's ``grant`` (for tests of its 429)."""
        if grant not in self._oauth.grant_limits:
            msg = f"grant must be 'refresh_token' or 'client_credentials', not {grant!r}"
            raise InvalidArgumentError(msg)
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
            msg = f"a daily limit must be a whole number >= 0, not {limit!r}"
            raise InvalidArgumentError(msg)
        with self._lock:
            self._oauth.grant_limits[grant] = limit

    # -- seeding -------------------------------------------------------------------

    def add_offer(
        self,
        sku: str,
        *,
        price: Decimal,
        quantity: int,
        currency: str = "USD",
        offer_id: str | None = None,
        status: str = "PUBLISHED",
        format: str = "FIXED_PRICE",  # noqa: A002 - eBay's field name
    ) -> str:
        """Create an offer for ``sku``; returns its offer id."""
        with self._lock:
            return self._state.add_offer(
                sku,
                price=price,
                quantity=quantity,
                currency=currency,
                offer_id=offer_id,
                status=status,
                format=format,
            )

    def add_order(
        self,
        *,
        line_items: Sequence[LineSpec] = (("SKU-1", 1, "10.00"),),
        created: float | datetime | None = None,
        status: str = "NOT_STARTED",
        user_id: str | None = None,
    ) -> str:
        """Create an order from ``(sku, quantity, unit price)`` lines; returns its id.

        ``created`` defaults to now on the fake clock. ``status`` FULFILLED ships
        every line; IN_PROGRESS marks the order so until a line ships.
        """
        when = self.clock.time() if created is None else created
        epoch = when.timestamp() if isinstance(when, datetime) else float(when)
        with self._lock:
            return self._state.add_order(
                user_id or self.credentials.user_id,
                line_items=line_items,
                created=epoch,
                status=status,
            )

    # -- quotas --------------------------------------------------------------------

    def set_daily_limit(self, resource: str, limit: int, *, user: str | None = None) -> None:
        """Enforce another daily limit for ``resource``: the app's, or one user's.

        A user's limit applies on top of the app's to calls made with that user's
        tokens, and is what getUserRateLimits reports.
        """
        with self._lock:
            self._quotas.set_limit(resource, limit, user=user)

    def daily_used(self, resource: str, *, user: str | None = None) -> int:
        """Calls counted against ``resource`` in the current window (app's, or a user's)."""
        with self._lock:
            budget = self._quotas.budget(
                check_resource(resource), self._client_id, user, self.clock.time()
            )
            return budget.count

    # -- inspection ----------------------------------------------------------------

    def offer(self, offer_id: str) -> EbayOffer:
        """One offer as it is now."""
        with self._lock:
            found = self._state.offers.get(offer_id)
            if found is None:
                msg = f"FakeEbay has no offer {offer_id!r}; add one with fake.add_offer()"
                raise InvalidArgumentError(msg)
            return found.snapshot(self.clock.time())

    def price(self, offer_id: str) -> Decimal:
        """The current price of an offer."""
        return self.offer(offer_id).price

    def quantity(self, offer_id: str) -> int:
        """The current available quantity of an offer."""
        return self.offer(offer_id).quantity

    @property
    def offers(self) -> list[EbayOffer]:
        """Every offer, in the order they were added."""
        with self._lock:
            now = self.clock.time()
            return [o.snapshot(now) for o in self._state.offers.values()]

    @property
    def prices(self) -> dict[str, Decimal]:
        """Offer id -> current price."""
        return {o.offer_id: o.price for o in self.offers}

    @property
    def quantities(self) -> dict[str, int]:
        """Offer id -> current available quantity."""
        return {o.offer_id: o.quantity for o in self.offers}

    def order(self, order_id: str) -> EbayOrder:
        """One order as it is now."""
        with self._lock:
            found = self._state.orders.get(order_id)
            if found is None:
                msg = f"FakeEbay has no order {order_id!r}; add one with fake.add_order()"
                raise InvalidArgumentError(msg)
            return found.snapshot()

    @property
    def orders(self) -> list[EbayOrder]:
        """Every order, in the order they were added."""
        with self._lock:
            return [o.snapshot() for o in self._state.orders.values()]

    def fulfillments(self, order_id: str) -> list[EbayFulfillment]:
        """The shipping fulfillments of an order, replays included, oldest first."""
        with self._lock:
            found = self._state.orders.get(order_id)
            if found is None:
                msg = f"FakeEbay has no order {order_id!r}; add one with fake.add_order()"
                raise InvalidArgumentError(msg)
            return list(found.fulfillments)

    def __repr__(self) -> str:
        with self._lock:
            state = self._state
            return (
                f"<FakeEbay offers={len(state.offers)} orders={len(state.orders)} "
                f"calls={len(self._calls)}>"
            )

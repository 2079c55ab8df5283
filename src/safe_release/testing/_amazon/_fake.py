"""`FakeAmazon`: an in-memory SP-API with real state, quotas, auth and faults."""

from __future__ import annotations

from typing import TYPE_CHECKING

from safe_release.exceptions import InvalidArgumentError
from safe_release.testing._amazon._auth import LwaServer
from safe_release.testing._amazon._buckets import ServerBuckets, check_operation
from safe_release.testing._amazon._faults import FakeAmazonFaults
from safe_release.testing._amazon._gateway import Gateway
from safe_release.testing._amazon._inspect import duplicate_report
from safe_release.testing._amazon._state import DEFAULT_MARKETPLACE, AmazonState, Ids
from safe_release.testing._amazon._values import FakeAmazonCredentials
from safe_release.testing._checks import non_negative_seconds
from safe_release.testing._fake_core import FakeCore

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime, timedelta
    from decimal import Decimal

    from safe_release._clock import Clock
    from safe_release.adapters import Limit
    from safe_release.testing._amazon._state import ItemSpec
    from safe_release.testing._amazon._values import (
        AmazonInboundPlan,
        AmazonInventory,
        AmazonListing,
        AmazonOrder,
        AmazonShipment,
    )

__all__ = ["DEFAULT_SELLER", "FakeAmazon"]

DEFAULT_SELLER = "A1FAKESELLER01"
_DEFAULT_ITEMS: tuple[ItemSpec, ...] = (("SKU-1", 1),)


class FakeAmazon(FakeCore[FakeAmazonFaults]):
    """Amazon SP-API and Login with Amazon in memory, for tests.

    Plug it into any httpx client with ``transport=fake.transport`` (sync and
    async), or run it as a real server with ``with fake.serve() as base_url``.
    Time is ``clock`` (a new `FakeClock` by default): tokens expire after 3600 s
    of it, buckets refill on it, latency faults advance it. ``seed`` makes ids
    and faults reproducible. ``fake.credentials`` is what an adapter needs to
    sign in as the default seller; ``repr(fake)`` never shows a secret.
    """

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        seed: int = 0,
        seller_id: str = DEFAULT_SELLER,
        marketplace_id: str = DEFAULT_MARKETPLACE,
    ) -> None:
        super().__init__(
            clock,
            FakeAmazonFaults(seed),
            name="FakeAmazon",
            check_operation=check_operation,
            duplicate_report=duplicate_report,
        )
        self._state = AmazonState(Ids(seed))
        self._buckets = ServerBuckets()
        self._lwa = LwaServer()
        self._gateway = Gateway(self._state, self._buckets, self._lwa, self.faults)
        client_id, _ = self._lwa.new_app()
        self.credentials = self.authorize(
            seller_id, client_id=client_id, marketplace_id=marketplace_id
        )

    # -- sellers and apps ----------------------------------------------------------

    def authorize(
        self, seller_id: str, *, client_id: str | None = None, marketplace_id: str | None = None
    ) -> FakeAmazonCredentials:
        """``seller_id`` authorizes an app (the default one unless ``client_id``)."""
        if not isinstance(seller_id, str) or not seller_id:
            msg = f"seller_id must be a non-empty string, not {seller_id!r}"
            raise InvalidArgumentError(msg)
        with self._lock:
            app = client_id or self.credentials.client_id
            if app not in self._lwa.apps:
                msg = f"no app {app!r} is registered; create one with fake.new_app()"
                raise InvalidArgumentError(msg)
            home = self._state.sellers.setdefault(seller_id, marketplace_id or DEFAULT_MARKETPLACE)
            return FakeAmazonCredentials(
                client_id=app,
                client_secret=self._lwa.apps[app],
                refresh_token=self._lwa.authorize(seller_id, app),
                seller_id=seller_id,
                marketplace_id=home,
            )

    def new_app(self, *, seller_id: str | None = None) -> FakeAmazonCredentials:
        """Register another app (its own quota) and have the seller authorize it."""
        with self._lock:
            client_id, _ = self._lwa.new_app()
            return self.authorize(seller_id or self.credentials.seller_id, client_id=client_id)

    def deauthorize(self, credentials: FakeAmazonCredentials | None = None) -> None:
        """The seller revokes the app: refreshing answers 400 ``invalid_grant``."""
        with self._lock:
            self._lwa.deauthorize((credentials or self.credentials).refresh_token)

    def rotate_client_secret(
        self, credentials: FakeAmazonCredentials | None = None
    ) -> FakeAmazonCredentials:
        """A new client secret; the old one gets 401 ``invalid_client``."""
        with self._lock:
            old = credentials or self.credentials
            secret = self._lwa.rotate_secret(old.client_id)
            new = FakeAmazonCredentials(
                old.client_id, secret, old.refresh_token, old.seller_id, old.marketplace_id
            )
            if old is self.credentials:
                self.credentials = new
            return new

    @property
    def tokens_issued(self) -> int:
        """How many access tokens the token endpoint has handed out."""
        return self._lwa.issued

    # -- seeding -------------------------------------------------------------------

    def _seller(self, seller_id: str | None) -> str:
        return seller_id or self.credentials.seller_id

    def add_listing(
        self,
        sku: str,
        *,
        price: Decimal | int | str,
        quantity: int = 0,
        currency: str = "USD",
        marketplace_id: str | None = None,
        seller_id: str | None = None,
        title: str | None = None,
    ) -> AmazonListing:
        """Create (or replace) a listing with a price and a merchant-fulfilled quantity."""
        with self._lock:
            seller = self._seller(seller_id)
            return self._state.add_listing(
                seller,
                sku,
                price=price,
                quantity=quantity,
                currency=currency,
                marketplace_id=marketplace_id or self._state.home_marketplace(seller),
                now=self.clock.time(),
                title=title,
            )

    def set_inventory(
        self,
        sku: str,
        *,
        fulfillable: int,
        inbound_working: int = 0,
        reserved: int = 0,
        unfulfillable: int = 0,
        seller_id: str | None = None,
    ) -> AmazonInventory:
        """Set the FBA stock getInventorySummaries reports for ``sku``."""
        with self._lock:
            return self._state.set_inventory(
                self._seller(seller_id),
                sku,
                fulfillable=fulfillable,
                inbound_working=inbound_working,
                reserved=reserved,
                unfulfillable=unfulfillable,
                now=self.clock.time(),
            )

    def add_order(
        self,
        order_id: str | None = None,
        *,
        items: Sequence[ItemSpec] = _DEFAULT_ITEMS,
        status: str = "Unshipped",
        purchase_date: float | datetime | None = None,
        marketplace_id: str | None = None,
        currency: str = "USD",
        seller_id: str | None = None,
    ) -> AmazonOrder:
        """Create an order; ``items`` are ``(sku, quantity[, unit_price])``.

        Without a unit price an item costs what its listing costs (else 10.00).
        ``purchase_date`` defaults to now on the fake clock.
        """
        with self._lock:
            seller = self._seller(seller_id)
            return self._state.add_order(
                seller,
                order_id=order_id,
                items=items,
                status=status,
                purchase_date=self.clock.time() if purchase_date is None else purchase_date,
                marketplace_id=marketplace_id or self._state.home_marketplace(seller),
                currency=currency,
            )

    @property
    def inbound_processing(self) -> float:
        """Seconds (fake clock) an inbound operation stays IN_PROGRESS; 5 by default."""
        return self._state.inbound_seconds

    @inbound_processing.setter
    def inbound_processing(self, value: float | timedelta) -> None:
        seconds = non_negative_seconds(value)
        if seconds is None:
            msg = f"inbound_processing must be seconds >= 0, not {value!r}"
            raise InvalidArgumentError(msg)
        self._state.inbound_seconds = seconds

    # -- quotas --------------------------------------------------------------------

    def limit(self, operation: str) -> Limit:
        """The rate and burst the fake enforces for ``operation``."""
        with self._lock:
            return self._buckets.limit(operation)

    def set_limit(self, operation: str, *, rate: float, burst: int) -> None:
        """Enforce another limit from now on (real accounts often get less than documented).

        Any valid limit is accepted, higher ones too (for load tests); saved tokens
        above the new burst are dropped.
        """
        with self._lock:
            self._buckets.set_limit(operation, rate=rate, burst=burst, now=self.clock.time())

    def drain(self, operation: str, *, credentials: FakeAmazonCredentials | None = None) -> None:
        """Empty ``operation``'s bucket: one app's, or (default) every bucket in use too."""
        with self._lock:
            who = credentials or self.credentials
            self._buckets.drain(
                operation,
                [(who.seller_id, who.client_id)],
                self.clock.time(),
                everyone=credentials is None,
            )

    def tokens(self, operation: str, *, credentials: FakeAmazonCredentials | None = None) -> float:
        """Tokens left in one (operation, seller, app) bucket right now."""
        with self._lock:
            who = credentials or self.credentials
            return self._buckets.tokens(
                check_operation(operation), who.seller_id, who.client_id, self.clock.time()
            )

    # -- inspection ----------------------------------------------------------------

    def listing(self, sku: str, *, seller_id: str | None = None) -> AmazonListing:
        """The listing of ``sku`` as it is now."""
        with self._lock:
            return self._state.listing(self._seller(seller_id), sku)

    def price(self, sku: str, *, seller_id: str | None = None) -> Decimal:
        """The current price of ``sku``."""
        return self.listing(sku, seller_id=seller_id).price

    def quantity(self, sku: str, *, seller_id: str | None = None) -> int:
        """The current merchant-fulfilled quantity of ``sku``."""
        return self.listing(sku, seller_id=seller_id).quantity

    @property
    def listings(self) -> list[AmazonListing]:
        """Every listing, in the order they were added."""
        with self._lock:
            return list(self._state.listings.values())

    @property
    def prices(self) -> dict[str, Decimal]:
        """The default seller's prices by SKU."""
        seller = self.credentials.seller_id
        return {x.sku: x.price for x in self.listings if x.seller_id == seller}

    @property
    def quantities(self) -> dict[str, int]:
        """The default seller's merchant-fulfilled quantities by SKU."""
        seller = self.credentials.seller_id
        return {x.sku: x.quantity for x in self.listings if x.seller_id == seller}

    def inventory(self, sku: str, *, seller_id: str | None = None) -> AmazonInventory:
        """The FBA stock of ``sku``."""
        with self._lock:
            found = self._state.inventory.get((self._seller(seller_id), sku))
        if found is None:
            msg = f"FakeAmazon has no FBA stock for {sku!r}; set it with fake.set_inventory()"
            raise InvalidArgumentError(msg)
        return found

    @property
    def orders(self) -> list[AmazonOrder]:
        """Every order, in the order they were added."""
        with self._lock:
            return list(self._state.orders.values())

    def order(self, order_id: str) -> AmazonOrder:
        """One order as it is now."""
        with self._lock:
            found = self._state.orders.get(order_id)
        if found is None:
            msg = f"FakeAmazon has no order {order_id!r}; add one with fake.add_order()"
            raise InvalidArgumentError(msg)
        return found

    @property
    def shipments(self) -> list[AmazonShipment]:
        """Every accepted shipment confirmation, replays included, oldest first."""
        with self._lock:
            return list(self._state.shipments)

    @property
    def inbound_plans(self) -> list[AmazonInboundPlan]:
        """Every inbound plan created, oldest first."""
        with self._lock:
            return list(self._state.plans.values())

    def __repr__(self) -> str:
        with self._lock:
            state = self._state
            return (
                f"<FakeAmazon sellers={len(state.sellers)} orders={len(state.orders)} "
                f"listings={len(state.listings)} inbound_plans={len(state.plans)} "
                f"shipments={len(state.shipments)} calls={len(self._calls)}>"
            )

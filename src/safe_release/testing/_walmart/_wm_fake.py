"""`FakeWalmart`: an in-memory Walmart Marketplace (US) with real state, buckets and faults."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from safe_release.exceptions import InvalidArgumentError
from safe_release.testing._checks import non_negative_seconds
from safe_release.testing._fake_core import FakeCore
from safe_release.testing._walmart._wm_auth import TokenServer
from safe_release.testing._walmart._wm_buckets import ServerBuckets, check_api, check_operation
from safe_release.testing._walmart._wm_faults import FakeWalmartFaults
from safe_release.testing._walmart._wm_gateway import Gateway
from safe_release.testing._walmart._wm_inspect import duplicate_report
from safe_release.testing._walmart._wm_state import Ids, WalmartState
from safe_release.testing._walmart._wm_values import FakeWalmartCredentials

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime
    from decimal import Decimal

    from safe_release._clock import Clock
    from safe_release.testing._walmart._wm_state import LineSpec
    from safe_release.testing._walmart._wm_values import WalmartFeed, WalmartItem, WalmartOrder

__all__ = ["DEFAULT_SELLER", "FakeWalmart"]

DEFAULT_SELLER = "demo-seller"
SCOPE_APIS = frozenset({"item", "price", "inventory", "orders", "feeds", "reports"})
SCOPE_LEVELS = frozenset({"full_access", "view_only", "no_access"})


class FakeWalmart(FakeCore[FakeWalmartFaults]):
    """Walmart Marketplace (US) and its token endpoint in memory, for tests.

    Plug it into any httpx client with ``transport=fake.transport`` (sync and
    async), or run it as a real server with ``with fake.serve() as base_url``; any
    host will do, the paths are ``/v3/...``. Time is ``clock`` (a new `FakeClock`
    by default): tokens expire after 900 s of it, buckets refill on it, feeds are
    processed on it, latency faults advance it. ``seed`` makes ids and faults
    reproducible. ``fake.credentials`` is what an adapter needs to sign in as the
    default seller; ``repr(fake)`` never shows a secret.

    Answers are JSON when ``Accept`` names ``application/json`` and XML otherwise
    (the XSDs' namespaces). Error bodies are ``{"errors": {"error": [...]}}``; with
    ``faults.single_error_object`` the ``error`` member is one object instead.
    """

    def __init__(
        self, *, clock: Clock | None = None, seed: int = 0, seller_id: str = DEFAULT_SELLER
    ) -> None:
        super().__init__(
            clock,
            FakeWalmartFaults(seed),
            name="FakeWalmart",
            check_operation=check_operation,
            duplicate_report=duplicate_report,
        )
        self._state = WalmartState(Ids(seed))
        self._buckets = ServerBuckets()
        self._tokens = TokenServer()
        self._gateway = Gateway(self._state, self._buckets, self._tokens, self.faults)
        self.credentials = self.new_seller(seller_id)

    # -- sellers and auth ----------------------------------------------------------

    def new_seller(self, seller_id: str) -> FakeWalmartCredentials:
        """Register a seller with its own API keys (its own buckets and data)."""
        if not isinstance(seller_id, str) or not seller_id:
            msg = f"seller_id must be a non-empty string, not {seller_id!r}"
            raise InvalidArgumentError(msg)
        with self._lock:
            client_id, secret, refresh = self._tokens.new_app(seller_id)
            return FakeWalmartCredentials(client_id, secret, seller_id, refresh)

    def authorization_code(self, credentials: FakeWalmartCredentials | None = None) -> str:
        """A one-use code for ``grant_type=authorization_code`` (solution providers)."""
        with self._lock:
            return self._tokens.new_code((credentials or self.credentials).client_id)

    def set_scope(self, api: str, level: str, *, seller_id: str | None = None) -> None:
        """Give the seller's tokens ``full_access``, ``view_only`` or ``no_access`` to ``api``.

        ``view_only`` answers writes 403, ``no_access`` every call of that API.
        """
        if api not in SCOPE_APIS or level not in SCOPE_LEVELS:
            msg = (
                f"set_scope needs an API of {sorted(SCOPE_APIS)} and a level of "
                f"{sorted(SCOPE_LEVELS)}, not {api!r}, {level!r}"
            )
            raise InvalidArgumentError(msg)
        with self._lock:
            self._state.scopes.setdefault(self._seller(seller_id), {})[api] = level

    @property
    def tokens_issued(self) -> int:
        """How many access tokens the token endpoint has handed out."""
        return self._tokens.issued

    # -- seeding -------------------------------------------------------------------

    def _seller(self, seller_id: str | None) -> str:
        return seller_id or self.credentials.seller_id

    def add_item(
        self,
        sku: str,
        *,
        price: Decimal | int | str,
        quantity: int,
        currency: str = "USD",
        seller_id: str | None = None,
    ) -> WalmartItem:
        """Create (or replace) an item with a BASE price and a quantity."""
        with self._lock:
            return self._state.add_item(
                self._seller(seller_id),
                sku,
                price=price,
                quantity=quantity,
                currency=currency,
                now=self.clock.time(),
            )

    def add_order(
        self,
        *,
        lines: Sequence[LineSpec],
        created: float | datetime | None = None,
        method_code: str = "Standard",
        status: str = "Created",
        seller_id: str | None = None,
    ) -> str:
        """Create an order and return its purchase order id.

        ``lines`` are ``(sku, quantity[, unit_price])`` (without a price: the item's,
        else 10.00); each becomes a line numbered "1", "2", ... in ``status``
        (``Created``, ``Acknowledged`` or ``Cancelled``). ``created`` defaults to now.
        """
        with self._lock:
            order = self._state.add_order(
                self._seller(seller_id),
                lines=lines,
                created=self.clock.time() if created is None else created,
                method_code=method_code,
                status=status,
            )
            return order.purchase_order_id

    @property
    def feed_processing(self) -> float:
        """Seconds (fake clock) a feed takes; 10 by default.

        A feed is RECEIVED for the first half, INPROGRESS for the second, then
        PROCESSED (or ERROR, when its file could not be read).
        """
        return self._state.feed_seconds

    @feed_processing.setter
    def feed_processing(self, value: float | timedelta) -> None:
        seconds = non_negative_seconds(value)
        if seconds is None:
            msg = f"feed_processing must be seconds >= 0, not {value!r}"
            raise InvalidArgumentError(msg)
        self._state.feed_seconds = seconds

    # -- buckets -------------------------------------------------------------------

    def set_bucket(self, api: str, *, capacity: int, per_seconds: float | timedelta) -> None:
        """Allow ``capacity`` calls per ``per_seconds`` (refilled gradually) from now on.

        ``api`` is an operation name, or ``feeds:<feedType>`` for submissions.
        """
        seconds = (
            per_seconds.total_seconds() if isinstance(per_seconds, timedelta) else per_seconds
        )
        with self._lock:
            self._buckets.set_limit(
                api, capacity=capacity, per_seconds=seconds, now=self.clock.time()
            )

    def bucket(self, api: str) -> tuple[int, float]:
        """``(capacity, per_seconds)`` the fake enforces for ``api``."""
        with self._lock:
            return self._buckets.limit(api)

    def bucket_tokens(self, api: str, *, seller_id: str | None = None) -> float:
        """Tokens left in the seller's ``api`` bucket right now."""
        with self._lock:
            return self._buckets.tokens(check_api(api), self._seller(seller_id), self.clock.time())

    def drain(self, api: str, *, seller_id: str | None = None) -> None:
        """Empty the seller's ``api`` bucket."""
        with self._lock:
            self._buckets.drain(check_api(api), self._seller(seller_id), self.clock.time())

    # -- inspection ----------------------------------------------------------------

    def item(self, sku: str, *, seller_id: str | None = None) -> WalmartItem:
        """The item ``sku`` as it is now (processed feeds included)."""
        with self._lock:
            self._state.settle(self.clock.time())
            return self._state.item(self._seller(seller_id), sku)

    def price(self, sku: str, *, seller_id: str | None = None) -> Decimal:
        """The current BASE price of ``sku``."""
        return self.item(sku, seller_id=seller_id).price

    def quantity(self, sku: str, *, seller_id: str | None = None) -> int:
        """The current quantity of ``sku``."""
        return self.item(sku, seller_id=seller_id).quantity

    @property
    def items(self) -> list[WalmartItem]:
        """Every item, in the order they were added."""
        with self._lock:
            self._state.settle(self.clock.time())
            return list(self._state.items.values())

    @property
    def prices(self) -> dict[str, Decimal]:
        """The default seller's prices by SKU."""
        seller = self.credentials.seller_id
        return {x.sku: x.price for x in self.items if x.seller_id == seller}

    @property
    def quantities(self) -> dict[str, int]:
        """The default seller's quantities by SKU."""
        seller = self.credentials.seller_id
        return {x.sku: x.quantity for x in self.items if x.seller_id == seller}

    def order(self, purchase_order_id: str) -> WalmartOrder:
        """The order as it is now (its lines and their statuses)."""
        with self._lock:
            found = self._state.orders.get(purchase_order_id)
        if found is None:
            msg = f"FakeWalmart has no order {purchase_order_id!r}; add one with fake.add_order()"
            raise InvalidArgumentError(msg)
        return found

    @property
    def orders(self) -> list[WalmartOrder]:
        """Every order, in the order they were added."""
        with self._lock:
            return list(self._state.orders.values())

    @property
    def feeds(self) -> list[WalmartFeed]:
        """Every feed submitted, oldest first, as of now."""
        with self._lock:
            now = self.clock.time()
            self._state.settle(now)
            return [record.snapshot(now) for record in self._state.feeds.values()]

    def feed(self, feed_id: str) -> WalmartFeed:
        """One feed as of now."""
        with self._lock:
            now = self.clock.time()
            self._state.settle(now)
            record = self._state.feeds.get(feed_id)
            if record is None:
                msg = f"FakeWalmart has no feed {feed_id!r}"
                raise InvalidArgumentError(msg)
            return record.snapshot(now)

    def __repr__(self) -> str:
        with self._lock:
            state = self._state
            return (
                f"<FakeWalmart items={len(state.items)} orders={len(state.orders)} "
                f"feeds={len(state.feeds)} calls={len(self._calls)}>"
            )

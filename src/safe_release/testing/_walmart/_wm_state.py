"""The fake's data: items, orders, feeds (processed on the fake clock); and ids."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from safe_release.exceptions import InvalidArgumentError
from safe_release.testing._checks import order_line, to_price, whole
from safe_release.testing._ids import SeededIds
from safe_release.testing._walmart._wm_values import (
    WalmartFeed,
    WalmartFeedItem,
    WalmartItem,
    WalmartLineStatus,
    WalmartOrder,
    WalmartOrderLine,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "SEED_STATUSES",
    "FeedRecord",
    "Ids",
    "LineSpec",
    "WalmartState",
    "price_of",
    "quantity_of",
]

SEED_STATUSES = frozenset({"Created", "Acknowledged", "Cancelled"})
METHOD_CODES = frozenset({"Standard", "Express", "OneDay", "Freight", "WhiteGlove", "Value"})
_PRICE_TYPES = frozenset({"BASE", "REDUCED", "CLEARANCE"})
_CURRENCIES = frozenset({"USD", "CAD"})

LineSpec = tuple[str, int] | tuple[str, int, Decimal | int | str]


class Ids(SeededIds):
    """Identifiers in Walmart's shapes, reproducible from a seed."""

    def __init__(self, seed: int) -> None:
        super().__init__(f"walmart-ids-{seed}")

    def feed_id(self) -> str:
        """A feed id: 32 upper-case hex digits, ``@`` and a suffix."""
        return self.hex().upper() + "@A" + self.alnum(6)

    def uuid(self) -> str:
        """A UUID-shaped id (answers' ``WM_QOS.CORRELATION_ID`` when none came)."""
        h = self.hex()
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def price_of(pricing: object) -> tuple[Decimal, str]:
    """The BASE price of a ``pricing`` array; ``ValueError`` with the reason if invalid.

    Amounts must be JSON numbers (parsed as Decimal or int), not strings.
    """
    if not isinstance(pricing, list) or not pricing:
        msg = "pricing must be a non-empty array."
        raise ValueError(msg)
    base: tuple[Decimal, str] | None = None
    for entry in pricing:
        kind = entry.get("currentPriceType", "BASE") if isinstance(entry, dict) else None
        current = entry.get("currentPrice") if isinstance(entry, dict) else None
        if kind not in _PRICE_TYPES or not isinstance(current, dict):
            msg = "each pricing entry needs currentPriceType and currentPrice."
            raise ValueError(msg)
        amount, currency = current.get("amount"), current.get("currency")
        if isinstance(amount, bool) or not isinstance(amount, (int, Decimal)) or amount < 0:
            msg = f"currentPrice.amount must be a JSON number >= 0, not {amount!r}."
            raise ValueError(msg)
        if currency not in _CURRENCIES:
            msg = f"currentPrice.currency must be USD or CAD, not {currency!r}."
            raise ValueError(msg)
        if kind == "BASE":
            base = (Decimal(amount), currency)
    if base is None:
        msg = "pricing needs a BASE entry (the fake models BASE prices only)."
        raise ValueError(msg)
    return base


def quantity_of(quantity: object) -> int:
    """The amount of a ``{"unit": "EACH", "amount": n}``; ``ValueError`` if invalid."""
    if not isinstance(quantity, dict) or quantity.get("unit") != "EACH":
        msg = "quantity must be {unit: EACH, amount: n}."
        raise ValueError(msg)
    amount = quantity.get("amount")
    if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
        msg = f"quantity.amount must be a whole number >= 0, not {amount!r}."
        raise ValueError(msg)
    return amount


@dataclass
class FeedRecord:
    """A feed as stored: its parsed entries, and its outcome once processed."""

    feed_id: str
    feed_type: str
    seller_id: str
    submitted: float
    done_at: float
    entries: list[Any] | None  # None: the file could not be read
    failing: frozenset[str]
    digest: str
    items: tuple[WalmartFeedItem, ...] = ()
    settled: bool = False
    ingestion_error: str | None = None

    def status(self, now: float) -> str:
        """RECEIVED, INPROGRESS (second half of the processing time), PROCESSED or ERROR."""
        if not self.settled or now < self.done_at:
            half = self.submitted + (self.done_at - self.submitted) / 2
            return "RECEIVED" if now < half else "INPROGRESS"
        return "ERROR" if self.ingestion_error else "PROCESSED"

    def snapshot(self, now: float) -> WalmartFeed:
        """The feed as a client would see it at ``now``."""
        status = self.status(now)
        items = self.items
        if status in {"RECEIVED", "INPROGRESS"}:
            items = tuple(
                WalmartFeedItem(i, _sku(entry), "INPROGRESS")
                for i, entry in enumerate(self.entries or [])
            )
        return WalmartFeed(
            self.feed_id,
            self.feed_type,
            self.seller_id,
            self.submitted,
            self.done_at,
            status,
            items,
            self.ingestion_error if status == "ERROR" else None,
        )


def _sku(entry: object) -> str | None:
    sku = entry.get("sku") if isinstance(entry, dict) else None
    return sku if isinstance(sku, str) and sku else None


@dataclass
class WalmartState:
    """Everything the sellers have at the fake. `FakeWalmart` holds the lock."""

    ids: Ids
    items: dict[tuple[str, str], WalmartItem] = field(default_factory=dict)
    orders: dict[str, WalmartOrder] = field(default_factory=dict)
    feeds: dict[str, FeedRecord] = field(default_factory=dict)
    feed_seconds: float = 10.0
    failing_skus: frozenset[str] = frozenset()  # faults.fail_feed_items, as of this call
    scopes: dict[str, dict[str, str]] = field(default_factory=dict)  # seller -> api -> level

    def item(self, seller_id: str, sku: str) -> WalmartItem:
        """An item, or `InvalidArgumentError` saying how to add it."""
        found = self.items.get((seller_id, sku))
        if found is None:
            msg = f"FakeWalmart has no item {sku!r}; add one with fake.add_item({sku!r}, ...)"
            raise InvalidArgumentError(msg)
        return found

    def add_item(
        self,
        seller_id: str,
        sku: str,
        *,
        price: object,
        quantity: object,
        currency: str,
        now: float,
    ) -> WalmartItem:
        """Create or replace an item."""
        if not isinstance(sku, str) or not sku:
            msg = f"an item needs a non-empty SKU string, not {sku!r}"
            raise InvalidArgumentError(msg)
        if currency not in _CURRENCIES:
            msg = f"currency must be USD or CAD, not {currency!r}"
            raise InvalidArgumentError(msg)
        item = WalmartItem(
            sku=sku,
            seller_id=seller_id,
            price=to_price(price, what="price"),
            currency=currency,
            quantity=whole(quantity, what="quantity"),
            wpid=self.ids.alnum(12),
            product_name=f"Fake product {sku}",
            updated=now,
        )
        self.items[seller_id, sku] = item
        return item

    def set_price(
        self, seller_id: str, sku: str, price: Decimal, currency: str, now: float
    ) -> None:
        """Change an item's BASE price."""
        old = self.items[seller_id, sku]
        self.items[seller_id, sku] = dataclasses.replace(
            old, price=price, currency=currency, updated=now
        )

    def set_quantity(self, seller_id: str, sku: str, quantity: int, now: float) -> None:
        """Change an item's quantity."""
        old = self.items[seller_id, sku]
        self.items[seller_id, sku] = dataclasses.replace(old, quantity=quantity, updated=now)

    def add_order(
        self,
        seller_id: str,
        *,
        lines: Sequence[LineSpec],
        created: float | datetime,
        method_code: str,
        status: str,
    ) -> WalmartOrder:
        """Create an order with a new purchase order id; every line in ``status``."""
        if status not in SEED_STATUSES:
            msg = f"an order's lines start in one of {sorted(SEED_STATUSES)}, not {status!r}"
            raise InvalidArgumentError(msg)
        if method_code not in METHOD_CODES:
            msg = f"method_code must be one of {sorted(METHOD_CODES)}, not {method_code!r}"
            raise InvalidArgumentError(msg)
        if isinstance(lines, (str, bytes)) or not lines:
            msg = "an order needs at least one line: lines=[('SKU', quantity, unit_price)]"
            raise InvalidArgumentError(msg)
        when = float(created.timestamp() if isinstance(created, datetime) else created)
        order = WalmartOrder(
            purchase_order_id=self.ids.digits(13),
            customer_order_id=self.ids.digits(13),
            seller_id=seller_id,
            created=when,
            modified=when,
            method_code=method_code,
            currency="USD",
            lines=tuple(
                self._line(seller_id, str(n), spec, status, when)
                for n, spec in enumerate(lines, start=1)
            ),
        )
        self.orders[order.purchase_order_id] = order
        return order

    def _line(
        self, seller_id: str, number: str, spec: LineSpec, status: str, when: float
    ) -> WalmartOrderLine:
        sku, quantity, price = order_line(spec, kind="line")
        if not isinstance(sku, str) or not sku:
            msg = f"an order line needs a SKU string, not {sku!r}"
            raise InvalidArgumentError(msg)
        item = self.items.get((seller_id, sku))
        if price is None:
            price = item.price if item else Decimal("10.00")
        return WalmartOrderLine(
            line_number=number,
            sku=sku,
            product_name=item.product_name if item else f"Fake product {sku}",
            quantity=quantity,
            unit_price=price,
            statuses=(WalmartLineStatus(status, quantity),),
            status_date=when,
        )

    # -- feeds ---------------------------------------------------------------------

    def settle(self, now: float) -> None:
        """Process every feed whose time has come, in the order they finish."""
        due = [f for f in self.feeds.values() if not f.settled and f.done_at <= now]
        for feed in sorted(due, key=lambda f: f.done_at):
            self._process(feed)

    def _process(self, feed: FeedRecord) -> None:
        feed.settled = True
        if feed.entries is None:
            feed.ingestion_error = "The feed file could not be read as a JSON feed of its type."
            return
        feed.items = tuple(
            self._ingest(feed, index, entry) for index, entry in enumerate(feed.entries)
        )

    def _ingest(self, feed: FeedRecord, index: int, entry: Any) -> WalmartFeedItem:
        sku = _sku(entry)
        if sku is None:
            return WalmartFeedItem(index, None, "DATA_ERROR", "The item has no sku.")
        if sku in feed.failing:
            return WalmartFeedItem(index, sku, "DATA_ERROR", "The item failed validation.")
        if (feed.seller_id, sku) not in self.items:
            return WalmartFeedItem(index, sku, "DATA_ERROR", f"SKU {sku} is not in the catalog.")
        try:
            if feed.feed_type == "price":
                price, currency = price_of(entry.get("pricing"))
                self.set_price(feed.seller_id, sku, price, currency, feed.done_at)
            else:
                quantity = (
                    quantity_of(entry.get("quantity"))
                    if feed.feed_type == "inventory"
                    else _node_total(entry.get("shipNodes"))
                )
                self.set_quantity(feed.seller_id, sku, quantity, feed.done_at)
        except ValueError as problem:
            return WalmartFeedItem(index, sku, "DATA_ERROR", str(problem))
        return WalmartFeedItem(index, sku, "SUCCESS")


def _node_total(nodes: object) -> int:
    """MP_INVENTORY: the fake keeps one quantity per SKU, the sum over its ship nodes."""
    if not isinstance(nodes, list) or not nodes:
        msg = "shipNodes must be a non-empty array."
        raise ValueError(msg)
    total = 0
    for node in nodes:
        if not isinstance(node, dict) or not isinstance(node.get("shipNode"), str):
            msg = "each ship node needs shipNode and quantity."
            raise ValueError(msg)  # noqa: TRY004 - a data error of the feed item
        total += quantity_of(node.get("quantity"))
    return total

"""`FakeLazada`'s state: SKUs, orders, order items and packages, and the ids it draws."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import TYPE_CHECKING

from safe_release.exceptions import InvalidArgumentError
from safe_release.testing._checks import epoch, order_line, to_price, whole
from safe_release.testing._ids import SeededIds
from safe_release.testing._lazada._lzd_values import LazadaOrder, LazadaOrderItem, LazadaSku

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

__all__ = ["ITEM_STATUSES", "Ids", "LazadaState", "LineSpec", "Package"]

LineSpec = tuple[str, int] | tuple[str, int, "Decimal | int | str"]
ITEM_STATUSES = frozenset(
    {
        "unpaid",
        "pending",
        "repacked",
        "packed",
        "canceled",
        "ready_to_ship",
        "delivered",
        "returned",
        "shipped",
        "failed",
        "topack",
        "toship",
        "shipping",
        "lost",
    }
)
_PROVIDERS = ("Ninja Van", "J&T Express", "Flash Express")


class Ids(SeededIds):
    """Order, item, SKU and package ids, tracking numbers and request ids."""

    def request_id(self) -> str:
        """A 25-character request id like Lazada's."""
        return "0b" + self.digits(23)

    def number(self, digits: int) -> int:
        """A positive integer of ``digits`` digits."""
        return int(self.digits(digits))

    def package(self) -> str:
        """A package id (``FP`` and 13 digits)."""
        return "FP" + self.digits(13)

    def tracking(self) -> str:
        """A tracking number."""
        return "LZ" + self.alnum(10)


@dataclass
class Package:
    """A package ``/order/fulfill/pack`` made: its order items and status."""

    package_id: str
    order_id: int
    items: list[int]
    status: str = "packed"


@dataclass
class _Order:
    order_id: int
    created: float
    updated: float
    shipping_fee: Decimal
    payment_method: str
    items: list[int] = field(default_factory=list)


class LazadaState:
    """Everything the fake knows of its seller; the gateway holds the lock."""

    def __init__(self, ids: Ids, seller_id: str, country: str) -> None:
        self.ids = ids
        self.seller_id = seller_id
        self.country = country
        self.skus: dict[str, LazadaSku] = {}
        self.orders: dict[int, _Order] = {}
        self.items: dict[int, LazadaOrderItem] = {}
        self.packages: dict[str, Package] = {}

    # -- SKUs ----------------------------------------------------------------------

    def add_sku(
        self,
        seller_sku: str,
        *,
        item_id: int,
        sku_id: int,
        price: Decimal | int | str,
        quantity: int,
        sale_price: Decimal | int | str | None,
    ) -> LazadaSku:
        """Create (or replace) a SKU."""
        if not isinstance(seller_sku, str) or not seller_sku:
            msg = f"seller_sku must be a non-empty string, not {seller_sku!r}"
            raise InvalidArgumentError(msg)
        sku = LazadaSku(
            seller_sku,
            whole(item_id, what="item_id", minimum=1),
            whole(sku_id, what="sku_id", minimum=1),
            to_price(price, what="price"),
            None if sale_price is None else to_price(sale_price, what="sale_price"),
            whole(quantity, what="quantity"),
        )
        clash = next(
            (
                s
                for s in self.skus.values()
                if s.sku_id == sku.sku_id and s.seller_sku != seller_sku
            ),
            None,
        )
        if clash is not None:
            msg = f"sku_id {sku_id} already belongs to {clash.seller_sku!r}"
            raise InvalidArgumentError(msg)
        self.skus[seller_sku] = sku
        return sku

    def sku(self, seller_sku: str) -> LazadaSku:
        """The SKU, or InvalidArgumentError."""
        found = self.skus.get(seller_sku)
        if found is None:
            msg = f"FakeLazada has no SKU {seller_sku!r}; add one with fake.add_sku()"
            raise InvalidArgumentError(msg)
        return found

    def find_sku(
        self, seller_sku: str | None, item_id: str | None, sku_id: str | None
    ) -> LazadaSku | None:
        """The SKU a ``<Sku>`` element names (seller SKU and/or item id + SKU id)."""
        by_name = self.skus.get(seller_sku) if seller_sku else None
        by_ids = None
        if item_id and sku_id:
            by_ids = next(
                (
                    s
                    for s in self.skus.values()
                    if str(s.item_id) == item_id and str(s.sku_id) == sku_id
                ),
                None,
            )
        if seller_sku and (item_id and sku_id):
            return by_name if by_name is not None and by_name == by_ids else None
        return by_name or by_ids

    # -- orders --------------------------------------------------------------------

    def add_order(
        self,
        *,
        lines: Sequence[LineSpec],
        created: float | datetime,
        status: str,
        payment_method: str,
        shipping_fee: Decimal | int | str,
    ) -> LazadaOrder:
        """Create an order: one order item per unit of each ``(seller_sku, quantity[, price])``."""
        if status not in ITEM_STATUSES:
            msg = f"status must be one of {sorted(ITEM_STATUSES)}, not {status!r}"
            raise InvalidArgumentError(msg)
        if not lines:
            msg = "an order needs at least one line (seller_sku, quantity)"
            raise InvalidArgumentError(msg)
        at = epoch(created, what="created")
        parsed = [order_line(line, kind="line") for line in lines]
        order = _Order(
            self.ids.number(15),
            at,
            at,
            to_price(shipping_fee, what="shipping_fee"),
            payment_method,
        )
        for seller_sku, quantity, unit in parsed:
            sku = self.skus.get(seller_sku) if isinstance(seller_sku, str) else None
            if not isinstance(seller_sku, str) or not seller_sku:
                msg = f"an order line's seller_sku must be a non-empty string, not {seller_sku!r}"
                raise InvalidArgumentError(msg)
            price = unit if unit is not None else (sku.price if sku else Decimal("10.00"))
            for _ in range(quantity):
                item = LazadaOrderItem(
                    self.ids.number(15),
                    order.order_id,
                    seller_sku,
                    f"Item {seller_sku}",
                    price,
                    status,
                )
                self.items[item.order_item_id] = item
                order.items.append(item.order_item_id)
        self.orders[order.order_id] = order
        return self.order(order.order_id)

    def order(self, order_id: int) -> LazadaOrder:
        """The order as it is now."""
        order = self.orders[order_id]
        items = tuple(self.items[i] for i in order.items)
        return LazadaOrder(
            order.order_id,
            order.created,
            order.updated,
            sum((i.item_price for i in items), Decimal(0)),
            order.shipping_fee,
            order.payment_method,
            items,
        )

    def set_item(self, item: LazadaOrderItem, now: float, **changes: object) -> None:
        """Change an order item and touch its order's ``updated_at``."""
        self.items[item.order_item_id] = replace(item, **changes)  # type: ignore[arg-type]
        self.orders[item.order_id].updated = now

    def provider(self) -> str:
        """A shipment provider for a new package."""
        return _PROVIDERS[len(self.packages) % len(_PROVIDERS)]

"""`FakeShopee`'s shops, items (with models) and orders, and how they change."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from safe_release.exceptions import InvalidArgumentError
from safe_release.testing._checks import to_price, whole
from safe_release.testing._ids import SeededIds
from safe_release.testing._shopee._shp_values import (
    ShopeeItem,
    ShopeeModel,
    ShopeeOrder,
    ShopeeOrderItem,
)

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = [
    "CHANNELS",
    "ORDER_STATUSES",
    "REGIONS",
    "Ids",
    "ShopeeState",
    "check_region",
]

REGIONS: dict[str, tuple[str, bool]] = {
    "SG": ("SGD", True),
    "MY": ("MYR", True),
    "BR": ("BRL", True),
    "MX": ("MXN", True),
    "PL": ("PLN", True),
    "ES": ("EUR", True),
    "AR": ("ARS", True),
    "TH": ("THB", False),
    "VN": ("VND", False),
    "ID": ("IDR", False),
    "PH": ("PHP", False),
    "TW": ("TWD", False),
    "CO": ("COP", False),
    "CL": ("CLP", False),
}
"""Region -> (currency, whether prices may have two decimals) (WIRE.md 6.1)."""
ORDER_STATUSES = (
    "UNPAID",
    "READY_TO_SHIP",
    "PROCESSED",
    "RETRY_SHIP",
    "SHIPPED",
    "TO_CONFIRM_RECEIVE",
    "IN_CANCEL",
    "CANCELLED",
    "TO_RETURN",
    "COMPLETED",
    "INVOICE_PENDING",
)
CHANNELS = ("pickup", "dropoff", "non_integrated")
ModelSpec = tuple[Decimal | int | str, int]
LineSpec = tuple[int, int, int]


def check_region(region: object) -> str:
    """``region`` if Shopee has it, else InvalidArgumentError."""
    if not isinstance(region, str) or region not in REGIONS:
        msg = f"region must be one of {sorted(REGIONS)}, not {region!r}"
        raise InvalidArgumentError(msg)
    return region


class Ids(SeededIds):
    """The fake's ids: order numbers, package numbers, tracking numbers, request ids."""

    def order_sn(self, created: float) -> str:
        """An order number like ``260101`` + 8 letters and digits (Shopee's shape)."""
        stamp = _date_prefix(created)
        return stamp + self.alnum(8)

    def package(self) -> str:
        """A package number."""
        return "OFG" + self.digits(15)

    def tracking(self) -> str:
        """A tracking number."""
        return "SPXSG" + self.digits(11)


def _date_prefix(epoch: float) -> str:
    days = int(epoch // 86400)
    # civil date from days since 1970-01-01 (no timezone needed: UTC)
    era = (days + 719468) // 146097
    doe = days + 719468 - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9  # noqa: PLR2004
    year = yoe + era * 400 + (month <= 2)  # noqa: PLR2004
    return f"{year % 100:02d}{month:02d}{day:02d}"


@dataclass
class Shop:
    """One authorised shop."""

    shop_id: int
    region: str
    name: str
    auth_time: float
    expire_time: float


@dataclass
class Model:
    """A model's price and seller stock."""

    price: Decimal
    stock: int


@dataclass
class Item:
    """An item of a shop; model 0 alone means an item without models."""

    item_id: int
    shop_id: int
    region: str
    status: str
    has_model: bool
    models: dict[int, Model]

    def snapshot(self) -> ShopeeItem:
        """The frozen view."""
        models = tuple(ShopeeModel(m, x.price, x.stock) for m, x in self.models.items())
        currency = REGIONS[self.region][0]
        return ShopeeItem(
            self.item_id, self.shop_id, self.region, currency, self.status, self.has_model, models
        )


@dataclass
class Order:
    """An order and its shipment."""

    order_sn: str
    shop_id: int
    region: str
    status: str
    created: float
    updated: float
    lines: list[ShopeeOrderItem]
    channel: str
    package_number: str
    shipped_with: str | None = None
    shipped_at: float | None = None
    tracking_number: str = ""
    ship_info: dict[str, object] = field(default_factory=dict)

    def tracking(self, now: float, delay: float) -> str:
        """The tracking number as ``get_tracking_number`` shows it at ``now``."""
        if self.shipped_at is None or now < self.shipped_at + delay:
            return "" if self.shipped_with != "non_integrated" else self.tracking_number
        return self.tracking_number

    def snapshot(self, now: float, delay: float) -> ShopeeOrder:
        """The frozen view at ``now``."""
        return ShopeeOrder(
            self.order_sn,
            self.shop_id,
            self.region,
            REGIONS[self.region][0],
            self.status,
            int(self.created),
            int(self.updated),
            tuple(self.lines),
            self.channel,
            self.package_number,
            self.shipped_with,
            self.shipped_at,
            self.tracking(now, delay),
        )


class ShopeeState:
    """Every shop's items and orders."""

    def __init__(self, ids: Ids) -> None:
        self.ids = ids
        self.shops: dict[int, Shop] = {}
        self.items: dict[tuple[int, int], Item] = {}
        self.orders: dict[str, Order] = {}
        self.tracking_delay = 120.0
        self.failing: dict[tuple[int, int], str] = {}
        self.consent_shop = 0

    def add_item(
        self,
        shop_id: int,
        item_id: object,
        models: Mapping[int, ModelSpec],
        *,
        region: str,
        status: str,
    ) -> Item:
        """Create (or replace) an item; ``{0: (price, stock)}`` is an item without models."""
        item = whole(item_id, what="item_id", minimum=1)
        if not models or not isinstance(models, dict):
            msg = f"models must be a non-empty {{model_id: (price, stock)}}, not {models!r}"
            raise InvalidArgumentError(msg)
        parsed: dict[int, Model] = {}
        for model_id, spec in models.items():
            whole(model_id, what="model_id")
            if not isinstance(spec, tuple) or len(spec) != 2:  # noqa: PLR2004
                msg = f"a model is (price, stock), not {spec!r}"
                raise InvalidArgumentError(msg)
            price = to_price(spec[0], what="price")
            parsed[model_id] = Model(price, whole(spec[1], what="stock"))
        if 0 in parsed and len(parsed) > 1:
            msg = "model 0 is an item without models; it cannot sit beside other models"
            raise InvalidArgumentError(msg)
        if status not in {"NORMAL", "UNLIST", "BANNED", "DELETED"}:
            msg = f"status must be NORMAL, UNLIST, BANNED or DELETED, not {status!r}"
            raise InvalidArgumentError(msg)
        record = Item(item, shop_id, region, status, 0 not in parsed, parsed)
        self.items[shop_id, item] = record
        return record

    def item(self, shop_id: int, item_id: int) -> Item:
        """The item, or InvalidArgumentError."""
        found = self.items.get((shop_id, item_id))
        if found is None:
            msg = f"FakeShopee has no item {item_id!r} in shop {shop_id}; add it with add_item()"
            raise InvalidArgumentError(msg)
        return found

    def add_order(
        self,
        shop_id: int,
        lines: Sequence[LineSpec],
        *,
        order_sn: str | None,
        status: str,
        created: float,
        channel: str,
    ) -> Order:
        """Create an order of ``(item_id, model_id, quantity)`` lines at the items' prices."""
        if status not in ORDER_STATUSES:
            msg = f"status must be one of {ORDER_STATUSES}, not {status!r}"
            raise InvalidArgumentError(msg)
        if channel not in CHANNELS:
            msg = f"channel must be one of {CHANNELS}, not {channel!r}"
            raise InvalidArgumentError(msg)
        if not lines:
            msg = "an order needs at least one (item_id, model_id, quantity) line"
            raise InvalidArgumentError(msg)
        parsed = []
        for line in lines:
            if not isinstance(line, tuple) or len(line) != 3:  # noqa: PLR2004
                msg = f"an order line is (item_id, model_id, quantity), not {line!r}"
                raise InvalidArgumentError(msg)
            item = self.item(shop_id, line[0])
            model = item.models.get(line[1])
            if model is None:
                msg = f"item {line[0]} has no model {line[1]!r}"
                raise InvalidArgumentError(msg)
            quantity = whole(line[2], what="quantity", minimum=1)
            parsed.append(ShopeeOrderItem(item.item_id, line[1], quantity, model.price))
        sn = order_sn if order_sn is not None else self.ids.order_sn(created)
        if not isinstance(sn, str) or not sn or sn in self.orders:
            msg = f"order_sn must be a new non-empty string, not {sn!r}"
            raise InvalidArgumentError(msg)
        region = self.shops[shop_id].region
        order = Order(sn, shop_id, region, status, created, created, parsed, channel, "")
        order.package_number = self.ids.package()
        self.orders[sn] = order
        return order

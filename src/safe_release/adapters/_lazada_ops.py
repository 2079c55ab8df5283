"""The Lazada Open Platform operations safe_release supports, with their pacing.

Lazada limits each API per app per second and answers ``ApiCallLimit`` (inside
an HTTP 200) above it, but publishes no per-API figures for these calls: the
rates below are our own [U], kept under the ceilings seen in practice.
``limits=`` overrides them. Token calls go to the auth host, outside this table.
``/product/item/get`` and ``/seller/get`` are beyond the wire notes' scope [U].
"""

from __future__ import annotations

from typing import Any

from safe_release._effects import SideEffect
from safe_release.adapters._operation import Operation

__all__ = [
    "LAZADA_OPERATIONS",
    "MAX_ORDERS_LIMIT",
    "MAX_PACK",
    "MAX_PRICE_SKUS",
    "MAX_RTS",
    "PACK",
    "PRICE",
    "RTS",
    "SIGNING",
]

PRICE = "price_quantity_update"
PACK = "fulfill_pack"
RTS = "package_rts"
MAX_PRICE_SKUS = 50
"""SKUs per ``/product/price_quantity/update`` payload (more: ``E204``)."""
MAX_PACK = 20
"""Orders per ``/order/fulfill/pack`` call."""
MAX_RTS = 20
"""Packages per ``/order/package/rts`` call."""
MAX_ORDERS_LIMIT = 100
SIGNING = "lazop"
"""The signing scheme of every operation: HMAC-SHA256 over the path and sorted parameters."""

_READ_RATE, _WRITE_RATE, _BURST = 10.0, 5.0, 5  # [U] Lazada publishes no per-API figure


def _op(name: str, method: str, path: str, rate: float, **options: Any) -> Operation:
    """An operation signed with Lazada's scheme (``lazop``) on every attempt."""
    return Operation.declare(
        name, method, path, rate=rate, burst=_BURST, signing=SIGNING, **options
    )


LAZADA_OPERATIONS: dict[str, Operation] = {
    op.name: op
    for op in (
        _op(
            PRICE,
            "POST",
            "/product/price_quantity/update",
            _WRITE_RATE,
            side_effect=SideEffect.REVERSIBLE,
            idempotent=True,  # absolute values per SKU: a replay converges
        ),
        _op("product_item_get", "GET", "/product/item/get", _READ_RATE),
        _op("orders_get", "GET", "/orders/get", _READ_RATE),
        _op("order_get", "GET", "/order/get", _READ_RATE),
        _op("order_items_get", "GET", "/order/items/get", _READ_RATE),
        _op(
            PACK,
            "POST",
            "/order/fulfill/pack",
            _WRITE_RATE,
            side_effect=SideEffect.IRREVERSIBLE,
            idempotent=False,  # creates packages: a lost answer is read back, never resent
        ),
        _op(
            RTS,
            "POST",
            "/order/package/rts",
            _WRITE_RATE,
            side_effect=SideEffect.IRREVERSIBLE,
            idempotent=False,
        ),
        _op("seller_get", "GET", "/seller/get", _READ_RATE),
    )
}

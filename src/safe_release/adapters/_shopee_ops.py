"""The Shopee Open Platform v2 operations safe_release supports, with their hosts and limits.

Shop APIs are signed with the shop's access token (scheme ``"shop"``), Public
APIs (the auth calls) with the partner key alone (``"public"``). Shopee
publishes no rate for the product, order or logistics APIs; the pacing below is
our own [U] (a field report saw about 100 requests a second hold for a partner,
200 not): well under that per shop, writes slower than reads. ``limits=``
overrides it.
"""

from __future__ import annotations

from typing import Any

from safe_release._effects import SideEffect
from safe_release.adapters._operation import Operation

__all__ = [
    "ENDPOINTS",
    "MAX_DETAIL",
    "MAX_MODELS",
    "MAX_PAGE",
    "MAX_WINDOW_S",
    "PUBLIC",
    "PUBLIC_PATHS",
    "SHOP",
    "SHOPEE_OPERATIONS",
]

ENDPOINTS = {
    "production": "https://partner.shopeemobile.com",
    "production-cn": "https://openplatform.shopee.cn",
    "production-br": "https://openplatform.shopee.com.br",
    "sandbox": "https://openplatform.sandbox.test-stable.shopee.sg",
    "sandbox-cn": "https://openplatform.sandbox.test-stable.shopee.cn",
}
"""Hosts per environment. The legacy ``partner.test-stable.shopeemobile.com`` host is
left out on purpose: it answers ``error_sign`` to correctly signed requests [3P]."""

SHOP, PUBLIC = "shop", "public"
MAX_MODELS = 50
"""Models per update_price / update_stock call (one item per call)."""
MAX_DETAIL = 50
"""Order numbers per get_order_detail call."""
MAX_PAGE = 100
"""get_order_list's largest page."""
MAX_WINDOW_S = 15 * 86_400
"""get_order_list's widest time range: 15 days."""

_READ, _WRITE = (10.0, 20), (5.0, 10)  # [U] Shopee publishes no numbers


def _op(name: str, method: str, path: str, *, signing: str = SHOP, **options: Any) -> Operation:
    """An operation paced at our own rate, signed with ``signing``."""
    rate, burst = _WRITE if method == "POST" else _READ
    return Operation.declare(
        name, method, path, rate=rate, burst=burst, signing=signing, **options
    )


_V2 = "/api/v2"

SHOPEE_OPERATIONS: dict[str, Operation] = {
    op.name: op
    for op in (
        _op(
            "update_price",
            "POST",
            f"{_V2}/product/update_price",
            side_effect=SideEffect.REVERSIBLE,
            idempotent=True,  # absolute prices per model: a replay converges
        ),
        _op(
            "update_stock",
            "POST",
            f"{_V2}/product/update_stock",
            side_effect=SideEffect.REVERSIBLE,
            idempotent=True,  # absolute stock per model
        ),
        _op("get_item_base_info", "GET", f"{_V2}/product/get_item_base_info"),  # [U] spec D
        _op("get_model_list", "GET", f"{_V2}/product/get_model_list"),  # [U] spec D
        _op("get_order_list", "GET", f"{_V2}/order/get_order_list"),
        _op("get_order_detail", "GET", f"{_V2}/order/get_order_detail"),
        _op("get_shipping_parameter", "GET", f"{_V2}/logistics/get_shipping_parameter"),
        _op(
            "ship_order",
            "POST",
            f"{_V2}/logistics/ship_order",
            side_effect=SideEffect.IRREVERSIBLE,
            idempotent=False,  # a lost answer is reconciled from get_order_detail
        ),
        _op("get_tracking_number", "GET", f"{_V2}/logistics/get_tracking_number"),
        _op("get_shop_info", "GET", f"{_V2}/shop/get_shop_info"),
    )
}

PUBLIC_PATHS = {
    "auth_partner": f"{_V2}/shop/auth_partner",
    "token_get": f"{_V2}/auth/token/get",
    "access_token_get": f"{_V2}/auth/access_token/get",
}
"""The Public APIs: signed with the partner key alone, called outside the paced core."""

"""The operations `FakeShopee` serves: method, path, signing kind, whether it writes.

Written from ../shared/reference/shopee/WIRE.md (sections 2, 3, 4 and 6) apart
from the adapter's own table, so that a wrong path in `safe_release.adapters`
fails against the fake instead of being served back to it;
tests/test_fake_shopee.py pins this table to WIRE.md. ``get_shop_info``,
``get_item_base_info`` and ``get_model_list`` are named by WIRE.md but their
answers are not described there [U].
"""

from __future__ import annotations

from typing import NamedTuple

from safe_release.testing._routing import Router, check_known

__all__ = ["PUBLIC", "ROUTES", "SHOP", "Route", "check_operation", "route"]

SHOP = "shop"
PUBLIC = "public"


class Route(NamedTuple):
    """One operation: how it is called, how it is signed, whether it changes state."""

    name: str
    method: str
    path: str
    kind: str
    write: bool = False


ROUTES: dict[str, Route] = {
    route.name: route
    for route in (
        # 4.1 - 4.3: the public (partner-signed) auth calls.
        Route("auth_partner", "GET", "/api/v2/shop/auth_partner", PUBLIC),
        Route("token_get", "POST", "/api/v2/auth/token/get", PUBLIC, write=True),
        Route("access_token_get", "POST", "/api/v2/auth/access_token/get", PUBLIC, write=True),
        # 3 (the signing example); its answer is not in WIRE.md [U].
        Route("get_shop_info", "GET", "/api/v2/shop/get_shop_info", SHOP),
        # 6.1, 6.2
        Route("update_price", "POST", "/api/v2/product/update_price", SHOP, write=True),
        Route("update_stock", "POST", "/api/v2/product/update_stock", SHOP, write=True),
        # The reads of old values (issue 16 spec D) [U].
        Route("get_item_base_info", "GET", "/api/v2/product/get_item_base_info", SHOP),
        Route("get_model_list", "GET", "/api/v2/product/get_model_list", SHOP),
        # 6.3, 6.4
        Route("get_order_list", "GET", "/api/v2/order/get_order_list", SHOP),
        Route("get_order_detail", "GET", "/api/v2/order/get_order_detail", SHOP),
        # 6.5
        Route("get_shipping_parameter", "GET", "/api/v2/logistics/get_shipping_parameter", SHOP),
        Route("ship_order", "POST", "/api/v2/logistics/ship_order", SHOP, write=True),
        Route("get_tracking_number", "GET", "/api/v2/logistics/get_tracking_number", SHOP),
    )
}
"""Operation name -> route, for every operation the fake answers."""

route = Router(ROUTES.values())
"""(operation, path parameters, path known) for a request line; see `Router`."""


def check_operation(operation: str) -> str:
    """``operation`` if the fake serves it, else UnknownOperationError."""
    return check_known(operation, ROUTES, fake="FakeShopee", marketplace="shopee")

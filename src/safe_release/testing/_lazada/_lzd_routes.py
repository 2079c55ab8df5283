"""The operations `FakeLazada` serves: name, HTTP methods, API path, host, write, QPS.

Written from ../shared/reference/lazada/WIRE.md (sections 1, 4 and 6) apart from
the adapter's own table, so that a wrong path in `safe_release.adapters` fails
against the fake instead of being served back to it; tests/test_fake_lazada.py
pins this table to WIRE.md. ``/order/get``, ``/product/item/get`` and
``/seller/get`` are beyond WIRE.md's scope [U]. The per-second ceilings are not
published per API: the figures here are the fake's defaults [U]
(``FakeLazada.set_qps`` changes them).
"""

from __future__ import annotations

from typing import NamedTuple

from safe_release.testing._routing import check_known

__all__ = [
    "AUTH_OPERATIONS",
    "ROUTES",
    "Route",
    "check_operation",
    "operation_for",
]


class Route(NamedTuple):
    """One operation: its API path (after ``/rest``), methods, host, and default QPS."""

    name: str
    path: str
    methods: tuple[str, ...]
    host: str  # "api" (the seller's country) or "auth" (auth.lazada.com)
    write: bool
    qps: int


_GET, _POST, _BOTH = ("GET",), ("POST",), ("GET", "POST")

ROUTES: dict[str, Route] = {
    route.name: route
    for route in (
        Route("token_create", "/auth/token/create", _BOTH, "auth", write=True, qps=10),
        Route("token_refresh", "/auth/token/refresh", _BOTH, "auth", write=True, qps=10),
        Route(
            "price_quantity_update",
            "/product/price_quantity/update",
            _POST,
            "api",
            write=True,
            qps=20,
        ),
        Route("product_item_get", "/product/item/get", _GET, "api", write=False, qps=20),
        Route("orders_get", "/orders/get", _GET, "api", write=False, qps=20),
        Route("order_get", "/order/get", _GET, "api", write=False, qps=20),
        Route("order_items_get", "/order/items/get", _GET, "api", write=False, qps=20),
        Route("fulfill_pack", "/order/fulfill/pack", _POST, "api", write=True, qps=10),
        Route("package_rts", "/order/package/rts", _POST, "api", write=True, qps=10),
        Route("seller_get", "/seller/get", _GET, "api", write=False, qps=20),
    )
}
"""Operation name -> route, for every operation the fake answers."""

AUTH_OPERATIONS = frozenset({"token_create", "token_refresh"})
"""The token calls: no ``access_token``, fields at the top level of the answer."""

_BY_PATH = {route.path: route for route in ROUTES.values()}


def operation_for(method: str, raw_path: str) -> tuple[str | None, str | None]:
    """(operation, API path) of a request line; operation None when the method is wrong.

    The path is ``/rest`` followed by the API path (the ``/rest`` prefix may be part
    of the base URL the client was given). Both are None for an unknown path.
    """
    path = raw_path.split("?", 1)[0].rstrip("/")
    api_path = path.removeprefix("/rest") or "/"
    route = _BY_PATH.get(api_path)
    if route is None:
        return None, None
    return (route.name if method.upper() in route.methods else None), api_path


def check_operation(operation: str) -> str:
    """``operation`` if the fake serves it, else UnknownOperationError."""
    return check_known(operation, ROUTES, fake="FakeLazada", marketplace="lazada")

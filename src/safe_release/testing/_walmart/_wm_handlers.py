"""Routing: which operation a method and path name, and the handler for each operation."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import unquote

from safe_release.testing._walmart import _wm_feeds, _wm_items, _wm_orders
from safe_release.testing._walmart._wm_routes import ROUTES, TOKEN_OPERATION

if TYPE_CHECKING:
    from collections.abc import Callable

    from safe_release.testing._walmart._wm_request import Reply, WmRequest
    from safe_release.testing._walmart._wm_state import WalmartState

__all__ = ["HANDLERS", "route"]

HANDLERS: dict[str, Callable[[WalmartState, WmRequest], Reply]] = {
    "updatePrice": _wm_items.update_price,
    "getItem": _wm_items.get_item,
    "getInventory": _wm_items.get_inventory,
    "updateInventory": _wm_items.update_inventory,
    "getOrders": _wm_orders.get_orders,
    "getReleasedOrders": _wm_orders.get_released_orders,
    "getOrder": _wm_orders.get_order,
    "acknowledgeOrder": _wm_orders.acknowledge_order,
    "shipOrder": _wm_orders.ship_order,
    "submitFeed": _wm_feeds.submit_feed,
    "getFeedStatus": _wm_feeds.get_feed_status,
    "listFeeds": _wm_feeds.list_feeds,
}
"""Operation -> handler; ``token`` and ``tokenDetail`` are answered by the gateway."""
GATEWAY_OPERATIONS = frozenset({TOKEN_OPERATION, "tokenDetail"})

_TEMPLATES = [
    (route.name, route.method, route.path.strip("/").split("/")) for route in ROUTES.values()
]


def _match(template: list[str], segments: list[str]) -> dict[str, str] | None:
    if len(template) != len(segments):
        return None
    params: dict[str, str] = {}
    for pattern, segment in zip(template, segments, strict=True):
        if pattern.startswith("{") and pattern.endswith("}"):
            if not segment:
                return None
            params[pattern[1:-1]] = unquote(segment)
        elif pattern != segment:
            return None
    return params


def route(method: str, raw_path: str) -> tuple[str | None, dict[str, str], bool]:
    """(operation, path parameters, path known) for a request line.

    ``path known`` with no operation means the path exists but not for ``method``.
    Fixed paths win over templates (``/v3/orders/released`` is not an order id).
    """
    segments = raw_path.split("?", 1)[0].strip("/").split("/")
    path_known = False
    for name, op_method, template in _TEMPLATES:
        params = _match(template, segments)
        if params is None:
            continue
        if params and any(_match(t, segments) == {} for n, _, t in _TEMPLATES if n != name):
            continue
        path_known = True
        if op_method == method:
            return name, params, True
    return None, {}, path_known

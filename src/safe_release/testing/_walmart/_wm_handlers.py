"""Routing: which operation a method and path name, and the handler for each operation."""

from __future__ import annotations

from typing import TYPE_CHECKING

from safe_release.testing._routing import Router
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

route = Router(ROUTES.values(), fixed_paths_win=True)
"""(operation, path parameters, path known) for a request line; see `Router`."""

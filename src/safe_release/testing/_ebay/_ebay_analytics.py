"""Developer Analytics API v1_beta: getRateLimits and getUserRateLimits."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from safe_release.testing._ebay import _ebay_errors as e
from safe_release.testing._ebay._ebay_quotas import DAY
from safe_release.testing._ebay._ebay_request import EbayRequest, Reply
from safe_release.testing._ebay._ebay_routes import RESOURCES

if TYPE_CHECKING:
    from safe_release.testing._ebay._ebay_state import EbayState

__all__ = ["get_rate_limits", "get_user_rate_limits"]


def _report(request: EbayRequest, names: list[str], user: str | None) -> Reply:
    """``{"rateLimits": [...]}`` for ``names`` after the filters, or 204 when empty."""
    context, api = request.query.get("api_context"), request.query.get("api_name")
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for name in names:
        resource = RESOURCES[name]
        if context not in {None, resource.api_context} or api not in {None, resource.api_name}:
            continue
        budget = request.quotas.budget(name, request.client_id, user, request.now)
        rate = {
            "count": budget.count,
            "limit": budget.limit,
            "remaining": max(0, budget.limit - budget.count),
            "reset": e.iso(budget.reset),
            "timeWindow": int(DAY),
        }
        key = (resource.api_context, resource.api_name, resource.api_version)
        groups.setdefault(key, []).append({"name": name, "rates": [rate]})
    if not groups:
        return Reply(204)
    limits = [
        {"apiContext": c, "apiName": n, "apiVersion": v, "resources": resources}
        for (c, n, v), resources in groups.items()
    ]
    return Reply(200, {"rateLimits": limits})


def get_rate_limits(state: EbayState, request: EbayRequest) -> Reply:
    """The app's daily budgets (an application token)."""
    del state
    return _report(request, list(RESOURCES), None)


def get_user_rate_limits(state: EbayState, request: EbayRequest) -> Reply:
    """The user's own daily budgets (those set with ``set_daily_limit(..., user=)``)."""
    del state
    user = request.user_id or ""
    return _report(request, request.quotas.user_resources(user), user)

"""The request pipeline: edge faults, token, scope, daily quota, then the handler.

Order of checks, as a caller sees them: a 502 HTML page (``garbage_next``), an
outage (503 HTML or the API's 500), 401 1001 / 403 1100 for the token or its
scopes, 429 2001 (throttle storm, then the daily quotas), the API's 500
(``error_rate``), 500 25025 (``concurrent_access_next``), 415 for a write that is
not JSON, then the operation's own 4xx/2xx. Auth failures, storms and refused
calls are not counted against the daily quotas; everything after is. An
``ambiguous_next`` fault marks a 2xx answer lost after the handler ran.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import httpx

from safe_release.testing._ebay import _ebay_analytics, _ebay_fulfillment, _ebay_inventory
from safe_release.testing._ebay import _ebay_errors as e
from safe_release.testing._ebay._ebay_request import EbayRequest, Reply
from safe_release.testing._ebay._ebay_routes import ROUTES, TOKEN_OPERATION, TOKEN_PATH, match
from safe_release.testing._gateway_core import CallDraft, parse_json

if TYPE_CHECKING:
    from collections.abc import Callable

    from safe_release.testing._amazon import Call
    from safe_release.testing._ebay._ebay_faults import FakeEbayFaults
    from safe_release.testing._ebay._ebay_oauth import AccessToken, OAuthServer
    from safe_release.testing._ebay._ebay_quotas import DailyQuotas
    from safe_release.testing._ebay._ebay_routes import Route
    from safe_release.testing._ebay._ebay_state import EbayState

__all__ = ["HANDLERS", "Gateway"]

HANDLERS: dict[str, Callable[[EbayState, EbayRequest], Reply]] = {
    "getOffers": _ebay_inventory.get_offers,
    "getOffer": _ebay_inventory.get_offer,
    "bulkUpdatePriceQuantity": _ebay_inventory.bulk_update_price_quantity,
    "getOrders": _ebay_fulfillment.get_orders,
    "getOrder": _ebay_fulfillment.get_order,
    "createShippingFulfillment": _ebay_fulfillment.create_shipping_fulfillment,
    "getShippingFulfillments": _ebay_fulfillment.get_shipping_fulfillments,
    "getShippingFulfillment": _ebay_fulfillment.get_shipping_fulfillment,
    "getRateLimits": _ebay_analytics.get_rate_limits,
    "getUserRateLimits": _ebay_analytics.get_user_rate_limits,
}
_OK_LOW, _OK_HIGH = 200, 300
_INVENTORY_PREFIX = "/sell/inventory/v1/"


class Gateway:
    """Answers one request at a time; `FakeEbay` holds the lock around `handle`."""

    def __init__(
        self, state: EbayState, quotas: DailyQuotas, oauth: OAuthServer, faults: FakeEbayFaults
    ) -> None:
        self.state, self.quotas, self.oauth, self.faults = state, quotas, oauth, faults

    def handle(self, request: httpx.Request, now: float) -> tuple[httpx.Response, Call]:
        """The response and its call record (``call.lost``: drop the response)."""
        if request.url.path.rstrip("/") == TOKEN_PATH:
            return self._token(request, now)
        operation, params, known = match(request.method, request.url.raw_path.decode())
        body, parsed = parse_json(request.content)
        query = {key: ",".join(request.url.params.get_list(key)) for key in request.url.params}
        draft = CallDraft(
            operation or "unknown", request.method, request.url.path, query, body, now
        )
        if operation is None:
            reject = e.method_not_allowed() if known else e.not_found_route()
            return self._error(request, draft, reject), draft.freeze()
        if self.faults.take("garbage", operation):
            draft.status = 502
            return _response(request, 502, e.GARBAGE_HTML, "text/html"), draft.freeze()
        outage = self.faults.outage_at(now)
        if outage is False:
            draft.status = 503
            return _response(request, 503, e.OUTAGE_HTML, "text/html"), draft.freeze()
        try:
            reply = self._run(
                ROUTES[operation], params, request, draft, parsed=parsed, outage=outage
            )
        except e.Reject as reject:
            return self._error(request, draft, reject), draft.freeze()
        draft.status, draft.applied = reply.status, reply.applied
        draft.lost = _OK_LOW <= reply.status < _OK_HIGH and self.faults.take(
            "ambiguous", operation
        )
        content = b"" if reply.body is None else json.dumps(reply.body).encode()
        response = _response(request, reply.status, content, "application/json", reply.headers)
        return response, draft.freeze()

    def _run(
        self,
        route: Route,
        params: dict[str, str],
        request: httpx.Request,
        draft: CallDraft,
        *,
        parsed: bool,
        outage: bool | None,
    ) -> Reply:
        if outage:
            raise e.system_error(route.domain)
        token = self._authorize(route, request, draft)
        if self.faults.roll_storm() or not self.quotas.take(
            route.resource, token.client_id, token.user_id, draft.at
        ):
            raise e.too_many_requests()
        if self.faults.roll_error():
            raise e.system_error(route.domain)
        if self.faults.take("concurrent", route.name):
            raise e.concurrent_access()
        if route.write:
            kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
            if kind != "application/json":
                raise e.unsupported_media(route.domain)
            if not parsed or draft.json is None:
                error_id = 25002 if route.domain == e.INVENTORY else 32600
                raise e.bad(error_id, route.domain, "The request body is not valid JSON.")
        url = request.url
        ebay_request = EbayRequest(
            route.name,
            params,
            draft.query,
            url.query.decode(),
            draft.json,
            token.user_id,
            token.client_id,
            draft.at,
            f"{url.scheme}://{url.netloc.decode()}",
            self.quotas,
        )
        return HANDLERS[route.name](self.state, ebay_request)

    def _authorize(self, route: Route, request: httpx.Request, draft: CallDraft) -> AccessToken:
        """The request's live token with a scope for ``route``, else 401 1001 / 403 1100."""
        token = self.oauth.check(
            request.headers.get("authorization"), now=draft.at, generation=self.faults.revocations
        )
        if token is None:
            if request.url.path.startswith(_INVENTORY_PREFIX):
                raise e.access_denied()
            raise e.invalid_token()
        draft.seller_id, draft.client_id = token.user_id, token.client_id
        if route.caller not in {"any", token.kind} or not route.scopes & token.scopes:
            raise e.access_denied()
        return token

    def _error(self, request: httpx.Request, draft: CallDraft, reject: e.Reject) -> httpx.Response:
        draft.status = reject.status
        content = json.dumps(reject.body()).encode()
        return _response(request, reject.status, content, "application/json")

    def _token(self, request: httpx.Request, now: float) -> tuple[httpx.Response, Call]:
        draft = CallDraft(TOKEN_OPERATION, request.method, request.url.path, {}, None, now)
        if request.method != "POST":
            status, content = 405, e.oauth_body("invalid_request", "Use POST.")
        elif self.faults.token_endpoint_throttled:
            status, content = 429, json.dumps(e.too_many_requests().body()).encode()
        else:
            answer = self.oauth.exchange(
                request.headers.get("authorization"),
                request.headers.get("content-type", ""),
                request.content,
                now=now,
                generation=self.faults.revocations,
            )
            status, content = answer.status, answer.content
            draft.client_id, draft.seller_id = answer.client_id or None, answer.user_id
        draft.status = status
        return _response(request, status, content, "application/json"), draft.freeze()


def _response(
    request: httpx.Request,
    status: int,
    content: bytes,
    content_type: str,
    extra: dict[str, str] | None = None,
) -> httpx.Response:
    """eBay's answer: no rate-limit headers, ever (WIRE.md 5)."""
    headers = dict(extra or {})
    if content:
        headers["content-type"] = content_type
    return httpx.Response(status, headers=headers, content=content, request=request)

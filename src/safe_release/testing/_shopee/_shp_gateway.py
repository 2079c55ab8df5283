"""The request pipeline: gateway faults, common parameters, signature, token, throttle, handler.

Order of checks, as a caller sees them: a 502 HTML page (``garbage_next``), a 503
with an empty body (outage: the gateway was not reached), ``error_param`` for a
missing or unknown ``partner_id``, a missing ``timestamp``, ``sign`` or (Shop
APIs) ``access_token``; ``error_shop`` for a missing or unknown ``shop_id``;
``error_param`` "Invalid timestamp" more than 300 s from the fake clock;
``error_sign`` "Wrong sign."; the token (``error_auth`` "Invalid access_token.",
or ``invalid_acceess_token`` once expired); throttling (``error_server`` or
``error_system_busy``, "Too many requests..."); ``error_server`` 500
(``error_rate``); then the operation's own answer. ``ambiguous_next`` drops a
success; ``hollow_next`` empties it.

HTTP status (WIRE.md 5 says only "200 or 4xx"; the split is the fake's [U]):
parameter and signature errors 400, token errors 403, unknown paths 404, a
throttled call 200 (or ``faults.throttle_status``), and the operations' own
errors 200. Every answer carries a ``Date`` header on the fake clock.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

import httpx

from safe_release.testing._gateway_core import CallDraft, parse_json
from safe_release.testing._shopee import _shp_orders, _shp_product
from safe_release.testing._shopee._shp_request import Reply, ShpRequest
from safe_release.testing._shopee._shp_routes import PUBLIC, ROUTES, route
from safe_release.testing._shopee._shp_wire import (
    GARBAGE_HTML,
    Reject,
    base_string,
    envelope,
    json_response,
    signature,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from safe_release.testing._amazon import Call
    from safe_release.testing._shopee._shp_auth import ShopeeTokens
    from safe_release.testing._shopee._shp_faults import FakeShopeeFaults
    from safe_release.testing._shopee._shp_limits import RateLimits
    from safe_release.testing._shopee._shp_state import ShopeeState

__all__ = ["GATEWAY_OPERATIONS", "HANDLERS", "TIMESTAMP_WINDOW", "Gateway"]

TIMESTAMP_WINDOW = 300.0
THROTTLED = "Too many requests, please try again later."
AUTH_DAYS = 365

HANDLERS: dict[str, Callable[[ShopeeState, ShpRequest], Reply]] = {
    "update_price": _shp_product.update_price,
    "update_stock": _shp_product.update_stock,
    "get_item_base_info": _shp_product.get_item_base_info,
    "get_model_list": _shp_product.get_model_list,
    "get_order_list": _shp_orders.get_order_list,
    "get_order_detail": _shp_orders.get_order_detail,
    "get_shipping_parameter": _shp_orders.get_shipping_parameter,
    "ship_order": _shp_orders.ship_order,
    "get_tracking_number": _shp_orders.get_tracking_number,
}
"""Operation -> handler; the public calls and ``get_shop_info`` are the gateway's."""
GATEWAY_OPERATIONS = frozenset({"auth_partner", "token_get", "access_token_get", "get_shop_info"})


class _Outage(Exception):  # noqa: N818 - control flow: answer 503 with no body
    pass


def _param(message: str) -> Reject:
    return Reject("error_param", message, status=400)


def _masked(query: dict[str, str]) -> dict[str, str]:
    return {k: ("***" if k == "access_token" and v else v) for k, v in query.items()}


class Gateway:
    """Answers one request at a time; `FakeShopee` holds the lock around `handle`."""

    def __init__(
        self,
        state: ShopeeState,
        tokens: ShopeeTokens,
        limits: RateLimits,
        faults: FakeShopeeFaults,
    ) -> None:
        self.state, self.tokens, self.limits, self.faults = state, tokens, limits, faults

    def handle(self, request: httpx.Request, now: float) -> tuple[httpx.Response, Call]:
        """The response and its call record (``call.lost``: drop the response)."""
        operation, _, known = route(request.method, request.url.raw_path.decode())
        query = dict(parse_qsl(request.url.query.decode(), keep_blank_values=True))
        draft = CallDraft(
            operation or "unknown", request.method, request.url.path, _masked(query), None, now
        )
        request_id = self.state.ids.hex()
        if operation is None:
            reject = (
                Reject("error_param", "The method is not allowed.", status=405)
                if known
                else Reject("error_not_found", "Wrong path.", status=404)
            )
            return self._error(request, request_id, reject, draft), draft.freeze()
        if self.faults.take("garbage", operation):
            draft.status = 502
            response = httpx.Response(
                502, headers={"content-type": "text/html"}, content=GARBAGE_HTML, request=request
            )
            return response, draft.freeze()
        try:
            reply = self._run(operation, request, query, draft)
        except _Outage:
            draft.status = 503
            return httpx.Response(503, content=b"", request=request), draft.freeze()
        except Reject as reject:
            return self._error(request, request_id, reject, draft), draft.freeze()
        draft.applied = reply.applied
        draft.lost = self.faults.take("ambiguous", operation)
        if reply.redirect is not None:
            draft.status = 302
            headers = {"location": reply.redirect}
            return httpx.Response(302, headers=headers, request=request), draft.freeze()
        draft.status = 200
        if self.faults.take("hollow", operation):
            document = envelope(request_id)
        else:
            document = envelope(
                request_id, response=reply.response, warning=reply.warning, top=reply.top
            )
        return json_response(request, 200, document, now), draft.freeze()

    def _error(
        self, request: httpx.Request, request_id: str, reject: Reject, draft: CallDraft
    ) -> httpx.Response:
        draft.status = reject.status
        document = envelope(request_id, error=reject.error, message=reject.message)
        return json_response(request, reject.status, document, draft.at)

    # -- the pipeline --------------------------------------------------------------

    def _run(
        self, operation: str, request: httpx.Request, query: dict[str, str], draft: CallDraft
    ) -> Reply:
        if self.faults.in_outage(draft.at):
            raise _Outage
        shop_api = ROUTES[operation].kind != PUBLIC
        self._common(query, shop_api=shop_api)
        self._signed(request.url.path, query, draft.at, shop_api=shop_api)
        draft.client_id = str(self.tokens.partner_id)
        body: Any = None
        if request.method == "POST":
            body, parsed = parse_json(request.content, decimals=True)
            if not parsed:
                raise _param("Wrong parameters, detail: the body is not valid JSON.")
        if shop_api:
            shop_id = int(query["shop_id"])
            self.tokens.check(
                query["access_token"],
                shop_id,
                draft.at,
                generation=self.faults.revocations,
                expired_error=self.faults.expired_token_error,
            )
            if ROUTES[operation].write:
                draft.json = body
        else:
            shop = body.get("shop_id") if isinstance(body, dict) else None
            shop_id = shop if isinstance(shop, int) and not isinstance(shop, bool) else 0
        draft.seller_id = str(shop_id)
        self._throttle(operation, shop_id, draft.at, public=not shop_api)
        if self.faults.roll_error():
            raise Reject("error_server", "Something wrong. Please try later.", status=500)
        if operation in GATEWAY_OPERATIONS:
            return self._own(operation, query, body, shop_id, draft.at)
        self.state.failing = self.faults.failing_models
        return HANDLERS[operation](
            self.state, ShpRequest(operation, shop_id, query, body, draft.at)
        )

    def _own(
        self, operation: str, query: dict[str, str], body: Any, shop_id: int, now: float
    ) -> Reply:
        """The operations the gateway answers itself: consent, tokens, shop info."""
        generation = self.faults.revocations
        if operation == "auth_partner":
            return self._consent(query, now)
        if operation == "token_get":
            fields, shop_id = self.tokens.exchange_code(body, now, generation=generation)
            shop = self.state.shops[shop_id]
            shop.auth_time, shop.expire_time = now, now + AUTH_DAYS * 86400.0
            return Reply(top=fields, applied=True)
        if operation == "access_token_get":
            fields, _ = self.tokens.refresh(body, now, generation=generation)
            return Reply(top=fields, applied=True)
        return self._shop_info(shop_id)

    def _common(self, query: dict[str, str], *, shop_api: bool) -> None:
        if query.get("partner_id", "") != str(self.tokens.partner_id):
            raise _param("Invalid partner_id.")
        if not query.get("timestamp"):
            raise _param("no timestamp")
        if not query.get("sign"):
            raise _param("There is no sign in query.")
        if not shop_api:
            return
        if not query.get("access_token"):
            raise _param("There is no access_token in query.")
        raw = query.get("shop_id", "")
        if not raw.isdigit() or int(raw) not in self.state.shops:
            raise Reject("error_shop", "shopid is invalid", status=403)

    def _signed(self, path: str, query: dict[str, str], now: float, *, shop_api: bool) -> None:
        raw = query["timestamp"]
        if not raw.isdigit() or abs(int(raw) - now) > TIMESTAMP_WINDOW:
            raise _param("Invalid timestamp")
        extra = (query["access_token"], query["shop_id"]) if shop_api else ("", "")
        base = base_string(query["partner_id"], path, raw, *extra)
        expected = signature(self.tokens.partner_key, base)
        if not secrets.compare_digest(expected, query["sign"]) or (
            self.faults.reject_valid_signatures
        ):
            raise Reject("error_sign", "Wrong sign.", status=400)

    def _throttle(self, operation: str, shop_id: int, now: float, *, public: bool) -> None:
        throttled = (
            (public and operation != "auth_partner" and self.faults.token_endpoint_throttled)
            or self.faults.roll_storm()
            or not self.limits.take(self.tokens.partner_id, shop_id, operation, now)
        )
        if throttled:
            raise Reject(self.faults.throttle_error, THROTTLED, status=self.faults.throttle_status)

    def _consent(self, query: dict[str, str], now: float) -> Reply:
        redirect = query.get("redirect", "")
        if not redirect:
            raise _param("Wrong parameters, detail: redirect is required.")
        shop_id = self.state.consent_shop
        shop = self.state.shops[shop_id]
        shop.auth_time, shop.expire_time = now, now + AUTH_DAYS * 86400.0
        code = self.tokens.new_code(shop_id, now)
        joiner = "&" if "?" in redirect else "?"
        return Reply(redirect=redirect + joiner + urlencode({"code": code, "shop_id": shop_id}))

    def _shop_info(self, shop_id: int) -> Reply:
        shop = self.state.shops[shop_id]
        top = {
            "shop_name": shop.name,
            "region": shop.region,
            "status": "NORMAL",
            "is_cb": False,
            "is_cnsc": False,
            "auth_time": int(shop.auth_time),
            "expire_time": int(shop.expire_time),
        }
        return Reply(top=top)

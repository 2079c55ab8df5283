"""The request pipeline: gateway faults, headers, auth, scope, bucket, then the handler.

Order of checks, as a caller sees them: a 502 HTML page (``garbage_next``), a 503
without a body (outage: the gateway was not reached), 400 MISSING_REQUEST_HEADER,
401 for the token, 403 for the scope, 429 (throttle storm, then the bucket), 500
(``error_rate``), then the operation's own 4xx/2xx. ``downstream_timeout_next``
turns a 2xx answer (a write is applied) into a 504; ``ambiguous_next`` drops it.

Every answer after the token check carries the bucket's ``x-current-token-count``
and ``x-next-replenish-time`` (epoch ms); answers before it cannot be attributed to
a seller and carry neither.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import httpx

from safe_release.testing._gateway_core import CallDraft, parse_json
from safe_release.testing._walmart import _wm_feeds
from safe_release.testing._walmart._wm_auth import TOKEN_LIFETIME
from safe_release.testing._walmart._wm_handlers import HANDLERS, route
from safe_release.testing._walmart._wm_request import Reply, WmRequest
from safe_release.testing._walmart._wm_routes import ROUTES, TOKEN_OPERATION
from safe_release.testing._walmart._wm_wire import (
    FEED_NS,
    GARBAGE_HTML,
    GATEWAY,
    INVENTORY,
    ORDER,
    PRICE,
    Reject,
    epoch_ms,
    error_document,
    render,
)

if TYPE_CHECKING:
    from safe_release.testing._amazon import Call
    from safe_release.testing._walmart._wm_auth import AccessToken, TokenServer
    from safe_release.testing._walmart._wm_buckets import ServerBuckets
    from safe_release.testing._walmart._wm_faults import FakeWalmartFaults
    from safe_release.testing._walmart._wm_state import WalmartState

__all__ = ["ACCESS_HEADER", "REQUIRED_HEADERS", "Gateway"]

ACCESS_HEADER = "WM_SEC.ACCESS_TOKEN"
REQUIRED_HEADERS = ("WM_QOS.CORRELATION_ID", "WM_SVC.NAME")
_JSON_BODIES = {"updatePrice": PRICE, "updateInventory": INVENTORY, "shipOrder": ORDER}
_FULL = "full_access"


@dataclass
class _Draft(CallDraft):
    """A call being answered, with the bucket it spends from."""

    bucket: str | None = None


class Gateway:
    """Answers one request at a time; `FakeWalmart` holds the lock around `handle`."""

    def __init__(
        self,
        state: WalmartState,
        buckets: ServerBuckets,
        tokens: TokenServer,
        faults: FakeWalmartFaults,
    ) -> None:
        self.state, self.buckets, self.tokens, self.faults = state, buckets, tokens, faults
        self._answers = 0

    def handle(self, request: httpx.Request, now: float) -> tuple[httpx.Response, Call]:
        """The response and its call record (``call.lost``: drop the response)."""
        self.state.settle(now)
        raw_path = request.url.raw_path.decode()
        operation, params, known = route(request.method, raw_path)
        query = dict(parse_qsl(request.url.query.decode(), keep_blank_values=True))
        draft = _Draft(operation or "unknown", request.method, request.url.path, query, None, now)
        xml = "application/json" not in request.headers.get("accept", "").lower()
        if operation is None:
            status, code = (405, "METHOD_NOT_ALLOWED") if known else (404, "URI_NOT_FOUND")
            reject = Reject(status, code + GATEWAY, f"No resource {request.url.path}.")
            return self._error(request, draft, reject, xml=xml), draft.freeze()
        if self.faults.take("garbage", operation):
            draft.status = 502
            response = self._response(request, 502, GARBAGE_HTML, "text/html", draft)
            return response, draft.freeze()
        xml = xml or self.faults.take("xml", operation)
        try:
            reply = self._run(operation, params, request, draft)
        except Reject as reject:
            return self._error(request, draft, reject, xml=xml), draft.freeze()
        draft.status, draft.applied = reply.status, reply.applied
        if self.faults.take("timeout", operation):
            timeout = Reject(504, "DOWNSTREAM_SYSTEM_TIME_OUT" + GATEWAY, "Downstream timed out.")
            return self._error(request, draft, timeout, xml=xml), draft.freeze()
        draft.lost = self.faults.take("ambiguous", operation)
        body = reply.xml_body if xml and reply.xml_body is not None else reply.body
        content, kind = render(body, root=reply.root, xml=xml, namespace=reply.namespace)
        return self._response(request, reply.status, content, kind, draft), draft.freeze()

    def _run(
        self, operation: str, params: dict[str, str], request: httpx.Request, draft: _Draft
    ) -> Reply:
        if self.faults.in_outage(draft.at):
            raise Reject(503, "", "", bare=True)
        for name in REQUIRED_HEADERS:
            if not request.headers.get(name):
                msg = f"Required header {name} is missing."
                raise Reject(400, "MISSING_REQUEST_HEADER" + GATEWAY, msg, field=name)
        if operation == TOKEN_OPERATION:
            return self._token(request, draft)
        token = self.tokens.check(
            request.headers.get(ACCESS_HEADER), now=draft.at, generation=self.faults.revocations
        )
        draft.seller_id, draft.client_id = token.seller_id, token.client_id
        self._scope(operation, token.seller_id)
        draft.bucket = (
            _wm_feeds.feed_bucket(draft.query) if operation == "submitFeed" else operation
        )
        self._spend(draft, token.seller_id)
        if self.faults.roll_error():
            raise Reject(500, "SYSTEM_ERROR" + GATEWAY, "System encountered some internal error.")
        if operation == "tokenDetail":
            return _detail(token, self.state.scopes.get(token.seller_id, {}))
        return HANDLERS[operation](self.state, self._request(operation, params, request, draft))

    def _request(
        self, operation: str, params: dict[str, str], request: httpx.Request, draft: _Draft
    ) -> WmRequest:
        content_type = request.headers.get("content-type", "")
        body: Any = None
        if operation in _JSON_BODIES:
            body, parsed = parse_json(request.content, decimals=True)
            if not parsed:
                msg = "The request body is not valid JSON."
                raise Reject(400, "MALFORMED_REQUEST_CONTENT" + _JSON_BODIES[operation], msg)
            draft.json = body
        elif operation == "submitFeed":
            file = _wm_feeds.read_file(content_type, request.content)
            feed_type = draft.query["feedType"]
            draft.json = {"feedType": feed_type, "file": _wm_feeds.parsed_file(feed_type, file)}
        if operation == "getFeedStatus" and "@" in request.url.raw_path.decode():
            msg = "The feedId's @ must be percent-encoded as %40."
            raise Reject(400, "INVALID_REQUEST_PARAM" + GATEWAY, msg, field="feedId")
        self.state.failing_skus = self.faults.failing_skus
        return WmRequest(
            operation,
            params,
            draft.query,
            body,
            request.content,
            content_type,
            draft.seller_id or "",
            draft.at,
        )

    def _scope(self, operation: str, seller_id: str) -> None:
        route_ = ROUTES[operation]
        if route_.scope is None:
            return
        level = self.state.scopes.get(seller_id, {}).get(route_.scope, _FULL)
        if level == "no_access" or (level != _FULL and route_.write):
            msg = f"The token has {level} to the {route_.scope} API."
            raise Reject(403, "FORBIDDEN" + GATEWAY, msg, field="FORBIDDEN")

    def _spend(self, draft: _Draft, seller_id: str) -> None:
        bucket = draft.bucket or draft.operation
        if self.faults.roll_storm() or not self.buckets.take(bucket, seller_id, draft.at):
            msg = "Too many requests: the bucket for this API is empty."
            raise Reject(429, "REQUEST_THRESHOLD_VIOLATED" + GATEWAY, msg)

    def _token(self, request: httpx.Request, draft: _Draft) -> Reply:
        if self.faults.token_endpoint_throttled:
            msg = "Too many token requests."
            raise Reject(429, "REQUEST_THRESHOLD_VIOLATED" + GATEWAY, msg)
        document, client_id = self.tokens.exchange(
            request.headers.get("authorization"),
            request.content,
            now=draft.at,
            generation=self.faults.revocations,
        )
        draft.client_id, draft.seller_id = client_id, self.tokens.apps[client_id][1]
        draft.bucket = TOKEN_OPERATION
        self._spend(draft, draft.seller_id)
        return _token_reply(document)

    def _error(
        self, request: httpx.Request, draft: _Draft, reject: Reject, *, xml: bool
    ) -> httpx.Response:
        draft.status = reject.status
        if reject.bare:
            return self._response(request, reject.status, b"", "", draft)
        document = error_document(reject, single=self.faults.single_error_object)
        content, kind = render(document, root="errors", xml=xml, namespace=FEED_NS)
        return self._response(request, reject.status, content, kind, draft)

    def _response(
        self, request: httpx.Request, status: int, content: bytes, kind: str, draft: _Draft
    ) -> httpx.Response:
        headers: dict[str, str] = {}
        correlation = request.headers.get(REQUIRED_HEADERS[0])
        if correlation:
            headers[REQUIRED_HEADERS[0]] = correlation
        if content:
            headers["content-type"] = kind
        if draft.bucket is not None and draft.seller_id is not None and status != 503:  # noqa: PLR2004
            headers.update(self._hints(draft.bucket, draft.seller_id, draft.at))
        return httpx.Response(status, headers=headers, content=content, request=request)

    def _hints(self, bucket: str, seller_id: str, now: float) -> dict[str, str]:
        count, at = self.buckets.hint(bucket, seller_id, now)
        if not self.faults.garbage_replenish_headers:
            return {
                "x-current-token-count": str(count),
                "x-next-replenish-time": str(epoch_ms(at)),
            }
        self._answers += 1
        turn = self._answers % 3
        if turn == 1:
            return {}
        if turn == 2:  # noqa: PLR2004
            return {"x-current-token-count": "plenty", "x-next-replenish-time": "soon"}
        return {"x-current-token-count": "-5", "x-next-replenish-time": str(-epoch_ms(at))}


def _token_reply(document: dict[str, object]) -> Reply:
    """The token document; its XML form is ``OAuthTokenDTO`` with camelCase children."""
    camel = {
        "".join(w.title() if i else w for i, w in enumerate(k.split("_"))): v
        for k, v in document.items()
    }
    return Reply(200, document, "OAuthTokenDTO", None, xml_body=camel)


def _detail(token: AccessToken, scopes: dict[str, str]) -> Reply:
    full = dict.fromkeys(("item", "price", "inventory", "orders", "feeds", "reports"), _FULL)
    document = {
        "expire_at": str(epoch_ms(token.issued + TOKEN_LIFETIME)),
        "issued_at": str(epoch_ms(token.issued)),
        "is_valid": True,
        "is_channel_match": True,
        "scopes": {**full, **scopes},
    }
    return Reply(200, document, "TokenDetailResponse", None)

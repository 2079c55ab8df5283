"""The request pipeline: gateway faults, auth, quota, then the operation's handler.

Order of checks, as a caller sees them: a 502 HTML page (``garbage_next``), a 503
outage, a 403 for the token, a 429 (throttle storm, then the bucket), a 500
(``error_rate``), then the operation's own 400/404/2xx. An ``ambiguous_next``
fault marks the answer lost after the handler ran.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

import httpx

from safe_release.testing._amazon import _bodies as b
from safe_release.testing._amazon._handlers import HANDLERS, route
from safe_release.testing._amazon._request import Reply, SpRequest
from safe_release.testing._amazon._routes import ROUTES
from safe_release.testing._gateway_core import CallDraft, parse_json

if TYPE_CHECKING:
    from safe_release.testing._amazon._auth import LwaServer
    from safe_release.testing._amazon._buckets import ServerBuckets
    from safe_release.testing._amazon._faults import FakeAmazonFaults
    from safe_release.testing._amazon._state import AmazonState
    from safe_release.testing._amazon._values import Call

__all__ = ["LWA_OPERATION", "TOKEN_PATH", "Gateway"]

TOKEN_PATH = "/auth/o2/token"  # noqa: S105 - a path, not a password
LWA_OPERATION = "lwa.token"
_TOKEN_HEADER = "x-amz-access-token"  # noqa: S105 - a header name
_HINT_STATUSES = frozenset({400, 404})
_OK_LOW, _OK_HIGH = 200, 300


@dataclass
class _Draft(CallDraft):
    """A call being answered, with its operation's rate for the answer's header."""

    rate: float | None = field(default=None, repr=False)


class Gateway:
    """Answers one request at a time; `FakeAmazon` holds the lock around `handle`."""

    def __init__(
        self,
        state: AmazonState,
        buckets: ServerBuckets,
        lwa: LwaServer,
        faults: FakeAmazonFaults,
    ) -> None:
        self.state, self.buckets, self.lwa, self.faults = state, buckets, lwa, faults

    def handle(self, request: httpx.Request, now: float) -> tuple[httpx.Response, Call]:
        """The response and its call record (``call.lost``: drop the response)."""
        if request.url.path == TOKEN_PATH:
            return self._token(request, now)
        operation, params, known = route(request.method, request.url.raw_path.decode())
        body, parsed = parse_json(request.content)
        params_in = request.url.params  # a repeated key is a list: join it as SP-API does
        query = {key: ",".join(params_in.get_list(key)) for key in params_in}
        draft = _Draft(operation or "unknown", request.method, request.url.path, query, body, now)
        if operation is None:
            status, code = (405, "MethodNotAllowed") if known else (404, "NotFound")
            reject = b.Reject(status, code, "The requested resource was not found.")
            return self._error(request, draft, reject), draft.freeze()
        draft.rate = self.buckets.limit(operation).rate
        if self.faults.take_garbage(operation):
            draft.status = 502
            return self._response(
                request, 502, b.GARBAGE_HTML, content_type="text/html"
            ), draft.freeze()
        try:
            reply = self._run(operation, params, request, draft, parsed=parsed)
        except b.Reject as reject:
            return self._error(request, draft, reject), draft.freeze()
        draft.status, draft.applied = reply.status, reply.applied
        draft.lost = self.faults.take_ambiguous(operation)
        content = b"" if reply.body is None else json.dumps(reply.body).encode()
        return self._response(request, reply.status, content, rate=draft.rate), draft.freeze()

    def _run(
        self,
        operation: str,
        params: dict[str, str],
        request: httpx.Request,
        draft: _Draft,
        *,
        parsed: bool,
    ) -> Reply:
        if self.faults.in_outage(draft.at):
            raise b.unavailable()
        token = self.lwa.check(
            request.headers.get(_TOKEN_HEADER), now=draft.at, generation=self.faults.revocations
        )
        draft.seller_id, draft.client_id = token.seller_id, token.client_id
        if self.faults.roll_storm() or not self.buckets.take(
            operation, token.seller_id, token.client_id, draft.at
        ):
            raise b.quota_exceeded()
        if self.faults.roll_error():
            raise b.internal_failure()
        if len(request.content) > ROUTES[operation].max_body_bytes:
            raise b.Reject(413, "RequestEntityTooLarge", "The request body is too large.")
        if not parsed:
            raise b.invalid_input("The request body is not valid JSON.")
        sp_request = SpRequest(
            operation, params, draft.query, draft.json, token.seller_id, token.client_id, draft.at
        )
        return HANDLERS[operation](self.state, sp_request)

    def _error(self, request: httpx.Request, draft: _Draft, reject: b.Reject) -> httpx.Response:
        draft.status = reject.status
        content = json.dumps(reject.body()).encode()
        return self._response(request, reject.status, content, rate=draft.rate)

    def _response(
        self,
        request: httpx.Request,
        status: int,
        content: bytes,
        *,
        rate: float | None = None,
        content_type: str = "application/json",
    ) -> httpx.Response:
        headers = {"x-amzn-RequestId": self.state.ids.uuid()}
        if content:
            headers["content-type"] = content_type
        if rate is not None and (_OK_LOW <= status < _OK_HIGH or status in _HINT_STATUSES):
            headers["x-amzn-RateLimit-Limit"] = _decimal(rate)
        return httpx.Response(status, headers=headers, content=content, request=request)

    def _token(self, request: httpx.Request, now: float) -> tuple[httpx.Response, Call]:
        draft = _Draft(LWA_OPERATION, request.method, request.url.path, {}, None, now)
        if request.method != "POST":
            status, content = 405, b.lwa_body("invalid_request", "Use POST.")
        elif self.faults.token_endpoint_throttled:
            status, content = 429, b.lwa_body("slow_down", b.LWA_THROTTLED)
        else:
            status, content, client_id = self.lwa.exchange(
                request.content, now=now, generation=self.faults.revocations
            )
            draft.client_id = client_id or None
        draft.status = status
        return self._response(request, status, content), draft.freeze()


def _decimal(rate: float) -> str:
    """A rate as Amazon writes it: ``0.0167``, ``5.0`` (never ``1e-05``)."""
    text = repr(rate)
    return f"{Decimal(text):f}" if "e" in text else text

"""The request pipeline of `FakeLazada`, from the gateway faults to the operation.

The order of checks: gateway faults, system parameters, app key, signature,
timestamp, token, campaign shutdown, per-second bucket, daily budget, then the
operation.

Every answer that reaches the platform is HTTP 200 with Lazada's envelope and a
``Date`` header from the fake clock (what a client reads to correct its clock).
A ``garbage_next`` call gets a 502 HTML page and an outage a 503 without a body:
those never reached the platform.
"""

from __future__ import annotations

import math
import secrets
from collections import Counter
from email.parser import BytesParser
from email.policy import HTTP
from email.utils import formatdate
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import httpx

from safe_release.testing._gateway_core import CallDraft
from safe_release.testing._lazada import _lzd_catalog, _lzd_orders
from safe_release.testing._lazada._lzd_request import LzdRequest, Reply
from safe_release.testing._lazada._lzd_routes import AUTH_OPERATIONS, ROUTES, operation_for
from safe_release.testing._lazada._lzd_sign import TIMESTAMP_WINDOW, parse_timestamp, signature
from safe_release.testing._lazada._lzd_wire import (
    GARBAGE_HTML,
    LzdError,
    ban_message,
    missing,
    render,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from safe_release.testing._amazon import Call
    from safe_release.testing._lazada._lzd_auth import App, TokenServer
    from safe_release.testing._lazada._lzd_faults import FakeLazadaFaults
    from safe_release.testing._lazada._lzd_state import LazadaState

__all__ = ["SECRET_PARAMS", "Gateway", "Quotas"]

SECRET_PARAMS = frozenset({"access_token", "refresh_token", "code"})
"""Parameters the call log masks."""
_MASK = "<redacted>"
_SYSTEM = ("app_key", "timestamp", "sign_method", "sign")
_DAY = 86400.0

HANDLERS: dict[str, Callable[[LazadaState, LzdRequest], Reply]] = {
    "price_quantity_update": _lzd_catalog.price_quantity_update,
    "product_item_get": _lzd_catalog.item_get,
    "orders_get": _lzd_orders.orders_get,
    "order_get": _lzd_orders.order_get,
    "order_items_get": _lzd_orders.order_items_get,
    "fulfill_pack": _lzd_orders.fulfill_pack,
    "package_rts": _lzd_orders.package_rts,
}
"""Operation -> handler; the token calls and ``seller_get`` are answered by the gateway."""


class Quotas:
    """Per-(app, API) per-second ceilings with bans, and the app's daily budget."""

    def __init__(self, daily_budget: int) -> None:
        self.qps = {name: route.qps for name, route in ROUTES.items()}
        self.daily_budget = daily_budget
        self._second: dict[tuple[str, str], tuple[int, int]] = {}  # -> (second, calls)
        self._banned: dict[tuple[str, str], float] = {}
        self._day: dict[str, tuple[int, int]] = {}  # app -> (day, calls)

    def spend(self, app_key: str, operation: str, now: float, ban_seconds: int) -> int | None:
        """None if the call may go on; else the ban (seconds) its ``ApiCallLimit`` announces."""
        key = (app_key, operation)
        if now < self._banned.get(key, -math.inf):
            return ban_seconds
        second = math.floor(now)
        seen, calls = self._second.get(key, (second, 0))
        calls = calls if seen == second else 0
        if calls >= self.qps[operation]:
            self._banned[key] = now + ban_seconds
            return ban_seconds
        day = math.floor(now / _DAY)
        seen_day, used = self._day.get(app_key, (day, 0))
        used = used if seen_day == day else 0
        if used >= self.daily_budget:
            return max(1, math.ceil((day + 1) * _DAY - now))
        self._second[key] = (second, calls + 1)
        self._day[app_key] = (day, used + 1)
        return None

    def used_today(self, app_key: str, now: float) -> int:
        """Calls the app made on the current UTC day (fake clock)."""
        day, used = self._day.get(app_key, (-1, 0))
        return used if day == math.floor(now / _DAY) else 0


class Gateway:
    """Answers one request at a time; `FakeLazada` holds the lock around `handle`."""

    def __init__(
        self,
        state: LazadaState,
        tokens: TokenServer,
        quotas: Quotas,
        faults: FakeLazadaFaults,
    ) -> None:
        self.state, self.tokens, self.quotas, self.faults = state, tokens, quotas, faults
        self.codes: Counter[str] = Counter()
        """How many answers carried each envelope ``code`` ("0", "ApiCallLimit", ...)."""

    def handle(self, request: httpx.Request, now: float) -> tuple[httpx.Response, Call]:
        """The response and its call record (``call.lost``: drop the response)."""
        operation, api_path = operation_for(request.method, request.url.raw_path.decode())
        name = operation or "unknown"
        params = _params(request)
        masked = {k: (_MASK if k in SECRET_PARAMS else v) for k, v in params.items()}
        draft = CallDraft(name, request.method, request.url.path, masked, None, now)
        if operation is not None and self.faults.take("garbage", name):
            draft.status = 502
            headers = {"content-type": "text/html"}
            return httpx.Response(502, headers=headers, content=GARBAGE_HTML), draft.freeze()
        if self.faults.in_outage(now):
            draft.status = 503
            return httpx.Response(503), draft.freeze()
        draft.status = 200
        try:
            reply = self._run(operation, api_path, params, draft)
        except LzdError as error:
            self.codes[error.code] += 1
            return self._answer(error.document(self.state.ids.request_id()), now), draft.freeze()
        self.codes["0"] += 1
        draft.applied, draft.json = reply.applied, reply.logged
        draft.lost = self.faults.take("ambiguous", name)
        document = {**reply.document, "request_id": self.state.ids.request_id()}
        return self._answer(document, now), draft.freeze()

    def _answer(self, document: dict[str, Any], now: float) -> httpx.Response:
        headers = {
            "content-type": "application/json;charset=UTF-8",
            "date": formatdate(now, usegmt=True),
        }
        return httpx.Response(200, headers=headers, content=render(document))

    def _run(
        self,
        operation: str | None,
        api_path: str | None,
        params: dict[str, str],
        draft: CallDraft,
    ) -> Reply:
        if api_path is None:
            raise LzdError("InvalidApiPath", "The specified API path is invalid")
        if operation is None:
            msg = f"{draft.method} is not allowed for {api_path}"
            raise LzdError("InvalidMethod", msg)
        app = self._verify(api_path, params, draft)
        if operation in AUTH_OPERATIONS:
            return self._token(operation, params, draft)
        token = params.get("access_token", "")
        if token == "":
            raise missing("access_token")
        grant = self.tokens.check(
            token, app.app_key, now=draft.at, generation=self.faults.revocations
        )
        draft.seller_id = grant.seller_id
        if self.faults.shut_down(operation, draft.at):
            raise LzdError(
                "998", "To ensure stability of service, this API service is disabled", kind="ISP"
            )
        self._spend(app.app_key, operation, draft.at, storm=self.faults.roll_storm())
        if self.faults.roll_error():
            raise LzdError("6", "E006: Unexpected internal error", kind="ISP")
        return self._business(operation, params, draft)

    def _verify(self, api_path: str, params: dict[str, str], draft: CallDraft) -> App:
        """The app a request comes from, after its system parameters, signature and timestamp."""
        for name in _SYSTEM:
            if params.get(name, "") == "":
                raise missing(name)
        app = self.tokens.apps.get(params["app_key"])
        if app is None:
            raise LzdError("InvalidAppKey", "The specified app key is invalid")
        draft.client_id = app.app_key
        expected = signature(app.secret, api_path, params)
        if (
            params["sign_method"] != "sha256"
            or not secrets.compare_digest(expected.encode(), params["sign"].encode())
            or self.faults.take_signature_rejection()
        ):
            raise LzdError(
                "IncompleteSignature", "The request signature does not conform to lazop standards"
            )
        sent = parse_timestamp(params["timestamp"])
        if sent is None or abs(sent - draft.at) > TIMESTAMP_WINDOW:
            # Not in WIRE.md: the code and text are the fake's own [U].
            raise LzdError("InvalidTimestamp", "The request timestamp is invalid or expired")
        return app

    def _business(self, operation: str, params: dict[str, str], draft: CallDraft) -> Reply:
        timeout, apply = self.faults.roll_timeout(operation)
        if timeout and not apply:
            raise _service_timeout()
        request = LzdRequest(operation, params, draft.at, self.faults)
        if operation == "seller_get":
            return Reply({"code": "0", "data": self._seller()})
        reply = HANDLERS[operation](self.state, request)
        if timeout or self.faults.take("timeout", operation):
            draft.applied, draft.json = reply.applied, reply.logged
            raise _service_timeout()
        return reply

    def _spend(self, app_key: str, operation: str, now: float, *, storm: bool) -> None:
        ban = self.faults.ban_seconds if storm else None
        if ban is None:
            ban = self.quotas.spend(app_key, operation, now, self.faults.ban_seconds)
        if ban is not None:
            text = self.faults.ban_text
            raise LzdError("ApiCallLimit", ban_message(ban if text is None else text))

    def _token(self, operation: str, params: dict[str, str], draft: CallDraft) -> Reply:
        app_key = params["app_key"]
        if self.faults.token_endpoint_throttled:
            raise LzdError("ApiCallLimit", ban_message(self.faults.ban_seconds))
        self._spend(app_key, operation, draft.at, storm=False)
        generation = self.faults.revocations
        if operation == "token_create":
            seller_id, fields = self.tokens.create(
                params.get("code") or _raise(missing("code")),
                app_key,
                now=draft.at,
                generation=generation,
            )
            list_name = "country_user_info"
        else:
            seller_id, fields = self.tokens.refresh(
                params.get("refresh_token") or _raise(missing("refresh_token")),
                app_key,
                now=draft.at,
                generation=generation,
            )
            list_name = "country_user_info_list"
        draft.seller_id, draft.applied = seller_id, True
        if self.faults.numbers_as_strings:
            fields = {k: (str(v) if isinstance(v, int) else v) for k, v in fields.items()}
        country = self.state.country
        document = {
            "code": "0",
            **fields,
            "account_platform": "seller_center",
            "account": f"seller-{seller_id}@example.com",
            "account_id": "",
            "country": country,
            list_name: [
                {
                    "country": country,
                    "seller_id": seller_id,
                    "user_id": "1" + seller_id,
                    "short_code": country.upper() + seller_id[-4:],
                }
            ],
        }
        return Reply(document, applied=True)

    def _seller(self) -> dict[str, object]:
        seller_id, country = self.state.seller_id, self.state.country
        return {
            "name": "Demo Seller",
            "name_company": "Demo Seller Pte Ltd",
            "seller_id": seller_id,
            "short_code": country.upper() + seller_id[-4:],
            "email": f"seller-{seller_id}@example.com",
            "location": country.upper(),
            "verified": True,
            "cb": False,
            "status": "ACTIVE",
        }


def _raise(error: LzdError) -> str:
    raise error


def _service_timeout() -> LzdError:
    return LzdError("ServiceTimeout", "The service call timed out", kind="SYSTEM")


def _params(request: httpx.Request) -> dict[str, str]:
    """Query parameters, then a form body's fields (the last value of a name wins).

    In a multipart body the file parts are left out: files are not signed.
    """
    params = dict(parse_qsl(request.url.query.decode(), keep_blank_values=True))
    kind = request.headers.get("content-type", "")
    if request.method == "GET":
        return params
    if kind.lower().startswith("application/x-www-form-urlencoded"):
        body = request.content.decode("utf-8", "replace")
        params.update(parse_qsl(body, keep_blank_values=True))
    elif kind.lower().startswith("multipart/form-data"):
        params.update(_multipart_fields(kind, request.content))
    return params


def _multipart_fields(kind: str, content: bytes) -> dict[str, str]:
    """The non-file fields of a multipart/form-data body."""
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + kind.encode("latin-1") + b"\r\n\r\n" + content
    )
    fields: dict[str, str] = {}
    if not message.is_multipart():
        return fields
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str) or part.get_filename() is not None:
            continue
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            fields[name] = payload.decode("utf-8", "replace")
    return fields

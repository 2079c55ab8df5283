"""WalmartAdapter: the wire (scripted answers through httpx.MockTransport) and end to end.

The first half scripts exact answers (both error-body shapes, HTML and XML pages,
garbage bucket headers, a throttled token endpoint) through a small `Scripted`
transport; the second half runs the adapter against FakeWalmart, inside releases
with a real store. Everything is on a fake clock.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import httpx
import pytest

from safe_release.adapters import RetryPolicy, Secret
from safe_release.adapters._walmart_wire import code_prefix, error_entries, money, multipart
from safe_release.adapters.walmart import ENDPOINTS, Health, WalmartAdapter
from safe_release.exceptions import (
    AmbiguousWriteError,
    InvalidArgumentError,
    MarketplaceAuthError,
    MarketplaceHTTPError,
    MarketplaceResponseError,
    PayloadTooLargeError,
    RateLimitedError,
    TokenRefreshError,
)
from safe_release.testing import FakeClock

CLIENT_ID, CLIENT_SECRET = "demo-client-id", "demo-client-secret"
BASIC = "Basic ZGVtby1jbGllbnQtaWQ6ZGVtby1jbGllbnQtc2VjcmV0"  # WIRE.md §4
TOKEN = "eyJraWQiOi-access"  # noqa: S105 - a made-up token
Answer = httpx.Response | Callable[[httpx.Request], httpx.Response]


def errors_list(code: str, **extra: str) -> dict[str, Any]:
    """The documented flat shape."""
    return {"errors": [{"code": code, "message": "flat message", **extra}]}


def errors_object(code: str, *, single: bool = False) -> dict[str, Any]:
    """The XML-shaped body: ``errors.error`` as a list, or one object."""
    entry = {
        "code": code,
        "field": "sku",
        "description": "described",
        "info": "informed",
        "severity": "ERROR",
        "category": "DATA",
        "causes": [],
        "errorIdentifiers": {"entry": []},
    }
    return {"errors": {"error": entry if single else [entry]}}


class Scripted(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Answers from a script per ``(method, path)``; the last answer repeats.

    The token endpoint answers a 900 s token unless scripted otherwise.
    """

    def __init__(self) -> None:
        self.script: dict[tuple[str, str], list[Answer]] = {}
        self.requests: list[httpx.Request] = []

    def on(self, method: str, path: str, *answers: Answer) -> None:
        self.script[(method, path)] = list(answers)

    def sent(self, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path == path]

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        # a copy: the adapter sends the same request object again on a retry
        self.requests.append(
            httpx.Request(
                request.method,
                request.url,
                headers=request.headers.copy(),
                content=request.content,
            )
        )
        answers = self.script.get((request.method, request.url.path))
        if answers is None:
            if request.url.path == "/v3/token":
                body = {"access_token": TOKEN, "token_type": "Bearer", "expires_in": 900}
                return httpx.Response(200, json=body)
            return httpx.Response(404, json=errors_list("CONTENT_NOT_FOUND.GMP_GATEWAY_API"))
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        return answer(request) if callable(answer) else answer

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return self.handle_request(request)


@pytest.fixture(name="scripted")
def fixture_scripted() -> Scripted:
    return Scripted()


@pytest.fixture(name="clock")
def fixture_clock() -> FakeClock:
    return FakeClock()


def make(transport: Any, clock: FakeClock, **options: Any) -> WalmartAdapter:
    """A WalmartAdapter with the demo credentials on ``transport``."""
    return WalmartAdapter(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        base_url="https://walmart.test",
        transport=transport,
        clock=clock,
        **options,
    )


@pytest.fixture(name="wm")
def fixture_wm(scripted: Scripted, clock: FakeClock) -> WalmartAdapter:
    return make(scripted, clock)


def inventory(sku: str, amount: int) -> httpx.Response:
    return httpx.Response(200, json={"sku": sku, "quantity": {"unit": "EACH", "amount": amount}})


ORDER = {
    "purchaseOrderId": "PO-1",
    "orderLines": {
        "orderLine": [
            {
                "lineNumber": "1",
                "orderLineStatuses": {
                    "orderLineStatus": [
                        {
                            "status": "Created",
                            "statusQuantity": {"unitOfMeasurement": "EACH", "amount": "1"},
                        }
                    ]
                },
            }
        ]
    },
}


def order_with(status: str, tracking: str | None = None) -> dict[str, Any]:
    """ORDER with its one line at ``status`` (and a tracking number)."""
    order = json.loads(json.dumps(ORDER))
    entry = order["orderLines"]["orderLine"][0]["orderLineStatuses"]["orderLineStatus"][0]
    entry["status"] = status
    if tracking is not None:
        entry["trackingInfo"] = {"trackingNumber": tracking}
    return order


# -- the wire ------------------------------------------------------------------------------


class TestHeaders:
    def test_every_call_carries_the_walmart_headers(
        self, scripted: Scripted, wm: WalmartAdapter
    ) -> None:
        """Token in WM_SEC.ACCESS_TOKEN, a UUID correlation id, the service name, JSON."""
        scripted.on("GET", "/v3/inventory", inventory("SKU-1", 4))
        assert wm.get_inventory("SKU-1") == 4
        (request,) = scripted.sent("/v3/inventory")
        assert request.headers["WM_SEC.ACCESS_TOKEN"] == TOKEN
        assert uuid.UUID(request.headers["WM_QOS.CORRELATION_ID"])
        assert request.headers["WM_SVC.NAME"] == "Walmart Marketplace"
        assert request.headers["accept"] == "application/json"
        assert "authorization" not in request.headers

    def test_token_request_is_a_basic_client_credentials_grant(
        self, scripted: Scripted, wm: WalmartAdapter
    ) -> None:
        """The token call matches WIRE.md's test vector and carries the Walmart headers."""
        scripted.on("GET", "/v3/inventory", inventory("SKU-1", 4))
        wm.get_inventory("SKU-1")
        (token,) = scripted.sent("/v3/token")
        assert token.method == "POST"
        assert token.headers["authorization"] == BASIC
        assert token.content == b"grant_type=client_credentials"
        assert token.headers["content-type"] == "application/x-www-form-urlencoded"
        assert token.headers["WM_SVC.NAME"] == "Walmart Marketplace"
        assert uuid.UUID(token.headers["WM_QOS.CORRELATION_ID"])

    def test_each_attempt_has_a_fresh_correlation_id(
        self, scripted: Scripted, wm: WalmartAdapter
    ) -> None:
        """A 503 without a body, then success: two attempts, two correlation ids."""
        scripted.on("GET", "/v3/inventory", httpx.Response(503), inventory("SKU-1", 4))
        assert wm.get_inventory("SKU-1") == 4
        ids = [r.headers["WM_QOS.CORRELATION_ID"] for r in scripted.sent("/v3/inventory")]
        assert len(ids) == 2
        assert len(set(ids)) == 2

    def test_one_token_serves_many_calls_until_it_expires(
        self, scripted: Scripted, wm: WalmartAdapter, clock: FakeClock
    ) -> None:
        """A 900 s token is fetched once, then again after it expired."""
        scripted.on("GET", "/v3/inventory", inventory("SKU-1", 4))
        for _ in range(5):
            wm.get_inventory("SKU-1")
        assert len(scripted.sent("/v3/token")) == 1
        clock.advance(901)
        wm.get_inventory("SKU-1")
        assert len(scripted.sent("/v3/token")) == 2

    def test_sku_is_percent_encoded_in_the_query(
        self, scripted: Scripted, wm: WalmartAdapter
    ) -> None:
        """Reserved characters and spaces are escaped (a space as %20, not '+')."""
        sku = "A B/C+D&E#F?G%H"
        scripted.on("GET", "/v3/inventory", inventory(sku, 1))
        wm.get_inventory(sku)
        (request,) = scripted.sent("/v3/inventory")
        assert request.url.raw_path == b"/v3/inventory?sku=A%20B%2FC%2BD%26E%23F%3FG%25H"
        assert request.url.params["sku"] == sku


class TestBucketHeaders:
    @pytest.mark.parametrize(
        ("count", "when", "expected"),
        [
            ("7", "1767225600000", (7.0, 1767225600.0)),
            ("0", "1767225600000", (0.0, 1767225600.0)),
            (None, "1767225600000", None),
            ("7", None, None),
            ("seven", "1767225600000", None),
            ("7", "soon", None),
            ("-1", "1767225600000", None),
            ("nan", "1767225600000", None),
            ("7", "inf", None),
            ("", "", None),
        ],
    )
    def test_replenish_hint_ignores_garbage(
        self, wm: WalmartAdapter, count: str | None, when: str | None, expected: Any
    ) -> None:
        """Only a count >= 0 with a finite epoch-ms time is a hint; anything else: none."""
        headers = {}
        if count is not None:
            headers["x-current-token-count"] = count
        if when is not None:
            headers["x-next-replenish-time"] = when
        assert wm.replenish_hint(httpx.Response(200, headers=headers)) == expected

    def test_the_supplier_spelling_is_read_too(self, wm: WalmartAdapter) -> None:
        """``X-Next-Replenishment-Time`` (Walmart's supplier pages) counts as well."""
        headers = {"X-Current-Token-Count": "3", "X-Next-Replenishment-Time": "1767225600000"}
        assert wm.replenish_hint(httpx.Response(200, headers=headers)) == (3.0, 1767225600.0)

    @pytest.mark.parametrize(
        "headers",
        [
            {"x-current-token-count": "-5", "x-next-replenish-time": "1767225600000"},
            {"x-current-token-count": "lots", "x-next-replenish-time": "<html>"},
            {"x-current-token-count": "3"},
        ],
    )
    def test_garbage_headers_do_not_break_calls(
        self, scripted: Scripted, wm: WalmartAdapter, headers: dict[str, str]
    ) -> None:
        """Calls answered with garbage bucket headers succeed, paced as declared."""
        answer = httpx.Response(200, json={"sku": "S", "quantity": {"amount": 1}}, headers=headers)
        scripted.on("GET", "/v3/inventory", answer)
        for _ in range(3):
            assert wm.get_inventory("S") == 1
        assert len(scripted.sent("/v3/inventory")) == 3

    def test_an_empty_bucket_reported_by_the_headers_slows_the_next_call(
        self, scripted: Scripted, wm: WalmartAdapter, clock: FakeClock
    ) -> None:
        """Zero tokens left until a refill 30 s away: the next call waits for it."""
        refill = int((clock.time() + 30) * 1000)
        headers = {"x-current-token-count": "0", "x-next-replenish-time": str(refill)}
        scripted.on("GET", "/v3/inventory", inventory("S", 1))
        scripted.script[("GET", "/v3/inventory")] = [
            httpx.Response(200, json={"quantity": {"amount": 1}}, headers=headers),
            inventory("S", 1),
        ]
        wm.get_inventory("S")
        started = clock.monotonic()
        wm.get_inventory("S")
        assert clock.monotonic() - started >= 29


class TestErrors:
    @pytest.mark.parametrize(
        "body",
        [
            errors_list("INVALID_REQUEST_PARAM.GMP_ITEM_QUERY_API"),
            errors_object("INVALID_REQUEST_PARAM.GMP_ITEM_QUERY_API"),
            errors_object("INVALID_REQUEST_PARAM.GMP_ITEM_QUERY_API", single=True),
        ],
        ids=["flat-list", "errors.error-list", "errors.error-object"],
    )
    def test_both_error_shapes_give_the_code(
        self, scripted: Scripted, wm: WalmartAdapter, body: dict[str, Any]
    ) -> None:
        """Each shape: MarketplaceHTTPError, code without the service suffix, the text."""
        scripted.on("GET", "/v3/inventory", httpx.Response(400, json=body))
        with pytest.raises(MarketplaceHTTPError) as info:
            wm.get_inventory("S")
        assert type(info.value) is MarketplaceHTTPError
        assert info.value.status == 400
        assert info.value.code == "INVALID_REQUEST_PARAM"
        assert "INVALID_REQUEST_PARAM.GMP_ITEM_QUERY_API" in str(info.value)
        assert uuid.UUID(str(info.value.request_id))  # the correlation id, for Walmart support
        assert len(scripted.sent("/v3/inventory")) == 1  # a 400 is not retried

    def test_code_prefix(self) -> None:
        """The part before the service suffix; no code: None."""
        assert code_prefix("UNAUTHORIZED.GMP_GATEWAY_API") == "UNAUTHORIZED"
        assert code_prefix("SYSTEM_ERROR") == "SYSTEM_ERROR"
        assert code_prefix("") is None
        assert code_prefix(7) is None

    @pytest.mark.parametrize(
        "body",
        [{"errors": "bad"}, {"errors": {"error": "bad"}}, {"errors": [1, None]}, [], None, 3],
    )
    def test_malformed_error_bodies_give_no_entries(self, body: object) -> None:
        """Anything but the two shapes reads as no error entries (never a crash)."""
        assert error_entries(body) == []

    def test_401_refreshes_once_then_succeeds(
        self, scripted: Scripted, wm: WalmartAdapter
    ) -> None:
        """An expired token (401 UNAUTHORIZED.GMP_GATEWAY_API): one new token, one resend."""
        unauthorized = httpx.Response(401, json=errors_object("UNAUTHORIZED.GMP_GATEWAY_API"))
        scripted.on("GET", "/v3/inventory", unauthorized, inventory("S", 2))
        assert wm.get_inventory("S") == 2
        assert len(scripted.sent("/v3/token")) == 2

    def test_401_twice_is_an_auth_error(self, scripted: Scripted, wm: WalmartAdapter) -> None:
        """Refused again after the refresh: MarketplaceAuthError, no token in the message."""
        unauthorized = httpx.Response(401, json=errors_object("UNAUTHORIZED.GMP_GATEWAY_API"))
        scripted.on("GET", "/v3/inventory", unauthorized)
        with pytest.raises(MarketplaceAuthError) as info:
            wm.get_inventory("S")
        assert info.value.code == "UNAUTHORIZED"
        assert len(scripted.sent("/v3/token")) == 2
        assert len(scripted.sent("/v3/inventory")) == 2
        assert TOKEN not in str(info.value)
        assert CLIENT_SECRET not in str(info.value)

    def test_403_no_scope_is_an_auth_error_without_refresh(
        self, scripted: Scripted, wm: WalmartAdapter
    ) -> None:
        """A valid token without the scope: no refresh, MarketplaceAuthError."""
        forbidden = httpx.Response(403, json=errors_object("FORBIDDEN.GMP_GATEWAY_API"))
        scripted.on("GET", "/v3/inventory", forbidden)
        with pytest.raises(MarketplaceAuthError) as info:
            wm.get_inventory("S")
        assert info.value.code == "FORBIDDEN"
        assert len(scripted.sent("/v3/token")) == 1

    def test_429_is_retried_after_the_bucket(self, scripted: Scripted, wm: WalmartAdapter) -> None:
        """REQUEST_THRESHOLD_VIOLATED: not executed, sent again, then success."""
        throttled = httpx.Response(
            429, json=errors_object("REQUEST_THRESHOLD_VIOLATED.GMP_GATEWAY_API")
        )
        scripted.on("GET", "/v3/inventory", throttled, inventory("S", 3))
        assert wm.get_inventory("S") == 3

    def test_429_for_ever_is_rate_limited(self, scripted: Scripted, wm: WalmartAdapter) -> None:
        """Throttled on every attempt: RateLimitedError naming the code."""
        throttled = httpx.Response(
            429, json=errors_object("REQUEST_THRESHOLD_VIOLATED.GMP_GATEWAY_API")
        )
        scripted.on("GET", "/v3/inventory", throttled)
        with pytest.raises(RateLimitedError) as info:
            wm.get_inventory("S")
        assert info.value.code == "REQUEST_THRESHOLD_VIOLATED"

    @pytest.mark.parametrize(
        "first",
        [
            httpx.Response(423, json=errors_object("RESOURCE_IS_LOCKED.GMP_RECEIVER_API")),
            httpx.Response(503),
            httpx.Response(504, json=errors_list("DOWNSTREAM_SYSTEM_TIME_OUT")),
            httpx.Response(500, json=errors_object("SYSTEM_ERROR.GMP_GATEWAY_API")),
        ],
        ids=["423-locked", "503-empty", "504", "500"],
    )
    def test_retry_later_answers_on_a_read_are_retried(
        self, scripted: Scripted, wm: WalmartAdapter, first: httpx.Response
    ) -> None:
        """423, 503 without a body, 504 and 500 on a read: retried, then success."""
        scripted.on("GET", "/v3/inventory", first, inventory("S", 5))
        assert wm.get_inventory("S") == 5

    def test_a_locked_resource_for_ever_says_retry_later(
        self, scripted: Scripted, clock: FakeClock
    ) -> None:
        """423 on every attempt: an HTTP error with the code and the advice."""
        locked = httpx.Response(423, json=errors_object("RESOURCE_IS_LOCKED.GMP_RECEIVER_API"))
        scripted.on("GET", "/v3/inventory", locked)
        with (
            make(scripted, clock, retry=RetryPolicy(max_attempts=2)) as wm,
            pytest.raises(MarketplaceHTTPError) as info,
        ):
            wm.get_inventory("S")
        assert (info.value.status, info.value.code) == (423, "RESOURCE_IS_LOCKED")
        assert "retry later" in str(info.value)

    @pytest.mark.parametrize(
        ("content_type", "content"),
        [
            ("text/html", b"<html><body>Gateway says hi</body></html>"),
            ("application/xml", b'<?xml version="1.0"?><ns2:inventory/>'),
        ],
    )
    def test_html_or_xml_where_json_was_asked_is_a_response_error(
        self, scripted: Scripted, wm: WalmartAdapter, content_type: str, content: bytes
    ) -> None:
        """A 200 in HTML or XML: MarketplaceResponseError, sent once."""
        answer = httpx.Response(200, content=content, headers={"content-type": content_type})
        scripted.on("GET", "/v3/inventory", answer)
        with pytest.raises(MarketplaceResponseError, match=content_type):
            wm.get_inventory("S")
        assert len(scripted.sent("/v3/inventory")) == 1

    def test_an_html_error_page_is_an_http_error_naming_the_content_type(
        self, scripted: Scripted, wm: WalmartAdapter
    ) -> None:
        """A 400 HTML page: MarketplaceHTTPError without a code, the content type named."""
        page = httpx.Response(
            400, content=b"<html>no</html>", headers={"content-type": "text/html"}
        )
        scripted.on("GET", "/v3/inventory", page)
        with pytest.raises(MarketplaceHTTPError, match="text/html") as info:
            wm.get_inventory("S")
        assert info.value.code is None

    @pytest.mark.parametrize(
        "body",
        [
            {"sku": "S"},
            {"quantity": {"amount": "4"}},
            {"quantity": []},
            [1],
            {"quantity": {"amount": True}},
        ],
    )
    def test_json_of_the_wrong_shape_is_a_response_error(
        self, scripted: Scripted, wm: WalmartAdapter, body: object
    ) -> None:
        """A quantity that is not a whole number: MarketplaceResponseError."""
        scripted.on("GET", "/v3/inventory", httpx.Response(200, json=body))
        with pytest.raises(MarketplaceResponseError):
            wm.get_inventory("S")


class TestTokenEndpoint:
    def test_a_throttled_token_endpoint_is_a_token_error_and_nothing_else_is_sent(
        self, scripted: Scripted, wm: WalmartAdapter
    ) -> None:
        """429 from /v3/token: TokenRefreshError saying so; no business call left."""
        throttled = httpx.Response(
            429, json=errors_object("REQUEST_THRESHOLD_VIOLATED.GMP_GATEWAY_API")
        )
        scripted.on("POST", "/v3/token", throttled)
        with pytest.raises(TokenRefreshError, match="throttling") as info:
            wm.get_inventory("S")
        assert scripted.sent("/v3/inventory") == []
        chain: list[BaseException] = [info.value]
        while chain[-1].__cause__ is not None:
            chain.append(chain[-1].__cause__)
        assert len(chain) <= 2  # the provider's error, from ours: nothing that held the secret
        assert all(CLIENT_SECRET not in str(e) and BASIC not in str(e) for e in chain)

    @pytest.mark.parametrize(
        "answer",
        [
            httpx.Response(401, json=errors_object("UNAUTHORIZED.GMP_GATEWAY_API")),
            httpx.Response(200, json={"access_token": "", "expires_in": 900}),
            httpx.Response(200, json={"access_token": "t", "expires_in": "900"}),
            httpx.Response(200, json={"access_token": "t", "expires_in": -1}),
            httpx.Response(200, content=b"<OAuthTokenDTO/>"),
            httpx.Response(200, json=[]),
        ],
        ids=["401", "empty-token", "string-lifetime", "negative-lifetime", "xml", "list"],
    )
    def test_unusable_token_answers_are_token_errors(
        self, scripted: Scripted, wm: WalmartAdapter, answer: httpx.Response
    ) -> None:
        """Refused or malformed grants: TokenRefreshError, the business call never sent."""
        scripted.on("POST", "/v3/token", answer)
        with pytest.raises(TokenRefreshError):
            wm.get_inventory("S")
        assert scripted.sent("/v3/inventory") == []

    def test_no_secret_in_reprs(self, wm: WalmartAdapter) -> None:
        """Neither the adapter's repr nor its token provider's shows the secret."""
        assert CLIENT_SECRET not in repr(wm)
        assert CLIENT_SECRET not in repr(vars(wm))


class TestMoneyAndFeeds:
    @pytest.mark.parametrize("value", ["19.99", "0.01", "1234567.89", "5", "100.10"])
    def test_money_is_the_exact_json_number(self, value: str) -> None:
        """The JSON number written has the Decimal's exact value."""
        assert Decimal(json.dumps(money(Decimal(value)))) == Decimal(value)

    @pytest.mark.parametrize(
        "price",
        [
            Decimal(0),
            Decimal("-1.00"),
            Decimal("19.999"),
            Decimal("NaN"),
            Decimal("Infinity"),
            19.99,
            "19.99",
        ],
    )
    def test_bad_prices_are_refused_before_sending(
        self, scripted: Scripted, wm: WalmartAdapter, price: Any
    ) -> None:
        """Not a positive Decimal of whole cents: InvalidArgumentError, nothing sent."""
        with pytest.raises(InvalidArgumentError):
            wm.update_price("S", price)
        assert scripted.requests == []

    def test_price_body_and_answer(self, scripted: Scripted, wm: WalmartAdapter) -> None:
        """PUT /v3/price with a BASE price as a JSON number; the change names both prices."""
        answer = {"ItemPriceResponse": {"mart": "WALMART_US", "sku": "S", "message": "Thank you."}}
        scripted.on("PUT", "/v3/price", httpx.Response(200, json=answer))
        change = wm.update_price("S", Decimal("19.99"), old=Decimal("24.50"))
        (request,) = scripted.sent("/v3/price")
        assert request.content == (
            b'{"sku":"S","pricing":[{"currentPriceType":"BASE",'
            b'"currentPrice":{"currency":"USD","amount":19.99}}]}'
        )
        assert (change.old, change.new, change.currency) == (
            Decimal("24.50"),
            Decimal("19.99"),
            "USD",
        )

    def test_feed_is_one_multipart_file_part(self) -> None:
        """One part named ``file``; the same feed always encodes to the same bytes."""
        document = {"PriceHeader": {"version": "1.7"}, "Price": []}
        content, content_type = multipart(document)
        assert multipart(document) == (content, content_type)
        boundary = content_type.split("boundary=", 1)[1]
        assert content.startswith(f"--{boundary}\r\n".encode())
        assert b'name="file"' in content
        assert content.endswith(f"--{boundary}--\r\n".encode())

    def test_an_oversized_feed_is_never_sent(self, scripted: Scripted, wm: WalmartAdapter) -> None:
        """A feed over the operation's byte limit: PayloadTooLargeError, nothing sent."""
        op = wm.operation("submitFeed:price")
        big = "X" * (op.max_body_bytes + 1)
        with pytest.raises(PayloadTooLargeError):
            wm.build_request(op, json={"Price": [big]})
        assert scripted.requests == []


class TestOrdersScripted:
    def page(self, ids: list[str], cursor: str | None) -> httpx.Response:
        meta = {"totalCount": 9, "limit": 2, "nextCursor": cursor}
        elements = {"order": [{"purchaseOrderId": i} for i in ids]}
        return httpx.Response(200, json={"list": {"meta": meta, "elements": elements}})

    def test_next_cursor_is_the_next_query(self, scripted: Scripted, wm: WalmartAdapter) -> None:
        """The cursor's query string becomes the next request's query, as is."""
        cursor = "?limit=2&hasMoreElements=true&soIndex=3&poIndex=2&createdStartDate=2026-01-01"
        scripted.on("GET", "/v3/orders", self.page(["1", "2"], cursor), self.page(["3"], None))
        orders = wm.get_orders(created_start="2026-01-01", limit=2)
        assert [o["purchaseOrderId"] for o in orders] == ["1", "2", "3"]
        first, second = scripted.sent("/v3/orders")
        assert dict(first.url.params) == {"createdStartDate": "2026-01-01", "limit": "2"}
        assert dict(second.url.params)["soIndex"] == "3"
        assert dict(second.url.params)["hasMoreElements"] == "true"

    def test_a_repeated_cursor_stops_paging(self, scripted: Scripted, wm: WalmartAdapter) -> None:
        """The same nextCursor twice: MarketplaceResponseError instead of looping."""
        scripted.on("GET", "/v3/orders", self.page(["1"], "?soIndex=1"))
        with pytest.raises(MarketplaceResponseError, match="same nextCursor"):
            wm.get_orders()
        assert len(scripted.sent("/v3/orders")) == 2

    @pytest.mark.parametrize(
        "kwargs",
        [
            {"limit": 201},
            {"limit": 0},
            {"limit": True},
            {"status": "Pending"},
            {"created_start": datetime(2026, 1, 1)},  # noqa: DTZ001 - naive on purpose
            {"created_start": 20260101},
            {"max_pages": 0},
            {"filters": {"shipNodeType": 3}},
        ],
    )
    def test_bad_filters_are_refused(
        self, scripted: Scripted, wm: WalmartAdapter, kwargs: dict[str, Any]
    ) -> None:
        """limit over 200, an unknown status, a naive date …: nothing sent."""
        with pytest.raises(InvalidArgumentError):
            wm.get_orders(**kwargs)
        assert scripted.requests == []

    def test_aware_dates_are_sent_in_utc(self, scripted: Scripted, wm: WalmartAdapter) -> None:
        """An aware datetime goes out as ISO 8601 UTC."""
        scripted.on("GET", "/v3/orders", self.page([], None))
        wm.get_orders(created_start=datetime(2026, 1, 1, 12, tzinfo=timezone.utc))
        (request,) = scripted.sent("/v3/orders")
        assert request.url.params["createdStartDate"] == "2026-01-01T12:00:00.000Z"

    def test_a_504_on_acknowledge_reads_the_order(
        self, scripted: Scripted, wm: WalmartAdapter
    ) -> None:
        """504 DOWNSTREAM_SYSTEM_TIME_OUT; the order's lines are Acknowledged: done, once."""
        timeout = httpx.Response(504, json=errors_list("DOWNSTREAM_SYSTEM_TIME_OUT"))
        scripted.on("POST", "/v3/orders/PO-1/acknowledge", timeout)
        scripted.on(
            "GET",
            "/v3/orders/PO-1",
            httpx.Response(200, json={"order": order_with("Acknowledged")}),
        )
        order = wm.acknowledge_order("PO-1")
        assert order["purchaseOrderId"] == "PO-1"
        assert len(scripted.sent("/v3/orders/PO-1/acknowledge")) == 1

    def test_a_500_on_acknowledge_with_lines_still_created_is_resent(
        self, scripted: Scripted, wm: WalmartAdapter
    ) -> None:
        """500 SYSTEM_ERROR and the lines are still Created: it did not apply, sent again."""
        error = httpx.Response(500, json=errors_object("SYSTEM_ERROR.GMP_GATEWAY_API"))
        done = httpx.Response(200, json={"order": order_with("Acknowledged")})
        scripted.on("POST", "/v3/orders/PO-1/acknowledge", error, done)
        scripted.on("GET", "/v3/orders/PO-1", httpx.Response(200, json={"order": ORDER}))
        wm.acknowledge_order("PO-1")
        assert len(scripted.sent("/v3/orders/PO-1/acknowledge")) == 2

    def test_a_lost_shipment_that_landed_is_not_resent(
        self, scripted: Scripted, wm: WalmartAdapter
    ) -> None:
        """503 on shipping, the line reads Shipped with our tracking number: done, sent once."""
        scripted.on("POST", "/v3/orders/PO-1/shipping", httpx.Response(503))
        shipped = {"order": order_with("Shipped", tracking="1Z999")}
        scripted.on("GET", "/v3/orders/PO-1", httpx.Response(200, json=shipped))
        order = wm.ship_order_lines(
            "PO-1",
            {"1": 1},
            tracking_number="1Z999",
            ship_date=datetime.now(timezone.utc),
            carrier="UPS",
        )
        assert (
            order["orderLines"]["orderLine"][0]["orderLineStatuses"]["orderLineStatus"][0][
                "status"
            ]
            == "Shipped"
        )
        assert len(scripted.sent("/v3/orders/PO-1/shipping")) == 1

    def test_a_lost_shipment_the_order_cannot_confirm_is_ambiguous(
        self, scripted: Scripted, wm: WalmartAdapter
    ) -> None:
        """The order cannot be read: AmbiguousWriteError, the shipment not resent."""
        scripted.on("POST", "/v3/orders/PO-1/shipping", httpx.Response(503))
        scripted.on("GET", "/v3/orders/PO-1", httpx.Response(200, content=b"<html/>"))
        with pytest.raises(AmbiguousWriteError):
            wm.ship_order_lines(
                "PO-1",
                {"1": 1},
                tracking_number="1Z9",
                ship_date=datetime.now(timezone.utc),
                carrier="UPS",
            )
        assert len(scripted.sent("/v3/orders/PO-1/shipping")) == 1

    def test_ship_body_is_epoch_ms_and_strings(
        self, scripted: Scripted, wm: WalmartAdapter
    ) -> None:
        """shipDateTime in epoch ms; line number and quantity as strings; otherCarrier + URL."""
        scripted.on("POST", "/v3/orders/PO-1/shipping", httpx.Response(200, json={"order": ORDER}))
        when = datetime(2025, 3, 2, 9, tzinfo=timezone.utc)
        wm.ship_order_lines(
            "PO-1",
            {"1": 2},
            tracking_number="T-1",
            ship_date=when,
            other_carrier="Local Couriers",
            tracking_url="https://couriers.example/T-1",
            method_code="Express",
        )
        (request,) = scripted.sent("/v3/orders/PO-1/shipping")
        line = json.loads(request.content)["orderShipment"]["orderLines"]["orderLine"][0]
        status = line["orderLineStatuses"]["orderLineStatus"][0]
        assert line["lineNumber"] == "1"
        assert status["statusQuantity"] == {"unitOfMeasurement": "EACH", "amount": "2"}
        assert status["trackingInfo"] == {
            "shipDateTime": 1740906000000,
            "carrierName": {"otherCarrier": "Local Couriers"},
            "methodCode": "Express",
            "trackingNumber": "T-1",
            "trackingURL": "https://couriers.example/T-1",
        }

    @pytest.mark.parametrize(
        "kwargs",
        [
            {"carrier": None},
            {"carrier": "UPS", "other_carrier": "X", "tracking_url": "https://x"},
            {"carrier": None, "other_carrier": "X"},
            {"carrier": None, "other_carrier": "X", "tracking_url": "ftp://x"},
            {"tracking_number": ""},
            {"ship_date": datetime(2026, 1, 1)},  # noqa: DTZ001 - naive on purpose
            {"ship_date": 637449042980494000},  # .NET ticks, as in fillup #81
            {"method_code": "Overnight"},
            {"lines": {}},
            {"lines": {"1": 0}},
            {"lines": {1: 1}},
            {"lines": ["1"]},
        ],
    )
    def test_bad_shipments_are_refused_before_sending(
        self, scripted: Scripted, wm: WalmartAdapter, kwargs: dict[str, Any]
    ) -> None:
        """Carrier xor otherCarrier (+URL), aware dates, known method codes, real lines."""
        args: dict[str, Any] = {
            "lines": {"1": 1},
            "tracking_number": "T",
            "ship_date": datetime.now(timezone.utc),
            "carrier": "UPS",
            **kwargs,
        }
        lines = args.pop("lines")
        with pytest.raises(InvalidArgumentError):
            wm.ship_order_lines("PO-1", lines, **args)
        assert scripted.requests == []


class TestConstruction:
    def test_environments(self, clock: FakeClock) -> None:
        """production and sandbox pick Walmart's hosts; anything else is refused."""
        assert ENDPOINTS["sandbox"] == "https://sandbox.walmartapis.com"
        with WalmartAdapter(
            client_id=CLIENT_ID, client_secret=CLIENT_SECRET, environment="sandbox", clock=clock
        ) as wm:
            assert str(wm._client.base_url).startswith("https://sandbox.walmartapis.com")
        with pytest.raises(InvalidArgumentError):
            WalmartAdapter(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, environment="prod")

    @pytest.mark.parametrize(
        ("client_id", "secret"), [("", "s"), ("id", ""), (None, "s"), ("id", 3)]
    )
    def test_empty_credentials_are_refused(self, client_id: Any, secret: Any) -> None:
        """An empty client id or secret: InvalidArgumentError."""
        with pytest.raises(InvalidArgumentError):
            WalmartAdapter(client_id=client_id, client_secret=secret)

    def test_a_secret_object_is_accepted(self, scripted: Scripted, clock: FakeClock) -> None:
        """client_secret= may be a Secret."""
        with WalmartAdapter(
            client_id=CLIENT_ID,
            client_secret=Secret(CLIENT_SECRET),
            base_url="https://walmart.test",
            transport=scripted,
            clock=clock,
        ) as wm:
            scripted.on("GET", "/v3/inventory", inventory("S", 1))
            assert wm.get_inventory("S") == 1
        assert scripted.sent("/v3/token")[0].headers["authorization"] == BASIC


class TestHealthScripted:
    def test_token_detail(self, scripted: Scripted, wm: WalmartAdapter) -> None:
        """is_valid, expire_at (epoch-ms string) and scopes come from /v3/token/detail."""
        detail = {
            "expire_at": "1560973098000",
            "issued_at": "1560972198000",
            "is_valid": True,
            "is_channel_match": True,
            "scopes": {"item": "full_access", "feeds": "view_only"},
        }
        scripted.on("GET", "/v3/token/detail", httpx.Response(200, json=detail))
        health = wm.health()
        assert health == Health(
            ok=True,
            is_valid=True,
            expire_at=datetime(2019, 6, 19, 19, 38, 18, tzinfo=timezone.utc),
            scopes={"item": "full_access", "feeds": "view_only"},
            detail="ok",
        )

    def test_an_unreachable_probe_is_unhealthy(
        self, scripted: Scripted, wm: WalmartAdapter
    ) -> None:
        """The token endpoint refuses: not ok, the reason in detail."""
        scripted.on("POST", "/v3/token", httpx.Response(401, json=errors_list("UNAUTHORIZED")))
        health = wm.health()
        assert (health.ok, health.is_valid, health.scopes) == (False, False, {})
        assert "401" in health.detail

    def test_async_calls_use_the_same_core(self, scripted: Scripted, wm: WalmartAdapter) -> None:
        """aget_inventory and aupdate_inventory: the same headers, old value captured."""
        scripted.on("GET", "/v3/inventory", inventory("S", 7))
        scripted.on("PUT", "/v3/inventory", inventory("S", 9))

        async def main() -> Any:
            async with wm:
                return await wm.aupdate_inventory("S", 9)

        change = asyncio.run(main())
        assert (change.old, change.new) == (7, 9)
        put = scripted.sent("/v3/inventory")[-1]
        assert put.headers["WM_SVC.NAME"] == "Walmart Marketplace"
        assert json.loads(put.content) == {"sku": "S", "quantity": {"unit": "EACH", "amount": 9}}

"""WalmartAdapter: the wire (scripted answers through httpx.MockTransport) and end to end.

The first half scripts exact answers (both error-body shapes, HTML and XML pages,
garbage bucket headers, a throttled token endpoint) through a small `Scripted`
transport; the second half runs the adapter against FakeWalmart, inside releases
with a real store. Everything is on a fake clock.
"""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import httpx
import pytest

import safe_release as sr
from safe_release._ledger import Journal
from safe_release.adapters import (
    RetryPolicy,
    Secret,
    reset_active_journal,
    set_active_journal,
)
from safe_release.adapters._walmart_wire import (
    code_prefix,
    error_entries,
    money,
    multipart,
)
from safe_release.adapters._walmart_wire import price_payload as wire_price
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
from safe_release.testing import FakeClock, FakeWalmart

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


class TestInventoryScripted:
    def test_a_lost_write_at_a_ship_node_is_read_back_at_that_node(
        self, scripted: Scripted, wm: WalmartAdapter
    ) -> None:
        """503 on the PUT; the node's quantity reads as sent: done, the PUT sent once."""
        scripted.on("GET", "/v3/inventory", inventory("S", 4), inventory("S", 9))
        scripted.on("PUT", "/v3/inventory", httpx.Response(503))
        change = wm.update_inventory("S", 9, ship_node="NODE 1")
        assert (change.old, change.new) == (4, 9)
        assert len([r for r in scripted.sent("/v3/inventory") if r.method == "PUT"]) == 1
        reads = [r for r in scripted.sent("/v3/inventory") if r.method == "GET"]
        assert [r.url.params["shipNode"] for r in reads] == ["NODE 1", "NODE 1"]

    def test_a_lost_write_that_did_not_land_is_sent_again(
        self, scripted: Scripted, wm: WalmartAdapter
    ) -> None:
        """503 on the PUT and the old quantity still there: sent once more."""
        scripted.on("GET", "/v3/inventory", inventory("S", 4))
        scripted.on("PUT", "/v3/inventory", httpx.Response(503), inventory("S", 9))
        wm.update_inventory("S", 9)
        assert len([r for r in scripted.sent("/v3/inventory") if r.method == "PUT"]) == 2


def item(sku: str, price: Any = None, **extra: Any) -> dict[str, Any]:
    """One ``ItemResponse`` entry as Walmart's Items API answers it."""
    entry: dict[str, Any] = {"mart": "WALMART_US", "sku": sku, "wpid": "5RJ2GJ7XSSAM", **extra}
    if price is not None:
        entry["price"] = {"currency": "USD", "amount": price}
    return entry


def items(*entries: dict[str, Any]) -> httpx.Response:
    return httpx.Response(200, json={"ItemResponse": list(entries), "totalItems": len(entries)})


PRICED = {"ItemPriceResponse": {"mart": "WALMART_US", "sku": "S", "message": "Thank you."}}


class TestItemsScripted:
    def test_the_item_is_read_by_sku_in_the_path(
        self, scripted: Scripted, wm: WalmartAdapter
    ) -> None:
        """GET /v3/items/{sku}?productIdType=SKU, the SKU percent-encoded in the path."""
        scripted.on("GET", "/v3/items/A B/1", items(item("A B/1", 19.99)))
        assert wm.get_item("A B/1")["wpid"] == "5RJ2GJ7XSSAM"
        (request,) = scripted.sent("/v3/items/A B/1")
        assert request.url.raw_path == b"/v3/items/A%20B%2F1?productIdType=SKU"
        assert request.headers["WM_SVC.NAME"] == "Walmart Marketplace"

    @pytest.mark.parametrize(
        ("amount", "price"),
        [(19.99, "19.99"), (5, "5"), (5.0, "5.0"), (1234567.89, "1234567.89"), ("0.10", "0.10")],
    )
    def test_the_price_is_the_json_numbers_exact_value(
        self, scripted: Scripted, wm: WalmartAdapter, amount: Any, price: str
    ) -> None:
        """price.amount, a JSON number (or a decimal string), read exactly as a Decimal."""
        scripted.on("GET", "/v3/items/S", items(item("S", amount)))
        got = wm.get_price("S")
        assert got == Decimal(price)
        assert str(got) == price

    @pytest.mark.parametrize(
        "entry",
        [item("S"), {"sku": "S", "price": None}, {"sku": "S", "price": {"currency": "USD"}}],
    )
    def test_an_item_without_a_price_has_none(
        self, scripted: Scripted, wm: WalmartAdapter, entry: dict[str, Any]
    ) -> None:
        """No price, a null price or a price without an amount: None, not an error."""
        scripted.on("GET", "/v3/items/S", items(entry))
        assert wm.get_price("S") is None

    @pytest.mark.parametrize(
        "body",
        [
            {"ItemResponse": [item("OTHER", 1.5)], "totalItems": 1},
            {"ItemResponse": [], "totalItems": 0},
            {"ItemResponse": "S"},
            {"ItemResponse": [item("S", "cheap")]},
            {"ItemResponse": [item("S", -1)]},
            {"ItemResponse": [{"sku": "S", "price": {"currency": "EUR", "amount": 1}}]},
            {"ItemResponse": [{"sku": "S", "price": 19.99}]},
            {"ItemResponse": [True]},
        ],
    )
    def test_a_wrong_answer_is_a_response_error(
        self, scripted: Scripted, wm: WalmartAdapter, body: dict[str, Any]
    ) -> None:
        """Another SKU's entry, none, garbage amounts: MarketplaceResponseError, no guess."""
        scripted.on("GET", "/v3/items/S", httpx.Response(200, json=body))
        with pytest.raises(MarketplaceResponseError):
            wm.get_price("S")

    def test_one_entry_as_an_object_is_read_too(
        self, scripted: Scripted, wm: WalmartAdapter
    ) -> None:
        """``ItemResponse`` as a single object (XML-converted JSON) is the one entry."""
        body = {"ItemResponse": item("S", 3.5), "totalItems": 1}
        scripted.on("GET", "/v3/items/S", httpx.Response(200, json=body))
        assert wm.get_price("S") == Decimal("3.5")

    def test_an_unknown_sku_is_a_404(self, scripted: Scripted, wm: WalmartAdapter) -> None:
        """404 CONTENT_NOT_FOUND.GMP_ITEM_QUERY_API: MarketplaceHTTPError, no price write."""
        body = errors_object("CONTENT_NOT_FOUND.GMP_ITEM_QUERY_API")
        scripted.on("GET", "/v3/items/S", httpx.Response(404, json=body))
        with pytest.raises(MarketplaceHTTPError) as info:
            wm.update_price("S", Decimal("1.00"))
        assert (info.value.status, info.value.code) == (404, "CONTENT_NOT_FOUND")
        assert scripted.sent("/v3/price") == []

    def test_update_price_reads_the_old_price_first(
        self, scripted: Scripted, wm: WalmartAdapter
    ) -> None:
        """Without old=, the item is read, then the PUT; the change carries the price read."""
        scripted.on("GET", "/v3/items/S", items(item("S", 24.5)))
        scripted.on("PUT", "/v3/price", httpx.Response(200, json=PRICED))
        change = wm.update_price("S", Decimal("19.99"))
        assert (change.old, change.new) == (Decimal("24.5"), Decimal("19.99"))
        assert [r.url.path for r in scripted.requests[1:]] == ["/v3/items/S", "/v3/price"]

    def test_old_overrides_the_read(self, scripted: Scripted, wm: WalmartAdapter) -> None:
        """old= given: no read at all, the caller's price is the one replaced."""
        scripted.on("PUT", "/v3/price", httpx.Response(200, json=PRICED))
        change = wm.update_price("S", Decimal("19.99"), old=Decimal("21.00"))
        assert change.old == Decimal("21.00")
        assert scripted.sent("/v3/items/S") == []

    def test_bad_input_is_refused_before_the_read(
        self, scripted: Scripted, wm: WalmartAdapter
    ) -> None:
        """A bad price, old= or currency: InvalidArgumentError, nothing read or sent."""
        for kwargs in (
            {"price": Decimal("1.001")},
            {"price": Decimal(1), "old": Decimal(-1)},
            {"price": Decimal(1), "currency": "EUR"},
        ):
            with pytest.raises(InvalidArgumentError):
                wm.update_price("S", **kwargs)
        with pytest.raises(InvalidArgumentError):
            wm.get_item("")
        with pytest.raises(InvalidArgumentError):
            wm.submit_price_feed({"S": Decimal(1)}, old={"S": Decimal("0.001")})
        with pytest.raises(InvalidArgumentError):
            wm.submit_price_feed({"S": Decimal(1)}, old=["S"])  # type: ignore[arg-type]
        assert scripted.requests == []

    def test_reconcile_reads_the_price_back_exactly(
        self, scripted: Scripted, wm: WalmartAdapter
    ) -> None:
        """A lost price write: applied if the item's price is the one sent, exactly."""
        op = wm.operation("updatePrice")
        request = wm.build_request(op, json=wire_price("S", Decimal("19.99"), "USD"))
        scripted.on("GET", "/v3/items/S", items(item("S", 19.99)))
        answer = wm.reconcile(op, request)
        assert isinstance(answer, httpx.Response)
        assert answer.json()["ItemPriceResponse"]["sku"] == "S"
        scripted.on("GET", "/v3/items/S", items(item("S", 19.98)))
        assert wm.reconcile(op, request) is False
        scripted.on("GET", "/v3/items/S", items(item("S")))
        assert wm.reconcile(op, request) is False
        scripted.on("GET", "/v3/items/S", httpx.Response(500, json=errors_list("SYSTEM_ERROR")))
        assert wm.reconcile(op, request) is None
        garbled = wm.build_request(op, json={"sku": "S", "pricing": []})
        assert wm.reconcile(op, garbled) is None

    def test_a_currency_that_differs_is_not_the_price_sent(
        self, scripted: Scripted, wm: WalmartAdapter
    ) -> None:
        """19.99 CAD is not 19.99 USD."""
        op = wm.operation("updatePrice")
        request = wm.build_request(op, json=wire_price("S", Decimal("19.99"), "USD"))
        entry = {"sku": "S", "price": {"currency": "CAD", "amount": 19.99}}
        scripted.on("GET", "/v3/items/S", items(entry))
        assert wm.reconcile(op, request) is False

    def test_a_price_feed_reads_each_price_unless_given(
        self, scripted: Scripted, wm: WalmartAdapter
    ) -> None:
        """Each SKU not in old= is read; an unknown SKU (404) gets no inverse, not an error."""
        scripted.on("GET", "/v3/items/A", items(item("A", 2.5)))
        body = errors_object("CONTENT_NOT_FOUND.GMP_ITEM_QUERY_API")
        scripted.on("GET", "/v3/items/C", httpx.Response(404, json=body))
        scripted.on("POST", "/v3/feeds", httpx.Response(500, json=errors_list("SYSTEM_ERROR")))
        prices = {"A": Decimal(1), "B": Decimal(2), "C": Decimal(3)}
        with pytest.raises(AmbiguousWriteError):
            wm.submit_price_feed(prices, old={"B": Decimal("9.00")})
        reads = [r.url.path for r in scripted.requests if r.url.path.startswith("/v3/items")]
        assert reads == ["/v3/items/A", "/v3/items/C"]

    def test_a_failed_read_stops_the_feed_before_it_is_sent(
        self, scripted: Scripted, wm: WalmartAdapter
    ) -> None:
        """A read that fails otherwise (403): the error, and no feed posted."""
        body = errors_list("FORBIDDEN.GMP_GATEWAY_API")
        scripted.on("GET", "/v3/items/A", httpx.Response(403, json=body))
        with pytest.raises(MarketplaceAuthError):
            wm.submit_price_feed({"A": Decimal(1)})
        assert scripted.sent("/v3/feeds") == []


class TestFeedsScripted:
    FEED = "FFE538D9B25A4000AD2A067ACEDCF4C4@AUoBAQA"

    def status(self, state: str, items: list[dict[str, Any]] | None = None) -> httpx.Response:
        body: dict[str, Any] = {"feedId": self.FEED, "feedStatus": state, "itemsReceived": 2}
        if items is not None:
            body["itemDetails"] = {"itemIngestionStatus": items}
        return httpx.Response(200, json=body)

    def test_a_feed_answer_without_a_feed_id_is_a_response_error_not_resent(
        self, scripted: Scripted, wm: WalmartAdapter
    ) -> None:
        """200 without feedId: which items applied is unknown; the POST is not repeated."""
        scripted.on("POST", "/v3/feeds", httpx.Response(200, json={"feed": "?"}))
        with pytest.raises(MarketplaceResponseError, match="feedId"):
            wm.submit_price_feed({"S": Decimal("1.00")})
        assert len(scripted.sent("/v3/feeds")) == 1

    def test_feed_is_posted_as_multipart_and_polled_with_details(
        self, scripted: Scripted, wm: WalmartAdapter, clock: FakeClock
    ) -> None:
        """One multipart POST; polls until PROCESSED; details read with %40 in the id."""
        scripted.on("POST", "/v3/feeds", httpx.Response(200, json={"feedId": self.FEED}))
        items = [
            {"sku": "A", "index": 0, "ingestionStatus": "SUCCESS"},
            {
                "sku": "B",
                "index": 1,
                "ingestionStatus": "DATA_ERROR",
                "ingestionErrors": {"ingestionError": {"code": "ERR_1", "description": "bad"}},
            },
        ]
        path = f"/v3/feeds/{self.FEED}"
        scripted.on(
            "GET",
            path,
            self.status("RECEIVED"),
            self.status("INPROGRESS"),
            self.status("PROCESSED", items),
        )
        started = clock.monotonic()
        results = wm.submit_price_feed({"A": Decimal("1.00"), "B": Decimal("2.00")})
        assert [(r.key, r.ok, r.code, r.message) for r in results] == [
            ("sku A price", True, None, ""),
            ("sku B price", False, "ERR_1", "bad"),
        ]
        (post,) = scripted.sent("/v3/feeds")
        assert post.url.params["feedType"] == "price"
        assert post.headers["content-type"].startswith("multipart/form-data; boundary=")
        polls = scripted.sent(path)
        assert all(b"%40" in r.url.raw_path for r in polls)
        assert polls[-1].url.params["includeDetails"] == "true"
        assert clock.monotonic() - started == pytest.approx(5 + 10)  # polled at 5 s, then 10 s

    def test_a_processed_feed_missing_an_item_is_a_response_error(
        self, scripted: Scripted, wm: WalmartAdapter
    ) -> None:
        """PROCESSED but silent about a SKU: MarketplaceResponseError, never a guess."""
        scripted.on("POST", "/v3/feeds", httpx.Response(200, json={"feedId": self.FEED}))
        only_a = [{"sku": "A", "ingestionStatus": "SUCCESS"}]
        scripted.on("GET", f"/v3/feeds/{self.FEED}", self.status("PROCESSED", only_a))
        with pytest.raises(MarketplaceResponseError):
            wm.submit_price_feed({"A": Decimal("1.00"), "B": Decimal("2.00")})

    def test_an_error_feed_fails_every_item(self, scripted: Scripted, wm: WalmartAdapter) -> None:
        """feedStatus ERROR: every item failed, with the feed's ingestion error."""
        scripted.on("POST", "/v3/feeds", httpx.Response(200, json={"feedId": self.FEED}))
        error = {
            "feedId": self.FEED,
            "feedStatus": "ERROR",
            "ingestionErrors": {
                "ingestionError": [
                    {"type": "DATA_ERROR", "code": "ERR_PDI_0001", "description": "unreadable"}
                ]
            },
        }
        scripted.on("GET", f"/v3/feeds/{self.FEED}", httpx.Response(200, json=error))
        results = wm.submit_price_feed({"A": Decimal("1.00"), "B": Decimal("2.00")})
        assert [(r.ok, r.code) for r in results] == [(False, "ERR_PDI_0001")] * 2

    def test_a_lost_feed_answer_is_ambiguous_not_resent(
        self, scripted: Scripted, wm: WalmartAdapter
    ) -> None:
        """A 504 on the POST: a second POST would be a second feed, so it is not sent."""
        scripted.on(
            "POST",
            "/v3/feeds",
            httpx.Response(504, json=errors_list("DOWNSTREAM_SYSTEM_TIME_OUT")),
        )
        scripted.on("GET", "/v3/inventory", inventory("S", 4))
        with pytest.raises(AmbiguousWriteError):
            wm.submit_inventory_feed({"S": 1})
        assert len(scripted.sent("/v3/feeds")) == 1


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
            detail="token valid until 2019-06-19T19:38:18Z; scopes: feeds view_only, "
            "item full_access",
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


# -- end to end against FakeWalmart -----------------------------------------------------------

OLD, NEW = Decimal("19.99"), Decimal("9.99")
SKUS = ("SKU-1", "SKU-2", "SKU-3")
SHIP_DATE = datetime(2026, 1, 1, 9, tzinfo=timezone.utc)


class Boom(Exception):  # noqa: N818 - the job's own error
    """The job failing."""


class Crash(BaseException):
    """A process dying mid-call (not an Exception: nothing catches it on the way up)."""


class Spy(httpx.BaseTransport):
    """The fake's transport, with a hook run after the fake answered each request."""

    def __init__(self, fake: FakeWalmart) -> None:
        self.fake = fake
        self.before: Callable[[httpx.Request], None] = _nothing
        self.after: Callable[[httpx.Request], None] = _nothing

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.before(request)
        response = self.fake.transport.handle_request(request)
        self.after(request)
        return response


def _nothing(request: httpx.Request) -> None:
    del request


@pytest.fixture(name="fake")
def fixture_fake(clock: FakeClock) -> FakeWalmart:
    """FakeWalmart with three items at OLD, quantity 5."""
    fake = FakeWalmart(clock=clock)
    for sku in SKUS:
        fake.add_item(sku, price=OLD, quantity=5)
    return fake


def on_fake(fake: FakeWalmart, clock: FakeClock, **options: Any) -> WalmartAdapter:
    """A WalmartAdapter signed in as the fake's seller."""
    creds = fake.credentials
    options.setdefault("transport", fake.transport)
    return WalmartAdapter(
        client_id=creds.client_id,
        client_secret=creds.client_secret,
        seller_id=creds.seller_id,
        base_url="https://marketplace.walmartapis.test",
        clock=clock,
        **options,
    )


@pytest.fixture(name="walmart")
def fixture_walmart(fake: FakeWalmart, clock: FakeClock) -> Iterator[WalmartAdapter]:
    with on_fake(fake, clock) as adapter:
        yield adapter


def writes(fake: FakeWalmart, operation: str) -> list[Any]:
    """The applied writes of ``operation`` the fake answered."""
    return fake.writes(operation)


class TestFakePricesAndStock:
    def test_update_inventory_captures_the_old_quantity(
        self, fake: FakeWalmart, walmart: WalmartAdapter
    ) -> None:
        """The quantity is read first; the change carries it; the fake holds the new one."""
        change = walmart.update_inventory("SKU-1", 40)
        assert (change.old, change.new) == (5, 40)
        assert fake.quantity("SKU-1") == 40
        assert walmart.get_inventory("SKU-1") == 40

    def test_update_price(self, fake: FakeWalmart, walmart: WalmartAdapter) -> None:
        """PUT /v3/price sets the BASE price exactly; Walmart's message comes back."""
        change = walmart.update_price("SKU-1", Decimal("17.50"), old=OLD)
        assert fake.price("SKU-1") == Decimal("17.50")
        assert (change.old, change.new) == (OLD, Decimal("17.50"))
        assert "price has been updated" in change.message

    def test_a_sku_with_reserved_characters(
        self, fake: FakeWalmart, walmart: WalmartAdapter
    ) -> None:
        """A SKU with a space, '/', '&' and '#' round-trips through the query."""
        sku = "RED M/L & #1"
        fake.add_item(sku, price=OLD, quantity=2)
        walmart.update_inventory(sku, 3)
        assert fake.quantity(sku) == 3

    def test_unknown_sku_is_a_typed_error(self, walmart: WalmartAdapter) -> None:
        """An item the seller does not have: MarketplaceHTTPError with Walmart's code."""
        with pytest.raises(MarketplaceHTTPError) as info:
            walmart.get_inventory("NOPE")
        assert info.value.status in {400, 404}
        assert info.value.code

    def test_a_lost_inventory_write_is_read_back_not_resent(
        self, fake: FakeWalmart, walmart: WalmartAdapter
    ) -> None:
        """Applied, answer lost: the quantity is read back and the PUT not sent again."""
        fake.faults.ambiguous_next("updateInventory")
        walmart.update_inventory("SKU-2", 11)
        assert fake.quantity("SKU-2") == 11
        assert len(fake.writes("updateInventory")) == 1
        fake.assert_no_duplicate_writes()

    def test_a_504_on_an_inventory_write_is_read_back(
        self, fake: FakeWalmart, walmart: WalmartAdapter
    ) -> None:
        """DOWNSTREAM_SYSTEM_TIME_OUT after it applied: confirmed by reading, sent once."""
        fake.faults.downstream_timeout_next("updateInventory")
        assert walmart.update_inventory("SKU-2", 12).new == 12
        assert len(fake.writes("updateInventory")) == 1

    def test_a_504_on_a_price_write_is_resent_as_it_is_idempotent(
        self, fake: FakeWalmart, walmart: WalmartAdapter
    ) -> None:
        """DOWNSTREAM_SYSTEM_TIME_OUT on an absolute price: sent again, the price is right."""
        fake.faults.downstream_timeout_next("updatePrice")
        walmart.update_price("SKU-1", NEW)
        assert fake.price("SKU-1") == NEW

    def test_an_html_502_page_on_a_read_is_retried(
        self, fake: FakeWalmart, walmart: WalmartAdapter
    ) -> None:
        """A 502 HTML page (garbage_next) on a read: retried, then the answer."""
        fake.faults.garbage_next("getInventory")
        assert walmart.get_inventory("SKU-1") == 5

    def test_xml_where_json_was_asked_is_a_response_error(
        self, fake: FakeWalmart, walmart: WalmartAdapter
    ) -> None:
        """An XML answer to a JSON request: MarketplaceResponseError."""
        fake.faults.xml_next("getInventory")
        with pytest.raises(MarketplaceResponseError):
            walmart.get_inventory("SKU-1")

    def test_a_small_bucket_is_paced_by_its_headers(
        self, fake: FakeWalmart, walmart: WalmartAdapter, clock: FakeClock
    ) -> None:
        """A bucket of 2 per minute: the headers pace the adapter to it, without a 429."""
        fake.set_bucket("updateInventory", capacity=2, per_seconds=60)
        started = clock.monotonic()
        for quantity in range(6):
            walmart.update_inventory("SKU-1", quantity)
        statuses = [c.status for c in fake.calls if c.operation == "updateInventory"]
        assert statuses == [200] * 6  # no 429: the headers told the adapter to wait
        assert clock.monotonic() - started == pytest.approx(120, abs=1)  # 4 refills of 30 s
        assert fake.quantity("SKU-1") == 5

    def test_async_price_and_inventory(self, fake: FakeWalmart, clock: FakeClock) -> None:
        """The async methods against the fake's async transport."""

        async def main() -> tuple[Any, Any]:
            async with on_fake(fake, clock, async_transport=fake.async_transport) as adapter:
                price = await adapter.aupdate_price("SKU-3", NEW, old=OLD)
                stock = await adapter.aupdate_inventory("SKU-3", 8)
                return price, stock

        price, stock = asyncio.run(main())
        assert (price.new, stock.old, stock.new) == (NEW, 5, 8)
        assert (fake.price("SKU-3"), fake.quantity("SKU-3")) == (NEW, 8)

    def test_over_loopback_http(self, fake: FakeWalmart, clock: FakeClock) -> None:
        """The adapter over real HTTP to fake.serve() on 127.0.0.1."""
        with fake.serve() as base_url:
            creds = fake.credentials
            with WalmartAdapter(
                client_id=creds.client_id,
                client_secret=creds.client_secret,
                seller_id=creds.seller_id,
                base_url=base_url,
                clock=clock,
            ) as adapter:
                assert adapter.update_inventory("SKU-1", 7).old == 5
        assert fake.quantity("SKU-1") == 7


class TestFakeOrders:
    def test_orders_page_through_next_cursor(
        self, fake: FakeWalmart, walmart: WalmartAdapter
    ) -> None:
        """Five orders, two a page: three requests, every order once."""
        ids = {fake.add_order(lines=[("SKU-1", 1)]) for _ in range(5)}
        orders = walmart.get_orders(limit=2)
        assert {o["purchaseOrderId"] for o in orders} == ids
        assert len(orders) == 5
        assert len([c for c in fake.calls if c.operation == "getOrders"]) == 3

    def test_released_orders_then_acknowledge_and_ship(
        self, fake: FakeWalmart, walmart: WalmartAdapter
    ) -> None:
        """Created -> Acknowledged (whole order) -> Shipped (the line) on the fake."""
        po = fake.add_order(lines=[("SKU-1", 2), ("SKU-2", 1)])
        assert [o["purchaseOrderId"] for o in walmart.get_released_orders()] == [po]
        walmart.acknowledge_order(po)
        assert {line.status for line in fake.order(po).lines} == {"Acknowledged"}
        walmart.ship_order_lines(
            po, {"1": 2}, tracking_number="1Z999AA10123456784", ship_date=SHIP_DATE, carrier="UPS"
        )
        statuses = [line.status for line in fake.order(po).lines]
        assert statuses == ["Shipped", "Acknowledged"]
        assert walmart.get_order(po)["purchaseOrderId"] == po

    def test_a_lost_acknowledgement_is_reconciled_not_resent(
        self, fake: FakeWalmart, walmart: WalmartAdapter
    ) -> None:
        """Applied, answer lost: the order reads Acknowledged, so it is not sent again."""
        po = fake.add_order(lines=[("SKU-1", 1)])
        fake.faults.ambiguous_next("acknowledgeOrder")
        walmart.acknowledge_order(po)
        assert len(writes(fake, "acknowledgeOrder")) == 1
        fake.assert_no_duplicate_writes()

    def test_a_lost_shipment_is_reconciled_not_resent(
        self, fake: FakeWalmart, walmart: WalmartAdapter
    ) -> None:
        """Shipping is irreversible and charges the customer: read back, never sent twice."""
        po = fake.add_order(lines=[("SKU-1", 1)])
        walmart.acknowledge_order(po)
        fake.faults.ambiguous_next("shipOrder")
        walmart.ship_order_lines(
            po, {"1": 1}, tracking_number="T-1", ship_date=SHIP_DATE, carrier="FedEx"
        )
        assert len(writes(fake, "shipOrder")) == 1
        assert fake.order(po).lines[0].status == "Shipped"
        fake.assert_no_duplicate_writes()

    def test_a_504_on_shipping_is_reconciled(
        self, fake: FakeWalmart, walmart: WalmartAdapter
    ) -> None:
        """504 DOWNSTREAM_SYSTEM_TIME_OUT after it applied: read back, sent once."""
        po = fake.add_order(lines=[("SKU-1", 1)])
        walmart.acknowledge_order(po)
        fake.faults.downstream_timeout_next("shipOrder")
        walmart.ship_order_lines(
            po, {"1": 1}, tracking_number="T-2", ship_date=SHIP_DATE, carrier="USPS"
        )
        assert len(writes(fake, "shipOrder")) == 1

    def test_shipping_an_unacknowledged_order_is_refused(
        self, fake: FakeWalmart, walmart: WalmartAdapter
    ) -> None:
        """The fake refuses a Created line: a typed error, nothing shipped."""
        po = fake.add_order(lines=[("SKU-1", 1)])
        with pytest.raises(MarketplaceHTTPError):
            walmart.ship_order_lines(
                po, {"1": 1}, tracking_number="T", ship_date=SHIP_DATE, carrier="UPS"
            )
        assert fake.order(po).lines[0].status == "Created"


class TestFakeFeeds:
    def test_price_feed_results_per_item(self, fake: FakeWalmart, walmart: WalmartAdapter) -> None:
        """A PROCESSED feed with one failed item: one ItemResult each, in order."""
        fake.faults.fail_feed_items(["SKU-2"])
        results = walmart.submit_price_feed(dict.fromkeys(SKUS, NEW), old=dict.fromkeys(SKUS, OLD))
        assert [(r.key, r.ok) for r in results] == [
            ("sku SKU-1 price", True),
            ("sku SKU-2 price", False),
            ("sku SKU-3 price", True),
        ]
        assert results[1].code
        assert (fake.price("SKU-1"), fake.price("SKU-2")) == (NEW, OLD)

    def test_inventory_feed_reads_old_quantities(
        self, fake: FakeWalmart, walmart: WalmartAdapter
    ) -> None:
        """Each SKU is read first (for its inverse); the feed sets every quantity."""
        results = walmart.submit_inventory_feed({"SKU-1": 1, "SKU-3": 3})
        assert all(r.ok for r in results)
        assert (fake.quantity("SKU-1"), fake.quantity("SKU-3")) == (1, 3)
        (feed,) = fake.feeds
        assert feed.feed_id

    def test_a_feed_that_is_not_processed_in_time_is_ambiguous(
        self, fake: FakeWalmart, walmart: WalmartAdapter
    ) -> None:
        """Still in progress after ``wait``: AmbiguousWriteError naming the feed."""
        fake.feed_processing = 3600
        with pytest.raises(AmbiguousWriteError, match="get_feed_status"):
            walmart.submit_inventory_feed({"SKU-1": 1}, wait=60)

    @pytest.mark.parametrize(
        "prices",
        [{}, {"": NEW}, {"S": Decimal("1.001")}, {"S": 1.5}, ["S"]],
    )
    def test_bad_feeds_are_refused_before_sending(
        self, fake: FakeWalmart, walmart: WalmartAdapter, prices: Any
    ) -> None:
        """Empty feeds, empty SKUs, sub-cent or float prices: nothing sent."""
        with pytest.raises(InvalidArgumentError):
            walmart.submit_price_feed(prices)
        assert fake.calls == []

    @pytest.mark.parametrize(
        "quantities", [{}, {"SKU-1": 1, "SKU-2": -1}, {"SKU-1": 1, "SKU-2": True}, {"SKU-1": 1.0}]
    )
    def test_bad_inventory_feeds_send_nothing(
        self, fake: FakeWalmart, walmart: WalmartAdapter, quantities: Any
    ) -> None:
        """A bad quantity anywhere in the feed: refused before any read or write."""
        with pytest.raises(InvalidArgumentError):
            walmart.submit_inventory_feed(quantities)
        assert fake.calls == []

    def test_async_feeds(self, fake: FakeWalmart, clock: FakeClock) -> None:
        """asubmit_*: the same per-item results, polled in a worker thread."""

        async def main() -> tuple[list[Any], list[Any]]:
            async with on_fake(fake, clock, async_transport=fake.async_transport) as adapter:
                prices = await adapter.asubmit_price_feed({"SKU-1": NEW}, old={"SKU-1": OLD})
                stock = await adapter.asubmit_inventory_feed({"SKU-2": 1})
                return prices, stock

        prices, stock = asyncio.run(main())
        assert [(r.key, r.ok) for r in prices + stock] == [
            ("sku SKU-1 price", True),
            ("sku SKU-2 quantity", True),
        ]
        assert (fake.price("SKU-1"), fake.quantity("SKU-2")) == (NEW, 1)

    @pytest.mark.parametrize("wait", [0, -1, float("nan"), float("inf"), True])
    def test_bad_wait_is_refused(
        self, fake: FakeWalmart, walmart: WalmartAdapter, wait: Any
    ) -> None:
        """wait= must be a positive, finite number of seconds."""
        with pytest.raises(InvalidArgumentError):
            walmart.submit_price_feed({"SKU-1": NEW}, wait=wait)
        with pytest.raises(InvalidArgumentError):
            walmart.submit_inventory_feed({"SKU-1": 1}, wait=wait)
        assert fake.calls == []


class TestFakeReads:
    def test_feed_status_and_list(self, fake: FakeWalmart, walmart: WalmartAdapter) -> None:
        """get_feed_status (with a page of items) and list_feeds read what the fake holds."""
        walmart.submit_inventory_feed({"SKU-1": 2})
        (feed,) = fake.feeds
        status = walmart.get_feed_status(feed.feed_id, include_details=True)
        assert status["feedStatus"] == "PROCESSED"
        assert status["itemDetails"]["itemIngestionStatus"][0]["sku"] == "SKU-1"
        listed = walmart.list_feeds(feed_id=feed.feed_id)
        assert listed["results"]["feed"][0]["feedId"] == feed.feed_id
        assert walmart.token_detail()["is_valid"] is True

    @pytest.mark.parametrize(
        "kwargs", [{"limit": 51}, {"limit": 0}, {"offset": -1}, {"feed_id": ""}]
    )
    def test_bad_feed_reads_are_refused(
        self, fake: FakeWalmart, walmart: WalmartAdapter, kwargs: dict[str, Any]
    ) -> None:
        """limit over 50, a negative offset, an empty id: nothing sent."""
        args = {"feed_id": "F@1", **kwargs}
        with pytest.raises(InvalidArgumentError):
            walmart.get_feed_status(args.pop("feed_id"), include_details=True, **args)
        assert fake.calls == []

    def test_threads_share_one_token(self, fake: FakeWalmart, walmart: WalmartAdapter) -> None:
        """Eight threads at once on a new adapter: one token for all of them."""
        barrier = threading.Barrier(8)
        errors: list[BaseException] = []

        def read() -> None:
            barrier.wait()
            try:
                walmart.get_inventory("SKU-1")
            except BaseException as exc:  # noqa: BLE001 - collected for the assertion
                errors.append(exc)

        threads = [threading.Thread(target=read) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert fake.tokens_issued == 1


class TestFakeHealth:
    def test_healthy(self, clock: FakeClock, walmart: WalmartAdapter) -> None:
        """is_valid, the expiry (900 s after issue) and the scopes."""
        issued = clock.time()
        health = walmart.health()
        assert health.expire_at is not None
        assert health.expire_at.timestamp() == pytest.approx(issued + 900, abs=1)
        assert health.ok
        assert health.is_valid
        assert health.scopes["price"] == "full_access"
        assert health.expire_at is not None

    def test_revoked_tokens_are_replaced_once(
        self, fake: FakeWalmart, walmart: WalmartAdapter
    ) -> None:
        """The live token revoked: the probe's 401 brings one new token, and it is valid."""
        walmart.get_inventory("SKU-1")
        issued = fake.tokens_issued
        fake.faults.revoke_auth()
        health = walmart.health()
        assert (health.ok, health.is_valid) == (True, True)
        assert fake.tokens_issued == issued + 1

    def test_a_refused_client_is_unhealthy(self, fake: FakeWalmart, clock: FakeClock) -> None:
        """Wrong credentials: not ok, not valid, the token error in detail."""
        creds = fake.credentials
        with WalmartAdapter(
            client_id=creds.client_id,
            client_secret="not-the-secret",  # noqa: S106 - a wrong secret on purpose
            base_url="https://marketplace.walmartapis.test",
            transport=fake.transport,
            clock=clock,
        ) as adapter:
            health = adapter.health()
        assert (health.ok, health.is_valid, health.scopes) == (False, False, {})
        assert "token" in health.detail
        assert "not-the-secret" not in health.detail

    def test_scopes_follow_the_fake(self, fake: FakeWalmart, walmart: WalmartAdapter) -> None:
        """A view-only feeds scope shows as such."""
        fake.set_scope("feeds", "view_only")
        assert walmart.health().scopes["feeds"] == "view_only"


class TestReleases:
    def test_a_failing_release_puts_walmart_prices_and_stock_back(
        self, store: sr.Store, fake: FakeWalmart, walmart: WalmartAdapter
    ) -> None:
        """Prices (with old=) and quantities go back; each inverse sent once; health checked."""
        with (  # noqa: PT012 - the body is under test
            pytest.raises(Boom) as info,
            sr.release("wm-sync", store=store, adapters=[walmart]),
        ):
            for sku in SKUS:
                walmart.update_price(sku, NEW, old=OLD)
                walmart.update_inventory(sku, 0)
            assert set(fake.prices.values()) == {NEW}
            raise Boom
        assert set(fake.prices.values()) == {OLD}
        assert set(fake.quantities.values()) == {5}
        fake.assert_no_duplicate_writes()
        report = info.value.rollback_report  # type: ignore[attr-defined]
        assert [s.kind for s in report.restored] == ["compensation"] * 6
        assert all(s.ok for s in report.restored)
        (health,) = [c for c in report.checks if c.name.startswith("health walmart")]
        assert health.ok
        assert "price full_access" in health.detail  # step 5: authorisation checked

    def test_prices_go_back_without_old(
        self, store: sr.Store, fake: FakeWalmart, walmart: WalmartAdapter
    ) -> None:
        """No old= given: each price is read first, and the rollback puts it back."""
        fake.add_item("SKU-4", price=Decimal("5.00"), quantity=1)
        with (  # noqa: PT012 - the body is under test
            pytest.raises(Boom) as info,
            sr.release("wm-read", store=store, adapters=[walmart]),
        ):
            for sku in (*SKUS, "SKU-4"):
                change = walmart.update_price(sku, NEW)
                assert change.old == (Decimal("5.00") if sku == "SKU-4" else OLD)
            assert set(fake.prices.values()) == {NEW}
            raise Boom
        assert fake.prices == {**dict.fromkeys(SKUS, OLD), "SKU-4": Decimal("5.00")}
        assert len(fake.writes("updatePrice")) == 8  # four writes, four inverses
        fake.assert_no_duplicate_writes()
        report = info.value.rollback_report  # type: ignore[attr-defined]
        assert [(s.name, s.ok) for s in report.restored] == [
            ("walmart price of SKU-4", True),
            ("walmart price of SKU-3", True),
            ("walmart price of SKU-2", True),
            ("walmart price of SKU-1", True),
        ]
        assert report.kept == ()

    def test_the_price_before_the_release_is_restored(
        self, store: sr.Store, fake: FakeWalmart, walmart: WalmartAdapter
    ) -> None:
        """Two writes to one SKU: the rollback restores the price from before the first."""
        with (  # noqa: PT012 - the body is under test
            pytest.raises(Boom),
            sr.release("wm-twice", store=store, adapters=[walmart]),
        ):
            assert walmart.update_price("SKU-1", Decimal("15.00")).old == OLD
            assert walmart.update_price("SKU-1", NEW).old == Decimal("15.00")
            raise Boom
        assert fake.price("SKU-1") == OLD
        fake.assert_no_duplicate_writes()

    def test_an_item_without_a_price_is_kept_and_the_ledger_says_why(
        self, store: sr.Store, scripted: Scripted, wm: WalmartAdapter
    ) -> None:
        """The item had no price: nothing to put back, so the rollback keeps it and says so."""
        scripted.on("GET", "/v3/items/S", items(item("S")))
        scripted.on("PUT", "/v3/price", httpx.Response(200, json=PRICED))
        with (  # noqa: PT012 - the body is under test
            pytest.raises(Boom) as info,
            sr.release("wm-unpriced", store=store, adapters=[wm]),
        ):
            assert wm.update_price("S", NEW).old is None
            raise Boom
        assert len(scripted.sent("/v3/price")) == 1  # nothing sent back
        report = info.value.rollback_report  # type: ignore[attr-defined]
        assert report.restored == ()
        (kept,) = report.kept
        assert "no inverse was captured" in kept.detail

    def test_a_feed_is_compensated_per_item(
        self, store: sr.Store, fake: FakeWalmart, walmart: WalmartAdapter
    ) -> None:
        """Only the items that applied are put back, each by its own PUT."""
        fake.faults.fail_feed_items(["SKU-2"])
        with (  # noqa: PT012 - the body is under test
            pytest.raises(Boom),
            sr.release("wm-feed", store=store, adapters=[walmart]),
        ):
            results = walmart.submit_inventory_feed(dict.fromkeys(SKUS, 0))
            assert [r.ok for r in results] == [True, False, True]
            raise Boom
        assert fake.quantities == dict.fromkeys(SKUS, 5)
        restored = [c.query["sku"] for c in fake.writes("updateInventory")]
        assert sorted(restored) == ["SKU-1", "SKU-3"]
        fake.assert_no_duplicate_writes()

    def test_a_price_feed_is_compensated_per_item_without_old(
        self, store: sr.Store, fake: FakeWalmart, walmart: WalmartAdapter
    ) -> None:
        """Each SKU's price is read before the feed; only the items that applied go back."""
        fake.add_item("SKU-4", price=Decimal("7.25"), quantity=1)
        fake.faults.fail_feed_items(["SKU-2"])
        with (  # noqa: PT012 - the body is under test
            pytest.raises(Boom) as info,
            sr.release("wm-price-feed", store=store, adapters=[walmart]),
        ):
            results = walmart.submit_price_feed(dict.fromkeys((*SKUS, "SKU-4"), NEW))
            assert [r.ok for r in results] == [True, False, True, True]
            assert fake.price("SKU-4") == NEW
            raise Boom
        assert fake.prices == {**dict.fromkeys(SKUS, OLD), "SKU-4": Decimal("7.25")}
        restored = sorted(c.json["sku"] for c in fake.writes("updatePrice"))
        assert restored == ["SKU-1", "SKU-3", "SKU-4"]
        reads = [c.path for c in fake.calls if c.operation == "getItem"]
        assert reads[:4] == [f"/v3/items/{sku}" for sku in (*SKUS, "SKU-4")]  # before the feed
        assert sorted(reads[4:]) == ["/v3/items/SKU-1", "/v3/items/SKU-3", "/v3/items/SKU-4"]
        fake.assert_no_duplicate_writes()
        report = info.value.rollback_report  # type: ignore[attr-defined]
        assert len(report.restored) == 3
        # the reads after the rollback: each restored price read back, and found exact
        checks = [c for c in report.checks if c.name.startswith("restored")]
        assert [(c.ok, c.detail) for c in checks] == [(True, "the value is back")] * 3

    def test_success_keeps_the_new_values(
        self, store: sr.Store, fake: FakeWalmart, walmart: WalmartAdapter
    ) -> None:
        """A release that succeeds changes nothing back."""
        with sr.release("wm-sync", store=store, adapters=[walmart]):
            walmart.update_inventory("SKU-1", 9)
        assert fake.quantity("SKU-1") == 9

    def test_async_release(self, store: sr.Store, fake: FakeWalmart, clock: FakeClock) -> None:
        """async with release: the awaited writes are compensated too."""

        async def main() -> None:
            async with on_fake(fake, clock, async_transport=fake.async_transport) as adapter:
                with pytest.raises(Boom):  # noqa: PT012 - the body is under test
                    async with sr.release("wm-async", store=store, adapters=[adapter]):
                        await adapter.aupdate_inventory("SKU-1", 0)
                        await adapter.aupdate_price("SKU-1", NEW, old=OLD)
                        raise Boom

        asyncio.run(main())
        assert (fake.quantity("SKU-1"), fake.price("SKU-1")) == (5, OLD)
        fake.assert_no_duplicate_writes()

    def test_async_release_without_old(
        self, store: sr.Store, fake: FakeWalmart, clock: FakeClock
    ) -> None:
        """aupdate_price and asubmit_price_feed read the old prices; the rollback restores them."""

        async def main() -> None:
            async with on_fake(fake, clock, async_transport=fake.async_transport) as adapter:
                with pytest.raises(Boom):  # noqa: PT012 - the body is under test
                    async with sr.release("wm-async-read", store=store, adapters=[adapter]):
                        change = await adapter.aupdate_price("SKU-1", NEW)
                        assert change.old == OLD
                        assert await adapter.aget_price("SKU-1") == NEW
                        results = await adapter.asubmit_price_feed({"SKU-2": NEW, "SKU-3": NEW})
                        assert all(r.ok for r in results)
                        raise Boom

        asyncio.run(main())
        assert fake.prices == dict.fromkeys(SKUS, OLD)
        assert len(fake.writes("updatePrice")) == 4  # one write, three inverses
        fake.assert_no_duplicate_writes()


class TestCrashes:
    def test_a_crash_after_a_quantity_inverse_landed_is_not_resent(
        self, store: sr.Store, fake: FakeWalmart, clock: FakeClock
    ) -> None:
        """Compensation crashes after the fake applied it: recovery reads it back, sends none."""
        spy = Spy(fake)
        adapter = on_fake(fake, clock, transport=spy)
        journal = Journal(store, release_id="rel-1", scope="stock")
        token = set_active_journal(journal)
        try:
            adapter.update_inventory("SKU-1", 0)
            adapter.update_inventory("SKU-2", 0)
        finally:
            reset_active_journal(token)

        def crash(request: httpx.Request) -> None:
            if request.method == "PUT":
                raise Crash

        spy.after = crash
        with pytest.raises(Crash):
            Journal(store, release_id="rel-1", scope="stock").compensate([adapter])
        with on_fake(fake, clock) as fresh:
            steps = Journal(store, release_id="rel-1", scope="stock").compensate([fresh])
        assert [(s.name, s.ok) for s in steps] == [
            ("walmart quantity of SKU-2", True),
            ("walmart quantity of SKU-1", True),
        ]
        assert "reading back" in steps[0].detail
        assert fake.quantities["SKU-1"] == fake.quantities["SKU-2"] == 5
        assert len(fake.writes("updateInventory")) == 4  # two writes, two inverses: none twice
        fake.assert_no_duplicate_writes()

    def _price_written(self, store: sr.Store, adapter: WalmartAdapter, release: str) -> None:
        """SKU-1 and SKU-2 set to NEW without old=, journaled in ``release``."""
        token = set_active_journal(Journal(store, release_id=release, scope="prices"))
        try:
            assert adapter.update_price("SKU-1", NEW).old == OLD
            assert adapter.update_price("SKU-2", NEW).old == OLD
        finally:
            reset_active_journal(token)

    def test_a_crash_after_a_price_inverse_landed_is_not_resent(
        self, store: sr.Store, fake: FakeWalmart, clock: FakeClock
    ) -> None:
        """The inverse applied, then the process died: recovery reads it back, sends none."""
        spy = Spy(fake)
        adapter = on_fake(fake, clock, transport=spy)
        self._price_written(store, adapter, "rel-2")
        spy.after = _crash_on_put
        with pytest.raises(Crash):
            Journal(store, release_id="rel-2", scope="prices").compensate([adapter])
        assert fake.price("SKU-2") == OLD  # the newest write's inverse landed
        with on_fake(fake, clock) as fresh:
            steps = Journal(store, release_id="rel-2", scope="prices").compensate([fresh])
        assert [(s.name, s.ok) for s in steps] == [
            ("walmart price of SKU-2", True),
            ("walmart price of SKU-1", True),
        ]
        assert "reading back" in steps[0].detail
        assert fake.prices == dict.fromkeys(SKUS, OLD)
        assert len(fake.writes("updatePrice")) == 4  # two writes, two inverses: none twice
        fake.assert_no_duplicate_writes()

    def test_a_crash_before_a_price_inverse_landed_sends_it_once(
        self, store: sr.Store, fake: FakeWalmart, clock: FakeClock
    ) -> None:
        """The process died before the inverse reached Walmart: recovery reads, then sends it."""
        spy = Spy(fake)
        adapter = on_fake(fake, clock, transport=spy)
        self._price_written(store, adapter, "rel-3")
        spy.before = _crash_on_put
        with pytest.raises(Crash):
            Journal(store, release_id="rel-3", scope="prices").compensate([adapter])
        assert fake.price("SKU-2") == NEW  # nothing landed
        with on_fake(fake, clock) as fresh:
            steps = Journal(store, release_id="rel-3", scope="prices").compensate([fresh])
        assert all(s.ok for s in steps)
        assert fake.prices == dict.fromkeys(SKUS, OLD)
        assert len(fake.writes("updatePrice")) == 4
        fake.assert_no_duplicate_writes()
        with on_fake(fake, clock) as again:  # a third run has nothing left to do
            Journal(store, release_id="rel-3", scope="prices").compensate([again])
        assert len(fake.writes("updatePrice")) == 4


def _crash_on_put(request: httpx.Request) -> None:
    if request.method == "PUT":
        raise Crash

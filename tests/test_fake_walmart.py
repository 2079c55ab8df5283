"""FakeWalmart: token, headers, buckets, price, inventory, orders, feeds, faults, inspection.

Every test talks to the fake over httpx with its transport (one through ``serve()``),
as a Walmart client would, on a `FakeClock`. The XML forms are checked against
Walmart's XSDs in tests/test_fake_walmart_xsd.py.
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import xml.etree.ElementTree as ET
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import httpx
import pytest

import safe_release.testing._walmart as fake_package
from safe_release.exceptions import InvalidArgumentError, UnknownOperationError
from safe_release.testing import (
    Call,
    FakeClock,
    FakeWalmart,
    FakeWalmartCredentials,
    WalmartFeed,
    WalmartOrder,
)
from safe_release.testing._walmart._wm_handlers import GATEWAY_OPERATIONS, HANDLERS, route
from safe_release.testing._walmart._wm_routes import FEED_TYPES, ROUTES
from tests.fakes_util import FakeClient, fake_modules, imported

if TYPE_CHECKING:
    from pathlib import Path

BASE = "https://marketplace.walmartapis.com"
START_MS = 1_767_225_600_000  # the FakeClock's start, 2026-01-01T00:00:00Z
HOUR, MINUTE = 3600.0, 60.0
TRACKING = {
    "shipDateTime": START_MS,
    "carrierName": {"carrier": "UPS"},
    "methodCode": "Standard",
    "trackingNumber": "1Z999AA10123456784",
}


class Wm(FakeClient[FakeWalmartCredentials]):
    """A minimal Walmart client for the tests: a token, then calls with the headers."""

    base_url = BASE

    def basic(self, secret: str | None = None) -> str:
        pair = f"{self.creds.client_id}:{secret or self.creds.client_secret}"
        return "Basic " + base64.b64encode(pair.encode()).decode()

    def token_call(
        self,
        data: dict[str, str] | None = None,
        *,
        accept: str = "application/json",
        **headers: str,
    ) -> httpx.Response:
        sent = {
            "WM_QOS.CORRELATION_ID": "c-token",
            "WM_SVC.NAME": "Walmart Marketplace",
            "Authorization": self.basic(),
            "Accept": accept,
            **headers,
        }
        form = data if data is not None else {"grant_type": "client_credentials"}
        return self.http.post("/v3/token", data=form, headers=sent)

    def token(self) -> str:
        response = self.token_call()
        assert response.status_code == 200, response.text
        self.access = response.json()["access_token"]
        return self.access

    def headers(self, *, accept: str | None = "application/json", **extra: str) -> dict[str, str]:
        sent = {
            "WM_QOS.CORRELATION_ID": "c-1",
            "WM_SVC.NAME": "Walmart Marketplace",
            "WM_SEC.ACCESS_TOKEN": self.access or self.token(),
        }
        if accept is not None:
            sent["Accept"] = accept
        sent.update(extra)
        return sent

    def call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        files: Any = None,
        headers: dict[str, str] | None = None,
        accept: str | None = "application/json",
    ) -> httpx.Response:
        sent = headers if headers is not None else self.headers(accept=accept)
        return self.http.request(method, path, params=params, json=json, files=files, headers=sent)

    def price(self, sku: str, amount: Any, **kwargs: Any) -> httpx.Response:
        body = {
            "sku": sku,
            "pricing": [
                {"currentPriceType": "BASE", "currentPrice": {"currency": "USD", "amount": amount}}
            ],
        }
        return self.call("PUT", "/v3/price", json=body, **kwargs)

    def inventory(self, sku: str, amount: Any, **kwargs: Any) -> httpx.Response:
        body = {"sku": sku, "quantity": {"unit": "EACH", "amount": amount}}
        return self.call("PUT", "/v3/inventory", params={"sku": sku}, json=body, **kwargs)

    def ship(
        self, po: str, *lines: tuple[str, str, dict[str, Any]], mode: str | None = None
    ) -> httpx.Response:
        shipment: dict[str, Any] = {
            "orderLines": {
                "orderLine": [
                    {
                        "lineNumber": number,
                        "orderLineStatuses": {
                            "orderLineStatus": [
                                {
                                    "status": "Shipped",
                                    "statusQuantity": {"unitOfMeasurement": "EACH", "amount": qty},
                                    "trackingInfo": tracking,
                                }
                            ]
                        },
                    }
                    for number, qty, tracking in lines
                ]
            }
        }
        if mode is not None:
            shipment["processMode"] = mode
        return self.call("POST", f"/v3/orders/{po}/shipping", json={"orderShipment": shipment})

    def feed(self, feed_type: str, document: Any) -> httpx.Response:
        content = document if isinstance(document, bytes) else json.dumps(document).encode()
        return self.call(
            "POST",
            "/v3/feeds",
            params={"feedType": feed_type},
            files={"file": ("feed.json", content, "application/json")},
        )

    def feed_status(self, feed_id: str, **params: Any) -> httpx.Response:
        return self.call("GET", f"/v3/feeds/{feed_id.replace('@', '%40')}", params=params)


def codes(response: httpx.Response) -> list[str]:
    """The error codes of a JSON error body, whichever shape ``errors.error`` has."""
    error = response.json()["errors"]["error"]
    return [e["code"] for e in (error if isinstance(error, list) else [error])]


def price_feed(*entries: tuple[str, float]) -> dict[str, Any]:
    return {
        "PriceHeader": {"version": "1.7"},
        "Price": [
            {
                "sku": sku,
                "pricing": [
                    {
                        "currentPriceType": "BASE",
                        "currentPrice": {"currency": "USD", "amount": amount},
                    }
                ],
            }
            for sku, amount in entries
        ],
    }


def inventory_feed(*entries: tuple[str, int]) -> dict[str, Any]:
    return {
        "InventoryHeader": {"version": "1.4"},
        "Inventory": [
            {"sku": sku, "quantity": {"unit": "EACH", "amount": amount}} for sku, amount in entries
        ],
    }


@pytest.fixture(name="fake")
def _fake(clock: FakeClock) -> FakeWalmart:
    fake = FakeWalmart(clock=clock)
    fake.add_item("SKU-1", price=Decimal("19.99"), quantity=5)
    fake.add_item("SKU-2", price=Decimal("5.00"), quantity=0)
    return fake


@pytest.fixture(name="wm")
def _wm(fake: FakeWalmart) -> Wm:
    return Wm(fake)


# -- the token -----------------------------------------------------------------------


class TestToken:
    def test_client_credentials(self, wm: Wm) -> None:
        """Client credentials give a Bearer token of 900 s and no refresh token."""
        response = wm.token_call()
        body = response.json()
        assert response.status_code == 200
        assert set(body) == {"access_token", "token_type", "expires_in"}
        assert body["token_type"] == "Bearer"  # noqa: S105 - the token type, not a secret
        assert body["expires_in"] == 900
        assert wm.fake.tokens_issued == 1

    def test_basic_header_of_the_test_vector(self) -> None:
        """The Basic header is base64(clientId:clientSecret), as WIRE.md 4 computes it."""
        pair = base64.b64encode(b"demo-client-id:demo-client-secret").decode()
        assert pair == "ZGVtby1jbGllbnQtaWQ6ZGVtby1jbGllbnQtc2VjcmV0"

    def test_xml_token(self, wm: Wm) -> None:
        """Without JSON in Accept the token is an OAuthTokenDTO with camelCase children."""
        response = wm.token_call(accept="application/xml")
        assert response.headers["content-type"] == "application/xml"
        assert b"<OAuthTokenDTO><accessToken>" in response.content
        assert b"<tokenType>Bearer</tokenType><expiresIn>900</expiresIn>" in response.content

    def test_refresh_grant_returns_no_refresh_token(self, wm: Wm) -> None:
        """The refresh grant answers access_token, token_type, expires_in only."""
        grant = {"grant_type": "refresh_token", "refresh_token": wm.creds.refresh_token}
        response = wm.token_call(grant)
        assert response.status_code == 200
        assert "refresh_token" not in response.json()
        assert wm.token_call(grant).status_code == 200  # the same refresh token, reused

    def test_authorization_code_returns_the_refresh_token(self, wm: Wm) -> None:
        """The authorization-code grant adds the refresh token; a code works once."""
        code = wm.fake.authorization_code()
        grant = {"grant_type": "authorization_code", "code": code, "redirect_uri": "https://x"}
        first = wm.token_call(grant)
        assert first.json()["refresh_token"] == wm.creds.refresh_token
        assert codes(wm.token_call(grant)) == ["INVALID_REQUEST_PARAM.GMP_GATEWAY_API"]

    @pytest.mark.parametrize(
        ("data", "auth", "status", "code"),
        [
            ({}, None, 400, "MISSING_REQUEST_PARAM.GMP_GATEWAY_API"),
            ({"grant_type": "password"}, None, 400, "INVALID_REQUEST_PARAM.GMP_GATEWAY_API"),
            (
                {"grant_type": "refresh_token", "refresh_token": "nope"},
                None,
                400,
                "INVALID_REQUEST_PARAM.GMP_GATEWAY_API",
            ),
            (
                {"grant_type": "client_credentials"},
                "Bearer x",
                401,
                "UNAUTHORIZED.GMP_GATEWAY_API",
            ),
            (
                {"grant_type": "client_credentials"},
                "Basic !!",
                401,
                "UNAUTHORIZED.GMP_GATEWAY_API",
            ),
            ({"grant_type": "client_credentials"}, "wrong", 401, "UNAUTHORIZED.GMP_GATEWAY_API"),
        ],
    )
    def test_bad_token_requests(
        self, wm: Wm, data: dict[str, str], auth: str | None, status: int, code: str
    ) -> None:
        """Bad grants are 400 with the field; bad client credentials are 401."""
        headers = (
            {} if auth is None else {"Authorization": wm.basic("x") if auth == "wrong" else auth}
        )
        response = wm.token_call(data, **headers)
        assert (response.status_code, codes(response)) == (status, [code])
        assert wm.fake.tokens_issued == 0

    def test_throttled_token_endpoint(self, wm: Wm) -> None:
        """token_endpoint_throttled: 429 REQUEST_THRESHOLD_VIOLATED, no Retry-After."""
        wm.fake.faults.token_endpoint_throttled = True
        response = wm.token_call()
        assert response.status_code == 429
        assert codes(response) == ["REQUEST_THRESHOLD_VIOLATED.GMP_GATEWAY_API"]
        assert "retry-after" not in response.headers

    def test_token_expires_after_900_seconds(self, wm: Wm, clock: FakeClock) -> None:
        """A token works for 900 s of the fake clock, then answers 401."""
        wm.token()
        clock.advance(899)
        assert wm.call("GET", "/v3/inventory", params={"sku": "SKU-1"}).status_code == 200
        clock.advance(1)
        response = wm.call("GET", "/v3/inventory", params={"sku": "SKU-1"})
        assert (response.status_code, codes(response)) == (401, ["UNAUTHORIZED.GMP_GATEWAY_API"])

    def test_token_detail(self, wm: Wm, clock: FakeClock) -> None:
        """/v3/token/detail: epoch-ms strings, is_valid, scopes."""
        clock.advance(10)
        wm.token()
        wm.fake.set_scope("feeds", "view_only")
        body = wm.call("GET", "/v3/token/detail").json()
        assert body["issued_at"] == str(START_MS + 10_000)
        assert body["expire_at"] == str(START_MS + 910_000)
        assert body["is_valid"] is True
        assert body["is_channel_match"] is True
        assert body["scopes"]["feeds"] == "view_only"
        assert body["scopes"]["price"] == "full_access"

    def test_secrets_never_recorded(self, wm: Wm) -> None:
        """Neither the call log nor the reprs hold a secret or a token."""
        token = wm.token()
        wm.call("GET", "/v3/token/detail")
        shown = repr(wm.fake.calls) + repr(wm.fake) + repr(wm.creds) + repr(wm.fake.faults)
        for secret in (token, wm.creds.client_secret, wm.creds.refresh_token):
            assert secret not in shown
        assert wm.fake.calls[0].json is None
        assert wm.fake.calls[0].client_id == wm.creds.client_id


# -- headers, auth and scope -------------------------------------------------------------


class TestHeaders:
    @pytest.mark.parametrize("missing", ["WM_QOS.CORRELATION_ID", "WM_SVC.NAME"])
    def test_missing_required_header(self, wm: Wm, missing: str) -> None:
        """A missing correlation id or service name is 400 MISSING_REQUEST_HEADER."""
        headers = {k: v for k, v in wm.headers().items() if k != missing}
        response = wm.call("GET", "/v3/inventory", params={"sku": "SKU-1"}, headers=headers)
        assert response.status_code == 400
        error = response.json()["errors"]["error"][0]
        assert error["code"] == "MISSING_REQUEST_HEADER.GMP_GATEWAY_API"
        assert error["field"] == missing

    def test_token_endpoint_needs_the_headers_too(self, wm: Wm) -> None:
        """POST /v3/token also needs WM_SVC.NAME."""
        headers: dict[str, str] = {"WM_SVC.NAME": ""}
        response = wm.token_call(None, **headers)
        assert codes(response) == ["MISSING_REQUEST_HEADER.GMP_GATEWAY_API"]

    @pytest.mark.parametrize("token", [None, "", "garbage"])
    def test_missing_or_invalid_token(self, wm: Wm, token: str | None) -> None:
        """No or an unknown WM_SEC.ACCESS_TOKEN is 401 UNAUTHORIZED.GMP_GATEWAY_API."""
        headers = {k: v for k, v in wm.headers().items() if k != "WM_SEC.ACCESS_TOKEN"}
        if token is not None:
            headers["WM_SEC.ACCESS_TOKEN"] = token
        response = wm.call("GET", "/v3/orders", headers=headers)
        assert (response.status_code, codes(response)) == (401, ["UNAUTHORIZED.GMP_GATEWAY_API"])
        assert response.json()["errors"]["error"][0]["field"] == "UNAUTHORIZED"

    def test_bearer_authorization_is_not_a_token(self, wm: Wm) -> None:
        """``Authorization: Bearer`` in place of WM_SEC.ACCESS_TOKEN is a 401."""
        token = wm.token()
        headers = {k: v for k, v in wm.headers().items() if k != "WM_SEC.ACCESS_TOKEN"}
        headers["Authorization"] = f"Bearer {token}"
        assert wm.call("GET", "/v3/orders", headers=headers).status_code == 401

    def test_authorization_is_ignored_on_business_calls(self, wm: Wm) -> None:
        """With WM_SEC.ACCESS_TOKEN, any Authorization header is ignored."""
        headers = wm.headers(Authorization="Basic bm9uc2Vuc2U=")
        assert wm.call("GET", "/v3/orders", headers=headers).status_code == 200

    def test_revoke_auth(self, wm: Wm) -> None:
        """revoke_auth: tokens issued before it are 401; a new one works."""
        wm.token()
        wm.fake.faults.revoke_auth()
        assert wm.call("GET", "/v3/orders").status_code == 401
        wm.token()
        assert wm.call("GET", "/v3/orders").status_code == 200

    def test_no_access_scope(self, wm: Wm) -> None:
        """A token without the API's scope is 403 FORBIDDEN.GMP_GATEWAY_API."""
        wm.fake.set_scope("orders", "no_access")
        response = wm.call("GET", "/v3/orders")
        assert (response.status_code, codes(response)) == (403, ["FORBIDDEN.GMP_GATEWAY_API"])

    def test_view_only_scope_reads_but_does_not_write(self, wm: Wm) -> None:
        """view_only: reads answer, writes are 403."""
        wm.fake.set_scope("inventory", "view_only")
        assert wm.call("GET", "/v3/inventory", params={"sku": "SKU-1"}).status_code == 200
        assert wm.inventory("SKU-1", 3).status_code == 403
        assert wm.fake.quantity("SKU-1") == 5

    def test_bad_scope_settings(self, fake: FakeWalmart) -> None:
        """set_scope checks the API and level."""
        with pytest.raises(InvalidArgumentError):
            fake.set_scope("prices", "full_access")
        with pytest.raises(InvalidArgumentError):
            fake.set_scope("price", "all")

    def test_xml_unless_json_is_asked_for(self, wm: Wm) -> None:
        """Without Accept: application/json answers and errors are XML."""
        good = wm.call("GET", "/v3/inventory", params={"sku": "SKU-1"}, accept=None)
        assert good.headers["content-type"] == "application/xml"
        assert b"<amount>5</amount>" in good.content
        bad = wm.call("GET", "/v3/inventory", params={"sku": "NOPE"}, accept="text/xml")
        assert bad.status_code == 404
        assert b"CONTENT_NOT_FOUND.GMP_INVENTORY_API" in bad.content
        assert bad.content.startswith(b"<?xml")

    def test_correlation_id_is_echoed(self, wm: Wm) -> None:
        """The answer carries the request's WM_QOS.CORRELATION_ID."""
        response = wm.call(
            "GET", "/v3/orders", headers=wm.headers(**{"WM_QOS.CORRELATION_ID": "abc"})
        )
        assert response.headers["WM_QOS.CORRELATION_ID"] == "abc"


# -- buckets ---------------------------------------------------------------------------


class TestBuckets:
    def test_headers_on_every_answer(self, wm: Wm) -> None:
        """Success and handler errors both carry the replenish headers."""
        ok = wm.price("SKU-1", 20)
        missing = wm.price("NOPE", 20)
        for response, left in ((ok, "99"), (missing, "98")):
            assert response.headers["x-current-token-count"] == left
            assert int(response.headers["x-next-replenish-time"]) == START_MS + 36_000

    def test_price_is_100_an_hour_then_429(self, wm: Wm, clock: FakeClock) -> None:
        """The 101st price update in an hour is 429 with no Retry-After; one returns per 36 s."""
        for _ in range(100):
            assert wm.price("SKU-1", 20).status_code == 200
        throttled = wm.price("SKU-1", 21)
        assert throttled.status_code == 429
        assert codes(throttled) == ["REQUEST_THRESHOLD_VIOLATED.GMP_GATEWAY_API"]
        assert "retry-after" not in throttled.headers
        assert throttled.headers["x-current-token-count"] == "0"
        assert int(throttled.headers["x-next-replenish-time"]) == START_MS + 36_000
        assert wm.fake.price("SKU-1") == 20
        clock.advance(36)
        assert wm.price("SKU-1", 21).status_code == 200
        assert wm.price("SKU-1", 22).status_code == 429

    def test_gradual_refill(self, fake: FakeWalmart, clock: FakeClock) -> None:
        """A drained bucket refills capacity/per_seconds tokens a second, not at a boundary."""
        fake.set_bucket("acknowledgeOrder", capacity=60, per_seconds=MINUTE)
        fake.drain("acknowledgeOrder")
        clock.advance(2.5)
        assert fake.bucket_tokens("acknowledgeOrder") == pytest.approx(2.5)
        clock.advance(100)
        assert fake.bucket_tokens("acknowledgeOrder") == 60

    @pytest.mark.parametrize(
        ("api", "capacity", "per_seconds"),
        [
            ("getOrders", 5000, MINUTE),
            ("getReleasedOrders", 60, MINUTE),
            ("acknowledgeOrder", 60, MINUTE),
            ("shipOrder", 60, MINUTE),
            ("updateInventory", 200, MINUTE),
            ("updatePrice", 100, HOUR),
            ("getItem", 900, MINUTE),
            ("listFeeds", 5000, MINUTE),
            ("feeds:inventory", 10, HOUR),
            ("feeds:MP_INVENTORY", 50, HOUR),
        ],
    )
    def test_documented_defaults(
        self, fake: FakeWalmart, api: str, capacity: int, per_seconds: float
    ) -> None:
        """The default buckets are WIRE.md 7's."""
        assert fake.bucket(api) == (capacity, per_seconds)

    def test_set_bucket(self, wm: Wm, fake: FakeWalmart) -> None:
        """set_bucket lowers a limit now; saved tokens above it are dropped."""
        fake.set_bucket("getOrders", capacity=2, per_seconds=HOUR)
        assert [wm.call("GET", "/v3/orders").status_code for _ in range(3)] == [200, 200, 429]

    def test_buckets_per_seller(self, wm: Wm, fake: FakeWalmart) -> None:
        """Each seller has its own bucket per API."""
        other = Wm(fake, fake.new_seller("other-seller"))
        fake.drain("getOrders")
        assert wm.call("GET", "/v3/orders").status_code == 429
        assert other.call("GET", "/v3/orders").status_code == 200
        assert fake.bucket_tokens("getOrders", seller_id="other-seller") == 4999

    def test_bad_bucket_settings(self, fake: FakeWalmart) -> None:
        """Unknown APIs and bad limits are typed errors."""
        with pytest.raises(UnknownOperationError):
            fake.set_bucket("submitFeed", capacity=1, per_seconds=1)
        with pytest.raises(UnknownOperationError):
            fake.bucket_tokens("feeds:item")
        with pytest.raises(InvalidArgumentError):
            fake.set_bucket("getOrders", capacity=0, per_seconds=1)
        with pytest.raises(InvalidArgumentError):
            fake.set_bucket("getOrders", capacity=1, per_seconds=float("inf"))

    def test_garbage_replenish_headers(self, wm: Wm) -> None:
        """garbage_replenish_headers: missing, then garbage, then negative values, in turn."""
        wm.token()
        wm.fake.faults.garbage_replenish_headers = True
        seen = [wm.call("GET", "/v3/orders").headers for _ in range(3)]
        assert "x-current-token-count" not in seen[0]
        assert "x-next-replenish-time" not in seen[0]
        assert seen[1]["x-current-token-count"] == "plenty"
        assert seen[1]["x-next-replenish-time"] == "soon"
        assert int(seen[2]["x-current-token-count"]) < 0
        assert int(seen[2]["x-next-replenish-time"]) < 0

    def test_threads_share_the_bucket(self, fake: FakeWalmart) -> None:
        """16 threads on one bucket of 50 get exactly 50 answers; the rest are 429."""
        fake.set_bucket("getInventory", capacity=50, per_seconds=HOUR)
        wm = Wm(fake)
        headers = wm.headers()
        statuses: list[int] = []

        def work() -> None:
            with httpx.Client(transport=fake.transport, base_url=BASE) as http:
                for _ in range(5):
                    response = http.get("/v3/inventory", params={"sku": "SKU-1"}, headers=headers)
                    statuses.append(response.status_code)

        threads = [threading.Thread(target=work) for _ in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(statuses) == [200] * 50 + [429] * 30

    def test_throttle_storm(self, wm: Wm) -> None:
        """throttle_storm(1): every call is 429 though the bucket has tokens."""
        wm.token()
        wm.fake.faults.throttle_storm(1)
        assert wm.call("GET", "/v3/orders").status_code == 429


# -- price and inventory -------------------------------------------------------------------


class TestPrice:
    def test_update(self, wm: Wm, fake: FakeWalmart) -> None:
        """PUT /v3/price sets the BASE price; the answer is wrapped in ItemPriceResponse."""
        response = wm.price("SKU-1", 24.99)
        assert response.json()["ItemPriceResponse"]["sku"] == "SKU-1"
        assert response.json()["ItemPriceResponse"]["mart"] == "WALMART_US"
        assert fake.price("SKU-1") == Decimal("24.99")
        assert fake.prices == {"SKU-1": Decimal("24.99"), "SKU-2": Decimal("5.00")}

    @pytest.mark.parametrize("amount", ["24.99", None, -1, True])
    def test_amount_must_be_a_number(self, wm: Wm, amount: Any) -> None:
        """A string, missing, negative or boolean amount is 400 INVALID_REQUEST_CONTENT."""
        response = wm.price("SKU-1", amount)
        assert response.status_code == 400
        assert codes(response) == ["INVALID_REQUEST_CONTENT.GMP_PRICE_API"]
        assert wm.fake.price("SKU-1") == Decimal("19.99")

    @pytest.mark.parametrize(
        "body",
        [
            {"pricing": []},
            {"sku": "SKU-1", "pricing": []},
            {
                "sku": "SKU-1",
                "pricing": [
                    {
                        "currentPriceType": "REDUCED",
                        "currentPrice": {"currency": "USD", "amount": 1},
                    }
                ],
            },
            {
                "sku": "SKU-1",
                "pricing": [
                    {"currentPriceType": "BASE", "currentPrice": {"currency": "EUR", "amount": 1}}
                ],
            },
            {"sku": "SKU-1", "pricing": ["BASE"]},
        ],
    )
    def test_bad_bodies(self, wm: Wm, body: dict[str, Any]) -> None:
        """Malformed pricing is 400 and changes nothing."""
        response = wm.call("PUT", "/v3/price", json=body)
        assert response.status_code == 400
        assert wm.fake.price("SKU-1") == Decimal("19.99")

    def test_not_json(self, wm: Wm) -> None:
        """A body that is not JSON is 400 MALFORMED_REQUEST_CONTENT."""
        response = wm.http.put("/v3/price", content=b"{nope", headers=wm.headers())
        assert codes(response) == ["MALFORMED_REQUEST_CONTENT.GMP_PRICE_API"]

    def test_unknown_sku(self, wm: Wm) -> None:
        """An unknown SKU is 404 CONTENT_NOT_FOUND."""
        response = wm.price("NOPE", 1)
        assert (response.status_code, codes(response)) == (
            404,
            ["CONTENT_NOT_FOUND.GMP_PRICE_API"],
        )


class TestItems:
    def test_get_an_item(self, wm: Wm, fake: FakeWalmart) -> None:
        """GET /v3/items/{sku}: the Items API's ItemResponse list, the price a JSON number."""
        response = wm.call("GET", "/v3/items/SKU-1")
        assert response.status_code == 200
        body = response.json()
        assert body["totalItems"] == 1
        (entry,) = body["ItemResponse"]
        upc = entry.pop("upc")
        assert entry == {
            "mart": "WALMART_US",
            "sku": "SKU-1",
            "wpid": fake.item("SKU-1").wpid,
            "gtin": "00" + upc,
            "productName": "Fake product SKU-1",
            "shelf": '["Fake products"]',
            "productType": "Fake Product",
            "price": {"currency": "USD", "amount": 19.99},
            "publishedStatus": "PUBLISHED",
            "lifecycleStatus": "ACTIVE",
        }
        assert b'"amount": 19.99' in response.content  # a number, not a string
        assert len(upc) == 12
        assert upc.isdigit()
        digits = [int(d) for d in upc]
        assert (sum(digits[0:11:2]) * 3 + sum(digits[1:11:2]) + digits[11]) % 10 == 0

    def test_the_same_upc_every_run(self, fake: FakeWalmart) -> None:
        """UPCs depend on the seller and SKU only, not on the order items are added in."""
        other = FakeWalmart()
        other.add_item("SKU-2", price=Decimal(1), quantity=1)
        other.add_item("SKU-1", price=Decimal(1), quantity=1)
        first, second = Wm(fake), Wm(other)
        for sku in ("SKU-1", "SKU-2"):
            one = first.call("GET", f"/v3/items/{sku}").json()["ItemResponse"][0]["upc"]
            two = second.call("GET", f"/v3/items/{sku}").json()["ItemResponse"][0]["upc"]
            assert one == two

    def test_a_new_price_reads_back_at_once(self, wm: Wm, fake: FakeWalmart) -> None:
        """The fake models no lag: a price PUT (or price feed) is what the next read shows."""
        assert wm.price("SKU-1", 24.5).status_code == 200
        price = wm.call("GET", "/v3/items/SKU-1").json()["ItemResponse"][0]["price"]
        assert price == {"currency": "USD", "amount": 24.5}
        fake.add_item("SKU-C", price=Decimal("3.00"), quantity=1, currency="CAD")
        price = wm.call("GET", "/v3/items/SKU-C").json()["ItemResponse"][0]["price"]
        assert price == {"currency": "CAD", "amount": 3.0}

    def test_product_id_type(self, wm: Wm) -> None:
        """productIdType=SKU is accepted; other id types are not served (400)."""
        ok = wm.call("GET", "/v3/items/SKU-1", params={"productIdType": "SKU"})
        assert ok.json()["ItemResponse"][0]["sku"] == "SKU-1"
        bad = wm.call("GET", "/v3/items/SKU-1", params={"productIdType": "GTIN"})
        assert (bad.status_code, codes(bad)) == (400, ["INVALID_REQUEST_PARAM.GMP_ITEM_QUERY_API"])

    def test_unknown_sku(self, wm: Wm) -> None:
        """An unknown SKU is 404 CONTENT_NOT_FOUND.GMP_ITEM_QUERY_API."""
        response = wm.call("GET", "/v3/items/NOPE")
        assert (response.status_code, codes(response)) == (
            404,
            ["CONTENT_NOT_FOUND.GMP_ITEM_QUERY_API"],
        )

    def test_percent_encoded_sku(self, wm: Wm, fake: FakeWalmart) -> None:
        """A SKU with reserved characters is found when percent-encoded in the path."""
        sku = "A&B/C #1+2@x"
        fake.add_item(sku, price=Decimal("1.50"), quantity=1)
        response = wm.call("GET", "/v3/items/A%26B%2FC%20%231%2B2%40x")
        assert response.json()["ItemResponse"][0]["sku"] == sku

    def test_its_own_bucket(self, wm: Wm, fake: FakeWalmart) -> None:
        """900 a minute by default [U], with the replenish headers; a drained bucket is 429."""
        response = wm.call("GET", "/v3/items/SKU-1")
        assert response.headers["x-current-token-count"] == "899"
        assert fake.bucket_tokens("getInventory") == 200
        fake.drain("getItem")
        throttled = wm.call("GET", "/v3/items/SKU-1")
        assert codes(throttled) == ["REQUEST_THRESHOLD_VIOLATED.GMP_GATEWAY_API"]

    def test_headers_auth_and_scope(self, wm: Wm, fake: FakeWalmart) -> None:
        """The same rules as every route: headers, token, the item scope."""
        missing = wm.call("GET", "/v3/items/SKU-1", headers={"WM_SVC.NAME": "x"})
        assert missing.status_code == 400
        no_token = wm.headers()
        del no_token["WM_SEC.ACCESS_TOKEN"]
        assert wm.call("GET", "/v3/items/SKU-1", headers=no_token).status_code == 401
        fake.set_scope("item", "view_only")
        assert wm.call("GET", "/v3/items/SKU-1").status_code == 200
        fake.set_scope("item", "no_access")
        assert codes(wm.call("GET", "/v3/items/SKU-1")) == ["FORBIDDEN.GMP_GATEWAY_API"]

    def test_xml_form(self, wm: Wm) -> None:
        """Without Accept: JSON, ItemResponses in http://walmart.com/ (there is no XSD for it)."""
        response = wm.call("GET", "/v3/items/SKU-1", accept=None)
        assert response.headers["content-type"] == "application/xml"
        root = ET.fromstring(response.content)  # noqa: S314 - the fake's own answer
        ns = "{http://walmart.com/}"
        assert root.tag == f"{ns}ItemResponses"
        assert root.findtext(f"{ns}ItemResponse/{ns}price/{ns}amount") == "19.99"
        assert root.findtext(f"{ns}totalItems") == "1"

    def test_faults_apply(self, wm: Wm, fake: FakeWalmart) -> None:
        """getItem takes the same faults as every operation."""
        fake.faults.garbage_next("getItem")
        assert wm.call("GET", "/v3/items/SKU-1").status_code == 502
        fake.faults.xml_next("getItem")
        assert wm.call("GET", "/v3/items/SKU-1").content.startswith(b"<?xml")
        assert [c.operation for c in fake.calls[-2:]] == ["getItem", "getItem"]


class TestInventory:
    def test_get_and_put(self, wm: Wm, fake: FakeWalmart) -> None:
        """GET and PUT /v3/inventory?sku= speak {sku, quantity: {unit: EACH, amount}}."""
        got = wm.call("GET", "/v3/inventory", params={"sku": "SKU-1"}).json()
        assert got == {"sku": "SKU-1", "quantity": {"unit": "EACH", "amount": 5}}
        put = wm.inventory("SKU-1", 40)
        assert put.json() == {"sku": "SKU-1", "quantity": {"unit": "EACH", "amount": 40}}
        assert fake.quantity("SKU-1") == 40
        assert fake.quantities["SKU-1"] == 40

    def test_percent_encoded_sku(self, wm: Wm, fake: FakeWalmart) -> None:
        """A SKU with reserved characters works when percent-encoded, not when raw."""
        sku = "A&B/C #1+2@x"
        fake.add_item(sku, price=Decimal(1), quantity=1)
        assert wm.inventory(sku, 7).status_code == 200
        assert fake.quantity(sku) == 7
        raw = wm.http.get("/v3/inventory?sku=A&B/C", headers=wm.headers())
        assert (raw.status_code, codes(raw)) == (404, ["CONTENT_NOT_FOUND.GMP_INVENTORY_API"])
        spaced = "SKU with space"
        fake.add_item(spaced, price=Decimal(1), quantity=3)
        encoded = wm.http.get("/v3/inventory?sku=SKU%20with%20space", headers=wm.headers())
        assert encoded.json()["quantity"]["amount"] == 3

    @pytest.mark.parametrize(
        ("params", "body", "status", "code"),
        [
            (
                {},
                {"sku": "SKU-1", "quantity": {"unit": "EACH", "amount": 1}},
                400,
                "MISSING_REQUEST_PARAM.GMP_INVENTORY_API",
            ),
            (
                {"sku": "SKU-1"},
                {"sku": "SKU-2", "quantity": {"unit": "EACH", "amount": 1}},
                400,
                "INVALID_REQUEST_CONTENT.GMP_INVENTORY_API",
            ),
            (
                {"sku": "SKU-1"},
                {"sku": "SKU-1", "quantity": {"unit": "CASE", "amount": 1}},
                400,
                "INVALID_REQUEST_CONTENT.GMP_INVENTORY_API",
            ),
            (
                {"sku": "SKU-1"},
                {"sku": "SKU-1", "quantity": {"unit": "EACH", "amount": -1}},
                400,
                "INVALID_REQUEST_CONTENT.GMP_INVENTORY_API",
            ),
            (
                {"sku": "SKU-1"},
                {"sku": "SKU-1", "quantity": {"unit": "EACH", "amount": "1"}},
                400,
                "INVALID_REQUEST_CONTENT.GMP_INVENTORY_API",
            ),
            (
                {"sku": "NOPE"},
                {"sku": "NOPE", "quantity": {"unit": "EACH", "amount": 1}},
                404,
                "CONTENT_NOT_FOUND.GMP_INVENTORY_API",
            ),
        ],
    )
    def test_bad_updates(
        self, wm: Wm, params: dict[str, str], body: dict[str, Any], status: int, code: str
    ) -> None:
        """Missing sku, mismatched sku, bad unit or amount, unknown SKU: typed errors."""
        response = wm.call("PUT", "/v3/inventory", params=params, json=body)
        assert (response.status_code, codes(response)) == (status, [code])
        assert wm.fake.quantity("SKU-1") == 5


# -- orders ----------------------------------------------------------------------------


class TestOrders:
    def test_order_object(self, wm: Wm, fake: FakeWalmart) -> None:
        """GET /v3/orders/{po}: epoch-ms dates, string lineNumber and amounts, number money."""
        po = fake.add_order(lines=[("SKU-1", 2), ("SKU-2", 1, Decimal("4.50"))])
        order = wm.call("GET", f"/v3/orders/{po}").json()["order"]
        assert order["purchaseOrderId"] == po
        assert order["orderDate"] == START_MS
        assert order["shippingInfo"]["methodCode"] == "Standard"
        lines = order["orderLines"]["orderLine"]
        assert [line["lineNumber"] for line in lines] == ["1", "2"]
        assert lines[0]["orderLineQuantity"] == {"unitOfMeasurement": "EACH", "amount": "2"}
        assert lines[0]["charges"]["charge"][0]["chargeAmount"] == {
            "currency": "USD",
            "amount": 39.98,
        }
        assert lines[1]["charges"]["charge"][0]["chargeAmount"]["amount"] == 4.5
        status = lines[0]["orderLineStatuses"]["orderLineStatus"][0]
        assert status == {
            "status": "Created",
            "statusQuantity": {"unitOfMeasurement": "EACH", "amount": "2"},
        }

    def test_unknown_order(self, wm: Wm) -> None:
        """An unknown purchase order is 404 CONTENT_NOT_FOUND.GMP_ORDER_API."""
        response = wm.call("GET", "/v3/orders/123")
        assert (response.status_code, codes(response)) == (
            404,
            ["CONTENT_NOT_FOUND.GMP_ORDER_API"],
        )

    def test_list_and_filters(self, wm: Wm, fake: FakeWalmart, clock: FakeClock) -> None:
        """GET /v3/orders filters by sku, status, ids and dates (7 days by default)."""
        old = fake.add_order(lines=[("SKU-1", 1)])
        clock.advance(8 * 86_400)
        a = fake.add_order(lines=[("SKU-1", 1)])
        b = fake.add_order(lines=[("SKU-2", 1)], status="Acknowledged")

        def ids(**params: str) -> list[str]:
            body = wm.call("GET", "/v3/orders", params=params).json()["list"]
            return [o["purchaseOrderId"] for o in body["elements"]["order"]]

        assert sorted(ids()) == sorted([a, b])
        assert ids(sku="SKU-2") == [b]
        assert ids(status="Created") == [a]
        assert ids(purchaseOrderId=a) == [a]
        assert ids(customerOrderId=fake.order(b).customer_order_id) == [b]
        assert old in ids(createdStartDate="2025-12-31")
        assert ids(createdStartDate="2025-12-31", createdEndDate="2026-01-02") == [old]
        assert ids(shipNodeType="WFSFulfilled") == []

    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"limit": "201"}, "limit"),
            ({"limit": "0"}, "limit"),
            ({"status": "Open"}, "status"),
            ({"createdStartDate": "yesterday"}, "createdStartDate"),
        ],
    )
    def test_bad_parameters(self, wm: Wm, params: dict[str, str], field: str) -> None:
        """limit above 200, an unknown status, a bad date: 400 INVALID_REQUEST_PARAM."""
        response = wm.call("GET", "/v3/orders", params=params)
        assert codes(response) == ["INVALID_REQUEST_PARAM.GMP_ORDER_API"]
        assert response.json()["errors"]["error"][0]["field"] == field

    def test_next_cursor_paging(self, wm: Wm, fake: FakeWalmart, clock: FakeClock) -> None:
        """nextCursor is a query string appended to /v3/orders; new orders do not shift pages."""
        made = []
        for _ in range(5):
            made.append(fake.add_order(lines=[("SKU-1", 1)]))
            clock.advance(1)
        first = wm.call("GET", "/v3/orders", params={"limit": "2"}).json()["list"]
        assert first["meta"]["totalCount"] == 5
        cursor = first["meta"]["nextCursor"]
        assert cursor.startswith("?limit=2&hasMoreElements=true&soIndex=2")
        clock.advance(1)
        fake.add_order(lines=[("SKU-1", 1)])  # after the first page: not in this listing
        seen = [o["purchaseOrderId"] for o in first["elements"]["order"]]
        while cursor:
            page = wm.http.get("/v3/orders" + cursor, headers=wm.headers()).json()["list"]
            seen += [o["purchaseOrderId"] for o in page["elements"]["order"]]
            cursor = page["meta"].get("nextCursor")
        assert seen == made[::-1]

    def test_released_orders(self, wm: Wm, fake: FakeWalmart, clock: FakeClock) -> None:
        """/v3/orders/released lists orders with a Created line, 180 days back."""
        created = fake.add_order(lines=[("SKU-1", 1)])
        fake.add_order(lines=[("SKU-1", 1)], status="Acknowledged")
        clock.advance(100 * 86_400)
        body = wm.call("GET", "/v3/orders/released", params={"limit": "1"}).json()["list"]
        assert [o["purchaseOrderId"] for o in body["elements"]["order"]] == [created]
        assert "nextCursor" not in body["meta"]

    def test_acknowledge_all_lines(self, wm: Wm, fake: FakeWalmart) -> None:
        """Acknowledge moves every Created line to Acknowledged; a repeat changes nothing."""
        po = fake.add_order(lines=[("SKU-1", 2), ("SKU-2", 1)])
        response = wm.call("POST", f"/v3/orders/{po}/acknowledge")
        lines = response.json()["order"]["orderLines"]["orderLine"]
        assert {line["orderLineStatuses"]["orderLineStatus"][0]["status"] for line in lines} == {
            "Acknowledged"
        }
        assert fake.order(po).statuses == ("Acknowledged", "Acknowledged")
        assert wm.call("POST", f"/v3/orders/{po}/acknowledge").status_code == 200
        assert len(fake.writes("acknowledgeOrder")) == 1


class TestShip:
    @pytest.fixture(name="po")
    def _po(self, fake: FakeWalmart, wm: Wm) -> str:
        po = fake.add_order(lines=[("SKU-1", 3), ("SKU-2", 1)])
        assert wm.call("POST", f"/v3/orders/{po}/acknowledge").status_code == 200
        return po

    def test_ship_per_line_and_quantity(self, wm: Wm, fake: FakeWalmart, po: str) -> None:
        """Shipping 2 of 3 leaves 1 Acknowledged; the shipped part carries its tracking."""
        response = wm.ship(po, ("1", "2", TRACKING))
        statuses = response.json()["order"]["orderLines"]["orderLine"][0]["orderLineStatuses"]
        assert [
            (s["status"], s["statusQuantity"]["amount"]) for s in statuses["orderLineStatus"]
        ] == [
            ("Acknowledged", "1"),
            ("Shipped", "2"),
        ]
        assert statuses["orderLineStatus"][1]["trackingInfo"]["shipDateTime"] == START_MS
        line = fake.order(po).line("1")
        assert (line.quantity_in("Shipped"), line.status) == (2, "Acknowledged")
        assert wm.ship(po, ("1", "1", {**TRACKING, "trackingNumber": "T2"})).status_code == 200
        assert fake.order(po).line("1").status == "Shipped"
        fake.assert_no_duplicate_writes()

    def test_unacknowledged_line(self, wm: Wm, fake: FakeWalmart) -> None:
        """Shipping before acknowledging is 400 INVALID_REQUEST_CONTENT.GMP_ORDER_API."""
        po = fake.add_order(lines=[("SKU-1", 1)])
        response = wm.ship(po, ("1", "1", TRACKING))
        assert codes(response) == ["INVALID_REQUEST_CONTENT.GMP_ORDER_API"]
        assert "acknowledge" in response.json()["errors"]["error"][0]["description"]
        assert fake.order(po).line("1").status == "Created"

    def test_bad_method_code(self, wm: Wm, po: str) -> None:
        """An unsupported methodCode is the error highsidelabs/walmart-api-php #29 shows."""
        response = wm.ship(po, ("1", "1", {**TRACKING, "methodCode": "Ground"}))
        error = response.json()["errors"]["error"][0]
        assert response.status_code == 400
        assert error["code"] == "INVALID_REQUEST_CONTENT.GMP_ORDER_API"
        assert error["field"] == "methodCode"
        assert error["description"] == "Method code is not supported in line number 1"
        assert error["info"] == "Request content is invalid."
        assert error["causes"] == []
        assert error["errorIdentifiers"] == {"entry": []}

    @pytest.mark.parametrize(
        ("line", "tracking", "field"),
        [
            (("1", "4", TRACKING), TRACKING, "statusQuantity"),
            (("1", "0", TRACKING), TRACKING, "statusQuantity"),
            (("9", "1", TRACKING), TRACKING, "lineNumber"),
            (
                ("1", "1", None),
                {**TRACKING, "shipDateTime": 637_449_042_980_494_000},
                "shipDateTime",
            ),
            (("1", "1", None), {**TRACKING, "shipDateTime": 1_767_225_600}, "shipDateTime"),
            (("1", "1", None), {**TRACKING, "shipDateTime": "1767225600000"}, "shipDateTime"),
            (("1", "1", None), {**TRACKING, "carrierName": {"carrier": "Pony"}}, "carrier"),
            (("1", "1", None), {**TRACKING, "carrierName": {}}, "carrierName"),
            (
                ("1", "1", None),
                {**TRACKING, "carrierName": {"otherCarrier": "Pony"}},
                "trackingURL",
            ),
            (
                ("1", "1", None),
                {k: v for k, v in TRACKING.items() if k != "trackingNumber"},
                "trackingNumber",
            ),
        ],
    )
    def test_rejected_shipments(
        self,
        *,
        wm: Wm,
        fake: FakeWalmart,
        po: str,
        line: tuple[str, str, Any],
        tracking: dict[str, Any],
        field: str,
    ) -> None:
        """Over-quantity, unknown lines, ticks or seconds, bad carriers: 400, nothing shipped."""
        number, quantity, _ = line
        response = wm.ship(po, (number, quantity, tracking))
        assert codes(response) == ["INVALID_REQUEST_CONTENT.GMP_ORDER_API"]
        assert response.json()["errors"]["error"][0]["field"] == field
        assert fake.order(po).line("1").quantity_in("Shipped") == 0
        assert fake.writes("shipOrder") == []

    def test_other_carrier_with_url(self, wm: Wm, po: str) -> None:
        """otherCarrier with a trackingURL is accepted."""
        tracking = {
            **TRACKING,
            "carrierName": {"otherCarrier": "Pony"},
            "trackingURL": "https://p/1",
        }
        assert wm.ship(po, ("2", "1", tracking)).status_code == 200

    def test_line_number_is_a_string(self, wm: Wm, po: str) -> None:
        """lineNumber 1 (a number) is 400."""
        body = {"orderShipment": {"orderLines": {"orderLine": [{"lineNumber": 1}]}}}
        response = wm.call("POST", f"/v3/orders/{po}/shipping", json=body)
        assert response.json()["errors"]["error"][0]["field"] == "lineNumber"

    def test_all_or_nothing(self, wm: Wm, fake: FakeWalmart, po: str) -> None:
        """One bad line fails the whole request."""
        response = wm.ship(po, ("2", "1", TRACKING), ("1", "5", TRACKING))
        assert response.status_code == 400
        assert fake.order(po).line("2").status == "Acknowledged"

    def test_after_shipping_only_partial_update(self, wm: Wm, fake: FakeWalmart, po: str) -> None:
        """A shipped line takes only processMode PARTIAL_UPDATE, which edits its tracking."""
        assert wm.ship(po, ("2", "1", TRACKING)).status_code == 200
        again = wm.ship(po, ("2", "1", {**TRACKING, "trackingNumber": "NEW"}))
        assert "already shipped" in again.json()["errors"]["error"][0]["description"]
        edit = wm.ship(
            po, ("2", "1", {**TRACKING, "trackingNumber": "NEW"}), mode="PARTIAL_UPDATE"
        )
        assert edit.status_code == 200
        tracking = fake.order(po).line("2").statuses[0].tracking
        assert tracking is not None
        assert tracking.tracking_number == "NEW"
        assert fake.order(po).line("2").quantity_in("Shipped") == 1
        fake.assert_no_duplicate_writes()

    def test_partial_update_needs_a_shipped_line(self, wm: Wm, po: str) -> None:
        """PARTIAL_UPDATE on an unshipped line, or another processMode, is 400."""
        assert wm.ship(po, ("1", "1", TRACKING), mode="PARTIAL_UPDATE").status_code == 400
        assert wm.ship(po, ("1", "1", TRACKING), mode="FULL").status_code == 400

    def test_malformed_shipments(self, wm: Wm, po: str) -> None:
        """Bodies without orderShipment lines or Shipped statuses are 400."""
        bodies: list[dict[str, Any]] = [
            {},
            {"orderShipment": {"orderLines": {"orderLine": []}}},
            {"orderShipment": {"orderLines": {"orderLine": [{"lineNumber": "1"}]}}},
            {
                "orderShipment": {
                    "orderLines": {
                        "orderLine": [
                            {
                                "lineNumber": "1",
                                "orderLineStatuses": {
                                    "orderLineStatus": [{"status": "Cancelled"}]
                                },
                            }
                        ]
                    }
                }
            },
        ]
        for body in bodies:
            response = wm.call("POST", f"/v3/orders/{po}/shipping", json=body)
            assert codes(response) == ["INVALID_REQUEST_CONTENT.GMP_ORDER_API"], body


# -- feeds -----------------------------------------------------------------------------


class TestFeeds:
    def test_lifecycle_and_application(self, wm: Wm, fake: FakeWalmart, clock: FakeClock) -> None:
        """RECEIVED, INPROGRESS, then PROCESSED; the prices change only when processed."""
        feed_id = wm.feed("price", price_feed(("SKU-1", 9.5), ("SKU-2", 7))).json()["feedId"]
        assert "@" in feed_id
        assert wm.feed_status(feed_id).json()["feedStatus"] == "RECEIVED"
        clock.advance(5)
        status = wm.feed_status(feed_id).json()
        assert (status["feedStatus"], status["itemsProcessing"]) == ("INPROGRESS", 2)
        assert fake.price("SKU-1") == Decimal("19.99")
        clock.advance(5)
        status = wm.feed_status(feed_id).json()
        assert status["feedStatus"] == "PROCESSED"
        assert (status["itemsReceived"], status["itemsSucceeded"], status["itemsFailed"]) == (
            2,
            2,
            0,
        )
        assert status["feedSubmissionDate"] == START_MS
        assert "itemDetails" not in status
        assert fake.prices == {"SKU-1": Decimal("9.5"), "SKU-2": Decimal(7)}

    def test_processed_with_data_errors(self, wm: Wm, fake: FakeWalmart, clock: FakeClock) -> None:
        """PROCESSED can hold DATA_ERROR items: failed by fault, unknown SKU, bad amount."""
        fake.faults.fail_feed_items(["SKU-2"])
        document = inventory_feed(("SKU-1", 8), ("SKU-2", 9), ("NOPE", 1))
        document["Inventory"].append({"sku": "SKU-1", "quantity": {"unit": "EACH", "amount": -1}})
        feed_id = wm.feed("inventory", document).json()["feedId"]
        clock.advance(10)
        status = wm.feed_status(feed_id, includeDetails="true").json()
        assert status["feedStatus"] == "PROCESSED"
        assert (status["itemsSucceeded"], status["itemsFailed"]) == (1, 3)
        details = status["itemDetails"]["itemIngestionStatus"]
        assert [d["ingestionStatus"] for d in details] == [
            "SUCCESS",
            "DATA_ERROR",
            "DATA_ERROR",
            "DATA_ERROR",
        ]
        assert details[1]["ingestionErrors"]["ingestionError"][0]["type"] == "DATA_ERROR"
        assert (fake.quantity("SKU-1"), fake.quantity("SKU-2")) == (8, 0)
        assert [item.sku for item in fake.feed(feed_id).failed] == ["SKU-2", "NOPE", "SKU-1"]

    def test_item_details_paging(self, wm: Wm, fake: FakeWalmart, clock: FakeClock) -> None:
        """itemDetails pages with offset and limit; limit is at most 50."""
        feed_id = wm.feed("inventory", inventory_feed(*[("SKU-1", n) for n in range(60)])).json()[
            "feedId"
        ]
        clock.advance(10)
        page = wm.feed_status(feed_id, includeDetails="true", offset=50, limit=50).json()
        assert [d["index"] for d in page["itemDetails"]["itemIngestionStatus"]] == list(
            range(50, 60)
        )
        assert (page["offset"], page["limit"]) == (50, 50)
        too_many = wm.feed_status(feed_id, includeDetails="true", limit=51)
        assert codes(too_many) == ["INVALID_REQUEST_PARAM.GMP_RECEIVER_API"]
        assert wm.feed_status(feed_id, includeDetails="maybe").status_code == 400
        assert fake.quantity("SKU-1") == 59

    def test_unreadable_file_ends_in_error(
        self, wm: Wm, fake: FakeWalmart, clock: FakeClock
    ) -> None:
        """A file that is not a feed of its type is accepted, then ends ERROR."""
        lower = {"inventoryHeader": {"version": "1.4"}, "inventory": [{"sku": "SKU-1"}]}
        ids = [
            wm.feed("inventory", content).json()["feedId"]
            for content in (b"<InventoryFeed/>", lower)
        ]
        clock.advance(10)
        for feed_id in ids:
            status = wm.feed_status(feed_id).json()
            assert status["feedStatus"] == "ERROR"
            assert status["ingestionErrors"]["ingestionError"][0]["type"] == "DATA_ERROR"
        assert fake.feed(ids[0]).ingestion_error is not None

    def test_mp_inventory_sums_ship_nodes(
        self, wm: Wm, fake: FakeWalmart, clock: FakeClock
    ) -> None:
        """MP_INVENTORY (1.5, lower-case keys): the quantity is the sum over ship nodes."""
        document = {
            "inventoryHeader": {"version": "1.5"},
            "inventory": [
                {
                    "sku": "SKU-1",
                    "shipNodes": [
                        {"shipNode": "1", "quantity": {"unit": "EACH", "amount": 2}},
                        {"shipNode": "2", "quantity": {"unit": "EACH", "amount": 3}},
                    ],
                },
                {"sku": "SKU-2", "shipNodes": []},
            ],
        }
        feed_id = wm.feed("MP_INVENTORY", document).json()["feedId"]
        clock.advance(10)
        assert fake.quantity("SKU-1") == 5
        assert [i.status for i in fake.feed(feed_id).items] == ["SUCCESS", "DATA_ERROR"]

    def test_every_post_is_a_new_feed(self, wm: Wm, fake: FakeWalmart, clock: FakeClock) -> None:
        """The same file twice is two feeds; the last processed wins."""
        first = wm.feed("price", price_feed(("SKU-1", 1))).json()["feedId"]
        clock.advance(1)
        second = wm.feed("price", price_feed(("SKU-1", 2))).json()["feedId"]
        assert first != second
        clock.advance(20)
        assert fake.price("SKU-1") == 2
        assert [feed.feed_id for feed in fake.feeds] == [first, second]

    def test_hourly_cap_per_feed_type(self, wm: Wm, fake: FakeWalmart) -> None:
        """Ten inventory feeds an hour; the eleventh is 429; price feeds have their own bucket."""
        answers = [
            wm.feed("inventory", inventory_feed(("SKU-1", n))).status_code for n in range(11)
        ]
        assert answers == [200] * 10 + [429]
        assert wm.feed("price", price_feed(("SKU-1", 1))).status_code == 200
        assert fake.bucket_tokens("feeds:inventory") < 1

    def test_oversize_file_is_413(self, wm: Wm) -> None:
        """An MP_INVENTORY file over 1 MB is 413."""
        response = wm.feed("MP_INVENTORY", b"x" * (FEED_TYPES["MP_INVENTORY"].max_bytes + 1))
        assert response.status_code == 413
        assert wm.fake.feeds == []

    def test_bad_submissions(self, wm: Wm) -> None:
        """No feedType, an unknown one, no multipart, no file part: typed 4xx."""
        missing = wm.call("POST", "/v3/feeds", files={"file": ("f", b"{}")})
        assert codes(missing) == ["MISSING_REQUEST_PARAM.GMP_RECEIVER_API"]
        unknown = wm.call(
            "POST", "/v3/feeds", params={"feedType": "item"}, files={"file": ("f", b"{}")}
        )
        assert codes(unknown) == ["INVALID_REQUEST_PARAM.GMP_RECEIVER_API"]
        plain = wm.call("POST", "/v3/feeds", params={"feedType": "price"}, json=price_feed())
        assert (plain.status_code, codes(plain)) == (
            415,
            ["UNSUPPORTED_MEDIA_TYPE.GMP_GATEWAY_API"],
        )
        other = wm.call(
            "POST", "/v3/feeds", params={"feedType": "price"}, files={"data": ("f", b"{}")}
        )
        assert codes(other) == ["MISSING_REQUEST_PARAM.GMP_RECEIVER_API"]
        assert wm.fake.feeds == []

    def test_feed_id_needs_percent_encoding(self, wm: Wm) -> None:
        """A raw @ in the status URL is 400; an unknown feed is 404."""
        feed_id = wm.feed("price", price_feed(("SKU-1", 1))).json()["feedId"]
        raw = wm.http.get(f"/v3/feeds/{feed_id}", headers=wm.headers())
        assert raw.status_code == 400
        assert wm.feed_status("NOPE@X").status_code == 404

    def test_list_feeds(self, wm: Wm, clock: FakeClock) -> None:
        """GET /v3/feeds lists the seller's feeds, newest first, filterable by feedId."""
        first = wm.feed("price", price_feed(("SKU-1", 1))).json()["feedId"]
        clock.advance(1)
        second = wm.feed("inventory", inventory_feed(("SKU-1", 1))).json()["feedId"]
        body = wm.call("GET", "/v3/feeds").json()
        assert body["totalResults"] == 2
        assert [f["feedId"] for f in body["results"]["feed"]] == [second, first]
        assert body["results"]["feed"][1]["feedType"] == "price"
        one = wm.call("GET", "/v3/feeds", params={"feedId": first}).json()
        assert [f["feedStatus"] for f in one["results"]["feed"]] == ["RECEIVED"]
        assert wm.call("GET", "/v3/feeds", params={"feedId": "NOPE"}).status_code == 404

    def test_feed_processing_setting(self, fake: FakeWalmart) -> None:
        """feed_processing accepts seconds or a timedelta >= 0."""
        fake.feed_processing = 0
        assert fake.feed_processing == 0
        with pytest.raises(InvalidArgumentError):
            fake.feed_processing = -1
        with pytest.raises(InvalidArgumentError):
            fake.faults.fail_feed_items([""])


# -- faults ----------------------------------------------------------------------------


class TestFaults:
    def test_error_rate(self, wm: Wm) -> None:
        """error_rate 1: every call is 500 SYSTEM_ERROR.GMP_GATEWAY_API."""
        wm.token()
        wm.fake.faults.error_rate = 1
        response = wm.price("SKU-1", 1)
        assert (response.status_code, codes(response)) == (500, ["SYSTEM_ERROR.GMP_GATEWAY_API"])
        assert response.json()["errors"]["error"][0]["category"] == "SYSTEM"
        assert wm.fake.price("SKU-1") == Decimal("19.99")

    def test_outage_is_503_without_a_body(self, wm: Wm, clock: FakeClock) -> None:
        """During an outage: 503, no JSON body, no replenish headers."""
        wm.token()
        wm.fake.faults.outage(clock.time(), clock.time() + 10)
        response = wm.call("GET", "/v3/orders")
        assert (response.status_code, response.content) == (503, b"")
        assert "content-type" not in response.headers
        assert "x-current-token-count" not in response.headers
        clock.advance(10)
        assert wm.call("GET", "/v3/orders").status_code == 200

    def test_ambiguous_write(self, wm: Wm, fake: FakeWalmart) -> None:
        """ambiguous_next: applied, then the answer is lost (ReadTimeout)."""
        po = fake.add_order(lines=[("SKU-1", 1)], status="Acknowledged")
        fake.faults.ambiguous_next("shipOrder")
        with pytest.raises(httpx.ReadTimeout):
            wm.ship(po, ("1", "1", TRACKING))
        assert fake.order(po).line("1").status == "Shipped"
        assert fake.calls[-1].lost
        assert fake.writes("shipOrder") == [fake.calls[-1]]

    def test_ambiguous_read(self, wm: Wm, fake: FakeWalmart) -> None:
        """ambiguous_next on a read loses its answer too; nothing is written."""
        po = fake.add_order(lines=[("SKU-1", 1)])
        fake.faults.ambiguous_next("getOrder", times=2)
        for _ in range(2):
            with pytest.raises(httpx.ReadTimeout):
                wm.call("GET", f"/v3/orders/{po}")
        assert wm.call("GET", f"/v3/orders/{po}").status_code == 200
        assert fake.writes() == []

    def test_empty_body(self, wm: Wm) -> None:
        """A write without a body is 400 INVALID_REQUEST_CONTENT."""
        response = wm.http.put("/v3/price", headers=wm.headers())
        assert codes(response) == ["INVALID_REQUEST_CONTENT.GMP_PRICE_API"]

    def test_downstream_timeout(self, wm: Wm, fake: FakeWalmart) -> None:
        """downstream_timeout_next: applied, answered 504 DOWNSTREAM_SYSTEM_TIME_OUT."""
        fake.faults.downstream_timeout_next("updatePrice")
        response = wm.price("SKU-1", 3)
        assert (response.status_code, codes(response)) == (
            504,
            ["DOWNSTREAM_SYSTEM_TIME_OUT.GMP_GATEWAY_API"],
        )
        assert fake.price("SKU-1") == 3
        assert len(fake.writes("updatePrice")) == 1

    def test_garbage_page(self, wm: Wm, fake: FakeWalmart) -> None:
        """garbage_next: a 502 HTML page, not applied."""
        fake.faults.garbage_next("updatePrice")
        response = wm.price("SKU-1", 3)
        assert response.status_code == 502
        assert response.headers["content-type"] == "text/html"
        assert response.content.startswith(b"<!DOCTYPE html>")
        assert fake.price("SKU-1") == Decimal("19.99")
        assert wm.price("SKU-1", 3).status_code == 200

    def test_xml_where_json_was_asked(self, wm: Wm, fake: FakeWalmart) -> None:
        """xml_next: the answer is XML although Accept asked for JSON."""
        fake.faults.xml_next("getInventory")
        response = wm.call("GET", "/v3/inventory", params={"sku": "SKU-1"})
        assert response.headers["content-type"] == "application/xml"

    def test_single_error_object(self, wm: Wm) -> None:
        """single_error_object: errors.error is one object, not a list."""
        wm.fake.faults.single_error_object = True
        response = wm.price("NOPE", 1)
        error = response.json()["errors"]["error"]
        assert isinstance(error, dict)
        assert error["code"] == "CONTENT_NOT_FOUND.GMP_PRICE_API"

    def test_latency_advances_the_clock(self, wm: Wm, clock: FakeClock) -> None:
        """latency: each request takes that long on the fake clock."""
        wm.fake.faults.latency = 2
        wm.token()
        assert clock.monotonic() == 2

    def test_latency_on_another_clock_sleeps(self) -> None:
        """On a clock that is not a FakeClock, latency is a sleep of that clock."""

        class Recording:
            def __init__(self) -> None:
                self.slept: list[float] = []

            def time(self) -> float:
                return 1_767_225_600.0

            def monotonic(self) -> float:
                return 0.0

            def sleep(self, seconds: float) -> None:
                self.slept.append(seconds)

        clock = Recording()
        fake = FakeWalmart(clock=clock)
        fake.faults.latency = 0.5
        Wm(fake).token()
        assert clock.slept == [0.5]

    def test_clear_and_repr(self, wm: Wm, fake: FakeWalmart, clock: FakeClock) -> None:
        """clear() turns every fault off; the repr names the active ones."""
        faults = fake.faults
        faults.error_rate = 0.5
        faults.single_error_object = True
        faults.outage(clock.time(), clock.time() + 5)
        faults.garbage_next("getOrders")
        faults.fail_feed_items("SKU-1")
        assert "error_rate=0.5" in repr(faults)
        faults.clear()
        assert repr(faults) == "<FakeWalmartFaults none>"
        assert wm.call("GET", "/v3/orders").status_code == 200

    @pytest.mark.parametrize(
        ("name", "value"), [("error_rate", 2), ("error_rate", True), ("latency", -1)]
    )
    def test_bad_settings(self, fake: FakeWalmart, name: str, value: float) -> None:
        """Out-of-range fault settings are InvalidArgumentError."""
        with pytest.raises(InvalidArgumentError):
            setattr(fake.faults, name, value)

    def test_bad_calls(self, fake: FakeWalmart) -> None:
        """Unknown operations, bad counts and windows are typed errors."""
        with pytest.raises(UnknownOperationError):
            fake.faults.ambiguous_next("patchListingsItem")
        with pytest.raises(InvalidArgumentError):
            fake.faults.garbage_next("getOrders", times=0)
        with pytest.raises(InvalidArgumentError):
            fake.faults.outage(10, 5)
        with pytest.raises(InvalidArgumentError):
            fake.faults.throttle_storm(1.5)
        with pytest.raises(UnknownOperationError):
            fake.writes("nope")


# -- inspection ------------------------------------------------------------------------


class TestInspection:
    def test_call_records(self, wm: Wm, fake: FakeWalmart, clock: FakeClock) -> None:
        """Each call is recorded with operation, method, path, status, time and seller."""
        wm.token()
        clock.advance(1)
        wm.price("SKU-1", 1.25)
        call = fake.calls[-1]
        assert isinstance(call, Call)
        assert (call.operation, call.method, call.path, call.status) == (
            "updatePrice",
            "PUT",
            "/v3/price",
            200,
        )
        assert call.at == clock.time()
        assert call.applied
        assert call.seller_id == "demo-seller"
        assert call.json["pricing"][0]["currentPrice"]["amount"] == Decimal("1.25")
        fake.reset_calls()
        assert fake.calls == []

    def test_duplicate_price(self, wm: Wm, fake: FakeWalmart) -> None:
        """The same price body applied twice is a duplicate write."""
        wm.price("SKU-1", 3)
        wm.price("SKU-1", 4)
        fake.assert_no_duplicate_writes()
        wm.price("SKU-1", 3)
        with pytest.raises(AssertionError, match="updatePrice sku=SKU-1"):
            fake.assert_no_duplicate_writes()

    def test_line_shipped_twice(self, wm: Wm, fake: FakeWalmart) -> None:
        """Shipping part of a line twice with the same tracking number is a duplicate."""
        po = fake.add_order(lines=[("SKU-1", 2)], status="Acknowledged")
        wm.ship(po, ("1", "1", TRACKING))
        wm.ship(po, ("1", "1", TRACKING))
        with pytest.raises(AssertionError, match=f"shipOrder {po} line 1 .*shipped twice"):
            fake.assert_no_duplicate_writes()

    def test_duplicate_feed_within_a_minute(
        self, wm: Wm, fake: FakeWalmart, clock: FakeClock
    ) -> None:
        """An identical feed within 60 s is a duplicate; after a minute it is not."""
        document = price_feed(("SKU-1", 1))
        wm.feed("price", document)
        clock.advance(61)
        wm.feed("price", document)
        fake.assert_no_duplicate_writes()
        clock.advance(30)
        wm.feed("price", document)
        with pytest.raises(AssertionError, match="submitFeed price"):
            fake.assert_no_duplicate_writes()

    def test_lookups(self, fake: FakeWalmart) -> None:
        """item, order and feed lookups; unknown ones say how to add them."""
        assert fake.item("SKU-1").wpid
        assert [i.sku for i in fake.items] == ["SKU-1", "SKU-2"]
        po = fake.add_order(lines=[("SKU-1", 1)])
        assert isinstance(fake.order(po), WalmartOrder)
        assert fake.orders[0].purchase_order_id == po
        with pytest.raises(InvalidArgumentError, match="add_item"):
            fake.item("NOPE")
        with pytest.raises(InvalidArgumentError, match="add_order"):
            fake.order("NOPE")
        with pytest.raises(InvalidArgumentError):
            fake.feed("NOPE")
        assert "items=2 orders=1" in repr(fake)

    @pytest.mark.parametrize(
        ("kwargs", "match"),
        [
            ({"lines": []}, "at least one line"),
            ({"lines": [("SKU-1", 0)]}, "line quantity"),
            ({"lines": [("SKU-1",)]}, "order line is"),
            ({"lines": [("SKU-1", 1, 1.5)]}, "unit_price"),
            ({"lines": [("SKU-1", 1)], "status": "Shipped"}, "start in"),
            ({"lines": [("SKU-1", 1)], "method_code": "Ground"}, "method_code"),
        ],
    )
    def test_bad_orders(self, fake: FakeWalmart, kwargs: dict[str, Any], match: str) -> None:
        """add_order checks its lines, status and method code."""
        with pytest.raises(InvalidArgumentError, match=match):
            fake.add_order(**kwargs)

    def test_bad_items(self, fake: FakeWalmart) -> None:
        """add_item checks the SKU, price, quantity and currency."""
        cases: list[dict[str, Any]] = [
            {"sku": "", "price": 1, "quantity": 1},
            {"sku": "X", "price": 1.5, "quantity": 1},
            {"sku": "X", "price": "-1", "quantity": 1},
            {"sku": "X", "price": 1, "quantity": -1},
            {"sku": "X", "price": 1, "quantity": 1, "currency": "EUR"},
        ]
        for kwargs in cases:
            with pytest.raises(InvalidArgumentError):
                fake.add_item(**kwargs)
        with pytest.raises(InvalidArgumentError):
            fake.new_seller("")

    def test_ids_are_seeded(self) -> None:
        """The same seed gives the same purchase order ids."""
        ids = [FakeWalmart(seed=7).add_order(lines=[("S", 1)]) for _ in range(2)]
        assert ids[0] == ids[1]


# -- routing, the table, the real server ------------------------------------------------

# WIRE.md 1-7, written out here on their own: method, path, default bucket.
PUBLISHED: dict[str, tuple[str, str, int, float]] = {
    "token": ("POST", "/v3/token", 1000, MINUTE),
    "tokenDetail": ("GET", "/v3/token/detail", 1000, MINUTE),
    "updatePrice": ("PUT", "/v3/price", 100, HOUR),
    "getItem": ("GET", "/v3/items/{sku}", 900, MINUTE),  # not in WIRE.md: a guess [U]
    "getInventory": ("GET", "/v3/inventory", 200, MINUTE),
    "updateInventory": ("PUT", "/v3/inventory", 200, MINUTE),
    "getOrders": ("GET", "/v3/orders", 5000, MINUTE),
    "getReleasedOrders": ("GET", "/v3/orders/released", 60, MINUTE),
    "getOrder": ("GET", "/v3/orders/{purchaseOrderId}", 5000, MINUTE),
    "acknowledgeOrder": ("POST", "/v3/orders/{purchaseOrderId}/acknowledge", 60, MINUTE),
    "shipOrder": ("POST", "/v3/orders/{purchaseOrderId}/shipping", 60, MINUTE),
    "submitFeed": ("POST", "/v3/feeds", 10, HOUR),
    "getFeedStatus": ("GET", "/v3/feeds/{feedId}", 5000, MINUTE),
    "listFeeds": ("GET", "/v3/feeds", 5000, MINUTE),
}


class TestRouting:
    def test_table_is_the_published_one(self) -> None:
        """The route table is WIRE.md's: operations, methods, paths, default buckets."""
        table = {n: (r.method, r.path, r.capacity, r.per_seconds) for n, r in ROUTES.items()}
        assert table == PUBLISHED

    @pytest.mark.parametrize("operation", sorted(PUBLISHED))
    def test_published_path_reaches_the_operation(self, operation: str) -> None:
        """A request on the published method and path is routed to the operation."""
        method, path, _, _ = PUBLISHED[operation]
        raw = path.replace("{purchaseOrderId}", "1234").replace("{feedId}", "AB%40C")
        raw = raw.replace("{sku}", "A%20B%2FC")
        params = {"purchaseOrderId": "1234"} if "{purchaseOrderId}" in path else {}
        if "{feedId}" in path:
            params = {"feedId": "AB@C"}
        if "{sku}" in path:
            params = {"sku": "A B/C"}
        assert route(method, raw) == (operation, params, True)

    def test_every_route_has_a_handler(self) -> None:
        """The fake answers exactly the operations of its table."""
        assert set(HANDLERS) | GATEWAY_OPERATIONS == set(ROUTES)

    @pytest.mark.parametrize("file", fake_modules(fake_package), ids=lambda p: p.name)
    def test_no_adapter_tables_imported(self, file: Path) -> None:
        """The fake (and what it shares with the other fakes) imports nothing from the adapters."""
        assert {n for n in imported(file) if n.startswith("safe_release.adapters")} == set()

    def test_unknown_path_and_method(self, wm: Wm) -> None:
        """Unknown paths are 404 URI_NOT_FOUND; a known path with another method is 405."""
        assert codes(wm.call("GET", "/v3/reports/x")) == ["URI_NOT_FOUND.GMP_GATEWAY_API"]
        assert codes(wm.call("GET", "/v3/items")) == ["URI_NOT_FOUND.GMP_GATEWAY_API"]
        assert codes(wm.call("PUT", "/v3/items/x")) == ["METHOD_NOT_ALLOWED.GMP_GATEWAY_API"]
        assert codes(wm.call("DELETE", "/v3/price")) == ["METHOD_NOT_ALLOWED.GMP_GATEWAY_API"]
        assert wm.call("POST", "/v3/orders/released").status_code == 405
        assert wm.fake.calls[-1].operation == "unknown"


class TestTransports:
    def test_async_transport(self, fake: FakeWalmart) -> None:
        """The async transport answers the same way."""
        wm = Wm(fake)
        headers = wm.headers()

        async def run() -> int:
            async with httpx.AsyncClient(transport=fake.async_transport, base_url=BASE) as client:
                response = await client.get(
                    "/v3/inventory", params={"sku": "SKU-1"}, headers=headers
                )
                return response.status_code

        assert asyncio.run(run()) == 200

    def test_serve_on_loopback(self, fake: FakeWalmart) -> None:
        """serve(): a real HTTP server on 127.0.0.1 speaks the same wire, lost answers too."""
        with fake.serve() as base_url, httpx.Client(base_url=base_url, timeout=10) as http:
            assert base_url.startswith("http://127.0.0.1:")
            wm = Wm(fake, http=http)
            assert wm.price("SKU-1", 12.5).status_code == 200
            feed = wm.feed("price", price_feed(("SKU-2", 1)))
            assert feed.status_code == 200
            assert wm.feed_status(feed.json()["feedId"]).json()["feedStatus"] == "RECEIVED"
            fake.faults.ambiguous_next("updateInventory")
            with pytest.raises(httpx.RemoteProtocolError):
                wm.inventory("SKU-1", 2)
        assert fake.price("SKU-1") == Decimal("12.5")
        assert fake.quantity("SKU-1") == 2

    def test_feed_record(self, wm: Wm, fake: FakeWalmart) -> None:
        """fake.feeds shows frozen WalmartFeed records."""
        wm.feed("price", price_feed(("SKU-1", 1)))
        feed = fake.feeds[0]
        assert isinstance(feed, WalmartFeed)
        assert (feed.feed_type, feed.status, feed.seller_id) == (
            "price",
            "RECEIVED",
            "demo-seller",
        )
        assert [i.status for i in feed.items] == ["INPROGRESS"]

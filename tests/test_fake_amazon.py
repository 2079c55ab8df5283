"""FakeAmazon: state, wire format, quotas, auth, faults, inspection and the real server.

Every SP-API response a test receives goes through `SchemaChecking`, which
validates its body against the official model (tests/amazon_schemas.py), and
every request body a test builds is validated against the request schema.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from decimal import Decimal
from typing import Any

import httpx
import jsonschema
import pytest

import safe_release as sr
from safe_release.testing import Call, FakeAmazon, FakeAmazonCredentials, FakeClock
from safe_release.testing._amazon._routes import ROUTES
from tests.amazon_schemas import has_model, usage_plan, validate_request, validate_response
from tests.fakes_util import FakeClient

BASE = "https://sellingpartnerapi-na.amazon.com"
LWA = "https://api.amazon.com/auth/o2/token"
MP = "ATVPDKIKX0DER"
QUOTA_BODY = {
    "errors": [
        {
            "code": "QuotaExceeded",
            "message": "You exceeded your quota for the requested resource.",
            "details": "",
        }
    ]
}
RATE = "x-amzn-RateLimit-Limit"
ADDRESS = {
    "addressLine1": "1 Main St",
    "city": "Seattle",
    "countryCode": "US",
    "name": "Warehouse",
    "phoneNumber": "2065550100",
    "postalCode": "98101",
}


class SchemaChecking(httpx.BaseTransport):
    """The fake's transport, validating every SP-API response against the model."""

    def __init__(self, fake: FakeAmazon) -> None:
        self.fake = fake
        self.checked: list[tuple[str, int]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.fake.transport.handle_request(request)
        operation = self.fake.calls[-1].operation
        if has_model(operation) and response.status_code != 502:
            body = response.json() if response.content else None
            validate_response(operation, response.status_code, body)
            self.checked.append((operation, response.status_code))
        return response


class Sp(FakeClient[FakeAmazonCredentials]):
    """A minimal SP-API client for the tests: LWA token, then signed calls."""

    base_url = BASE

    def __init__(
        self,
        fake: FakeAmazon,
        creds: FakeAmazonCredentials | None = None,
        *,
        http: httpx.Client | None = None,
    ) -> None:
        self.transport = SchemaChecking(fake)
        super().__init__(fake, creds, http=http, transport=self.transport)
        self.lwa_url = LWA if http is None else "/auth/o2/token"

    def lwa(self, **overrides: str) -> httpx.Response:
        form = {
            "grant_type": "refresh_token",
            "refresh_token": self.creds.refresh_token,
            "client_id": self.creds.client_id,
            "client_secret": self.creds.client_secret,
        }
        return self.http.post(self.lwa_url, data={**form, **overrides})

    def token(self) -> str:
        response = self.lwa()
        assert response.status_code == 200, response.text
        self.access = response.json()["access_token"]
        return self.access

    def call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        token: str | None = None,
    ) -> httpx.Response:
        access = token or self.access or self.token()
        return self.http.request(
            method, path, params=params, json=json, headers={"x-amz-access-token": access}
        )

    def orders(self, **params: Any) -> httpx.Response:
        return self.call("GET", "/orders/v0/orders", params={"MarketplaceIds": MP, **params})

    def listing(self, sku: str, *, token: str | None = None, **params: Any) -> httpx.Response:
        return self.call(
            "GET",
            f"/listings/2021-08-01/items/{self.creds.seller_id}/{sku}",
            params={"marketplaceIds": MP, **params},
            token=token,
        )

    def patch(self, sku: str, body: Any, **params: Any) -> httpx.Response:
        return self.call(
            "PATCH",
            f"/listings/2021-08-01/items/{self.creds.seller_id}/{sku}",
            params={"marketplaceIds": MP, **params},
            json=body,
        )

    def confirm(self, order_id: str, body: Any) -> httpx.Response:
        return self.call("POST", f"/orders/v0/orders/{order_id}/shipmentConfirmation", json=body)

    def inventory(self, **params: Any) -> httpx.Response:
        query = {"granularityType": "Marketplace", "granularityId": MP, "marketplaceIds": MP}
        return self.call("GET", "/fba/inventory/v1/summaries", params={**query, **params})

    def create_plan(self, body: Any) -> httpx.Response:
        return self.call("POST", "/inbound/fba/2024-03-20/inboundPlans", json=body)

    def plan_status(self, operation_id: str) -> httpx.Response:
        return self.call("GET", f"/inbound/fba/2024-03-20/operations/{operation_id}")


def price_patch(price: float, *, op: str = "replace") -> dict[str, Any]:
    """A patchListingsItem body setting the price (validated against the model)."""
    body = {
        "productType": "PRODUCT",
        "patches": [
            {
                "op": op,
                "path": "/attributes/purchasable_offer",
                "value": [
                    {
                        "marketplace_id": MP,
                        "currency": "USD",
                        "our_price": [{"schedule": [{"value_with_tax": price}]}],
                    }
                ],
            }
        ],
    }
    validate_request("patchListingsItem", body)
    return body


def quantity_patch(quantity: int, *, op: str = "replace") -> dict[str, Any]:
    """A patchListingsItem body setting the quantity (validated against the model)."""
    body = {
        "productType": "PRODUCT",
        "patches": [
            {
                "op": op,
                "path": "/attributes/fulfillment_availability",
                "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": quantity}],
            }
        ],
    }
    validate_request("patchListingsItem", body)
    return body


def shipment(
    order: sr.testing.AmazonOrder, *, tracking: str = "1Z999AA10123456784", package: str = "1"
) -> dict[str, Any]:
    """A confirmShipment body shipping every item (validated against the model)."""
    body = {
        "marketplaceId": MP,
        "packageDetail": {
            "packageReferenceId": package,
            "carrierCode": "UPS",
            "trackingNumber": tracking,
            "shipDate": "2026-01-01T10:00:00Z",
            "orderItems": [
                {"orderItemId": i.order_item_id, "quantity": i.quantity} for i in order.items
            ],
        },
    }
    validate_request("confirmShipment", body)
    return body


def plan_body(*items: tuple[str, int], name: str = "restock") -> dict[str, Any]:
    """A createInboundPlan body (validated against the model)."""
    body = {
        "destinationMarketplaces": [MP],
        "name": name,
        "sourceAddress": dict(ADDRESS),
        "items": [
            {"msku": sku, "quantity": qty, "labelOwner": "SELLER", "prepOwner": "SELLER"}
            for sku, qty in items
        ],
    }
    validate_request("createInboundPlan", body)
    return body


@pytest.fixture(name="fake")
def _fake(clock: FakeClock) -> FakeAmazon:
    fake = FakeAmazon(clock=clock)
    fake.add_listing("SKU-1", price=Decimal("19.99"), quantity=5)
    fake.add_listing("SKU-2", price=Decimal("5.00"), quantity=0)
    return fake


@pytest.fixture(name="sp")
def _sp(fake: FakeAmazon) -> Sp:
    return Sp(fake)


def errors(response: httpx.Response) -> tuple[int, str]:
    """(status, first error code) of an SP-API error answer."""
    return response.status_code, response.json()["errors"][0]["code"]


class TestLoginWithAmazon:
    def test_refresh_grant(self, sp: Sp) -> None:
        """A refresh-token grant returns a bearer Atza| token valid for 3600 s."""
        body = sp.lwa().json()
        assert body["access_token"].startswith("Atza|")
        assert (body["token_type"], body["expires_in"]) == ("bearer", 3600)
        assert body["refresh_token"] == sp.creds.refresh_token
        assert sp.fake.tokens_issued == 1

    def test_unknown_refresh_token_is_invalid_grant(self, sp: Sp) -> None:
        """A wrong refresh token gets Amazon's exact 400 invalid_grant body."""
        response = sp.lwa(refresh_token="Atzr|nope")  # noqa: S106 - a wrong one
        assert response.status_code == 400
        assert response.json() == {
            "error": "invalid_grant",
            "error_description": "The request has an invalid grant parameter : refresh_token. "
            "User may have revoked or didn't grant the permission.",
        }

    def test_wrong_secret_is_invalid_client(self, sp: Sp) -> None:
        """A wrong client secret gets 401 invalid_client."""
        response = sp.lwa(client_secret="amzn1.oa2-cs.v1.wrong")  # noqa: S106
        assert response.status_code == 401
        assert response.json() == {
            "error": "invalid_client",
            "error_description": "Client authentication failed",
        }

    def test_rotated_secret(self, sp: Sp) -> None:
        """After rotation the old secret is refused and the new one works."""
        old = sp.creds
        new = sp.fake.rotate_client_secret()
        assert sp.lwa().status_code == 401
        assert new.client_secret != old.client_secret
        assert Sp(sp.fake, new).lwa().status_code == 200
        assert sp.fake.credentials == new

    def test_deauthorized_seller(self, sp: Sp) -> None:
        """A seller who revoked the app makes the refresh fail with invalid_grant."""
        sp.fake.deauthorize()
        response = sp.lwa()
        assert (response.status_code, response.json()["error"]) == (400, "invalid_grant")

    def test_missing_parameter(self, sp: Sp) -> None:
        """A form without client_secret is an invalid_request."""
        response = sp.lwa(client_secret="")
        assert (response.status_code, response.json()["error"]) == (400, "invalid_request")

    def test_throttled_token_endpoint(self, sp: Sp) -> None:
        """token_endpoint_throttled makes LWA answer 429 until cleared."""
        sp.fake.faults.token_endpoint_throttled = True
        assert sp.lwa().status_code == 429
        sp.fake.faults.clear()
        assert sp.lwa().status_code == 200

    def test_secrets_never_recorded(self, sp: Sp) -> None:
        """Token calls record neither the form nor the issued token."""
        token = sp.token()
        call = sp.fake.calls[-1]
        assert (call.operation, call.json, dict(call.query)) == ("lwa.token", None, {})
        assert call.client_id == sp.creds.client_id
        text = repr(sp.fake.calls) + repr(sp.fake) + repr(sp.creds)
        for secret in (token, sp.creds.refresh_token, sp.creds.client_secret):
            assert secret not in text


class TestAccessTokens:
    def test_missing_token(self, sp: Sp) -> None:
        """No x-amz-access-token header: 403 MissingAuthenticationToken, no rate header."""
        response = sp.http.get("/orders/v0/orders", params={"MarketplaceIds": MP})
        assert errors(response) == (403, "MissingAuthenticationToken")
        assert RATE not in response.headers
        assert response.headers["x-amzn-RequestId"]

    def test_unknown_token(self, sp: Sp) -> None:
        """A token the fake never issued is 'revoked, malformed or invalid'."""
        response = sp.listing("SKU-1", token="Atza|forged")  # noqa: S106
        assert errors(response) == (403, "Unauthorized")
        assert response.json()["errors"][0]["details"] == (
            "The access token you provided is revoked, malformed or invalid."
        )

    def test_token_expires_after_an_hour(self, sp: Sp, clock: FakeClock) -> None:
        """A token works for 3599 s of fake time and is 'expired' at 3600 s."""
        sp.token()
        clock.advance(3599)
        assert sp.listing("SKU-1").status_code == 200
        clock.advance(1)
        response = sp.listing("SKU-1")
        assert errors(response) == (403, "Unauthorized")
        assert response.json()["errors"][0]["details"] == (
            "The access token you provided has expired."
        )
        assert RATE not in response.headers

    def test_revoke_auth(self, sp: Sp) -> None:
        """revoke_auth() kills the tokens issued so far; a fresh token works."""
        old = sp.token()
        sp.fake.faults.revoke_auth()
        response = sp.listing("SKU-1", token=old)
        assert "revoked" in response.json()["errors"][0]["details"]
        sp.token()
        assert sp.listing("SKU-1").status_code == 200

    def test_other_sellers_listing(self, sp: Sp) -> None:
        """A sellerId in the path other than the token's seller is refused with 403."""
        response = sp.call(
            "GET", "/listings/2021-08-01/items/AOTHERSELLER/SKU-1", params={"marketplaceIds": MP}
        )
        assert errors(response) == (403, "Unauthorized")


class TestQuota:
    def test_burst_then_quota_exceeded(self, sp: Sp, clock: FakeClock) -> None:
        """getInventorySummaries (2/s, burst 2): the third call at once is a bare 429."""
        assert [sp.inventory().status_code for _ in range(3)] == [200, 200, 429]
        throttled = sp.inventory()
        assert throttled.json() == QUOTA_BODY
        assert "Retry-After" not in throttled.headers
        assert RATE not in throttled.headers
        clock.advance(0.5)
        assert [sp.inventory().status_code for _ in range(2)] == [200, 429]

    def test_rate_header_on_success(self, sp: Sp) -> None:
        """x-amzn-RateLimit-Limit carries the enforced rate as a decimal string."""
        assert sp.orders(CreatedAfter="2025-01-01T00:00:00Z").headers[RATE] == "0.0167"
        assert sp.listing("SKU-1").headers[RATE] == "5.0"

    def test_rate_header_statuses(self, sp: Sp) -> None:
        """The rate header is on 2xx, 400 and 404, never on 403, 429, 500 or 503."""
        results = {}
        results[200] = sp.listing("SKU-1")
        results[400] = sp.listing("SKU-1", includedData="bogus")
        results[404] = sp.listing("NOPE")
        sp.fake.faults.error_rate = 1.0
        results[500] = sp.listing("SKU-1")
        sp.fake.faults.clear()
        now = sp.fake.clock.time()
        sp.fake.faults.outage(now, now + 10)
        results[503] = sp.listing("SKU-1")
        sp.fake.faults.clear()
        sp.fake.drain("getListingsItem")
        results[429] = sp.listing("SKU-1")
        results[403] = sp.call("GET", "/orders/v0/orders", token="Atza|bad")  # noqa: S106
        assert {status: r.status_code for status, r in results.items()} == {s: s for s in results}
        assert {s for s, r in results.items() if RATE in r.headers} == {200, 400, 404}
        assert all(r.headers["x-amzn-RequestId"] for r in results.values())

    def test_buckets_are_server_state(self, sp: Sp) -> None:
        """A new client with a new token sees the bucket the old one drained."""
        for _ in range(2):
            sp.inventory()
        fresh = Sp(sp.fake)
        assert fresh.inventory().status_code == 429
        assert sp.fake.tokens("getInventorySummaries") < 1

    def test_buckets_per_app_and_seller(self, sp: Sp) -> None:
        """Another app, or another seller, has its own bucket."""
        sp.fake.drain("getInventorySummaries", credentials=sp.creds)
        assert sp.inventory().status_code == 429
        other_app = Sp(sp.fake, sp.fake.new_app())
        assert other_app.inventory().status_code == 200
        other_seller = Sp(sp.fake, sp.fake.authorize("ASECONDSELLER"))
        assert other_seller.inventory().status_code == 200
        assert other_seller.fake.calls[-1].seller_id == "ASECONDSELLER"

    def test_set_limit_lower(self, sp: Sp, clock: FakeClock) -> None:
        """set_limit lowers rate and burst; the rate header follows."""
        sp.fake.set_limit("getListingsItem", rate=0.5, burst=1)
        statuses = [sp.listing("SKU-1").status_code for _ in range(2)]
        assert statuses == [200, 429]
        clock.advance(1.9)
        assert sp.listing("SKU-1").status_code == 429
        clock.advance(0.1)
        response = sp.listing("SKU-1")
        assert (response.status_code, response.headers[RATE]) == (200, "0.5")
        assert sp.fake.limit("getListingsItem") == sr.adapters.Limit(0.5, 1)

    def test_drain_then_refill(self, sp: Sp, clock: FakeClock) -> None:
        """A drained getOrders bucket gives one token back per 1/0.0167 s."""
        sp.fake.drain("getOrders")
        assert sp.orders(CreatedAfter="2025-01-01T00:00:00Z").status_code == 429
        clock.advance(59)
        assert sp.orders(CreatedAfter="2025-01-01T00:00:00Z").status_code == 429
        clock.advance(1)
        assert sp.orders(CreatedAfter="2025-01-01T00:00:00Z").status_code == 200

    @pytest.mark.parametrize("operation", sorted(ROUTES))
    def test_documented_limits(self, operation: str) -> None:
        """Default limits are the fake's route table's, which match the models' Usage Plans."""
        limit = FakeAmazon().limit(operation)
        assert limit == ROUTES[operation].limit
        if has_model(operation):  # getMarketplaceParticipations: see test_fake_amazon_routes
            assert (limit.rate, limit.burst) == usage_plan(operation)

    def test_bad_limits(self, fake: FakeAmazon) -> None:
        """A non-positive rate or unknown operation is a typed error."""
        with pytest.raises(sr.InvalidArgumentError, match="rate must be a positive"):
            fake.set_limit("getOrders", rate=0, burst=1)
        with pytest.raises(sr.UnknownOperationError, match="getOrder"):
            fake.drain("getOrder")

    def test_threads_share_the_bucket(self, fake: FakeAmazon) -> None:
        """Sixteen threads at once get exactly burst successes, the rest 429."""
        fake.set_limit("getListingsItem", rate=0.001, burst=5)
        token = Sp(fake).token()
        statuses: list[int] = []
        barrier = threading.Barrier(16)

        def worker() -> None:
            client = Sp(fake)
            barrier.wait()
            statuses.append(client.listing("SKU-1", token=token).status_code)

        threads = [threading.Thread(target=worker) for _ in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(statuses) == [200] * 5 + [429] * 11


class TestOrders:
    def test_pagination(self, fake: FakeAmazon, sp: Sp, clock: FakeClock) -> None:
        """250 orders come back 100, 100, 50 through NextToken, oldest first."""
        for _ in range(250):
            fake.add_order()
            clock.advance(1)
        pages, token = [], None
        while True:
            params = (
                {"NextToken": token}
                if token
                else {"CreatedAfter": "2025-12-31T00:00:00Z", "MaxResultsPerPage": 100}
            )
            payload = sp.orders(**params).json()["payload"]
            pages.append([o["AmazonOrderId"] for o in payload["Orders"]])
            token = payload.get("NextToken")
            if token is None:
                break
            clock.advance(60)  # one getOrders token per minute
        assert [len(page) for page in pages] == [100, 100, 50]
        assert [i for page in pages for i in page] == [o.order_id for o in fake.orders]

    def test_next_token_can_be_reread(self, fake: FakeAmazon, sp: Sp) -> None:
        """The same NextToken returns the same page again (a retried page read)."""
        for _ in range(3):
            fake.add_order()
        token = sp.orders(CreatedAfter="2025-01-01T00:00:00Z", MaxResultsPerPage=2).json()[
            "payload"
        ]["NextToken"]
        first, again = (sp.orders(NextToken=token).json()["payload"] for _ in range(2))
        assert first == again
        assert len(first["Orders"]) == 1
        assert "NextToken" not in first

    def test_filters(self, fake: FakeAmazon, sp: Sp, clock: FakeClock) -> None:
        """CreatedAfter and OrderStatuses select orders."""
        old = fake.add_order(purchase_date=clock.time() - 86_400)
        new = fake.add_order(status="Pending")
        ids = [
            o["AmazonOrderId"]
            for o in sp.orders(CreatedAfter="2025-12-31T12:00:00Z").json()["payload"]["Orders"]
        ]
        assert ids == [new.order_id]
        ids = [
            o["AmazonOrderId"]
            for o in sp.orders(
                CreatedAfter="2025-01-01T00:00:00Z",
                OrderStatuses="Unshipped",
            ).json()["payload"]["Orders"]
        ]
        assert ids == [old.order_id]

    def test_repeated_list_parameters(self, fake: FakeAmazon, sp: Sp) -> None:
        """OrderStatuses as repeated keys works like the comma-separated form."""
        shipped, pending = fake.add_order(status="Shipped"), fake.add_order(status="Pending")
        fake.add_order(status="Canceled")
        orders = sp.orders(
            CreatedAfter="2025-01-01T00:00:00Z", OrderStatuses=["Shipped", "Pending"]
        ).json()["payload"]["Orders"]
        assert [o["AmazonOrderId"] for o in orders] == [shipped.order_id, pending.order_id]
        assert sp.fake.calls[-1].query["OrderStatuses"] == "Shipped,Pending"

    @pytest.mark.parametrize(
        ("params", "message"),
        [
            ({"MarketplaceIds": ""}, "MarketplaceIds"),
            ({}, "Either CreatedAfter or LastUpdatedAfter"),
            ({"CreatedAfter": "yesterday"}, "ISO 8601"),
            ({"CreatedAfter": "2030-01-01T00:00:00Z"}, "future"),
            ({"CreatedAfter": "2025-01-01T00:00:00Z", "MaxResultsPerPage": 0}, "1 to 100"),
            ({"CreatedAfter": "2025-01-01T00:00:00Z", "MaxResultsPerPage": "ten"}, "1 to 100"),
            (
                {"CreatedAfter": "2025-01-01T00:00:00Z", "LastUpdatedAfter": "2025-01-01"},
                "cannot be set",
            ),
            ({"NextToken": "not-a-token"}, "NextToken"),
        ],
    )
    def test_bad_parameters(self, sp: Sp, params: dict[str, Any], message: str) -> None:
        """Bad getOrders parameters get 400 InvalidInput with the rate header."""
        response = sp.orders(**params)
        assert errors(response) == (400, "InvalidInput")
        assert message in response.json()["errors"][0]["message"]
        assert response.headers[RATE] == "0.0167"

    def test_order_items(self, fake: FakeAmazon, sp: Sp) -> None:
        """getOrderItems lists the items with the listing's price."""
        order = fake.add_order(items=[("SKU-1", 2), ("SKU-X", 1, Decimal("3.50"))])
        payload = sp.call("GET", f"/orders/v0/orders/{order.order_id}/orderItems").json()
        items = payload["payload"]["OrderItems"]
        assert [
            (i["SellerSKU"], i["QuantityOrdered"], i["ItemPrice"]["Amount"]) for i in items
        ] == [("SKU-1", 2, "39.98"), ("SKU-X", 1, "3.50")]
        assert order.total == Decimal("43.48")

    def test_unknown_order(self, sp: Sp) -> None:
        """An unknown order id is a 404 NotFound with the rate header."""
        response = sp.call("GET", "/orders/v0/orders/111-0000000-0000000/orderItems")
        assert errors(response) == (404, "NotFound")
        assert response.headers[RATE] == "0.5"


class TestConfirmShipment:
    def test_records_tracking(self, fake: FakeAmazon, sp: Sp, clock: FakeClock) -> None:
        """A confirmation answers 204, ships the order and records the tracking."""
        order = fake.add_order(items=[("SKU-1", 2)])
        response = sp.confirm(order.order_id, shipment(order))
        assert (response.status_code, response.content) == (204, b"")
        assert response.headers[RATE] == "2.0"
        shipped = fake.order(order.order_id)
        assert (shipped.status, shipped.tracking_number) == ("Shipped", "1Z999AA10123456784")
        assert [(s.order_id, s.carrier_code, s.at) for s in fake.shipments] == [
            (order.order_id, "UPS", clock.time())
        ]

    def test_replay_overwrites(self, fake: FakeAmazon, sp: Sp) -> None:
        """A second confirmation with other tracking overwrites it; history keeps both."""
        order = fake.add_order()
        sp.confirm(order.order_id, shipment(order, tracking="FIRST"))
        sp.confirm(order.order_id, shipment(order, tracking="SECOND"))
        assert fake.order(order.order_id).tracking_number == "SECOND"
        assert [s.tracking_number for s in fake.shipments] == ["FIRST", "SECOND"]
        fake.assert_no_duplicate_writes()

    def test_identical_replay_is_a_duplicate(self, fake: FakeAmazon, sp: Sp) -> None:
        """The same confirmation sent twice is reported as a duplicate write."""
        order = fake.add_order()
        for _ in range(2):
            assert sp.confirm(order.order_id, shipment(order)).status_code == 204
        with pytest.raises(
            AssertionError,
            match=rf"confirmShipment orderId={order.order_id}"
            r": applied 2 times \(calls #\d+, #\d+\)",
        ):
            fake.assert_no_duplicate_writes()

    def test_partial_shipment(self, fake: FakeAmazon, sp: Sp) -> None:
        """Shipping part of the units leaves the order PartiallyShipped."""
        order = fake.add_order(items=[("SKU-1", 3)])
        body = shipment(order)
        body["packageDetail"]["orderItems"][0]["quantity"] = 1
        sp.confirm(order.order_id, body)
        assert fake.order(order.order_id).status == "PartiallyShipped"
        assert fake.order(order.order_id).items[0].quantity_shipped == 1

    def test_bad_bodies(self, fake: FakeAmazon, sp: Sp) -> None:
        """A body the model rejects is a 400 here too; unknown items and orders as well."""
        order = fake.add_order()
        missing = shipment(order)
        del missing["packageDetail"]["trackingNumber"]
        with pytest.raises(jsonschema.ValidationError, match="trackingNumber"):
            validate_request("confirmShipment", missing)
        assert errors(sp.confirm(order.order_id, missing)) == (400, "InvalidInput")
        assert errors(sp.confirm(order.order_id, {"marketplaceId": MP})) == (400, "InvalidInput")
        wrong_item = shipment(order)
        wrong_item["packageDetail"]["orderItems"][0]["orderItemId"] = "999"
        assert errors(sp.confirm(order.order_id, wrong_item)) == (400, "InvalidInput")
        assert errors(sp.confirm("111-0000000-0000000", shipment(order))) == (404, "NotFound")
        canceled = fake.add_order(status="Canceled")
        assert errors(sp.confirm(canceled.order_id, shipment(canceled))) == (400, "InvalidInput")
        assert fake.shipments == []
        assert fake.writes() == []


class TestListings:
    def test_summaries_by_default(self, sp: Sp) -> None:
        """Without includedData only summaries come back."""
        body = sp.listing("SKU-1").json()
        assert set(body) == {"sku", "summaries"}
        assert body["summaries"][0]["marketplaceId"] == MP

    def test_price_and_quantity(self, sp: Sp) -> None:
        """attributes, offers and fulfillmentAvailability carry price and quantity."""
        body = sp.listing(
            "SKU-1", includedData="attributes,offers,fulfillmentAvailability,issues"
        ).json()
        offer = body["attributes"]["purchasable_offer"][0]
        assert offer["our_price"][0]["schedule"][0]["value_with_tax"] == 19.99
        assert body["offers"][0]["price"] == {"currencyCode": "USD", "amount": "19.99"}
        assert body["fulfillmentAvailability"] == [
            {"fulfillmentChannelCode": "DEFAULT", "quantity": 5}
        ]
        assert body["attributes"]["fulfillment_availability"][0]["quantity"] == 5

    def test_unknown_sku(self, sp: Sp) -> None:
        """An unknown SKU is a 404 NotFound with the rate header."""
        response = sp.listing("NOPE")
        assert errors(response) == (404, "NotFound")
        assert response.headers[RATE] == "5.0"

    def test_sku_is_url_decoded(self, fake: FakeAmazon, sp: Sp) -> None:
        """A SKU with a slash or space round-trips through the encoded path."""
        fake.add_listing("A/B C", price=Decimal(1))
        assert sp.listing("A%2FB%20C").json()["sku"] == "A/B C"

    def test_patch_price(self, fake: FakeAmazon, sp: Sp) -> None:
        """A replace on purchasable_offer changes the price; the answer is ACCEPTED."""
        response = sp.patch("SKU-1", price_patch(17.5))
        body = response.json()
        assert (response.status_code, body["status"], body["issues"]) == (200, "ACCEPTED", [])
        assert len(body["submissionId"]) == 32
        assert fake.price("SKU-1") == Decimal("17.5")
        assert (
            sp.listing("SKU-1", includedData="offers").json()["offers"][0]["price"]["amount"]
            == "17.5"
        )

    def test_patch_quantity_with_add(self, fake: FakeAmazon, sp: Sp) -> None:
        """An add on fulfillment_availability sets the quantity."""
        sp.patch("SKU-2", quantity_patch(12, op="add"))
        assert fake.quantity("SKU-2") == 12
        assert fake.quantities == {"SKU-1": 5, "SKU-2": 12}

    def test_patch_both_at_once(self, fake: FakeAmazon, sp: Sp) -> None:
        """One request may patch price and quantity together."""
        body = price_patch(9.99)
        body["patches"] += quantity_patch(7)["patches"]
        sp.patch("SKU-1", body)
        assert (fake.price("SKU-1"), fake.quantity("SKU-1")) == (Decimal("9.99"), 7)

    def test_validation_preview(self, fake: FakeAmazon, sp: Sp) -> None:
        """mode=VALIDATION_PREVIEW answers VALID and changes nothing."""
        body = sp.patch("SKU-1", price_patch(1.0), mode="VALIDATION_PREVIEW").json()
        assert body["status"] == "VALID"
        assert fake.price("SKU-1") == Decimal("19.99")
        assert fake.writes() == []

    def test_invalid_value(self, fake: FakeAmazon, sp: Sp) -> None:
        """A negative price is INVALID with an issue and changes nothing."""
        body = sp.patch("SKU-1", price_patch(-1)).json()
        assert body["status"] == "INVALID"
        assert body["issues"][0]["attributeNames"] == ["purchasable_offer"]
        assert fake.price("SKU-1") == Decimal("19.99")

    def test_other_attributes(self, fake: FakeAmazon, sp: Sp) -> None:
        """Other attributes are stored, shown and deleted like Amazon's."""
        item_name = [{"value": "New name", "marketplace_id": MP}]
        body = {
            "productType": "PRODUCT",
            "patches": [{"op": "replace", "path": "/attributes/item_name", "value": item_name}],
        }
        validate_request("patchListingsItem", body)
        sp.patch("SKU-1", body)
        attrs = sp.listing("SKU-1", includedData="attributes").json()["attributes"]
        assert attrs["item_name"] == item_name
        delete = {
            "productType": "PRODUCT",
            "patches": [{"op": "delete", "path": "/attributes/item_name"}],
        }
        sp.patch("SKU-1", delete)
        assert "item_name" not in fake.listing("SKU-1").attributes

    @pytest.mark.parametrize(
        "body",
        [
            {"patches": []},
            {
                "productType": "PRODUCT",
                "patches": [{"op": "move", "path": "/attributes/x", "value": [{}]}],
            },
            {
                "productType": "PRODUCT",
                "patches": [{"op": "replace", "path": "/sku", "value": [{}]}],
            },
            {
                "productType": "PRODUCT",
                "patches": [{"op": "replace", "path": "/attributes/x", "value": 3}],
            },
            {"productType": "PRODUCT", "patches": ["replace /attributes/x"]},
        ],
    )
    def test_malformed_patch(self, fake: FakeAmazon, sp: Sp, body: dict[str, Any]) -> None:
        """Bodies the model rejects (or paths outside /attributes) get 400 InvalidInput."""
        if body.get("patches") != [{"op": "replace", "path": "/sku", "value": [{}]}]:
            with pytest.raises(jsonschema.ValidationError):
                validate_request("patchListingsItem", body)
        assert errors(sp.patch("SKU-1", body)) == (400, "InvalidInput")
        assert fake.price("SKU-1") == Decimal("19.99")

    def test_not_json(self, sp: Sp) -> None:
        """A body that is not JSON is 400 InvalidInput."""
        response = sp.http.patch(
            f"/listings/2021-08-01/items/{sp.creds.seller_id}/SKU-1",
            params={"marketplaceIds": MP},
            content=b"{nope",
            headers={"x-amz-access-token": sp.token()},
        )
        assert errors(response) == (400, "InvalidInput")

    def test_duplicate_price_patches(self, fake: FakeAmazon, sp: Sp) -> None:
        """The same price patch applied twice is listed; a different one is not."""
        sp.patch("SKU-1", price_patch(10.0))
        sp.patch("SKU-1", price_patch(11.0))
        fake.assert_no_duplicate_writes()
        sp.patch("SKU-1", price_patch(11.0))
        with pytest.raises(AssertionError, match=r"patchListingsItem sku=SKU-1: applied 2"):
            fake.assert_no_duplicate_writes()


class TestInventory:
    def test_summaries(self, fake: FakeAmazon, sp: Sp) -> None:
        """details=true includes the quantity breakdown."""
        fake.set_inventory("SKU-1", fulfillable=8, reserved=2, inbound_working=5)
        summary = sp.inventory(details="true").json()["payload"]["inventorySummaries"][0]
        assert (summary["sellerSku"], summary["totalQuantity"]) == ("SKU-1", 15)
        assert summary["inventoryDetails"]["fulfillableQuantity"] == 8
        assert summary["inventoryDetails"]["reservedQuantity"] == {"totalReservedQuantity": 2}
        assert summary["asin"] == fake.listing("SKU-1").asin

    def test_pagination_and_filter(self, fake: FakeAmazon, sp: Sp, clock: FakeClock) -> None:
        """120 SKUs come back 50, 50, 20; sellerSkus filters."""
        for n in range(120):
            fake.set_inventory(f"S{n:03}", fulfillable=n)
        sizes, token = [], None
        while True:
            clock.advance(1)
            body = sp.inventory(**({"nextToken": token} if token else {})).json()
            sizes.append(len(body["payload"]["inventorySummaries"]))
            token = body.get("pagination", {}).get("nextToken")
            if not token:
                break
        assert sizes == [50, 50, 20]
        clock.advance(1)
        chosen = sp.inventory(sellerSkus="S001,S007").json()["payload"]["inventorySummaries"]
        assert [(s["sellerSku"], s["totalQuantity"]) for s in chosen] == [("S001", 1), ("S007", 7)]

    def test_bad_parameters(self, sp: Sp, clock: FakeClock) -> None:
        """A wrong granularityType or details flag is 400 InvalidInput."""
        assert errors(sp.inventory(granularityType="Country")) == (400, "InvalidInput")
        clock.advance(1)
        assert errors(sp.inventory(details="maybe")) == (400, "InvalidInput")


class TestInboundPlans:
    def test_every_call_is_a_new_plan(self, fake: FakeAmazon, sp: Sp) -> None:
        """Two identical requests create two plans, and that is a duplicate write."""
        ids = [sp.create_plan(plan_body(("SKU-1", 10))).json() for _ in range(2)]
        assert all(r.keys() == {"inboundPlanId", "operationId"} for r in ids)
        assert len({r["inboundPlanId"] for r in ids}) == 2
        assert [p.inbound_plan_id for p in fake.inbound_plans] == [r["inboundPlanId"] for r in ids]
        with pytest.raises(AssertionError, match="createInboundPlan: applied 2 times"):
            fake.assert_no_duplicate_writes()

    def test_operation_completes_on_the_clock(
        self, fake: FakeAmazon, sp: Sp, clock: FakeClock
    ) -> None:
        """The operation is IN_PROGRESS, then SUCCESS once inbound_processing has passed."""
        fake.inbound_processing = 30
        created = sp.create_plan(plan_body(("SKU-1", 10)))
        assert created.status_code == 202
        operation_id = created.json()["operationId"]
        assert sp.plan_status(operation_id).json()["operationStatus"] == "IN_PROGRESS"
        clock.advance(30)
        status = sp.plan_status(operation_id).json()
        assert (status["operation"], status["operationStatus"], status["operationProblems"]) == (
            "createInboundPlan",
            "SUCCESS",
            [],
        )

    def test_unknown_msku_fails(self, fake: FakeAmazon, sp: Sp, clock: FakeClock) -> None:
        """A plan for a SKU the seller does not have ends FAILED with a problem."""
        operation_id = sp.create_plan(plan_body(("GHOST", 1))).json()["operationId"]
        clock.advance(fake.inbound_processing)
        status = sp.plan_status(operation_id).json()
        assert status["operationStatus"] == "FAILED"
        assert "GHOST" in status["operationProblems"][0]["message"]
        assert fake.inbound_plans[0].status == "ERRORED"

    def test_cancel(self, fake: FakeAmazon, sp: Sp, clock: FakeClock) -> None:
        """Cancelling voids the plan once; again is 400, unknown is 404."""
        plan_id = sp.create_plan(plan_body(("SKU-1", 10))).json()["inboundPlanId"]
        path = f"/inbound/fba/2024-03-20/inboundPlans/{plan_id}/cancellation"
        cancelled = sp.call("PUT", path)
        assert (cancelled.status_code, len(cancelled.json()["operationId"])) == (202, 36)
        assert fake.inbound_plans[0].status == "VOIDED"
        assert errors(sp.call("PUT", path)) == (400, "InvalidInput")
        unknown = "/inbound/fba/2024-03-20/inboundPlans/wf00000000-0000-0000-0000-00000000000/"
        clock.advance(1)  # cancelInboundPlan: 2/s, burst 2
        assert errors(sp.call("PUT", unknown + "cancellation")) == (404, "NotFound")

    def test_bad_bodies(self, fake: FakeAmazon, sp: Sp) -> None:
        """Bodies the model rejects get 400 InvalidInput and create nothing."""
        body = plan_body(("SKU-1", 10))
        body["items"][0]["quantity"] = 0
        with pytest.raises(jsonschema.ValidationError, match="minimum"):
            validate_request("createInboundPlan", body)
        assert errors(sp.create_plan(body)) == (400, "InvalidInput")
        no_address = plan_body(("SKU-1", 10))
        del no_address["sourceAddress"]["city"]
        assert errors(sp.create_plan(no_address)) == (400, "InvalidInput")
        assert fake.inbound_plans == []

    def test_unknown_operation(self, sp: Sp) -> None:
        """An unknown operationId is a 404."""
        response = sp.plan_status("00000000-0000-4000-8000-000000000000")
        assert errors(response) == (404, "NotFound")


class TestSellers:
    def test_participations(self, sp: Sp) -> None:
        """getMarketplaceParticipations lists the seller's marketplace (no model to check)."""
        payload = sp.call("GET", "/sellers/v1/marketplaceParticipations").json()["payload"]
        assert [p["marketplace"]["id"] for p in payload] == [MP]
        assert payload[0]["participation"]["isParticipating"] is True


class TestFaults:
    def test_error_rate(self, sp: Sp) -> None:
        """error_rate=1 answers 500 InternalFailure without a rate header."""
        sp.fake.faults.error_rate = 1.0
        response = sp.listing("SKU-1")
        assert errors(response) == (500, "InternalFailure")
        assert RATE not in response.headers

    def test_error_rate_is_seeded(self) -> None:
        """The same seed fails the same calls; the share is near error_rate."""

        def statuses(seed: int) -> list[int]:
            fake = FakeAmazon(seed=seed)
            fake.add_listing("SKU-1", price=Decimal(1))
            fake.set_limit("getListingsItem", rate=5, burst=1000)
            fake.faults.error_rate = 0.3
            sp = Sp(fake)
            return [sp.listing("SKU-1").status_code for _ in range(100)]

        first, second, other = statuses(7), statuses(7), statuses(8)
        assert first == second
        assert first != other
        assert 15 <= first.count(500) <= 45

    def test_latency_advances_the_clock(self, sp: Sp, clock: FakeClock) -> None:
        """Each request takes `latency` seconds of fake time (and nothing of real time)."""
        sp.token()
        sp.fake.faults.latency = 2.5
        before = clock.time()
        sp.listing("SKU-1")
        assert clock.time() - before == 2.5
        assert sp.fake.calls[-1].at == before + 2.5
        assert clock.slept == []

    def test_outage_window(self, sp: Sp, clock: FakeClock) -> None:
        """Calls inside [start, end) get 503 ServiceUnavailable; after it, 200."""
        sp.token()
        now = clock.time()
        sp.fake.faults.outage(now + 10, now + 20)
        assert sp.listing("SKU-1").status_code == 200
        clock.advance(10)
        assert errors(sp.listing("SKU-1")) == (503, "ServiceUnavailable")
        clock.advance(10)
        assert sp.listing("SKU-1").status_code == 200

    def test_throttle_storm(self, sp: Sp) -> None:
        """A storm answers 429 though the bucket is full, and takes no token."""
        sp.token()
        sp.fake.faults.throttle_storm(1.0)
        response = sp.listing("SKU-1")
        assert (response.status_code, response.json()) == (429, QUOTA_BODY)
        assert sp.fake.tokens("getListingsItem") == 10
        sp.fake.faults.throttle_storm(0)
        assert sp.listing("SKU-1").status_code == 200

    def test_ambiguous_write(self, fake: FakeAmazon, sp: Sp) -> None:
        """ambiguous_next applies the write, then the client gets ReadTimeout."""
        sp.token()
        fake.faults.ambiguous_next("patchListingsItem")
        with pytest.raises(httpx.ReadTimeout):
            sp.patch("SKU-1", price_patch(12.0))
        assert fake.price("SKU-1") == Decimal("12.0")
        call = fake.calls[-1]
        assert (call.operation, call.status, call.applied, call.lost) == (
            "patchListingsItem",
            200,
            True,
            True,
        )
        assert sp.patch("SKU-1", price_patch(13.0)).status_code == 200
        assert [c.lost for c in fake.writes("patchListingsItem")] == [True, False]

    def test_garbage_page(self, sp: Sp) -> None:
        """garbage_next answers a 502 HTML page once, then the operation works again."""
        sp.token()
        sp.fake.faults.garbage_next("getListingsItem")
        response = sp.listing("SKU-1")
        assert response.status_code == 502
        assert response.headers["content-type"] == "text/html"
        assert response.text.startswith("<html>")
        with pytest.raises(ValueError, match="Expecting value"):
            response.json()
        assert sp.listing("SKU-1").status_code == 200

    def test_clear(self, sp: Sp) -> None:
        """clear() turns every fault off."""
        faults = sp.fake.faults
        faults.error_rate, faults.latency = 1.0, 3
        faults.throttle_storm(1)
        faults.outage(0, 2e9)
        faults.garbage_next("getOrders")
        assert "error_rate=1.0" in repr(faults)
        faults.clear()
        assert repr(faults) == "<FakeAmazonFaults none>"
        assert (faults.error_rate, faults.latency, faults.storm) == (0, 0, 0)
        assert sp.listing("SKU-1").status_code == 200

    @pytest.mark.parametrize(
        ("name", "value"),
        [
            ("error_rate", 1.5),
            ("error_rate", -0.1),
            ("latency", -1),
            ("latency", float("nan")),
        ],
    )
    def test_bad_settings(self, fake: FakeAmazon, name: str, value: float) -> None:
        """Out-of-range fault settings are typed errors."""
        with pytest.raises(sr.InvalidArgumentError, match=name):
            setattr(fake.faults, name, value)

    def test_bad_calls(self, fake: FakeAmazon) -> None:
        """Backwards outages, unknown operations and zero counts are refused."""
        with pytest.raises(sr.InvalidArgumentError, match="must end after"):
            fake.faults.outage(10, 5)
        with pytest.raises(sr.UnknownOperationError):
            fake.faults.ambiguous_next("patchListing")
        with pytest.raises(sr.InvalidArgumentError, match="times"):
            fake.faults.garbage_next("getOrders", times=0)
        with pytest.raises(sr.InvalidArgumentError, match="probability"):
            fake.faults.throttle_storm(2)


class TestInspection:
    def test_call_records(self, sp: Sp, clock: FakeClock) -> None:
        """A call records operation, method, path, query, body, status and time."""
        sp.token()
        clock.advance(5)
        sp.patch("SKU-1", price_patch(15.0))
        call = sp.fake.calls[-1]
        assert isinstance(call, Call)
        assert (call.operation, call.method, call.status, call.at) == (
            "patchListingsItem",
            "PATCH",
            200,
            clock.time(),
        )
        assert call.path == f"/listings/2021-08-01/items/{sp.creds.seller_id}/SKU-1"
        assert call.query == {"marketplaceIds": MP} == call.params
        assert call.json == price_patch(15.0)
        assert (call.seller_id, call.client_id) == (sp.creds.seller_id, sp.creds.client_id)
        with pytest.raises(dataclasses.FrozenInstanceError):
            call.status = 500  # type: ignore[misc]

    def test_writes_and_reset(self, fake: FakeAmazon, sp: Sp) -> None:
        """writes() lists applied writes only; reset_calls() forgets the log, not the state."""
        sp.listing("SKU-1")
        sp.patch("SKU-1", price_patch(-5))
        sp.patch("SKU-1", price_patch(5))
        assert [
            c.json["patches"][0]["value"][0]["our_price"][0]["schedule"][0]["value_with_tax"]
            for c in fake.writes()
        ] == [5]
        assert fake.writes("confirmShipment") == []
        fake.reset_calls()
        assert (fake.calls, fake.price("SKU-1")) == ([], Decimal(5))
        with pytest.raises(sr.UnknownOperationError):
            fake.writes("patch")

    def test_unknown_paths(self, sp: Sp) -> None:
        """Unknown paths are 404 and wrong methods 405, recorded as 'unknown'."""
        assert sp.call("GET", "/nothing/here").status_code == 404
        assert sp.call("DELETE", "/orders/v0/orders").status_code == 405
        assert [c.operation for c in sp.fake.calls[-2:]] == ["unknown", "unknown"]

    def test_repr_shows_state(self, fake: FakeAmazon, sp: Sp) -> None:
        """repr counts state and hides every credential."""
        token = sp.token()
        fake.add_order()
        text = repr(fake)
        assert text == (
            "<FakeAmazon sellers=1 orders=1 listings=2 inbound_plans=0 shipments=0 calls=1>"
        )
        creds = repr(fake.credentials)
        assert "***" in creds
        for secret in (token, fake.credentials.refresh_token, fake.credentials.client_secret):
            assert secret not in text + creds

    def test_lookups(self, fake: FakeAmazon) -> None:
        """Unknown SKUs, orders and stock are typed errors that say how to add them."""
        with pytest.raises(sr.InvalidArgumentError, match=r"fake.add_listing\('NOPE'"):
            fake.price("NOPE")
        with pytest.raises(sr.InvalidArgumentError, match="add_order"):
            fake.order("1")
        with pytest.raises(sr.InvalidArgumentError, match="set_inventory"):
            fake.inventory("SKU-1")
        assert fake.prices == {"SKU-1": Decimal("19.99"), "SKU-2": Decimal("5.00")}


class TestSeeding:
    @pytest.mark.parametrize(
        ("kwargs", "match"),
        [
            ({"price": 19.99}, "Decimal"),
            ({"price": Decimal(-1)}, ">= 0"),
            ({"price": Decimal("NaN")}, "finite"),
            ({"price": "abc"}, "finite"),
            ({"price": Decimal(1), "quantity": -1}, "quantity"),
            ({"price": Decimal(1), "quantity": True}, "quantity"),
        ],
    )
    def test_bad_listing(self, fake: FakeAmazon, kwargs: dict[str, Any], match: str) -> None:
        """Floats, negative or non-finite prices and bad quantities are refused."""
        with pytest.raises(sr.InvalidArgumentError, match=match):
            fake.add_listing("X", **kwargs)

    def test_empty_sku(self, fake: FakeAmazon) -> None:
        """A listing needs a SKU."""
        with pytest.raises(sr.InvalidArgumentError, match="non-empty SKU"):
            fake.add_listing("", price=Decimal(1))

    def test_non_ascii_secret(self, sp: Sp) -> None:
        """A non-ASCII client secret is simply wrong (401), not a crash."""
        assert sp.lwa(client_secret="sécret").status_code == 401  # noqa: S106

    def test_bad_orders(self, fake: FakeAmazon) -> None:
        """Unknown statuses, empty or malformed items and reused ids are refused."""
        with pytest.raises(sr.InvalidArgumentError, match="status"):
            fake.add_order(status="Lost")
        with pytest.raises(sr.InvalidArgumentError, match="at least one item"):
            fake.add_order(items=[])
        with pytest.raises(sr.InvalidArgumentError, match="sku, quantity"):
            fake.add_order(items=[("SKU-1",)])  # type: ignore[list-item]
        with pytest.raises(sr.InvalidArgumentError, match="sku, quantity"):
            fake.add_order(items=["SKU-1"])  # type: ignore[list-item]
        fake.add_order("111-1111111-1111111")
        with pytest.raises(sr.InvalidArgumentError, match="already exists"):
            fake.add_order("111-1111111-1111111")

    def test_order_ids_are_seeded(self) -> None:
        """Ids are in 3-7-7 form and the same for the same seed."""
        first = [FakeAmazon(seed=3).add_order().order_id for _ in range(2)]
        assert first[0] == first[1]
        assert [len(part) for part in first[0].split("-")] == [3, 7, 7]
        assert FakeAmazon(seed=4).add_order().order_id != first[0]

    def test_inbound_processing(self, fake: FakeAmazon) -> None:
        """inbound_processing accepts seconds or a timedelta, not negatives."""
        from datetime import timedelta  # noqa: PLC0415

        fake.inbound_processing = timedelta(minutes=1)
        assert fake.inbound_processing == 60.0
        with pytest.raises(sr.InvalidArgumentError):
            fake.inbound_processing = -1

    def test_unknown_app(self, fake: FakeAmazon) -> None:
        """Authorizing an unregistered app, or an empty seller id, is a typed error."""
        with pytest.raises(sr.InvalidArgumentError, match="new_app"):
            fake.authorize("ASELLER", client_id="amzn1.application-oa2-client.none")
        with pytest.raises(sr.InvalidArgumentError, match="seller_id"):
            fake.authorize("")

    def test_rotate_another_apps_secret(self, fake: FakeAmazon) -> None:
        """Rotating a second app's secret leaves the default credentials alone."""
        default, other = fake.credentials, fake.new_app()
        rotated = fake.rotate_client_secret(other)
        assert fake.credentials is default
        assert (rotated.client_id, rotated.refresh_token) == (other.client_id, other.refresh_token)
        assert Sp(fake, other).lwa().status_code == 401
        assert Sp(fake, rotated).lwa().status_code == 200


def _scenarios(fake: FakeAmazon, sp: Sp) -> dict[str, tuple[Any, Any]]:
    """Per operation: a call that succeeds and one that fails in the handler."""
    order = fake.add_order()
    sp.token()
    plan = sp.create_plan(plan_body(("SKU-1", 1))).json()
    fake.reset_calls()
    sp.transport.checked.clear()
    cancel = "/inbound/fba/2024-03-20/inboundPlans/{}/cancellation"
    return {
        "getOrders": (lambda: sp.orders(CreatedAfter="2025-01-01T00:00:00Z"), sp.orders),
        "getOrderItems": (
            lambda: sp.call("GET", f"/orders/v0/orders/{order.order_id}/orderItems"),
            lambda: sp.call("GET", "/orders/v0/orders/000-0000000-0000000/orderItems"),
        ),
        "confirmShipment": (
            lambda: sp.confirm(order.order_id, shipment(order)),
            lambda: sp.confirm("000-0000000-0000000", shipment(order)),
        ),
        "getListingsItem": (
            lambda: sp.listing("SKU-1", includedData=EVERY_SECTION),
            lambda: sp.listing("NOPE"),
        ),
        "patchListingsItem": (
            lambda: sp.patch("SKU-1", price_patch(3.0)),
            lambda: sp.patch("NOPE", price_patch(3.0)),
        ),
        "getInventorySummaries": (
            lambda: sp.inventory(details="true"),
            lambda: sp.inventory(granularityType="x"),
        ),
        "createInboundPlan": (
            lambda: sp.create_plan(plan_body(("SKU-1", 1))),
            lambda: sp.create_plan({"items": []}),
        ),
        "cancelInboundPlan": (
            lambda: sp.call("PUT", cancel.format(plan["inboundPlanId"])),
            lambda: sp.call("PUT", cancel.format("wf" + "0" * 36)),
        ),
        "getInboundOperationStatus": (
            lambda: sp.plan_status(plan["operationId"]),
            lambda: sp.plan_status("0" * 36),
        ),
    }


EVERY_SECTION = (
    "summaries,attributes,issues,offers,fulfillmentAvailability,procurement,"
    "relationships,productTypes"
)
MODELLED = sorted(op for op in ROUTES if has_model(op))


class TestSchemas:
    def test_models_cover_the_operations(self) -> None:
        """Every operation the fake serves but getMarketplaceParticipations has a model."""
        assert set(ROUTES) - set(MODELLED) == {"getMarketplaceParticipations"}

    def test_validators_can_fail(self) -> None:
        """The schema check rejects bodies that break the model."""
        with pytest.raises(jsonschema.ValidationError, match="'Orders' is a required"):
            validate_response("getOrders", 200, {"payload": {}})
        with pytest.raises(jsonschema.ValidationError, match="'message' is a required"):
            validate_response("getListingsItem", 404, {"errors": [{"code": "NotFound"}]})
        with pytest.raises(jsonschema.ValidationError, match="'inboundPlanId'"):
            validate_response("createInboundPlan", 202, {"operationId": "x" * 36})
        with pytest.raises(jsonschema.ValidationError, match="'patches' is a required"):
            validate_request("patchListingsItem", {"productType": "PRODUCT"})

    @pytest.mark.parametrize("operation", MODELLED)
    def test_every_answer_fits_the_model(
        self, fake: FakeAmazon, sp: Sp, clock: FakeClock, operation: str
    ) -> None:
        """2xx, 400/404, 403, 429, 500 and 503 bodies all validate against the model."""
        succeed, fail = _scenarios(fake, sp)[operation]
        statuses = []
        for attempt in (succeed, fail):
            clock.advance(60)
            statuses.append(attempt().status_code)
        clock.advance(60)
        sp.access = "Atza|invalid"
        statuses.append(succeed().status_code)
        sp.token()
        fake.drain(operation)
        statuses.append(succeed().status_code)
        clock.advance(60)
        fake.faults.error_rate = 1.0
        statuses.append(succeed().status_code)
        fake.faults.clear()
        fake.faults.outage(clock.time(), clock.time() + 1)
        statuses.append(succeed().status_code)
        assert statuses[0] in {200, 202, 204}
        assert statuses[1] in {400, 404}
        assert statuses[2:] == [403, 429, 500, 503]
        checked = [status for op, status in sp.transport.checked if op == operation]
        assert checked == statuses


class TestServe:
    def test_real_http_roundtrip(self, fake: FakeAmazon) -> None:
        """Over loopback: token, a read and a write, against the same state."""
        with fake.serve() as url, httpx.Client(base_url=url, timeout=5) as client:
            assert url.startswith("http://127.0.0.1:")
            creds = fake.credentials
            token = client.post(
                "/auth/o2/token",
                data={
                    "grant_type": "refresh_token",
                    "refresh_token": creds.refresh_token,
                    "client_id": creds.client_id,
                    "client_secret": creds.client_secret,
                },
            ).json()["access_token"]
            headers = {"x-amz-access-token": token}
            path = f"/listings/2021-08-01/items/{creds.seller_id}/SKU-1"
            read = client.get(path, params={"marketplaceIds": MP}, headers=headers)
            assert (read.status_code, read.headers[RATE]) == (200, "5.0")
            validate_response("getListingsItem", 200, read.json())
            write = client.patch(
                path, params={"marketplaceIds": MP}, headers=headers, json=price_patch(21.0)
            )
            assert write.json()["status"] == "ACCEPTED"
            assert write.headers["x-amzn-RequestId"]
        assert fake.price("SKU-1") == Decimal("21.0")
        with pytest.raises(httpx.ConnectError), httpx.Client(base_url=url) as client:
            client.get("/orders/v0/orders")

    def test_lost_answer_drops_the_connection(self, fake: FakeAmazon) -> None:
        """An ambiguous write over HTTP hangs up after applying it."""
        fake.faults.ambiguous_next("patchListingsItem")
        with fake.serve() as url, httpx.Client(base_url=url, timeout=5) as client:
            sp = Sp(fake, http=client)
            with pytest.raises(httpx.RemoteProtocolError):
                sp.patch("SKU-1", price_patch(8.0))
        assert fake.price("SKU-1") == Decimal("8.0")


class TestAsync:
    def test_async_client(self, fake: FakeAmazon) -> None:
        """An AsyncClient on async_transport shares the quota: burst 3 of 5 succeed."""
        fake.set_limit("getListingsItem", rate=0.01, burst=3)
        token = Sp(fake).token()
        path = f"/listings/2021-08-01/items/{fake.credentials.seller_id}/SKU-1"

        async def main() -> list[int]:
            async with httpx.AsyncClient(transport=fake.async_transport, base_url=BASE) as client:
                responses = await asyncio.gather(
                    *(
                        client.get(
                            path,
                            params={"marketplaceIds": MP},
                            headers={"x-amz-access-token": token},
                        )
                        for _ in range(5)
                    )
                )
            return sorted(r.status_code for r in responses)

        assert asyncio.run(main()) == [200, 200, 200, 429, 429]


class TestEdgeCases:
    @pytest.mark.parametrize(
        ("value", "attribute"),
        [
            ([{"marketplace_id": "A1PA6795UKMFR9", "our_price": []}], "purchasable_offer"),
            ([{"marketplace_id": MP, "currency": "USD", "our_price": []}], "purchasable_offer"),
            (
                [
                    {
                        "marketplace_id": MP,
                        "currency": "DOLLARS",
                        "our_price": [{"schedule": [{"value_with_tax": 1}]}],
                    }
                ],
                "purchasable_offer",
            ),
            (
                [
                    {
                        "marketplace_id": MP,
                        "currency": "USD",
                        "our_price": [{"schedule": [{"value_with_tax": "1.00"}]}],
                    }
                ],
                "purchasable_offer",
            ),
        ],
    )
    def test_price_issues(self, fake: FakeAmazon, sp: Sp, value: Any, attribute: str) -> None:
        """Unusable price values make the submission INVALID and change nothing."""
        body = {
            "productType": "PRODUCT",
            "patches": [{"op": "replace", "path": f"/attributes/{attribute}", "value": value}],
        }
        validate_request("patchListingsItem", body)
        answer = sp.patch("SKU-1", body).json()
        assert (answer["status"], answer["issues"][0]["attributeNames"]) == (
            "INVALID",
            [attribute],
        )
        assert fake.price("SKU-1") == Decimal("19.99")

    @pytest.mark.parametrize(
        "patch",
        [
            {
                "op": "replace",
                "path": "/attributes/fulfillment_availability",
                "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": -1}],
            },
            {
                "op": "replace",
                "path": "/attributes/fulfillment_availability",
                "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 1.5}],
            },
            {"op": "delete", "path": "/attributes/fulfillment_availability"},
        ],
    )
    def test_quantity_issues(self, fake: FakeAmazon, sp: Sp, patch: dict[str, Any]) -> None:
        """Negative or fractional quantities and deleting the offer are INVALID."""
        body = {"productType": "PRODUCT", "patches": [patch]}
        validate_request("patchListingsItem", body)
        assert sp.patch("SKU-1", body).json()["status"] == "INVALID"
        assert fake.quantity("SKU-1") == 5

    def test_bad_mode(self, sp: Sp) -> None:
        """A mode other than VALIDATION_PREVIEW is 400."""
        assert errors(sp.patch("SKU-1", price_patch(1.0), mode="LIVE")) == (400, "InvalidInput")

    @pytest.mark.parametrize(
        ("change", "message"),
        [
            (lambda b: b.update(destinationMarketplaces=[MP, "A2EUQ1WTGCTBG2"]), "exactly one"),
            (lambda b: b["items"][0].update(labelOwner="ME"), "labelOwner"),
            (lambda b: b.update(name="x" * 41), "name"),
            (lambda b: b["items"][0].update(quantity="3"), "wrong type"),
            (lambda b: b["items"][0].update(msku=""), "must not be empty"),
            (lambda b: b.update(items="SKU-1"), "wrong type"),
        ],
    )
    def test_bad_inbound_bodies(self, fake: FakeAmazon, sp: Sp, change: Any, message: str) -> None:
        """Each way a plan body can break the model is a 400 that says where."""
        body = plan_body(("SKU-1", 1))
        change(body)
        with pytest.raises(jsonschema.ValidationError):
            validate_request("createInboundPlan", body)
        response = sp.create_plan(body)
        assert errors(response) == (400, "InvalidInput")
        assert message in response.json()["errors"][0]["message"]
        assert fake.inbound_plans == []

    def test_more_order_checks(self, fake: FakeAmazon, sp: Sp, clock: FakeClock) -> None:
        """Too many marketplaces or shipping more units than ordered are 400s."""
        ids = ",".join(f"M{n}" for n in range(51))
        assert errors(
            sp.call(
                "GET",
                "/orders/v0/orders",
                params={"MarketplaceIds": ids, "CreatedAfter": "2025-01-01T00:00:00Z"},
            )
        ) == (400, "InvalidInput")
        order = fake.add_order()
        body = shipment(order)
        body["packageDetail"]["orderItems"][0]["quantity"] = 2
        assert errors(sp.confirm(order.order_id, body)) == (400, "InvalidInput")
        clock.advance(1)
        naive = sp.orders(CreatedAfter="2025-12-31T00:00:00")
        assert [o["AmazonOrderId"] for o in naive.json()["payload"]["Orders"]] == [order.order_id]

    def test_inventory_lookups(self, fake: FakeAmazon, sp: Sp, clock: FakeClock) -> None:
        """sellerSku filters one SKU; a bad nextToken is 400; fake.inventory() reads it."""
        fake.set_inventory("SKU-1", fulfillable=3)
        fake.set_inventory("SKU-2", fulfillable=4, unfulfillable=1)
        assert fake.inventory("SKU-2").total == 5
        one = sp.inventory(sellerSku="SKU-2").json()["payload"]["inventorySummaries"]
        assert [s["totalQuantity"] for s in one] == [5]
        clock.advance(1)
        assert errors(sp.inventory(nextToken="nope")) == (400, "InvalidInput")

    def test_payload_too_large(self, sp: Sp) -> None:
        """A body over the operation's size limit is 413."""
        body = plan_body(("SKU-1", 1))
        body["padding"] = "x" * ROUTES["createInboundPlan"].max_body_bytes
        assert errors(sp.create_plan(body)) == (413, "RequestEntityTooLarge")

    def test_token_endpoint_oddities(self, sp: Sp) -> None:
        """GET on the token endpoint is 405; a client_credentials grant is unsupported."""
        assert sp.http.get(LWA).status_code == 405
        response = sp.lwa(grant_type="client_credentials")
        assert (response.status_code, response.json()["error"]) == (400, "unsupported_grant_type")

    def test_set_limit_keeps_spent_tokens(self, sp: Sp, clock: FakeClock) -> None:
        """Lowering burst clamps saved tokens; already-spent tokens stay spent."""
        for _ in range(8):
            sp.listing("SKU-1")
        assert sp.fake.tokens("getListingsItem") == 2
        sp.fake.set_limit("getListingsItem", rate=1, burst=4)
        assert sp.fake.tokens("getListingsItem") == 2
        clock.advance(10)
        assert sp.fake.tokens("getListingsItem") == 4

    def test_outage_with_datetimes(self, sp: Sp, clock: FakeClock) -> None:
        """Outage windows also accept datetimes."""
        from datetime import datetime, timezone  # noqa: PLC0415

        start = datetime.fromtimestamp(clock.time(), tz=timezone.utc)
        sp.fake.faults.outage(start, datetime.fromtimestamp(clock.time() + 5, tz=timezone.utc))
        assert errors(sp.listing("SKU-1")) == (503, "ServiceUnavailable")

    def test_real_clock_sleeps(self) -> None:
        """With a clock that is not a FakeClock, latency is a sleep on that clock."""

        class Recording:
            def __init__(self) -> None:
                self.now, self.slept = 1_767_225_600.0, []

            def monotonic(self) -> float:
                return self.now

            def time(self) -> float:
                return self.now

            def sleep(self, seconds: float) -> None:
                self.slept.append(seconds)
                self.now += seconds

        clock = Recording()
        fake = FakeAmazon(clock=clock)
        fake.faults.latency = 0.25
        Sp(fake).lwa()
        assert clock.slept == [0.25]
        assert fake.faults.latency == 0.25
        assert fake.faults.storm == 0

    def test_empty_path_parameter(self, sp: Sp) -> None:
        """An empty SKU segment matches no operation."""
        assert sp.call("GET", "/listings/2021-08-01/items//SKU-1").status_code == 404

    def test_tiny_rate_header(self, sp: Sp) -> None:
        """A tiny rate is written as a plain decimal, never in exponent form."""
        sp.fake.set_limit("getListingsItem", rate=0.00001, burst=1)
        assert sp.listing("SKU-1").headers[RATE] == "0.00001"

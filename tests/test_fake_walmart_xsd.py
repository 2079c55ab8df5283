"""FakeWalmart's XML answers validate against Walmart's own XSDs.

The schemas are the Apache-2.0 ones from Walmart's .NET SDK, kept beside the
repository in ../shared/reference/walmart/xsd (see its PROVENANCE.md): the v3
order (``http://walmart.com/mp/v3/orders``), the feed acknowledgement and status
and the gateway error object (``http://walmart.com/``). Without that directory
the tests are skipped. The Items API's ``getItem`` answer (``ItemResponses``) has
no XSD there: its XML form is kept to the JSON's members and checked for shape
only, in tests/test_fake_walmart.py.
"""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest
import xmlschema

from safe_release.testing import FakeClock, FakeWalmart

XSD = Path(__file__).resolve().parents[2] / "shared" / "reference" / "walmart" / "xsd"
pytestmark = pytest.mark.skipif(
    not XSD.is_dir(), reason=f"Walmart's XSDs are not beside the repository at {XSD}"
)
BASE = "https://marketplace.walmartapis.com"
TRACKING = {
    "shipDateTime": 1_767_225_600_000,
    "carrierName": {"carrier": "FedEx"},
    "methodCode": "Express",
    "trackingNumber": "7712",
}


@cache
def schema(name: str) -> xmlschema.XMLSchema:
    """One of the XSDs, loaded (with what it includes)."""
    return xmlschema.XMLSchema(str(XSD / name))


def valid(name: str, response: httpx.Response) -> None:
    """Assert ``response`` is XML and valid against the schema ``name``."""
    assert response.headers["content-type"] == "application/xml", response.text
    schema(name).validate(response.text)


class Client:
    """Calls the fake asking for XML (no Accept header), as a default client does."""

    def __init__(self, fake: FakeWalmart) -> None:
        self.fake = fake
        self.http = httpx.Client(transport=fake.transport, base_url=BASE)
        creds = fake.credentials
        basic = base64.b64encode(f"{creds.client_id}:{creds.client_secret}".encode()).decode()
        self.base = {"WM_QOS.CORRELATION_ID": "x-1", "WM_SVC.NAME": "Walmart Marketplace"}
        answer = self.http.post(
            "/v3/token",
            data={"grant_type": "client_credentials"},
            headers={**self.base, "Authorization": f"Basic {basic}", "Accept": "application/json"},
        )
        self.headers = {**self.base, "WM_SEC.ACCESS_TOKEN": answer.json()["access_token"]}

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.http.get(path, params=params, headers=self.headers)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.post(path, headers=self.headers, **kwargs)

    def ship(
        self, po: str, number: str, quantity: str, tracking: dict[str, Any]
    ) -> httpx.Response:
        status = {
            "status": "Shipped",
            "statusQuantity": {"unitOfMeasurement": "EACH", "amount": quantity},
            "trackingInfo": tracking,
        }
        line = {"lineNumber": number, "orderLineStatuses": {"orderLineStatus": [status]}}
        body = {"orderShipment": {"orderLines": {"orderLine": [line]}}}
        return self.post(f"/v3/orders/{po}/shipping", json=body)

    def feed(self, feed_type: str, document: Any) -> httpx.Response:
        content = document if isinstance(document, bytes) else json.dumps(document).encode()
        return self.post(
            "/v3/feeds", params={"feedType": feed_type}, files={"file": ("f.json", content)}
        )


@pytest.fixture(name="fake")
def _fake(clock: FakeClock) -> FakeWalmart:
    fake = FakeWalmart(clock=clock)
    fake.add_item("SKU-1", price=Decimal("19.99"), quantity=5)
    fake.add_item("SKU-2", price=Decimal("0.5"), quantity=1)
    return fake


@pytest.fixture(name="client")
def _client(fake: FakeWalmart) -> Client:
    return Client(fake)


class TestSchemasLoad:
    @pytest.mark.parametrize(
        "name",
        [
            "order/PurchaseOrderV3.3.xsd",
            "feed/Errors.xsd",
            "feed/FeedAcknowledgement.xsd",
            "feed/PartnerFeedResponse.xsd",
        ],
    )
    def test_loads(self, name: str) -> None:
        """Each schema the tests use loads, with the namespace the fake writes."""
        namespace = "http://walmart.com/mp/v3/orders" if "order" in name else "http://walmart.com/"
        assert schema(name).target_namespace == namespace


class TestOrders:
    def test_order_in_each_state(self, client: Client, fake: FakeWalmart) -> None:
        """An order validates when Created, Acknowledged, partly and fully Shipped, edited."""
        po = fake.add_order(lines=[("SKU-1", 3), ("SKU-2", 1, Decimal("12.3456"))])
        valid("order/PurchaseOrderV3.3.xsd", client.get(f"/v3/orders/{po}"))
        valid("order/PurchaseOrderV3.3.xsd", client.post(f"/v3/orders/{po}/acknowledge"))
        valid("order/PurchaseOrderV3.3.xsd", client.ship(po, "1", "2", TRACKING))
        other = {
            **TRACKING,
            "carrierName": {"otherCarrier": "Pony Express"},
            "trackingURL": "https://pony.example/7712",
        }
        valid("order/PurchaseOrderV3.3.xsd", client.ship(po, "2", "1", other))
        body = {
            "orderShipment": {
                "processMode": "PARTIAL_UPDATE",
                "orderLines": {
                    "orderLine": [
                        {
                            "lineNumber": "2",
                            "orderLineStatuses": {
                                "orderLineStatus": [
                                    {
                                        "status": "Shipped",
                                        "statusQuantity": {
                                            "unitOfMeasurement": "EACH",
                                            "amount": "1",
                                        },
                                        "trackingInfo": TRACKING,
                                    }
                                ]
                            },
                        }
                    ]
                },
            }
        }
        edited = client.post(f"/v3/orders/{po}/shipping", json=body)
        valid("order/PurchaseOrderV3.3.xsd", edited)
        assert b"<orderDate>2026-01-01T00:00:00.000Z</orderDate>" in edited.content
        assert b"shipNode" not in edited.content  # newer than the XSD: JSON only

    def test_cancelled_lines(self, client: Client, fake: FakeWalmart) -> None:
        """A cancelled line (with its cancellationReason) validates."""
        po = fake.add_order(lines=[("SKU-1", 1)], status="Cancelled")
        valid("order/PurchaseOrderV3.3.xsd", client.get(f"/v3/orders/{po}"))

    def test_lists(self, client: Client, fake: FakeWalmart, clock: FakeClock) -> None:
        """Order lists, with and without nextCursor, empty ones and released ones validate."""
        for _ in range(3):
            fake.add_order(lines=[("SKU-1", 1)])
            clock.advance(1)
        page = client.get("/v3/orders", limit="2")
        valid("order/PurchaseOrderV3.3.xsd", page)
        assert b"<nextCursor>?limit=2&amp;hasMoreElements=true" in page.content
        valid("order/PurchaseOrderV3.3.xsd", client.get("/v3/orders", status="Shipped"))
        valid("order/PurchaseOrderV3.3.xsd", client.get("/v3/orders/released"))


class TestErrors:
    def test_gateway_and_service_errors(self, client: Client, fake: FakeWalmart) -> None:
        """400, 401, 403, 404, 405, 413, 415, 429 and 500 error bodies validate, both shapes."""
        po = fake.add_order(lines=[("SKU-1", 1)])
        answers = [
            client.ship(po, "1", "1", TRACKING),  # not acknowledged
            client.http.get("/v3/orders", headers=client.base),  # no token
            client.http.get("/v3/orders", headers={"WM_SVC.NAME": "x"}),  # no correlation id
            client.get("/v3/orders/404"),
            client.http.delete("/v3/price", headers=client.headers),
            client.feed("MP_INVENTORY", b"x" * (1024 * 1024 + 1)),
            client.post("/v3/feeds", params={"feedType": "price"}, json={}),
        ]
        fake.set_scope("price", "view_only")
        answers.append(client.http.put("/v3/price", json={}, headers=client.headers))
        fake.drain("getOrders")
        answers.append(client.get("/v3/orders"))
        fake.faults.error_rate = 1
        answers.append(client.get("/v3/orders/released"))
        fake.faults.single_error_object = True
        answers.append(client.get("/v3/orders/released"))
        assert [a.status_code for a in answers] == [
            400,
            401,
            400,
            404,
            405,
            413,
            415,
            403,
            429,
            500,
            500,
        ]
        for answer in answers:
            valid("feed/Errors.xsd", answer)

    def test_downstream_timeout(self, client: Client, fake: FakeWalmart) -> None:
        """The 504 DOWNSTREAM_SYSTEM_TIME_OUT body validates."""
        fake.faults.downstream_timeout_next("updateInventory")
        body = {"sku": "SKU-1", "quantity": {"unit": "EACH", "amount": 1}}
        answer = client.http.put(
            "/v3/inventory", params={"sku": "SKU-1"}, json=body, headers=client.headers
        )
        assert answer.status_code == 504
        valid("feed/Errors.xsd", answer)


class TestFeeds:
    def test_acknowledgement(self, client: Client) -> None:
        """The feed acknowledgement validates as FeedAcknowledgement."""
        document = {"PriceHeader": {"version": "1.7"}, "Price": []}
        valid("feed/FeedAcknowledgement.xsd", client.feed("price", document))

    def test_status_in_each_state(
        self, client: Client, fake: FakeWalmart, clock: FakeClock
    ) -> None:
        """Feed status validates RECEIVED, INPROGRESS, PROCESSED with DATA_ERROR items, ERROR."""
        fake.faults.fail_feed_items(["SKU-2"])
        document = {
            "InventoryHeader": {"version": "1.4"},
            "Inventory": [
                {"sku": sku, "quantity": {"unit": "EACH", "amount": 4}}
                for sku in ("SKU-1", "SKU-2", "UNKNOWN")
            ]
            + [{"quantity": {"unit": "EACH", "amount": 4}}],
        }
        feed_id = client.feed("inventory", document).text.split("<feedId>")[1].split("<")[0]
        broken = (
            client.feed("inventory", b"<InventoryFeed/>").text.split("<feedId>")[1].split("<")[0]
        )
        path = f"/v3/feeds/{feed_id.replace('@', '%40')}"
        statuses = []
        for step in (0, 5, 5):
            clock.advance(step)
            answer = client.get(path, includeDetails="true", offset="1", limit="2")
            valid("feed/PartnerFeedResponse.xsd", answer)
            statuses.append(answer.text.split("<feedStatus>")[1].split("<")[0])
        assert statuses == ["RECEIVED", "INPROGRESS", "PROCESSED"]
        assert "DATA_ERROR" in answer.text
        error = client.get(f"/v3/feeds/{broken.replace('@', '%40')}", includeDetails="true")
        valid("feed/PartnerFeedResponse.xsd", error)
        assert "<feedStatus>ERROR</feedStatus>" in error.text

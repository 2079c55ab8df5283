"""AmazonAdapter end to end against FakeAmazon: operations, writes, auth, secrets, health.

Everything runs on a fake clock through ``fake.transport`` (one test uses
``fake.serve()`` on loopback). Request bodies the adapter sends for writes are
validated against Amazon's published request schemas (tests/amazon_schemas.py).
Tests marked ``xfail(strict=True)`` pin bugs in ``src`` (the reason says which).
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from datetime import datetime, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from safe_release.adapters import Secret
from safe_release.adapters.amazon import ENDPOINTS, AmazonAdapter, InboundPlanRef, ListingChange
from safe_release.exceptions import (
    AmbiguousWriteError,
    InvalidArgumentError,
    MarketplaceAuthError,
    MarketplaceError,
    MarketplaceHTTPError,
    MarketplaceResponseError,
    PayloadTooLargeError,
    RateLimitedError,
    TokenRefreshError,
    UnknownOperationError,
)
from safe_release.testing import Call, FakeAmazon, FakeAmazonCredentials, FakeClock
from tests.amazon_schemas import REQUEST_BODIES, has_model, validate_request, validate_response

if TYPE_CHECKING:
    from collections.abc import Callable

MP = "ATVPDKIKX0DER"
ADDRESS = {
    "addressLine1": "1 Main St",
    "city": "Seattle",
    "countryCode": "US",
    "name": "Warehouse",
    "phoneNumber": "2065550100",
    "postalCode": "98101",
}
SINCE = datetime(2025, 12, 31, tzinfo=timezone.utc)


# -- helpers ---------------------------------------------------------------------------


def make_amazon(
    fake: FakeAmazon, clock: Any, creds: FakeAmazonCredentials | None = None, **options: Any
) -> AmazonAdapter:
    """An AmazonAdapter for ``creds`` (default: the fake's seller) on the fake."""
    creds = creds or fake.credentials
    options.setdefault("transport", fake.transport)
    return AmazonAdapter(
        seller_id=creds.seller_id,
        client_id=creds.client_id,
        client_secret=creds.client_secret,
        refresh_token=creds.refresh_token,
        marketplace_id=creds.marketplace_id,
        clock=clock,
        **options,
    )


def plan_body(*items: tuple[str, int]) -> dict[str, Any]:
    """A createInboundPlan body."""
    return {
        "destinationMarketplaces": [MP],
        "name": "restock",
        "sourceAddress": dict(ADDRESS),
        "items": [
            {"msku": sku, "quantity": qty, "labelOwner": "SELLER", "prepOwner": "SELLER"}
            for sku, qty in items
        ],
    }


def package(
    adapter: AmazonAdapter,
    order_id: str,
    tracking: str = "1Z999AA10123456784",
) -> dict[str, Any]:
    """A packageDetail shipping every item of the order (read through the adapter)."""
    items = adapter.get_order_items(order_id)
    return {
        "packageReferenceId": "1",
        "carrierCode": "UPS",
        "trackingNumber": tracking,
        "shipDate": "2026-01-01T10:00:00Z",
        "orderItems": [
            {"orderItemId": i["OrderItemId"], "quantity": i["QuantityOrdered"]} for i in items
        ],
    }


def sent(fake: FakeAmazon, operation: str) -> list[Call]:
    """The requests the fake answered for ``operation``."""
    return [call for call in fake.calls if call.operation == operation]


def access_tokens(fake: FakeAmazon) -> list[str]:
    """Every access token the fake's LWA has issued."""
    return list(fake._lwa._tokens)


def in_threads(count: int, target: Callable[[], object]) -> list[BaseException]:
    """Run ``target`` in ``count`` threads released together; the exceptions raised."""
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def body() -> None:
        barrier.wait()
        try:
            target()
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            errors.append(exc)

    threads = [threading.Thread(target=body) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return errors


class Checking(httpx.BaseTransport):
    """The fake's transport, validating write requests and SP-API answers against the models."""

    def __init__(self, fake: FakeAmazon) -> None:
        self.fake = fake
        self.requests: list[str] = []
        self.responses: list[tuple[str, int]] = []
        self.hosts: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.hosts.append(request.url.host)
        try:
            response = self.fake.transport.handle_request(request)
        finally:
            call = self.fake.calls[-1]
            if call.operation in REQUEST_BODIES:
                validate_request(call.operation, json.loads(request.content))
                self.requests.append(call.operation)
        if has_model(call.operation) and response.status_code != 502:
            validate_response(
                call.operation, response.status_code, response.json() if response.content else None
            )
            self.responses.append((call.operation, response.status_code))
        return response


class Corrupting(httpx.BaseTransport):
    """The fake's transport, replacing the body of one operation's answers."""

    def __init__(
        self,
        fake: FakeAmazon,
        operation: str,
        content: bytes,
        status: int = 200,
        content_type: str = "application/json",
    ) -> None:
        self.fake, self.operation = fake, operation
        self.content, self.status, self.content_type = content, status, content_type

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.fake.transport.handle_request(request)
        if self.fake.calls[-1].operation != self.operation:
            return response
        return httpx.Response(
            self.status,
            content=self.content,
            request=request,
            headers={"content-type": self.content_type},
        )


@pytest.fixture(name="fake")
def fixture_fake(fake_amazon: FakeAmazon) -> FakeAmazon:
    """The plugin's FakeAmazon with two listings and FBA stock."""
    fake_amazon.add_listing("SKU-1", price=Decimal("19.99"), quantity=5)
    fake_amazon.add_listing("SKU-2", price=Decimal("5.00"), quantity=0)
    fake_amazon.set_inventory("SKU-1", fulfillable=40, inbound_working=2, reserved=1)
    return fake_amazon


@pytest.fixture(name="adapter")
def fixture_adapter(fake: FakeAmazon, amazon_adapter: AmazonAdapter) -> AmazonAdapter:
    """The plugin's AmazonAdapter, wired to ``fake``."""
    return amazon_adapter


# -- operations ------------------------------------------------------------------------


class TestOrders:
    def test_get_orders_follows_next_token(self, fake: FakeAmazon, adapter: AmazonAdapter) -> None:
        """150 orders come back from two pages, oldest first; page 2 asks by NextToken only."""
        created = [fake.add_order(items=[("SKU-1", 1)]).order_id for _ in range(150)]
        orders = adapter.get_orders(created_after=SINCE)
        assert sorted(o["AmazonOrderId"] for o in orders) == sorted(created)
        first, second = sent(fake, "getOrders")
        assert first.query["CreatedAfter"] == "2025-12-31T00:00:00Z"
        assert set(second.query) == {"MarketplaceIds", "NextToken"}

    def test_max_pages_stops_early(self, fake: FakeAmazon, adapter: AmazonAdapter) -> None:
        """max_pages=1 reads one page of 100."""
        for _ in range(120):
            fake.add_order()
        assert len(adapter.get_orders(created_after="2025-12-31T00:00:00Z", max_pages=1)) == 100
        assert len(sent(fake, "getOrders")) == 1

    def test_status_filter(self, fake: FakeAmazon, adapter: AmazonAdapter) -> None:
        """statuses= is sent as one comma-separated OrderStatuses parameter."""
        fake.add_order(status="Unshipped")
        shipped = fake.add_order(status="Shipped").order_id
        canceled = fake.add_order(status="Canceled").order_id
        orders = adapter.get_orders(created_after=SINCE, statuses=["Shipped", "Canceled"])
        assert {o["AmazonOrderId"] for o in orders} == {shipped, canceled}
        assert sent(fake, "getOrders")[0].query["OrderStatuses"] == "Shipped,Canceled"

    def test_order_items(self, fake: FakeAmazon, adapter: AmazonAdapter) -> None:
        """getOrderItems returns each line with SKU, quantity and price."""
        order = fake.add_order(items=[("SKU-1", 2), ("SKU-2", 1, "7.50")])
        items = adapter.get_order_items(order.order_id)
        assert [(i["SellerSKU"], i["QuantityOrdered"]) for i in items] == [
            ("SKU-1", 2),
            ("SKU-2", 1),
        ]
        assert items[1]["ItemPrice"] == {"CurrencyCode": "USD", "Amount": "7.50"}

    def test_unknown_order_is_a_404(self, adapter: AmazonAdapter) -> None:
        """An unknown order: MarketplaceHTTPError 404 NotFound with Amazon's request id."""
        with pytest.raises(MarketplaceHTTPError) as info:
            adapter.get_order_items("111-0000000-0000000")
        assert (info.value.status, info.value.code) == (404, "NotFound")
        assert info.value.request_id

    def test_another_sellers_order_is_not_visible(
        self, fake: FakeAmazon, adapter: AmazonAdapter
    ) -> None:
        """An order of another seller answers 404 to this seller's token."""
        other = fake.authorize("A2OTHERSELLER")
        order = fake.add_order(seller_id=other.seller_id)
        with pytest.raises(MarketplaceHTTPError) as info:
            adapter.get_order_items(order.order_id)
        assert info.value.status == 404


class TestListings:
    def test_price_and_quantity(self, adapter: AmazonAdapter) -> None:
        """get_price and get_quantity read the listing's current values."""
        assert adapter.get_price("SKU-1") == Decimal("19.99")
        assert adapter.get_quantity("SKU-1") == 5

    def test_update_price_captures_the_old_price(
        self, fake: FakeAmazon, adapter: AmazonAdapter
    ) -> None:
        """The change carries the price it replaced, for compensation."""
        change = adapter.update_price("SKU-1", Decimal("24.50"))
        assert isinstance(change, ListingChange)
        assert (change.field, change.old, change.new) == (
            "price",
            Decimal("19.99"),
            Decimal("24.50"),
        )
        assert (change.status, change.marketplace_id) == ("ACCEPTED", MP)
        assert change.submission_id
        assert fake.price("SKU-1") == Decimal("24.50")

    def test_update_quantity_captures_the_old_quantity(
        self, fake: FakeAmazon, adapter: AmazonAdapter
    ) -> None:
        """The change carries the quantity it replaced."""
        change = adapter.update_quantity("SKU-2", 12)
        assert (change.field, change.old, change.new) == ("quantity", 0, 12)
        assert fake.quantity("SKU-2") == 12

    def test_update_price_keeps_the_marketplace_currency(
        self, fake: FakeAmazon, fake_clock: FakeClock
    ) -> None:
        """A price update in amazon.de keeps the listing in EUR."""
        creds = fake.authorize("A1EUSELLER", marketplace_id="A1PA6795UKMFR9")
        fake.add_listing("DE-1", price=Decimal("9.00"), currency="EUR", seller_id="A1EUSELLER")
        adapter = AmazonAdapter(
            seller_id=creds.seller_id,
            client_id=creds.client_id,
            client_secret=creds.client_secret,
            refresh_token=creds.refresh_token,
            region="eu",
            transport=fake.transport,
            clock=fake_clock,
        )
        adapter.update_price("DE-1", Decimal("9.50"))
        listing = fake.listing("DE-1", seller_id="A1EUSELLER")
        assert (listing.price, listing.currency) == (Decimal("9.50"), "EUR")

    def test_compensating_with_the_old_value_restores_it(
        self, fake: FakeAmazon, adapter: AmazonAdapter
    ) -> None:
        """Sending change.old back puts the listing where it was."""
        price = adapter.update_price("SKU-1", Decimal("9.00"))
        quantity = adapter.update_quantity("SKU-1", 0)
        adapter.update_quantity("SKU-1", int(quantity.old or 0))
        adapter.update_price("SKU-1", Decimal(price.old or 0))
        assert (fake.price("SKU-1"), fake.quantity("SKU-1")) == (Decimal("19.99"), 5)

    def test_invalid_patch_is_an_error_and_changes_nothing(
        self, fake: FakeAmazon, adapter: AmazonAdapter
    ) -> None:
        """A patch Amazon judges INVALID: MarketplaceHTTPError code INVALID, price unchanged."""
        with pytest.raises(MarketplaceHTTPError, match="invalid currency") as info:
            adapter.update_price("SKU-1", Decimal("20.00"), currency="US")
        assert (info.value.status, info.value.code) == (200, "INVALID")
        assert fake.price("SKU-1") == Decimal("19.99")
        assert fake.writes("patchListingsItem") == []

    @pytest.mark.parametrize(
        "price",
        [Decimal(0), Decimal(-1), Decimal("NaN"), Decimal("Infinity"), 19.99, "19.99", None],
    )
    def test_bad_price_is_refused_before_anything_is_sent(
        self, fake: FakeAmazon, adapter: AmazonAdapter, price: Any
    ) -> None:
        """A price that is not a positive finite Decimal: InvalidArgumentError, no request."""
        with pytest.raises(InvalidArgumentError, match="price"):
            adapter.update_price("SKU-1", price)
        assert fake.calls == []

    @pytest.mark.parametrize("quantity", [-1, True, 1.5, "3", None])
    def test_bad_quantity_is_refused_before_anything_is_sent(
        self, fake: FakeAmazon, adapter: AmazonAdapter, quantity: Any
    ) -> None:
        """A quantity that is not an int >= 0: InvalidArgumentError, no request."""
        with pytest.raises(InvalidArgumentError, match="quantity"):
            adapter.update_quantity("SKU-1", quantity)
        assert fake.calls == []

    def test_unknown_sku_is_a_404(self, adapter: AmazonAdapter) -> None:
        """Reading or patching an unknown SKU: MarketplaceHTTPError 404."""
        with pytest.raises(MarketplaceHTTPError) as info:
            adapter.update_price("NOPE", Decimal(1))
        assert info.value.status == 404

    def test_sku_with_reserved_characters(self, fake: FakeAmazon, adapter: AmazonAdapter) -> None:
        """A SKU with '/', '#' and spaces is escaped into one path segment."""
        fake.add_listing("A/B 1#x?", price=Decimal("3.30"), quantity=1)
        assert adapter.update_price("A/B 1#x?", Decimal("3.40")).old == Decimal("3.30")
        assert fake.price("A/B 1#x?") == Decimal("3.40")


class TestInventory:
    def test_every_page(self, fake: FakeAmazon, adapter: AmazonAdapter) -> None:
        """60 SKUs of FBA stock come back from two pages (50 per page)."""
        for i in range(59):
            fake.set_inventory(f"FBA-{i:02}", fulfillable=i)
        summaries = adapter.get_inventory_summaries()
        assert len(summaries) == 60
        _, second = sent(fake, "getInventorySummaries")
        assert "nextToken" in second.query
        assert second.query["granularityId"] == MP

    def test_filter_by_sku_with_details(self, fake: FakeAmazon, adapter: AmazonAdapter) -> None:
        """seller_skus= narrows the result; details carry the quantities."""
        fake.set_inventory("SKU-2", fulfillable=3)
        [summary] = adapter.get_inventory_summaries(["SKU-1"])
        assert summary["sellerSku"] == "SKU-1"
        assert summary["totalQuantity"] == 43
        assert summary["inventoryDetails"]["fulfillableQuantity"] == 40


class TestInboundPlans:
    def test_create_then_poll_until_success(
        self, fake: FakeAmazon, adapter: AmazonAdapter, fake_clock: FakeClock
    ) -> None:
        """The operation is IN_PROGRESS, then SUCCESS once the fake's 5 s have passed."""
        ref = adapter.create_inbound_plan(plan_body(("SKU-1", 24)))
        assert isinstance(ref, InboundPlanRef)
        status = adapter.get_inbound_operation_status(ref.operation_id)
        assert status["operationStatus"] == "IN_PROGRESS"
        fake_clock.advance(5)
        status = adapter.get_inbound_operation_status(ref.operation_id)
        assert (status["operationStatus"], status["operationProblems"]) == ("SUCCESS", [])
        [plan] = fake.inbound_plans
        assert (plan.inbound_plan_id, plan.status) == (ref.inbound_plan_id, "ACTIVE")

    def test_unknown_msku_fails_with_problems(
        self, adapter: AmazonAdapter, fake_clock: FakeClock
    ) -> None:
        """A plan for an MSKU the seller does not list ends FAILED with operationProblems."""
        ref = adapter.create_inbound_plan(plan_body(("GHOST", 1)))
        fake_clock.advance(5)
        status = adapter.get_inbound_operation_status(ref.operation_id)
        assert status["operationStatus"] == "FAILED"
        assert status["operationProblems"][0]["code"] == "FBA_INB_0004"

    def test_cancel(self, fake: FakeAmazon, adapter: AmazonAdapter, fake_clock: FakeClock) -> None:
        """cancel_inbound_plan voids the plan and returns an operation that succeeds."""
        ref = adapter.create_inbound_plan(plan_body(("SKU-1", 24)))
        operation_id = adapter.cancel_inbound_plan(ref.inbound_plan_id)
        assert fake.inbound_plans[0].status == "VOIDED"
        fake_clock.advance(5)
        assert adapter.get_inbound_operation_status(operation_id)["operationStatus"] == "SUCCESS"

    def test_cancel_twice_is_an_error(self, adapter: AmazonAdapter) -> None:
        """Cancelling a cancelled plan: MarketplaceHTTPError 400 InvalidInput."""
        ref = adapter.create_inbound_plan(plan_body(("SKU-1", 24)))
        adapter.cancel_inbound_plan(ref.inbound_plan_id)
        with pytest.raises(MarketplaceHTTPError, match="already cancelled") as info:
            adapter.cancel_inbound_plan(ref.inbound_plan_id)
        assert (info.value.status, info.value.code) == (400, "InvalidInput")

    def test_bad_plan_is_a_400_and_creates_nothing(
        self, fake: FakeAmazon, adapter: AmazonAdapter
    ) -> None:
        """A body Amazon rejects: MarketplaceHTTPError 400, no plan, no resend."""
        body = plan_body(("SKU-1", 0))
        with pytest.raises(MarketplaceHTTPError) as info:
            adapter.create_inbound_plan(body)
        assert info.value.status == 400
        assert fake.inbound_plans == []
        assert len(sent(fake, "createInboundPlan")) == 1


# -- non-idempotent writes ----------------------------------------------------------------


class TestAmbiguousWrites:
    def test_lost_create_inbound_plan_is_never_resent(
        self, fake: FakeAmazon, adapter: AmazonAdapter
    ) -> None:
        """Applied, then a timeout: AmbiguousWriteError, exactly one plan, one request."""
        fake.faults.ambiguous_next("createInboundPlan")
        with pytest.raises(AmbiguousWriteError, match="NOT retried") as info:
            adapter.create_inbound_plan(plan_body(("SKU-1", 24)))
        assert (info.value.marketplace, info.value.operation) == ("amazon", "createInboundPlan")
        assert len(fake.inbound_plans) == 1
        assert len(sent(fake, "createInboundPlan")) == 1
        fake.assert_no_duplicate_writes()

    def test_lost_confirm_shipment_is_never_resent(
        self, fake: FakeAmazon, adapter: AmazonAdapter
    ) -> None:
        """Tracking applied, answer lost: AmbiguousWriteError, exactly one shipment."""
        order = fake.add_order(items=[("SKU-1", 2)])
        detail = package(adapter, order.order_id)
        fake.faults.ambiguous_next("confirmShipment")
        with pytest.raises(AmbiguousWriteError):
            adapter.confirm_shipment(order.order_id, detail)
        assert len(fake.shipments) == 1
        assert fake.order(order.order_id).tracking_number == "1Z999AA10123456784"
        assert len(sent(fake, "confirmShipment")) == 1
        fake.assert_no_duplicate_writes()

    def test_a_5xx_on_create_inbound_plan_is_not_resent(
        self, fake: FakeAmazon, adapter: AmazonAdapter
    ) -> None:
        """A 502 page after sending a plan may hide a created plan: raise, do not resend."""
        fake.faults.garbage_next("createInboundPlan")
        with pytest.raises(AmbiguousWriteError, match="HTTP 502"):
            adapter.create_inbound_plan(plan_body(("SKU-1", 24)))
        assert len(sent(fake, "createInboundPlan")) == 1

    def test_a_429_on_a_write_is_resent(self, fake: FakeAmazon, adapter: AmazonAdapter) -> None:
        """A 429 means 'not executed': the plan is sent again and created exactly once."""
        fake.drain("createInboundPlan")
        adapter.create_inbound_plan(plan_body(("SKU-1", 24)))
        assert [c.status for c in sent(fake, "createInboundPlan")] == [429, 202]
        assert len(fake.inbound_plans) == 1

    def test_lost_price_patch_lands(self, fake: FakeAmazon, adapter: AmazonAdapter) -> None:
        """A price patch whose answer was lost: the call succeeds and the price is right."""
        fake.faults.ambiguous_next("patchListingsItem")
        change = adapter.update_price("SKU-1", Decimal("25.00"))
        assert (change.old, change.new) == (Decimal("19.99"), Decimal("25.00"))
        assert fake.price("SKU-1") == Decimal("25.00")

    def test_lost_price_patch_is_applied_once(
        self, fake: FakeAmazon, adapter: AmazonAdapter
    ) -> None:
        """After an ambiguous price patch the fake saw that write applied exactly once."""
        fake.faults.ambiguous_next("patchListingsItem")
        adapter.update_price("SKU-1", Decimal("25.00"))
        assert len(fake.writes("patchListingsItem")) == 1
        fake.assert_no_duplicate_writes()

    def test_patch_lost_before_arrival_is_resent_once(
        self, fake: FakeAmazon, fake_clock: FakeClock
    ) -> None:
        """A timeout before the patch reached Amazon: the read-back shows it did not land."""
        dropped: list[str] = []

        class DropFirstPatch(httpx.BaseTransport):
            def handle_request(self, request: httpx.Request) -> httpx.Response:
                if request.method == "PATCH" and not dropped:
                    dropped.append(request.url.path)
                    raise httpx.ReadTimeout("lost on the way", request=request)
                return fake.transport.handle_request(request)

        adapter = make_amazon(fake, fake_clock, transport=DropFirstPatch())
        change = adapter.update_price("SKU-1", Decimal("23.00"))
        assert (change.old, change.status) == (Decimal("19.99"), "ACCEPTED")
        assert fake.price("SKU-1") == Decimal("23.00")
        assert len(fake.writes("patchListingsItem")) == 1
        assert len(dropped) == 1

    def test_lost_quantity_patch_on_a_sku_with_a_slash(
        self, fake: FakeAmazon, adapter: AmazonAdapter
    ) -> None:
        """A lost quantity patch for SKU 'A/B 1' lands once and the call succeeds."""
        fake.add_listing("A/B 1", price=Decimal("3.30"), quantity=1)
        fake.faults.ambiguous_next("patchListingsItem")
        assert adapter.update_quantity("A/B 1", 4).old == 1
        assert fake.quantity("A/B 1") == 4
        fake.assert_no_duplicate_writes()

    def test_lost_cancel_is_resent_and_reports_already_cancelled(
        self, fake: FakeAmazon, adapter: AmazonAdapter
    ) -> None:
        """cancelInboundPlan is resent after a lost answer; the resend gets 400 (documented)."""
        ref = adapter.create_inbound_plan(plan_body(("SKU-1", 24)))
        fake.faults.ambiguous_next("cancelInboundPlan")
        with pytest.raises(MarketplaceHTTPError, match="already cancelled"):
            adapter.cancel_inbound_plan(ref.inbound_plan_id)
        assert fake.inbound_plans[0].status == "VOIDED"
        assert len(fake.writes("cancelInboundPlan")) == 1


# -- auth ---------------------------------------------------------------------------------


class TestAuth:
    def test_one_token_for_many_calls(self, fake: FakeAmazon, adapter: AmazonAdapter) -> None:
        """The first call fetches a token; the next ones reuse it."""
        for _ in range(5):
            adapter.get_price("SKU-1")
        assert fake.tokens_issued == 1
        assert sent(fake, "lwa.token")[0].json is None  # the form with secrets is not recorded

    def test_expired_token_is_refreshed_once_before_use(
        self, fake: FakeAmazon, adapter: AmazonAdapter, fake_clock: FakeClock
    ) -> None:
        """An hour later the token is replaced before the call: one refresh, no 403 sent."""
        adapter.get_price("SKU-1")
        fake_clock.advance(3601)
        assert adapter.get_price("SKU-1") == Decimal("19.99")
        assert fake.tokens_issued == 2
        assert all(c.status != 403 for c in fake.calls)

    def test_a_403_expired_triggers_one_refresh_then_success(self, fake: FakeAmazon) -> None:
        """The server's clock is ahead: one 403 'expired', one refresh, then 200."""
        server_clock = fake.clock
        adapter = make_amazon(fake, FakeClock())
        adapter.get_price("SKU-1")
        assert isinstance(server_clock, FakeClock)
        server_clock.advance(3601)
        assert adapter.get_price("SKU-1") == Decimal("19.99")
        assert [c.status for c in sent(fake, "getListingsItem")] == [200, 403, 200]
        assert fake.tokens_issued == 2

    def test_sixteen_threads_on_an_expired_token_refresh_once(
        self, fake: FakeAmazon, adapter: AmazonAdapter, fake_clock: FakeClock
    ) -> None:
        """16 threads meet an expired token together: ONE refresh, all succeed."""
        order = fake.add_order()
        adapter.get_order_items(order.order_id)
        fake_clock.advance(3601)
        assert in_threads(16, lambda: adapter.get_order_items(order.order_id)) == []
        assert fake.tokens_issued == 2

    def test_sixteen_threads_with_403s_refresh_once(self, fake: FakeAmazon) -> None:
        """16 threads holding a token the server calls expired: ONE refresh, all succeed."""
        order = fake.add_order()
        adapter = make_amazon(fake, FakeClock())
        adapter.get_order_items(order.order_id)
        assert isinstance(fake.clock, FakeClock)
        fake.clock.advance(3601)
        assert in_threads(16, lambda: adapter.get_order_items(order.order_id)) == []
        assert fake.tokens_issued == 2
        assert sum(c.status == 200 for c in sent(fake, "getOrderItems")) == 17

    def test_tasks_on_an_expired_token_refresh_once(
        self, fake: FakeAmazon, fake_clock: FakeClock
    ) -> None:
        """30 asyncio tasks, expired token: one shared refresh (single flight), all succeed."""
        order = fake.add_order()
        adapter = make_amazon(fake, fake_clock)

        async def main() -> list[int]:
            async with adapter:
                await adapter.acall("getOrderItems", path_params={"orderId": order.order_id})
                fake_clock.advance(3601)
                responses = await asyncio.gather(
                    *[
                        adapter.acall("getOrderItems", path_params={"orderId": order.order_id})
                        for _ in range(29)
                    ]
                )
                return [r.status_code for r in responses]

        assert asyncio.run(main()) == [200] * 29
        assert fake.tokens_issued == 2

    def test_tasks_with_403s_refresh_once(self, fake: FakeAmazon) -> None:
        """20 tasks holding a token the server calls expired: one refresh between them."""
        order = fake.add_order()
        adapter = make_amazon(fake, FakeClock())

        async def main() -> None:
            async with adapter:
                await adapter.acall("getOrderItems", path_params={"orderId": order.order_id})
                assert isinstance(fake.clock, FakeClock)
                fake.clock.advance(3601)
                await asyncio.gather(
                    *[
                        adapter.acall("getOrderItems", path_params={"orderId": order.order_id})
                        for _ in range(20)
                    ]
                )

        asyncio.run(main())
        assert fake.tokens_issued == 2

    def test_revoked_auth_is_an_auth_error_without_the_token(
        self, fake: FakeAmazon, adapter: AmazonAdapter
    ) -> None:
        """A revoked token: MarketplaceAuthError 403 at once, no refresh loop, no token shown."""
        adapter.get_price("SKU-1")
        fake.faults.revoke_auth()
        with pytest.raises(MarketplaceAuthError, match="revoked") as info:
            adapter.get_price("SKU-1")
        assert (info.value.status, info.value.code) == (403, "Unauthorized")
        assert fake.tokens_issued == 1
        for token in access_tokens(fake):
            assert token not in str(info.value)
            assert token not in repr(info.value)

    def test_deauthorized_seller_needs_re_authorization(
        self, fake: FakeAmazon, adapter: AmazonAdapter
    ) -> None:
        """invalid_grant: TokenRefreshError telling to re-authorize; no SP-API call is sent."""
        fake.deauthorize()
        with pytest.raises(TokenRefreshError, match="re-authorize") as info:
            adapter.get_price("SKU-1")
        assert "invalid_grant" in str(info.value)
        assert sent(fake, "getListingsItem") == []

    def test_rotated_client_secret(
        self, fake: FakeAmazon, fake_clock: FakeClock, adapter: AmazonAdapter
    ) -> None:
        """invalid_client says to update the secret; the new secret works."""
        new = fake.rotate_client_secret()
        with pytest.raises(TokenRefreshError, match="update the client secret") as info:
            adapter.get_price("SKU-1")
        assert "invalid_client" in str(info.value)
        assert make_amazon(fake, fake_clock, new).get_price("SKU-1") == Decimal("19.99")

    def test_throttled_token_endpoint(
        self, fake: FakeAmazon, adapter: AmazonAdapter, fake_clock: FakeClock
    ) -> None:
        """LWA answering 429: TokenRefreshError (retry later), then recovery after the cooldown."""
        fake.faults.token_endpoint_throttled = True
        with pytest.raises(TokenRefreshError, match="throttling"):
            adapter.get_price("SKU-1")
        fake.faults.token_endpoint_throttled = False
        with pytest.raises(TokenRefreshError, match="next refresh attempt"):
            adapter.get_price("SKU-1")
        fake_clock.advance(1)
        assert adapter.get_price("SKU-1") == Decimal("19.99")

    def test_failed_proactive_refresh_keeps_the_valid_token(
        self,
        fake: FakeAmazon,
        adapter: AmazonAdapter,
        fake_clock: FakeClock,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        """Inside the last minute LWA is throttled: the still-valid token keeps working."""
        adapter.get_price("SKU-1")
        fake_clock.advance(3560)
        fake.faults.token_endpoint_throttled = True
        with caplog.at_level(logging.WARNING, logger="safe_release"):
            assert adapter.get_price("SKU-1") == Decimal("19.99")
        assert "still using the current token" in caplog.text
        assert fake.tokens_issued == 1

    def test_rotated_refresh_token_is_handed_over_and_used(
        self, fake: FakeAmazon, fake_clock: FakeClock
    ) -> None:
        """A refresh token returned by LWA goes to the callback and is used from then on."""
        successor = fake.authorize(fake.credentials.seller_id)

        class Rotating(httpx.BaseTransport):
            def handle_request(self, request: httpx.Request) -> httpx.Response:
                response = fake.transport.handle_request(request)
                if request.url.path != "/auth/o2/token" or response.status_code != 200:
                    return response
                body = {**response.json(), "refresh_token": successor.refresh_token}
                return httpx.Response(200, json=body, request=request)

        stored: list[Secret] = []
        adapter = make_amazon(
            fake, fake_clock, transport=Rotating(), on_refresh_token_rotated=stored.append
        )
        adapter.get_price("SKU-1")
        assert stored == [Secret(successor.refresh_token)]
        fake.deauthorize()  # the original refresh token is gone now
        fake_clock.advance(3601)
        assert adapter.get_price("SKU-1") == Decimal("19.99")
        assert stored == [Secret(successor.refresh_token)]


class TestSecrets:
    def test_no_secret_in_errors_reprs_or_logs(
        self, fake: FakeAmazon, fake_clock: FakeClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Across success, refresh, 403s, LWA errors and lost writes nothing secret leaks."""
        caplog.set_level(logging.DEBUG)
        creds = fake.credentials
        adapter = make_amazon(fake, fake_clock)
        errors: list[BaseException] = []

        def attempt(action: Callable[[], object]) -> None:
            try:
                action()
            except MarketplaceError as exc:
                errors.append(exc)

        order = fake.add_order()
        attempt(lambda: adapter.update_price("SKU-1", Decimal("21.00")))
        fake_clock.advance(3601)
        attempt(lambda: adapter.get_order_items(order.order_id))
        fake.faults.ambiguous_next("createInboundPlan")
        attempt(lambda: adapter.create_inbound_plan(plan_body(("SKU-1", 1))))
        fake.faults.garbage_next("getListingsItem", times=10)
        attempt(lambda: adapter.get_price("SKU-1"))
        fake.faults.clear()
        fake.faults.revoke_auth()
        attempt(lambda: adapter.get_order_items(order.order_id))
        health = adapter.health()
        fake.faults.token_endpoint_throttled = True
        attempt(make_amazon(fake, fake_clock).tokens.token)
        fake.faults.clear()
        rotated = fake.rotate_client_secret()
        attempt(lambda: make_amazon(fake, fake_clock, creds).get_price("SKU-1"))
        fake.deauthorize(rotated)
        attempt(lambda: make_amazon(fake, fake_clock, rotated).get_price("SKU-1"))
        assert len(errors) >= 6

        secrets = [
            creds.client_secret,
            creds.refresh_token,
            rotated.client_secret,
            *access_tokens(fake),
        ]
        texts = [
            repr(adapter),
            str(adapter),
            repr(adapter.tokens),
            repr(health),
            repr(adapter.limiter),
            caplog.text,
        ]
        texts += [f"{r.getMessage()} {r.args!r}" for r in caplog.records]
        for error in errors:
            current: BaseException | None = error
            while current is not None:
                texts += [str(current), repr(current), repr(vars(current))]
                current = current.__cause__ or current.__context__
        for secret in secrets:
            for text in texts:
                assert secret not in text
                assert secret.split("|", 1)[-1] not in text

    def test_no_plain_secret_attribute(self, adapter: AmazonAdapter, fake: FakeAmazon) -> None:
        """The adapter keeps credentials only as Secret objects."""
        adapter.get_price("SKU-1")
        creds = fake.credentials
        plain = {creds.client_secret, creds.refresh_token, *access_tokens(fake)}
        values = [v for v in vars(adapter).values() if isinstance(v, str)]
        assert plain.isdisjoint(values)
        assert isinstance(adapter._refresh_token, Secret)

    def test_no_secret_over_loopback_http(
        self, fake: FakeAmazon, fake_clock: FakeClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Through a real HTTP server, httpx/httpcore debug logs carry no token or secret."""
        caplog.set_level(logging.DEBUG)
        creds = fake.credentials
        with fake.serve() as base_url:
            adapter = AmazonAdapter(
                seller_id=creds.seller_id,
                client_id=creds.client_id,
                client_secret=creds.client_secret,
                refresh_token=creds.refresh_token,
                base_url=base_url,
                token_url=base_url + "/auth/o2/token",
                clock=fake_clock,
            )
            with adapter:
                assert adapter.update_price("SKU-1", Decimal("20.50")).old == Decimal("19.99")
                fake.faults.revoke_auth()
                with pytest.raises(MarketplaceAuthError) as info:
                    adapter.get_price("SKU-1")
        assert any(r.name.startswith("httpcore") for r in caplog.records)
        texts = [caplog.text, str(info.value), repr(adapter)]
        texts += [f"{r.getMessage()} {r.args!r}" for r in caplog.records]
        for secret in (creds.client_secret, creds.refresh_token, *access_tokens(fake)):
            assert all(secret not in text for text in texts)


class TestHealth:
    def test_healthy(self, fake: FakeAmazon, adapter: AmazonAdapter) -> None:
        """A valid token and a working cheap read: ok, via one getMarketplaceParticipations."""
        health = adapter.health()
        assert (health.ok, health.auth_ok, health.read_ok) == (True, True, True)
        assert len(sent(fake, "getMarketplaceParticipations")) == 1

    def test_revoked_token(self, fake: FakeAmazon, adapter: AmazonAdapter) -> None:
        """Revoked access tokens: health() never raises and agrees with the next real call."""
        adapter.get_price("SKU-1")
        fake.faults.revoke_auth()
        health = adapter.health()
        assert health.ok is health.read_ok
        for token in access_tokens(fake):
            assert token not in health.detail
        if health.ok:
            assert adapter.get_price("SKU-1") == Decimal("19.99")
        else:
            with pytest.raises(MarketplaceAuthError):
                adapter.get_price("SKU-1")

    def test_deauthorized_seller_is_not_healthy(
        self, fake: FakeAmazon, adapter: AmazonAdapter
    ) -> None:
        """Revoked access tokens and a revoked app: not ok, and never an exception."""
        adapter.get_price("SKU-1")
        fake.faults.revoke_auth()
        fake.deauthorize()
        health = adapter.health()
        assert health.ok is False
        assert fake.credentials.refresh_token not in health.detail

    @pytest.mark.parametrize("cause", ["deauthorize", "rotate_client_secret"])
    def test_broken_credentials_before_the_first_token(
        self, fake: FakeAmazon, adapter: AmazonAdapter, cause: str
    ) -> None:
        """No token yet and LWA refuses the app: auth not ok, with the advice in detail."""
        getattr(fake, cause)()
        health = adapter.health()
        assert (health.ok, health.auth_ok, health.read_ok) == (False, False, False)
        assert ("re-authorize" if cause == "deauthorize" else "client secret") in health.detail

    @pytest.mark.parametrize("cause", ["deauthorize", "rotate_client_secret"])
    def test_broken_credentials_with_a_cached_token(
        self, fake: FakeAmazon, adapter: AmazonAdapter, cause: str
    ) -> None:
        """After a rollback, revoked or rotated credentials show in health() at once."""
        adapter.get_price("SKU-1")
        getattr(fake, cause)()
        health = adapter.health()
        assert (health.ok, health.auth_ok) == (False, False)

    def test_throttled_token_endpoint(self, fake: FakeAmazon, adapter: AmazonAdapter) -> None:
        """LWA throttling without a token: auth not ok, never an exception."""
        fake.faults.token_endpoint_throttled = True
        assert adapter.health().auth_ok is False

    def test_health_during_an_lwa_hiccup_keeps_calls_working(
        self, fake: FakeAmazon, adapter: AmazonAdapter
    ) -> None:
        """health() while LWA answers 429: reported, but calls keep the valid token."""
        adapter.get_price("SKU-1")
        fake.faults.token_endpoint_throttled = True
        assert adapter.health().auth_ok is False
        assert adapter.get_price("SKU-1") == Decimal("19.99")


class TestRegions:
    @pytest.mark.parametrize("region", ["na", "eu", "fe"])
    def test_region_picks_endpoint_and_marketplace(
        self, fake: FakeAmazon, fake_clock: FakeClock, region: str
    ) -> None:
        """Each region calls its own SP-API host; the marketplace defaults to the region's."""
        transport = Checking(fake)
        creds = fake.credentials
        adapter = AmazonAdapter(
            seller_id=creds.seller_id,
            client_id=creds.client_id,
            client_secret=creds.client_secret,
            refresh_token=creds.refresh_token,
            region=region,
            transport=transport,
            clock=fake_clock,
        )
        assert adapter.health().ok
        assert set(transport.hosts) == {"api.amazon.com", httpx.URL(ENDPOINTS[region]).host}
        assert transport.hosts[-1] == httpx.URL(ENDPOINTS[region]).host
        expected = {"na": "ATVPDKIKX0DER", "eu": "A1PA6795UKMFR9", "fe": "A1VC38T7YXB528"}
        assert adapter.marketplace_id == expected[region]
        assert adapter.quota_key(adapter.operation("getOrders")).endswith("|" + region)

    @pytest.mark.parametrize("region", ["xx", "NA", "", "us-east-1"])
    def test_unknown_region_is_refused(
        self, fake: FakeAmazon, fake_clock: FakeClock, region: str
    ) -> None:
        """A region other than na/eu/fe without base_url: InvalidArgumentError."""
        with pytest.raises(InvalidArgumentError, match="region"):
            make_amazon(fake, fake_clock, region=region)

    def test_base_url_overrides_the_region(self, fake: FakeAmazon, fake_clock: FakeClock) -> None:
        """base_url= (a sandbox, a fake server) takes any region name."""
        transport = Checking(fake)
        adapter = make_amazon(
            fake,
            fake_clock,
            region="sandbox",
            base_url="https://sandbox.sellingpartnerapi-na.amazon.com",
            transport=transport,
        )
        assert adapter.get_price("SKU-1") == Decimal("19.99")
        assert transport.hosts[-1] == "sandbox.sellingpartnerapi-na.amazon.com"

    @pytest.mark.parametrize("field", ["seller_id", "client_id", "client_secret", "refresh_token"])
    def test_empty_credentials_are_refused(
        self, fake: FakeAmazon, fake_clock: FakeClock, field: str
    ) -> None:
        """An empty seller id, client id, secret or refresh token: InvalidArgumentError."""
        creds = fake.credentials
        kwargs = {
            "seller_id": creds.seller_id,
            "client_id": creds.client_id,
            "client_secret": creds.client_secret,
            "refresh_token": creds.refresh_token,
            field: "",
        }
        with pytest.raises(InvalidArgumentError) as info:
            AmazonAdapter(**kwargs, transport=fake.transport, clock=fake_clock)
        assert creds.client_secret not in str(info.value)


# -- wire format and bad input ----------------------------------------------------------------


class TestRequestSchemas:
    def test_every_write_fits_the_official_request_schema(
        self, fake: FakeAmazon, fake_clock: FakeClock
    ) -> None:
        """patchListingsItem, confirmShipment and createInboundPlan bodies validate."""
        transport = Checking(fake)
        adapter = make_amazon(fake, fake_clock, transport=transport)
        adapter.update_price("SKU-1", Decimal("18.75"))
        adapter.update_quantity("SKU-1", 7)
        order = fake.add_order(items=[("SKU-1", 2)])
        adapter.confirm_shipment(order.order_id, package(adapter, order.order_id))
        adapter.create_inbound_plan(plan_body(("SKU-1", 24), ("SKU-2", 6)))
        assert transport.requests == [
            "patchListingsItem",
            "patchListingsItem",
            "confirmShipment",
            "createInboundPlan",
        ]

    def test_every_answer_the_adapter_reads_fits_the_model(
        self, fake: FakeAmazon, fake_clock: FakeClock
    ) -> None:
        """Reads, writes and errors the adapter received all validate against the models."""
        transport = Checking(fake)
        adapter = make_amazon(fake, fake_clock, transport=transport)
        order = fake.add_order()
        adapter.get_orders(created_after=SINCE)
        adapter.get_order_items(order.order_id)
        adapter.get_inventory_summaries()
        ref = adapter.create_inbound_plan(plan_body(("SKU-1", 1)))
        adapter.get_inbound_operation_status(ref.operation_id)
        adapter.cancel_inbound_plan(ref.inbound_plan_id)
        with pytest.raises(MarketplaceHTTPError):
            adapter.get_order_items("nope")
        operations = {operation for operation, _ in transport.responses}
        assert operations >= {
            "getOrders",
            "getOrderItems",
            "getInventorySummaries",
            "createInboundPlan",
            "getInboundOperationStatus",
            "cancelInboundPlan",
        }


class TestBadInput:
    def test_malformed_json_is_a_response_error(
        self, fake: FakeAmazon, fake_clock: FakeClock
    ) -> None:
        """A 200 listing whose body is not JSON: MarketplaceResponseError, not a crash."""
        adapter = make_amazon(
            fake, fake_clock, transport=Corrupting(fake, "getListingsItem", b'{"sku": ')
        )
        with pytest.raises(MarketplaceResponseError, match="not JSON"):
            adapter.get_price("SKU-1")

    def test_html_403_page_is_an_auth_error(self, fake: FakeAmazon, fake_clock: FakeClock) -> None:
        """An HTML 403 from a proxy: MarketplaceAuthError saying the body is not SP-API's."""
        adapter = make_amazon(
            fake,
            fake_clock,
            transport=Corrupting(
                fake, "getListingsItem", b"<html>denied</html>", 403, "text/html"
            ),
        )
        with pytest.raises(MarketplaceAuthError, match="not an SP-API error document"):
            adapter.get_price("SKU-1")

    def test_a_502_page_on_a_read_is_retried(
        self, fake: FakeAmazon, adapter: AmazonAdapter
    ) -> None:
        """One HTML 502 page from the gateway, then the real answer."""
        fake.faults.garbage_next("getInventorySummaries")
        assert len(adapter.get_inventory_summaries()) == 1

    def test_oversized_payload_is_never_sent(
        self, fake: FakeAmazon, adapter: AmazonAdapter
    ) -> None:
        """A plan body over 5 MiB: PayloadTooLargeError before any request, token included."""
        body = plan_body(*[("X" * 40, 1)] * 120_000)
        with pytest.raises(PayloadTooLargeError, match="split it"):
            adapter.create_inbound_plan(body)
        assert fake.calls == []

    def test_missing_path_parameters(self, fake: FakeAmazon, adapter: AmazonAdapter) -> None:
        """call() without the order id, or with an empty one: InvalidArgumentError, unsent."""
        with pytest.raises(InvalidArgumentError, match="orderId"):
            adapter.call("getOrderItems")
        with pytest.raises(InvalidArgumentError, match="orderId"):
            adapter.get_order_items("")
        assert fake.calls == []

    def test_unknown_operation(self, fake: FakeAmazon, adapter: AmazonAdapter) -> None:
        """An operation the adapter does not declare: UnknownOperationError, unsent."""
        with pytest.raises(UnknownOperationError, match="getCatalogItem"):
            adapter.call("getCatalogItem")
        assert fake.calls == []

    def test_throttled_write_error_after_every_attempt(
        self, fake: FakeAmazon, adapter: AmazonAdapter
    ) -> None:
        """A write throttled through every attempt: RateLimitedError, no plan created."""
        fake.faults.throttle_storm(1.0)
        with pytest.raises(RateLimitedError):
            adapter.create_inbound_plan(plan_body(("SKU-1", 1)))
        assert fake.inbound_plans == []


class TestLifecycle:
    def test_context_managers_close_every_client(
        self, fake: FakeAmazon, fake_clock: FakeClock
    ) -> None:
        """with and async with close the SP-API and LWA clients."""
        with make_amazon(fake, fake_clock) as adapter:
            adapter.get_price("SKU-1")
        assert adapter._client.is_closed
        assert adapter._auth_client.is_closed

        async def main() -> AmazonAdapter:
            async with make_amazon(fake, fake_clock) as adapter:
                await adapter.acall("getMarketplaceParticipations")
            return adapter

        closed = asyncio.run(main())
        assert closed._auth_client.is_closed
        assert closed._aclient is not None
        assert closed._aclient.is_closed

    def test_repr_shows_state(self, adapter: AmazonAdapter) -> None:
        """repr names the seller, region and breaker state."""
        assert repr(adapter) == (
            "<AmazonAdapter amazon seller='A1FAKESELLER01' region='na' breaker=closed>"
        )

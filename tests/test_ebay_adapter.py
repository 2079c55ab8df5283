"""EbayAdapter against FakeEbay: auth, daily budgets, revisions, bulk writes, orders, releases.

Everything runs on a fake clock through ``fake.transport``. The wire helpers
(classify, errors, money, the token grant) are also checked on hand-made answers.
"""

from __future__ import annotations

import asyncio
import pickle
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from sqlalchemy import select

from safe_release._ledger import Journal
from safe_release._release import recover, release
from safe_release._report import ReleaseStatus
from safe_release._secrets import Secret
from safe_release.adapters import Inverse, ItemResult, Verdict
from safe_release.adapters import _ebay_wire as wire
from safe_release.adapters import ebay as ebay_module
from safe_release.adapters._ebay_ops import EBAY_OPERATIONS, REVISIONS
from safe_release.adapters.ebay import EbayAdapter, Health, OfferChange, OfferUpdate
from safe_release.exceptions import (
    InvalidArgumentError,
    MarketplaceAuthError,
    MarketplaceHTTPError,
    MarketplaceResponseError,
    QuotaExhaustedError,
    RateLimitedError,
    TokenRefreshError,
)
from safe_release.testing import FakeClock, FakeEbay, FakeEbayCredentials

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    import safe_release as sr

OLD, NEW = Decimal("19.99"), Decimal("24.50")
INVENTORY_SCOPE = "https://api.ebay.com/oauth/api_scope/sell.inventory"
FULFILLMENT_SCOPE = "https://api.ebay.com/oauth/api_scope/sell.fulfillment"


# -- helpers ---------------------------------------------------------------------------


def make_ebay(
    fake: FakeEbay, clock: FakeClock, creds: FakeEbayCredentials | None = None, **options: Any
) -> EbayAdapter:
    """An EbayAdapter for ``creds`` (default: the fake's user) on the fake."""
    creds = creds or fake.credentials
    options.setdefault("transport", fake.transport)
    options.setdefault("scopes", creds.scopes)
    return EbayAdapter(
        user_id=creds.user_id,
        client_id=creds.client_id,
        client_secret=creds.client_secret,
        refresh_token=creds.refresh_token,
        clock=clock,
        **options,
    )


def sent(fake: FakeEbay, operation: str) -> list[Any]:
    """The requests the fake answered for ``operation``."""
    return [call for call in fake.calls if call.operation == operation]


class Spy(httpx.BaseTransport):
    """The fake's transport, with hooks: ``change`` rewrites answers, ``after`` runs after."""

    def __init__(self, fake: FakeEbay) -> None:
        self.fake = fake
        self.change: Callable[[httpx.Request, httpx.Response], httpx.Response] = _same
        self.after: Callable[[httpx.Request], None] = _nothing
        self.urls: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.urls.append(str(request.url))
        response = self.fake.transport.handle_request(request)
        self.after(request)
        return self.change(request, response)


def _same(request: httpx.Request, response: httpx.Response) -> httpx.Response:
    del request
    return response


def _nothing(request: httpx.Request) -> None:
    del request


class Crash(BaseException):
    """A process dying mid-call (nothing catches it on the way up)."""


def answer(status: int, body: Any = None, *, path: str = "/sell/inventory/v1/offer/1") -> Any:
    """A response to a GET of ``path`` with a JSON (or raw bytes) body."""
    request = httpx.Request("GET", "https://api.ebay.com" + path)
    if isinstance(body, bytes):
        return httpx.Response(status, content=body, request=request)
    return httpx.Response(status, json=body, request=request)


def errors(error_id: int, message: str = "m") -> dict[str, Any]:
    return {"errors": [{"errorId": error_id, "domain": "ACCESS", "message": message}]}


@pytest.fixture(name="fake")
def fixture_fake(clock: FakeClock) -> FakeEbay:
    """FakeEbay with three published offers at OLD and one order."""
    fake = FakeEbay(clock=clock)
    for sku in ("SKU-1", "SKU-2", "SKU-3"):
        fake.add_offer(sku, price=OLD, quantity=5)
    return fake


@pytest.fixture(name="offers")
def fixture_offers(fake: FakeEbay) -> list[str]:
    """The fake's offer ids, in the order they were added."""
    return [offer.offer_id for offer in fake.offers]


@pytest.fixture(name="ebay")
def fixture_ebay(fake: FakeEbay, clock: FakeClock) -> Iterator[EbayAdapter]:
    adapter = make_ebay(fake, clock)
    yield adapter
    adapter.close()


# -- the wire, on hand-made answers ------------------------------------------------------


class TestWire:
    @pytest.mark.parametrize(
        ("status", "body", "path", "verdict"),
        [
            (200, {}, "/sell/inventory/v1/offer/1", Verdict.OK),
            (207, {}, "/sell/inventory/v1/bulk_update_price_quantity", Verdict.OK),
            (429, errors(2001), "/sell/inventory/v1/offer/1", Verdict.EXHAUSTED),
            (429, {}, "/sell/inventory/v1/offer/1", Verdict.THROTTLED),
            (403, errors(1100), "/sell/inventory/v1/offer/1", Verdict.AUTH_EXPIRED),
            (403, errors(1100), "/sell/fulfillment/v1/order", Verdict.FAILED),
            (401, errors(1001), "/sell/fulfillment/v1/order", Verdict.AUTH_EXPIRED),
            (401, {}, "/sell/fulfillment/v1/order", Verdict.FAILED),
            (500, errors(25025), "/sell/inventory/v1/bulk_update_price_quantity", Verdict.SERVER),
            (502, b"<html>bad gateway</html>", "/sell/inventory/v1/offer/1", Verdict.SERVER),
            (400, errors(25709), "/sell/inventory/v1/offer/1", Verdict.FAILED),
        ],
    )
    def test_classify(self, status: int, body: Any, path: str, verdict: Verdict) -> None:
        """Each eBay answer gets the verdict the core acts on."""
        assert wire.classify(answer(status, body, path=path)) is verdict

    def test_errors_are_typed_with_the_error_id(self) -> None:
        """errors[] gives the code; 401/403 an auth error; 429 a rate-limit error."""
        op = EBAY_OPERATIONS["getOffer"]
        error = wire.ebay_error(op, answer(400, errors(25709, "Invalid value for offerId.")))
        assert type(error) is MarketplaceHTTPError
        assert (error.status, error.code) == (400, "25709")
        assert "Invalid value for offerId." in str(error)
        assert isinstance(wire.ebay_error(op, answer(403, errors(1100))), MarketplaceAuthError)
        assert isinstance(wire.ebay_error(op, answer(429, {})), RateLimitedError)

    @pytest.mark.parametrize(
        ("content", "words"),
        [
            (b"<!DOCTYPE html><html><body>502</body></html>", "an HTML page"),
            (b"<?xml version='1.0'?><errors/>", "XML"),
            (b"\xff\xfe garbage", "not an eBay error document"),
        ],
    )
    def test_bodies_that_are_not_error_documents(self, content: bytes, words: str) -> None:
        """HTML, XML and garbage bodies name what they were; no code is invented."""
        error = wire.ebay_error(EBAY_OPERATIONS["getOffer"], answer(500, content))
        assert isinstance(error, MarketplaceHTTPError)
        assert error.code is None
        assert words in str(error)

    def test_money_is_a_decimal_string(self) -> None:
        """Decimals become strings (no exponent); floats and bad amounts are refused."""
        assert wire.money(Decimal("19.99"), "USD") == {"value": "19.99", "currency": "USD"}
        assert wire.money(Decimal("1E+2"), "USD")["value"] == "100"
        for bad in (19.99, Decimal("NaN"), Decimal(0), Decimal(-1), 20):
            with pytest.raises(InvalidArgumentError):
                wire.money(bad, "USD")  # type: ignore[arg-type]
        with pytest.raises(InvalidArgumentError):
            wire.money(Decimal(1), "usd")

    def test_money_read_from_strings_only(self) -> None:
        """A price answered as a JSON number is a malformed answer, not a float."""
        value = {"value": "19.99", "currency": "USD"}
        assert wire.parse_money(value, "price", "getOffer") == (Decimal("19.99"), "USD")
        for bad in ({"value": 19.99, "currency": "USD"}, {"value": "1e5", "currency": "USD"}):
            with pytest.raises(MarketplaceResponseError):
                wire.parse_money(bad, "price", "getOffer")

    def test_the_day_resets_at_seven_utc(self) -> None:
        """Midnight US Pacific (summer time) is 07:00Z; exactly at it, the next one."""
        at = datetime(2026, 3, 1, 6, 59, tzinfo=timezone.utc).timestamp()
        assert wire.next_reset(at) == datetime(2026, 3, 1, 7, tzinfo=timezone.utc).timestamp()
        seven = datetime(2026, 3, 1, 7, tzinfo=timezone.utc).timestamp()
        assert wire.next_reset(seven) == seven + 86_400

    @pytest.mark.parametrize(
        ("location", "found"),
        [
            ("https://api.ebay.com/sell/fulfillment/v1/order/1-2/shipping_fulfillment/99", "99"),
            ("/sell/fulfillment/v1/order/1-2/shipping_fulfillment/99/", "99"),
            ("https://api.ebay.com/sell/fulfillment/v1/order/OTHER/shipping_fulfillment/9", None),
            ("https://api.ebay.com/sell/fulfillment/v1/order/1-2", None),
            ("", None),
            (None, None),
        ],
    )
    def test_fulfillment_id_from_location(self, location: str | None, found: str | None) -> None:
        """Only a Location naming this order's shipping_fulfillment/<id> gives an id."""
        assert wire.fulfillment_id(location, "1-2") == found


class TestModule:
    def test_public_objects_show_the_public_module(self) -> None:
        """Names defined in the private offer and order modules show safe_release.adapters.ebay."""
        shown = {name: getattr(ebay_module, name).__module__ for name in ebay_module.__all__}
        assert set(shown.values()) == {"safe_release.adapters.ebay"}

    def test_the_models_pickle_under_the_public_module(self) -> None:
        """An update and a change round-trip through pickle (found by their public module)."""
        update = OfferUpdate("5005", price=NEW, quantity=3)
        change = OfferChange(offer_id="5005", sku="SKU-1", field="price", old=OLD, new=NEW)
        assert pickle.loads(pickle.dumps(update)) == update  # noqa: S301 - our own bytes
        assert pickle.loads(pickle.dumps(change)) == change  # noqa: S301 - our own bytes


class TestTokenEndpoint:
    def _grant(self, handler: Callable[[httpx.Request], httpx.Response]) -> Any:
        with httpx.Client(transport=httpx.MockTransport(handler)) as client:
            return wire.token_grant(
                client,
                "https://api.ebay.com/identity/v1/oauth2/token",
                client_id="DemoApp-PRD-0123456789-abcdef01",
                client_secret=Secret("PRD-0123456789ab-cdef-0123-4567-89ab"),
                form={"grant_type": "refresh_token", "refresh_token": Secret("v^1.1#rt")},
            )

    def test_basic_header_matches_the_reference_vector(self) -> None:
        """The Basic header is base64(client_id:client_secret) (WIRE.md §3)."""
        seen: list[httpx.Request] = []

        def handler(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return httpx.Response(200, json={"access_token": "v^1.1#at", "expires_in": 7200})

        grant = self._grant(handler)
        assert grant.access_token.reveal() == "v^1.1#at"
        assert grant.refresh_token is None  # eBay does not rotate it
        expected = (
            "Basic RGVtb0FwcC1QUkQtMDEyMzQ1Njc4OS1hYmNkZWYwMTpQUkQtMDEyMzQ1Njc4OWFiLWNkZWYtMDEy"
            "My00NTY3LTg5YWI="
        )
        assert seen[0].headers["authorization"] == expected
        assert b"grant_type=refresh_token" in seen[0].content

    def test_a_429_is_a_rate_limit_error(self) -> None:
        """The endpoint's own quota: RateLimitedError with the REST errorId, no secret."""
        with pytest.raises(RateLimitedError) as info:
            self._grant(lambda _: httpx.Response(429, json=errors(2001)))
        assert info.value.code == "2001"
        assert "PRD-0123" not in str(info.value)

    def test_invalid_grant_says_consent_again(self) -> None:
        """invalid_grant: a typed auth error telling the seller to consent again."""
        body = {"error": "invalid_grant", "error_description": "the refresh token is invalid"}
        with pytest.raises(MarketplaceAuthError) as info:
            self._grant(lambda _: httpx.Response(400, json=body))
        assert info.value.code == "invalid_grant"
        assert "consent again" in str(info.value)

    @pytest.mark.parametrize(
        "body", [b"<html>oops</html>", b'{"access_token": 5}', b'{"access_token": "x"}', b"[]"]
    )
    def test_unusable_answers(self, body: bytes) -> None:
        """A 200 without a usable token is a response error."""
        with pytest.raises(MarketplaceResponseError):
            self._grant(lambda _: httpx.Response(200, content=body))


# -- auth against the fake -------------------------------------------------------------------


class TestAuth:
    def test_expired_token_on_inventory_refreshes_once(
        self, fake: FakeEbay, ebay: EbayAdapter, offers: list[str]
    ) -> None:
        """403 errorId 1100 on the Inventory API: one refresh, then the call succeeds."""
        ebay.get_offer(offers[0])
        issued = fake.tokens_issued
        fake.faults.revoke_auth()
        assert ebay.get_offer(offers[0])["offerId"] == offers[0]
        assert fake.tokens_issued == issued + 1
        assert [c.status for c in sent(fake, "getOffer")] == [200, 403, 200]

    def test_expired_token_elsewhere_is_a_401(self, fake: FakeEbay, ebay: EbayAdapter) -> None:
        """401 errorId 1001 on the Fulfillment API: refreshed once too."""
        fake.add_order(line_items=[("SKU-1", 1, OLD)])
        ebay.get_orders()
        fake.faults.revoke_auth()
        assert len(ebay.get_orders()) == 1
        assert [c.status for c in sent(fake, "getOrders")] == [200, 401, 200]

    def test_a_second_403_is_a_permission_error(self, fake: FakeEbay, clock: FakeClock) -> None:
        """A token without the inventory scope: one refresh, then MarketplaceAuthError."""
        creds = fake.authorize("no_inventory", scopes=[FULFILLMENT_SCOPE])
        offer = fake.offers[0].offer_id
        with make_ebay(fake, clock, creds) as ebay, pytest.raises(MarketplaceAuthError) as info:
            ebay.get_offer(offer)
        assert (info.value.status, info.value.code) == (403, "1100")
        assert [c.status for c in sent(fake, "getOffer")] == [403, 403]

    def test_revoked_consent_needs_the_seller(self, fake: FakeEbay, ebay: EbayAdapter) -> None:
        """invalid_grant: TokenRefreshError caused by an auth error asking for consent."""
        fake.deauthorize()
        with pytest.raises(TokenRefreshError) as info:
            ebay.get_offers("SKU-1")
        assert isinstance(info.value.__cause__, MarketplaceAuthError)
        assert "consent again" in str(info.value)
        assert sent(fake, "getOffers") == []

    def test_a_throttled_token_endpoint_is_bounded(
        self, fake: FakeEbay, ebay: EbayAdapter
    ) -> None:
        """The token endpoint's 429: one request, a TokenRefreshError with the typed cause."""
        fake.faults.token_endpoint_throttled = True
        for _ in range(3):
            with pytest.raises(TokenRefreshError) as info:
                ebay.get_offers("SKU-1")
            assert isinstance(info.value.__cause__, RateLimitedError)
        assert len(sent(fake, "token")) == 1  # the cool-down answers the others
        assert sent(fake, "getOffers") == []

    def test_rate_limits_use_an_app_token(self, fake: FakeEbay, ebay: EbayAdapter) -> None:
        """getRateLimits goes with a client-credentials token; the user's is separate."""
        ebay.sync_rate_limits()
        assert fake.token_grants_used("client_credentials") == 1
        assert fake.token_grants_used("refresh_token") == 1
        assert [c.status for c in sent(fake, "getRateLimits")] == [200]

    def test_no_secret_in_reprs_or_messages(self, fake: FakeEbay, ebay: EbayAdapter) -> None:
        """Neither the client secret nor the refresh token shows anywhere."""
        creds = fake.credentials
        fake.deauthorize()
        with pytest.raises(TokenRefreshError) as info:
            ebay.get_offers("SKU-1")
        for text in (repr(ebay), str(info.value), repr(ebay.tokens)):
            assert creds.client_secret not in text
            assert creds.refresh_token not in text

    def test_ledger_target_is_the_batch_item_key(self, ebay: EbayAdapter) -> None:
        """A one-offer bulk call has the target its batch item has; others the path."""
        op = ebay.operation("bulkUpdatePriceQuantity")
        one = {"requests": [{"offers": [{"offerId": "77", "availableQuantity": 1}]}]}
        request = ebay.build_request(op, json=one)
        assert ebay.ledger_target(op, request) == OfferUpdate("77", quantity=1).key
        two = {"requests": [*one["requests"], *one["requests"]]}
        request = ebay.build_request(op, json=two)
        assert ebay.ledger_target(op, request) == f"POST {op.path}"

    def test_bad_arguments(self, fake: FakeEbay, clock: FakeClock) -> None:
        """Bad constructor arguments raise InvalidArgumentError."""
        creds = fake.credentials
        good = {
            "user_id": creds.user_id,
            "client_id": creds.client_id,
            "client_secret": creds.client_secret,
            "refresh_token": creds.refresh_token,
        }
        for bad in (
            {"environment": "mars"},
            {"client_id": ""},
            {"scopes": ["sell.inventory"]},
            {"refresh_token": ""},
            {"user_id": "a|b"},
        ):
            with pytest.raises(InvalidArgumentError):
                EbayAdapter(**{**good, **bad}, clock=clock)  # type: ignore[arg-type]


# -- daily budgets ------------------------------------------------------------------------------


class TestDailyBudgets:
    def test_a_spent_day_is_a_typed_error_not_a_storm(
        self, fake: FakeEbay, ebay: EbayAdapter, offers: list[str]
    ) -> None:
        """429 errorId 2001: QuotaExhaustedError at once; the next call is not even sent."""
        fake.set_daily_limit("sell.inventory", 2)
        ebay.get_offer(offers[0])
        ebay.get_offer(offers[0])
        with pytest.raises(QuotaExhaustedError) as info:
            ebay.get_offer(offers[0])
        reset = info.value.reset_at
        assert reset is not None
        assert (reset.hour, reset.minute, reset.tzinfo) == (7, 0, timezone.utc)
        with pytest.raises(QuotaExhaustedError):
            ebay.get_offer(offers[0])
        assert [c.status for c in sent(fake, "getOffer")] == [200, 200, 429]

    def test_synced_budget_is_spent_before_sending(
        self, fake: FakeEbay, ebay: EbayAdapter, offers: list[str]
    ) -> None:
        """Seeded from getRateLimits, the budget stops calls with no 2001 answer at all."""
        fake.set_daily_limit("sell.inventory", 4)
        ebay.get_offer(offers[0])
        states = {s.key.split("|")[2]: s for s in ebay.sync_rate_limits()}
        assert (states["sell.inventory"].limit, states["sell.inventory"].remaining) == (4, 3)
        for _ in range(3):
            ebay.get_offer(offers[0])
        with pytest.raises(QuotaExhaustedError):
            ebay.get_offer(offers[0])
        assert [c.status for c in sent(fake, "getOffer")] == [200] * 4
        assert fake.daily_used("sell.inventory") == 4

    def test_a_sellers_own_budget_is_spent_before_sending_too(
        self, fake: FakeEbay, ebay: EbayAdapter, offers: list[str]
    ) -> None:
        """getUserRateLimits seeds the seller's budget: it stops calls the app's would allow."""
        fake.set_daily_limit("sell.inventory", 3, user=fake.credentials.user_id)
        states = [s for s in ebay.sync_rate_limits() if s.key.endswith(ebay.seller)]
        assert [(s.key.split("|")[2], s.limit, s.remaining) for s in states] == [
            ("sell.inventory", 3, 3)
        ]
        for _ in range(3):
            ebay.get_offer(offers[0])
        with pytest.raises(QuotaExhaustedError, match=r"sell\.inventory"):
            ebay.get_offer(offers[0])
        assert [c.status for c in sent(fake, "getOffer")] == [200] * 3

    def test_the_budget_comes_back_after_seven_utc(
        self, fake: FakeEbay, ebay: EbayAdapter, clock: FakeClock, offers: list[str]
    ) -> None:
        """A new eBay day (07:00Z) gives the budget back, locally and at the fake."""
        fake.set_daily_limit("sell.inventory", 1)
        ebay.get_offer(offers[0])
        with pytest.raises(QuotaExhaustedError) as info:
            ebay.get_offer(offers[0])
        assert info.value.retry_after is not None
        clock.advance(info.value.retry_after + 1)
        assert ebay.get_offer(offers[0])["offerId"] == offers[0]

    def test_daily_reset_is_seven_utc(self, ebay: EbayAdapter) -> None:
        """The adapter's day ends at 07:00Z, for every budget."""
        now = datetime(2026, 7, 1, 23, 0, tzinfo=timezone.utc).timestamp()
        end = datetime(2026, 7, 2, 7, 0, tzinfo=timezone.utc).timestamp()
        assert ebay.daily_reset(REVISIONS, now) == end
        assert {op.daily[0].resource for op in EBAY_OPERATIONS.values()} == {
            "sell.inventory",
            "sell.fulfillment",
            "developer.analytics",
        }


# -- offers and bulk revisions ------------------------------------------------------------------


class TestOffers:
    def test_update_price_records_the_old_price(
        self, fake: FakeEbay, ebay: EbayAdapter, offers: list[str]
    ) -> None:
        """update_price reads the offer, sends the price as a string, returns old and new."""
        change = ebay.update_price(NEW, offer_id=offers[0])
        assert change == OfferChange(
            offer_id=offers[0], sku="SKU-1", field="price", old=OLD, new=NEW
        )
        assert fake.price(offers[0]) == NEW
        (write,) = fake.writes("bulkUpdatePriceQuantity")
        assert write.json["requests"][0]["offers"][0]["price"] == {
            "value": "24.50",
            "currency": "USD",
        }

    def test_update_by_sku_and_quantity(
        self, fake: FakeEbay, ebay: EbayAdapter, offers: list[str]
    ) -> None:
        """A SKU with one fixed-price offer is found through getOffers."""
        change = ebay.update_quantity(0, sku="SKU-2")
        assert (change.offer_id, change.old, change.new) == (offers[1], 5, 0)
        assert fake.quantity(offers[1]) == 0

    def test_get_offers_pages_by_page_index(
        self, fake: FakeEbay, ebay: EbayAdapter, offers: list[str]
    ) -> None:
        """Inventory paging: offset is a page index; a SKU's auction offer is not priced."""
        fake.add_offer("SKU-1", price=OLD, quantity=1, format="AUCTION", status="UNPUBLISHED")
        got = ebay.get_offers("SKU-1", limit=1)
        assert len(got) == 2
        assert [c.query.get("offset") for c in sent(fake, "getOffers")] == ["0", "1"]
        assert ebay.update_price(NEW, sku="SKU-1").offer_id == offers[0]  # the fixed-price one
        with pytest.raises(MarketplaceHTTPError) as info:
            ebay.update_price(NEW, sku="SKU-UNKNOWN")
        assert info.value.status == 404

    def test_floats_and_bad_changes_are_refused(
        self, fake: FakeEbay, ebay: EbayAdapter, offers: list[str]
    ) -> None:
        """A float price, a negative quantity, a repeated offer: refused, nothing sent."""
        fake.reset_calls()
        bad: list[Any] = [
            lambda: ebay.update_price(19.99, offer_id=offers[0]),  # type: ignore[arg-type]
            lambda: ebay.update_quantity(-1, offer_id=offers[0]),
            lambda: ebay.bulk_update_price_quantity([]),
            lambda: ebay.bulk_update_price_quantity(
                [OfferUpdate(offers[0], price=NEW), {"offer_id": offers[0], "quantity": 1}]
            ),
            lambda: ebay.bulk_update_price_quantity([{"offer_id": offers[0]}]),
            lambda: ebay.update_price(NEW),
        ]
        for call in bad:
            with pytest.raises(InvalidArgumentError):
                call()
        assert fake.calls == []

    def test_bulk_splits_into_calls_of_25(self, fake: FakeEbay, ebay: EbayAdapter) -> None:
        """30 changes: two calls (25 and 5), one result per change, in input order."""
        ids = [fake.add_offer(f"B-{i}", price=OLD, quantity=1) for i in range(30)]
        results = ebay.bulk_update_price_quantity(
            [OfferUpdate(i, price=NEW, quantity=2) for i in ids]
        )
        assert [r.key for r in results] == [f"offer {i} price,quantity" for i in ids]
        assert all(r.ok for r in results)
        sizes = [len(c.json["requests"]) for c in fake.writes("bulkUpdatePriceQuantity")]
        assert sizes == [25, 5]
        assert {fake.price(i) for i in ids} == {NEW}

    def test_207_gives_a_result_per_item(
        self, fake: FakeEbay, ebay: EbayAdapter, offers: list[str]
    ) -> None:
        """A 207: the failed item carries eBay's statusCode and errorId; the others apply."""
        results = ebay.bulk_update_price_quantity(
            [
                OfferUpdate(offers[0], price=NEW),
                OfferUpdate(offers[1], price=NEW, currency="EUR"),
                OfferUpdate(offers[2], quantity=7),
            ]
        )
        assert [r.ok for r in results] == [True, False, True]
        assert (results[1].status, results[1].code) == (400, "25709")
        assert fake.price(offers[1]) == OLD
        assert fake.quantity(offers[2]) == 7
        with pytest.raises(MarketplaceHTTPError) as info:
            ebay.update_price(NEW, offer_id=offers[1], currency="EUR")
        assert info.value.code == "25709"

    def test_a_malformed_207_is_a_response_error_never_resent(
        self, fake: FakeEbay, clock: FakeClock, offers: list[str]
    ) -> None:
        """A 207 whose items cannot be read: MarketplaceResponseError, one write only."""
        spy = Spy(fake)

        def garble(request: httpx.Request, response: httpx.Response) -> httpx.Response:
            if request.url.path.endswith("bulk_update_price_quantity"):
                body = {"responses": [{"statusCode": "200", "offerId": offers[0]}]}
                return httpx.Response(207, json=body, request=request)
            return response

        spy.change = garble
        with (
            make_ebay(fake, clock, transport=spy) as ebay,
            pytest.raises(MarketplaceResponseError),
        ):
            ebay.bulk_update_price_quantity([OfferUpdate(offers[0], price=NEW)])
        assert len(fake.writes("bulkUpdatePriceQuantity")) == 1

    def test_concurrent_access_is_retried(
        self, fake: FakeEbay, ebay: EbayAdapter, offers: list[str]
    ) -> None:
        """500 errorId 25025 (not applied) is retried with backoff; applied once."""
        fake.faults.concurrent_access_next("bulkUpdatePriceQuantity")
        ebay.update_price(NEW, offer_id=offers[0])
        statuses = [c.status for c in sent(fake, "bulkUpdatePriceQuantity")]
        assert statuses == [500, 200]
        assert fake.offer(offers[0]).revisions_today == 1

    def test_a_lost_answer_is_resent(
        self, fake: FakeEbay, ebay: EbayAdapter, offers: list[str]
    ) -> None:
        """A bulk revision whose answer was lost is resent: absolute values converge."""
        fake.faults.ambiguous_next("bulkUpdatePriceQuantity")
        change = ebay.update_price(NEW, offer_id=offers[0])
        assert change.old == OLD
        assert fake.price(offers[0]) == NEW
        assert fake.offer(offers[0]).revisions_today == 2  # the resend is a revision too

    def test_the_250th_revision_is_the_last(
        self, fake: FakeEbay, ebay: EbayAdapter, offers: list[str]
    ) -> None:
        """Past 250 revisions today an offer is refused per item before sending."""
        now = ebay.clock.time()
        key = f"ebay|revisions|{offers[0]}|{ebay.seller}|{ebay.app}"
        ebay.limiter.spend(key, REVISIONS, ebay.daily_reset(REVISIONS, now), now, count=249)
        ebay.update_price(NEW, offer_id=offers[0])
        results = ebay.bulk_update_price_quantity(
            [OfferUpdate(offers[0], price=OLD), OfferUpdate(offers[1], price=NEW)]
        )
        assert [(r.ok, r.code) for r in results] == [(False, "REVISION_LIMIT"), (True, None)]
        (write,) = fake.writes("bulkUpdatePriceQuantity")[1:]
        assert [o["offerId"] for r in write.json["requests"] for o in r["offers"]] == [offers[1]]
        with pytest.raises(QuotaExhaustedError) as info:
            ebay.update_price(OLD, offer_id=offers[0])
        assert info.value.quota == key
        assert fake.price(offers[0]) == NEW

    def test_failed_items_give_their_revision_back(
        self, ebay: EbayAdapter, offers: list[str]
    ) -> None:
        """A revision eBay refused does not count against the offer's 250."""
        ebay.bulk_update_price_quantity([OfferUpdate(offers[1], price=NEW, currency="EUR")])
        now = ebay.clock.time()
        key = f"ebay|revisions|{offers[1]}|{ebay.seller}|{ebay.app}"
        assert ebay.limiter.budget(key, REVISIONS, ebay.daily_reset(REVISIONS, now), now).used == 0

    def test_async_bulk(self, fake: FakeEbay, ebay: EbayAdapter, offers: list[str]) -> None:
        """The async surface: same results, same writes."""

        async def main() -> tuple[list[ItemResult], OfferChange]:
            results = await ebay.abulk_update_price_quantity(
                [OfferUpdate(offers[0], price=NEW), OfferUpdate(offers[1], quantity=3)]
            )
            change = await ebay.aupdate_price(OLD, offer_id=offers[0])
            await ebay.aclose()
            return results, change

        results, change = asyncio.run(main())
        assert [r.ok for r in results] == [True, True]
        assert (change.old, change.new) == (NEW, OLD)
        assert fake.price(offers[0]) == OLD
        assert fake.quantity(offers[1]) == 3

    def test_areconcile_reads_offers_back_awaited(
        self, fake: FakeEbay, clock: FakeClock, offers: list[str]
    ) -> None:
        """areconcile of a revision reads the offers with awaited calls: applied or not."""
        spy = Spy(fake)  # the sync transport: only the token endpoint may use it
        ebay = make_ebay(fake, clock, transport=spy, async_transport=fake.async_transport)
        moved = fake.add_offer("SKU-9", price=NEW, quantity=5)

        def revision(offer_id: str) -> Any:
            price = {"value": str(NEW), "currency": "USD"}
            body = {"requests": [{"offers": [{"offerId": offer_id, "price": price}]}]}
            return ebay.inverse_request(Inverse(operation=wire.BULK, json=body))

        async def main() -> list[Any]:
            try:
                return [await ebay.areconcile(*revision(o)) for o in (offers[0], moved)]
            finally:
                await ebay.aclose()

        not_applied, applied = asyncio.run(main())
        assert not_applied is False
        assert applied.status_code == 200
        assert applied.json()["responses"] == [{"statusCode": 200, "offerId": moved}]
        assert len(sent(fake, "getOffer")) == 2
        assert [u for u in spy.urls if "/sell/" in u] == []


# -- orders and fulfillments --------------------------------------------------------------------


class TestOrders:
    def test_filters_are_percent_encoded(self, fake: FakeEbay, clock: FakeClock) -> None:
        """Brackets and braces in the filter go percent-encoded; the fake reads them back."""
        spy = Spy(fake)
        order = fake.add_order(line_items=[("SKU-1", 1, OLD)])
        since = datetime.fromtimestamp(clock.time(), timezone.utc) - timedelta(days=1)
        with make_ebay(fake, clock, transport=spy) as ebay:
            got = ebay.get_orders(
                created_from=since, fulfillment_statuses=["IN_PROGRESS", "NOT_STARTED"]
            )
        assert [o["orderId"] for o in got] == [order]
        url = next(u for u in spy.urls if "/order?" in u)
        assert "%5B" in url
        assert "%7BNOT_STARTED%7CIN_PROGRESS%7D" in url
        assert "[" not in url

    def test_record_offset_paging(self, fake: FakeEbay, ebay: EbayAdapter) -> None:
        """getOrders pages by record offset until every order is read."""
        ids = [fake.add_order(line_items=[("SKU-1", 1, OLD)]) for _ in range(5)]
        assert sorted(o["orderId"] for o in ebay.iter_orders(limit=2)) == sorted(ids)
        assert [c.query.get("offset") for c in sent(fake, "getOrders")] == ["0", "2", "4"]
        assert len(ebay.get_orders(limit=2, max_pages=1)) == 2

    def test_by_order_ids(self, fake: FakeEbay, ebay: EbayAdapter) -> None:
        """orderIds: one call, at most 50 ids."""
        ids = [fake.add_order(line_items=[("SKU-1", 1, OLD)]) for _ in range(3)]
        assert {o["orderId"] for o in ebay.get_orders(order_ids=ids[:2])} == set(ids[:2])
        assert ebay.get_order(ids[2])["orderId"] == ids[2]

    @pytest.mark.parametrize(
        "kwargs",
        [
            {"limit": 201},
            {"limit": 0},
            {"order_ids": [str(i) for i in range(51)]},
            {"fulfillment_statuses": ["FULFILLED", "NOT_STARTED"]},
            {"created_from": datetime(2026, 1, 1)},  # noqa: DTZ001 - naive on purpose
        ],
    )
    def test_bad_arguments(self, fake: FakeEbay, ebay: EbayAdapter, kwargs: Any) -> None:
        """Limits and filters eBay rejects are refused before sending."""
        with pytest.raises(InvalidArgumentError):
            ebay.get_orders(**kwargs)
        assert fake.calls == []

    def test_async_reads(self, fake: FakeEbay, ebay: EbayAdapter) -> None:
        """aget_orders pages like iter_orders; aget_order and orderIds read the same orders."""
        ids = [fake.add_order(line_items=[("SKU-1", 1, OLD)]) for _ in range(5)]

        async def main() -> tuple[list[Any], list[Any], list[Any], dict[str, Any]]:
            paged = await ebay.aget_orders(limit=2)
            first = await ebay.aget_orders(limit=2, max_pages=1)
            by_id = await ebay.aget_orders(order_ids=ids[:2])
            one = await ebay.aget_order(ids[2])
            await ebay.aclose()
            return paged, first, by_id, one

        paged, first, by_id, one = asyncio.run(main())
        assert sorted(o["orderId"] for o in paged) == sorted(ids)
        offsets = [c.query.get("offset") for c in sent(fake, "getOrders")]
        assert offsets == ["0", "2", "4", "0", None]
        assert len(first) == 2
        assert {o["orderId"] for o in by_id} == set(ids[:2])
        assert one["orderId"] == ids[2]

    def test_async_bad_arguments(self, fake: FakeEbay, ebay: EbayAdapter) -> None:
        """aget_orders refuses what get_orders refuses, before sending."""
        with pytest.raises(InvalidArgumentError):
            asyncio.run(ebay.aget_orders(fulfillment_statuses=["FULFILLED", "NOT_STARTED"]))
        assert fake.calls == []


class TestFulfillment:
    def _order(self, fake: FakeEbay) -> tuple[str, str]:
        order = fake.add_order(line_items=[("SKU-1", 1, OLD)])
        return order, fake.order(order).line_items[0].line_item_id

    def test_create_reads_the_id_from_location(self, fake: FakeEbay, ebay: EbayAdapter) -> None:
        """201 with the id only in Location; the fulfillment reads back."""
        order, line = self._order(fake)
        ref = ebay.create_shipping_fulfillment(
            order, line_items={line: 1}, tracking_number="9400111", carrier="USPS"
        )
        (record,) = ebay.get_shipping_fulfillments(order)
        assert record["fulfillmentId"] == ref.fulfillment_id
        assert record["shipmentTrackingNumber"] == "9400111"

    def test_a_lost_answer_is_reconciled_not_resent(
        self, fake: FakeEbay, ebay: EbayAdapter
    ) -> None:
        """The write applied, its answer lost: found by tracking number, never sent twice."""
        order, line = self._order(fake)
        fake.faults.ambiguous_next("createShippingFulfillment")
        ref = ebay.create_shipping_fulfillment(
            order, line_items={line: 1}, tracking_number="9400222", carrier="USPS"
        )
        assert len(fake.writes("createShippingFulfillment")) == 1
        assert [f.fulfillment_id for f in fake.fulfillments(order)] == [ref.fulfillment_id]
        fake.assert_no_duplicate_writes()

    def test_an_html_error_page_is_checked_before_resending(
        self, fake: FakeEbay, ebay: EbayAdapter
    ) -> None:
        """A 502 HTML page: the fulfillments are read; not there, so it is sent once more."""
        order, line = self._order(fake)
        fake.faults.garbage_next("createShippingFulfillment")
        ebay.create_shipping_fulfillment(
            order, line_items={line: 1}, tracking_number="9400333", carrier="USPS"
        )
        assert len(fake.fulfillments(order)) == 1
        assert len(sent(fake, "getShippingFulfillments")) == 1

    def test_a_201_without_location(self, fake: FakeEbay, clock: FakeClock) -> None:
        """No Location: a response error saying it was created; it is not resent."""
        spy = Spy(fake)

        def strip(request: httpx.Request, response: httpx.Response) -> httpx.Response:
            if response.status_code == 201:
                return httpx.Response(201, content=b"{}", request=request)
            return response

        spy.change = strip
        order, line = self._order(fake)
        with (
            make_ebay(fake, clock, transport=spy) as ebay,
            pytest.raises(MarketplaceResponseError) as info,
        ):
            ebay.create_shipping_fulfillment(
                order, line_items={line: 1}, tracking_number="9400444", carrier="USPS"
            )
        assert "WAS created" in str(info.value)
        assert len(fake.fulfillments(order)) == 1

    def test_async_create_reconciles_with_async_reads(
        self, fake: FakeEbay, clock: FakeClock
    ) -> None:
        """A lost async answer is read back with awaited calls: found, never sent twice."""
        spy = Spy(fake)  # the sync transport: only the token endpoint may use it
        order, line = self._order(fake)
        fake.faults.ambiguous_next("createShippingFulfillment")
        ebay = make_ebay(fake, clock, transport=spy, async_transport=fake.async_transport)

        async def main() -> tuple[Any, list[dict[str, Any]]]:
            ref = await ebay.acreate_shipping_fulfillment(
                order, line_items={line: 1}, tracking_number="9400555", carrier="USPS"
            )
            records = await ebay.aget_shipping_fulfillments(order)
            await ebay.aclose()
            return ref, records

        ref, records = asyncio.run(main())
        assert [f.fulfillment_id for f in fake.fulfillments(order)] == [ref.fulfillment_id]
        assert [r["fulfillmentId"] for r in records] == [ref.fulfillment_id]
        assert len(sent(fake, "getShippingFulfillments")) == 2
        assert [u for u in spy.urls if "/sell/" in u] == []
        fake.assert_no_duplicate_writes()

    def test_async_create_without_location(self, fake: FakeEbay, clock: FakeClock) -> None:
        """An async 201 without Location: the same response error; nothing resent."""

        def strip(request: httpx.Request) -> httpx.Response:
            response = fake.transport.handle_request(request)
            if response.status_code == 201:
                return httpx.Response(201, content=b"{}", request=request)
            return response

        order, line = self._order(fake)
        ebay = make_ebay(fake, clock, async_transport=httpx.MockTransport(strip))

        async def main() -> None:
            try:
                await ebay.acreate_shipping_fulfillment(
                    order, line_items={line: 1}, tracking_number="9400666", carrier="USPS"
                )
            finally:
                await ebay.aclose()

        with pytest.raises(MarketplaceResponseError, match="WAS created"):
            asyncio.run(main())
        assert len(fake.fulfillments(order)) == 1

    def test_bad_line_items(self, fake: FakeEbay, ebay: EbayAdapter) -> None:
        """Line items must map ids to quantities >= 1."""
        order, line = self._order(fake)
        for bad in ({}, {line: 0}, {line: True}):
            with pytest.raises(InvalidArgumentError):
                ebay.create_shipping_fulfillment(
                    order, line_items=bad, tracking_number="1", carrier="USPS"
                )


class TestHealth:
    def test_healthy(self, ebay: EbayAdapter) -> None:
        """A refresh round trip and getUserRateLimits: ok, with the token's expiry and scopes."""
        health = ebay.health()
        assert isinstance(health, Health)
        assert (health.ok, health.auth_ok, health.read_ok) == (True, True, True)
        assert health.token_expires_at is not None
        assert INVENTORY_SCOPE in health.scopes

    def test_revoked(self, fake: FakeEbay, ebay: EbayAdapter) -> None:
        """A revoked consent shows at once, with what to do."""
        fake.deauthorize()
        health = ebay.health()
        assert (health.ok, health.auth_ok) == (False, False)
        assert "consent again" in health.detail


# -- releases -----------------------------------------------------------------------------------


class Boom(Exception):  # noqa: N818 - the job's own error
    """The job failing."""


class TestRelease:
    def test_a_failing_release_undoes_only_the_items_that_applied(
        self, store: sr.Store, fake: FakeEbay, ebay: EbayAdapter, offers: list[str]
    ) -> None:
        """Per-item compensation: applied items go back, the failed one is left alone."""
        with (  # noqa: PT012 - the body is under test
            pytest.raises(Boom) as info,
            release("ebay-prices", store=store, adapters=[ebay]),
        ):
            results = ebay.bulk_update_price_quantity(
                [
                    OfferUpdate(offers[0], price=NEW),
                    OfferUpdate(offers[1], price=NEW, currency="EUR"),
                    OfferUpdate(offers[2], price=NEW, quantity=9),
                ]
            )
            assert [r.ok for r in results] == [True, False, True]
            raise Boom
        report = info.value.rollback_report  # type: ignore[attr-defined]
        assert report.status is ReleaseStatus.ROLLED_BACK
        steps = [s.name for s in report.restored if s.kind == "compensation"]
        assert steps == [
            f"ebay price and quantity of offer {offers[2]}",
            f"ebay price of offer {offers[0]}",
        ]
        assert set(fake.prices.values()) == {OLD}
        assert fake.quantity(offers[2]) == 5
        inverses = fake.writes("bulkUpdatePriceQuantity")[1:]
        assert [len(w.json["requests"]) for w in inverses] == [1, 1]
        assert any(c.name.startswith("health ") and c.ok for c in report.checks)

    def test_async_release(
        self, store: sr.Store, fake: FakeEbay, ebay: EbayAdapter, offers: list[str]
    ) -> None:
        """The async surface inside an async release is compensated the same way."""

        async def main() -> None:
            async with release("ebay-prices", store=store, adapters=[ebay]):
                await ebay.aupdate_price(NEW, offer_id=offers[0])
                assert fake.price(offers[0]) == NEW
                raise Boom

        with pytest.raises(Boom):
            asyncio.run(main())
        assert fake.price(offers[0]) == OLD

    def test_crash_during_compensation_is_finished_once(
        self, store: sr.Store, fake: FakeEbay, clock: FakeClock, offers: list[str]
    ) -> None:
        """A crash after an inverse landed: a re-opened journal reads back, sends nothing twice."""
        spy = Spy(fake)
        journal = Journal(store, release_id="rel-1", scope="prices")
        with make_ebay(fake, clock, transport=spy) as ebay:
            ebay.bind_journal(journal)
            ebay.bulk_update_price_quantity([OfferUpdate(o, price=NEW) for o in offers[:2]])

            def crash(request: httpx.Request) -> None:
                if request.method == "POST" and "bulk" in request.url.path:
                    raise Crash

            spy.after = crash
            with pytest.raises(Crash):
                Journal(store, release_id="rel-1", scope="prices").compensate([ebay])
        with make_ebay(fake, clock) as fresh:
            steps = Journal(store, release_id="rel-1", scope="prices").compensate([fresh])
            again = Journal(store, release_id="rel-1", scope="prices").compensate([fresh])
        assert [s.ok for s in steps] == [True, True]
        assert "reading back" in steps[0].detail
        assert [(s.name, s.ok) for s in again] == [(s.name, s.ok) for s in steps]
        assert set(fake.prices.values()) == {OLD}
        assert len(fake.writes("bulkUpdatePriceQuantity")) == 1 + 2  # the batch, two inverses
        table = store.tables.ledger
        with store.engine.connect() as conn:
            states = [r.comp_state for r in conn.execute(select(table.c.comp_state))]
        assert states == ["done", "done"]

    def test_a_refused_inverse_is_a_failed_step(
        self, store: sr.Store, fake: FakeEbay, clock: FakeClock, offers: list[str]
    ) -> None:
        """An inverse eBay refuses per item (a 207) is a failed step, sent again later."""
        spy = Spy(fake)

        def refuse(request: httpx.Request, response: httpx.Response) -> httpx.Response:
            if not request.url.path.endswith("bulk_update_price_quantity"):
                return response
            item = {"statusCode": 400, "offerId": offers[0], **errors(25767, "revision limit")}
            return httpx.Response(207, json={"responses": [item]}, request=request)

        journal = Journal(store, release_id="rel-2", scope="prices")
        with make_ebay(fake, clock, transport=spy) as ebay:
            ebay.bind_journal(journal)
            ebay.update_price(NEW, offer_id=offers[0])
            spy.change = refuse
            (step,) = journal.compensate([ebay])
            assert not step.ok
            assert "25767" in step.detail
            spy.change = _same
            (step,) = journal.compensate([ebay])
        assert step.ok
        assert fake.price(offers[0]) == OLD

    def test_a_rollback_keeps_to_the_revision_limit(
        self,
        store: sr.Store,
        fake: FakeEbay,
        clock: FakeClock,
        ebay: EbayAdapter,
        offers: list[str],
    ) -> None:
        """An inverse past the offer's 250 revisions is not sent: failed today, done tomorrow."""
        journal = Journal(store, release_id="rel-3", scope="prices")
        ebay.bind_journal(journal)
        ebay.update_price(NEW, offer_id=offers[0])
        ebay.bind_journal(None)
        now = clock.time()
        key = f"ebay|revisions|{offers[0]}|{ebay.seller}|{ebay.app}"
        ebay.limiter.spend(key, REVISIONS, ebay.daily_reset(REVISIONS, now), now, count=249)
        fake.reset_calls()
        (step,) = journal.compensate([ebay])
        assert not step.ok
        assert "revised 250 times" in step.detail
        assert fake.writes("bulkUpdatePriceQuantity") == []
        clock.advance(ebay.daily_reset(REVISIONS, now) - now + 1)
        (step,) = journal.compensate([ebay])
        assert step.ok
        assert fake.price(offers[0]) == OLD

    def test_a_crashed_job_is_rolled_back_by_recover_once(
        self,
        store: sr.Store,
        fake: FakeEbay,
        clock: FakeClock,
        ebay: EbayAdapter,
        offers: list[str],
    ) -> None:
        """The job died after a bulk update: recover() undoes it; a second one does nothing."""
        rel = release("ebay-prices", store=store, adapters=[ebay], lease=10)
        rel.__enter__()
        ebay.bulk_update_price_quantity([OfferUpdate(o, price=NEW) for o in offers])
        rel._unbind()
        assert rel._lock is not None
        rel._lock.close()
        clock.advance(11)
        (report,) = recover(store, adapters=[ebay])
        assert report.status is ReleaseStatus.ROLLED_BACK
        assert set(fake.prices.values()) == {OLD}
        assert recover(store, adapters=[ebay]) == []
        assert len(fake.writes("bulkUpdatePriceQuantity")) == 1 + 3
        fake.assert_no_duplicate_writes()

    def test_a_crash_mid_rollback_is_finished_by_recover(
        self, store: sr.Store, fake: FakeEbay, clock: FakeClock, offers: list[str]
    ) -> None:
        """The process died as an inverse landed: recover() reads it back, sends the rest."""
        spy = Spy(fake)

        def crash_once(request: httpx.Request) -> None:
            if request.url.path.endswith("bulk_update_price_quantity"):
                spy.after = _nothing
                raise Crash

        ebay = make_ebay(fake, clock, transport=spy)
        with (  # noqa: PT012 - the body is under test
            pytest.raises(Crash),
            release("ebay-prices", store=store, adapters=[ebay], lease=10),
        ):
            ebay.bulk_update_price_quantity([OfferUpdate(o, price=NEW) for o in offers[:2]])
            spy.after = crash_once
            raise Boom
        ebay.close()
        clock.advance(11)
        with make_ebay(fake, clock) as fresh:
            (report,) = recover(store, adapters=[fresh])
        assert report.status is ReleaseStatus.ROLLED_BACK
        assert set(fake.prices.values()) == {OLD}
        assert len(fake.writes("bulkUpdatePriceQuantity")) == 1 + 2  # each inverse once

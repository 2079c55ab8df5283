"""FakeEbay: tokens, offers, bulk price/quantity, orders, fulfillments, quotas, faults.

Every test talks to the fake over HTTP through httpx (the mock transport, or
``serve()`` on loopback), as an adapter would; the facts it checks are those of
../shared/reference/ebay/WIRE.md. Time is a `FakeClock`; nothing waits.
"""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import httpx
import pytest

from safe_release.exceptions import InvalidArgumentError, UnknownOperationError
from safe_release.testing import (
    Call,
    EbayOffer,
    FakeClock,
    FakeEbay,
    FakeEbayCredentials,
    FakeEbayFaults,
)
from tests.fakes_util import FakeClient

BASE = "https://api.ebay.com"
OAUTH = "/identity/v1/oauth2/token"
INV = "/sell/inventory/v1"
FUL = "/sell/fulfillment/v1"
ANA = "/developer/analytics/v1_beta"
SCOPE = "https://api.ebay.com/oauth/api_scope"
INVENTORY = f"{SCOPE}/sell.inventory"
FULFILLMENT = f"{SCOPE}/sell.fulfillment"
DAY = 86_400.0
START = 1_767_225_600.0  # FakeClock's default: 2026-01-01T00:00:00Z
RESET = START + 7 * 3600  # the next 07:00Z


def at(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


class Ebay(FakeClient[FakeEbayCredentials]):
    """A minimal eBay REST client for the tests: a token, then bearer calls."""

    base_url = BASE

    def token_call(
        self, grant: str = "refresh_token", *, scope: str | None = None, **form: str
    ) -> httpx.Response:
        data = {"grant_type": grant, **form}
        if grant == "refresh_token":
            data.setdefault("refresh_token", self.creds.refresh_token)
        if scope is not None:
            data["scope"] = scope
        return self.http.post(
            OAUTH, data=data, auth=(self.creds.client_id, self.creds.client_secret)
        )

    def token(self, grant: str = "refresh_token", *, scope: str | None = None) -> str:
        response = self.token_call(grant, scope=scope)
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        if grant == "refresh_token":
            self.access = token
        return token

    def call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        content: bytes | None = None,
    ) -> httpx.Response:
        access = token or self.access or self.token()
        return self.http.request(
            method,
            path,
            params=params,
            json=json,
            content=content,
            headers={"Authorization": f"Bearer {access}", **(headers or {})},
        )

    def bulk(self, *requests: Any, **kwargs: Any) -> httpx.Response:
        return self.call(
            "POST",
            f"{INV}/bulk_update_price_quantity",
            json={"requests": list(requests)},
            **kwargs,
        )

    def ship(self, order_id: str, body: Any, **kwargs: Any) -> httpx.Response:
        return self.call(
            "POST", f"{FUL}/order/{order_id}/shipping_fulfillment", json=body, **kwargs
        )

    def orders(self, **params: Any) -> httpx.Response:
        return self.call("GET", f"{FUL}/order", params=params)


def price(offer_id: str, value: str, currency: str = "USD") -> dict[str, Any]:
    return {"offers": [{"offerId": offer_id, "price": {"value": value, "currency": currency}}]}


def errors(response: httpx.Response) -> list[int]:
    return [x["errorId"] for x in response.json()["errors"]]


@pytest.fixture(name="fake")
def _fake(clock: FakeClock) -> FakeEbay:
    return FakeEbay(clock=clock)


@pytest.fixture(name="ebay")
def _ebay(fake: FakeEbay) -> Ebay:
    return Ebay(fake)


def _line(fake: FakeEbay, order_id: str, index: int = 0) -> str:
    return fake.order(order_id).line_items[index].line_item_id


class TestTokenEndpoint:
    def test_refresh_grant_answers_a_two_hour_user_token_without_a_refresh_token(
        self, ebay: Ebay
    ) -> None:
        """A refresh answers access_token, expires_in 7200, no new refresh token."""
        body = ebay.token_call().json()
        assert body["expires_in"] == 7200
        assert body["token_type"] == "User Access Token"  # noqa: S105 - a token type
        assert "refresh_token" not in body
        assert ebay.token_call().status_code == 200  # the refresh token is reusable
        assert ebay.fake.tokens_issued == 2

    def test_basic_header_is_the_documented_encoding(self, fake: FakeEbay) -> None:
        """A hand-built Basic header (base64 of id:secret) authenticates the app."""
        creds = fake.credentials
        raw = base64.b64encode(f"{creds.client_id}:{creds.client_secret}".encode()).decode()
        response = httpx.Client(transport=fake.transport, base_url=BASE).post(
            OAUTH,
            data={"grant_type": "refresh_token", "refresh_token": creds.refresh_token},
            headers={"Authorization": f"Basic {raw}"},
        )
        assert response.status_code == 200

    def test_client_credentials_grant_answers_an_application_token(self, ebay: Ebay) -> None:
        """client_credentials gives an Application Access Token for the api_scope."""
        body = ebay.token_call("client_credentials", scope=SCOPE).json()
        assert body["token_type"] == "Application Access Token"  # noqa: S105 - a type
        assert body["expires_in"] == 7200

    @pytest.mark.parametrize(
        ("grant", "form", "status", "error"),
        [
            ("refresh_token", {"refresh_token": "v^1.1#nope"}, 400, "invalid_grant"),
            ("authorization_code", {"code": "x"}, 400, "unsupported_grant_type"),
            ("", {}, 400, "unsupported_grant_type"),
        ],
    )
    def test_bad_grants_answer_oauth_errors(
        self, ebay: Ebay, grant: str, form: dict[str, str], status: int, error: str
    ) -> None:
        """A bad or unsupported grant is an RFC 6749 error body."""
        response = ebay.token_call(grant, **form)
        assert response.status_code == status
        assert response.json()["error"] == error
        assert "error_description" in response.json()

    def test_a_withdrawn_consent_is_invalid_grant(self, ebay: Ebay) -> None:
        """After deauthorize the refresh token answers 400 invalid_grant."""
        ebay.fake.deauthorize()
        assert ebay.token_call().json()["error"] == "invalid_grant"

    @pytest.mark.parametrize("auth", [None, ("wrong", "secret"), "Basic !!!", "Bearer x"])
    def test_bad_client_credentials_are_401_invalid_client(
        self, fake: FakeEbay, auth: Any
    ) -> None:
        """A missing or wrong Basic header answers 401 invalid_client."""
        headers = {"Authorization": auth} if isinstance(auth, str) else {}
        response = httpx.Client(transport=fake.transport, base_url=BASE).post(
            OAUTH,
            data={"grant_type": "refresh_token", "refresh_token": fake.credentials.refresh_token},
            auth=auth if isinstance(auth, tuple) else None,
            headers=headers,
        )
        assert (response.status_code, response.json()["error"]) == (401, "invalid_client")

    def test_scopes_beyond_the_grant_are_invalid_scope(self, ebay: Ebay) -> None:
        """A refresh asking for more than consent, or an app token asking for sell scopes: 400."""
        fake = ebay.fake
        narrow = Ebay(fake, fake.authorize("demo_seller", scopes=[FULFILLMENT]))
        assert (
            narrow.token_call(scope=f"{FULFILLMENT} {INVENTORY}").json()["error"]
            == "invalid_scope"
        )
        response = ebay.token_call("client_credentials", scope=INVENTORY)
        assert (response.status_code, response.json()["error"]) == (400, "invalid_scope")

    def test_a_narrower_refresh_gives_a_narrower_token(self, ebay: Ebay) -> None:
        """A token refreshed without sell.inventory is refused by the Inventory API."""
        offer = ebay.fake.add_offer("A", price=Decimal("5.00"), quantity=1)
        narrow = ebay.token(scope=FULFILLMENT)
        response = ebay.bulk(price(offer, "6.00"), token=narrow)
        assert (response.status_code, errors(response)) == (403, [1100])
        assert ebay.call("GET", f"{FUL}/order", token=narrow).status_code == 200

    def test_the_form_must_be_url_encoded_and_posted(self, ebay: Ebay) -> None:
        """JSON to the token endpoint is 400 invalid_request; GET is 405."""
        creds = ebay.creds
        response = ebay.http.post(
            OAUTH,
            json={"grant_type": "refresh_token"},
            auth=(creds.client_id, creds.client_secret),
        )
        assert (response.status_code, response.json()["error"]) == (400, "invalid_request")
        assert ebay.http.get(OAUTH).status_code == 405

    def test_a_throttled_token_endpoint_answers_429_with_an_errors_body(self, ebay: Ebay) -> None:
        """token_endpoint_throttled: 429 with a REST errors[] body, not an OAuth one."""
        ebay.fake.faults.token_endpoint_throttled = True
        response = ebay.token_call()
        assert (response.status_code, errors(response)) == (429, [2001])
        assert ebay.fake.tokens_issued == 0

    @pytest.mark.parametrize("grant", ["refresh_token", "client_credentials"])
    def test_the_token_endpoint_has_its_own_daily_quota(
        self, ebay: Ebay, clock: FakeClock, grant: str
    ) -> None:
        """Past the grant's daily limit: 429 errors[] until the 07:00Z reset."""
        fake = ebay.fake
        assert fake.token_grants_used(grant) == 0
        fake.set_token_limit(grant, 2)
        assert [ebay.token_call(grant).status_code for _ in range(3)] == [200, 200, 429]
        assert errors(ebay.token_call(grant)) == [2001]
        assert fake.token_grants_used(grant) == 2
        clock.advance(RESET - clock.time())
        assert ebay.token_call(grant).status_code == 200

    def test_token_quota_defaults_are_documented_figures(self, fake: FakeEbay) -> None:
        """refresh_token 50,000 and client_credentials 1,000 a day; bad grants are refused."""
        with pytest.raises(InvalidArgumentError):
            fake.token_grants_used("authorization_code")
        with pytest.raises(InvalidArgumentError):
            fake.set_token_limit("refresh_token", -1)
        with pytest.raises(InvalidArgumentError):
            fake.set_token_limit("password", 1)

    def test_token_calls_record_no_form(self, ebay: Ebay) -> None:
        """The token call is logged without its form (it holds secrets)."""
        ebay.token()
        call = ebay.fake.calls[-1]
        assert (call.operation, call.json, call.status) == ("token", None, 200)
        assert call.seller_id == "demo_seller"


class TestAccessTokens:
    def test_an_expired_token_is_403_1100_on_inventory_and_401_1001_elsewhere(
        self, ebay: Ebay, clock: FakeClock
    ) -> None:
        """After 7200 s: Inventory answers 403 1100, Fulfillment 401 1001."""
        offer = ebay.fake.add_offer("A", price=Decimal("5.00"), quantity=1)
        ebay.token()
        assert ebay.call("GET", f"{INV}/offer/{offer}").status_code == 200
        clock.advance(7199)
        assert ebay.call("GET", f"{INV}/offer/{offer}").status_code == 200
        clock.advance(1)
        inventory = ebay.call("GET", f"{INV}/offer/{offer}")
        assert (inventory.status_code, errors(inventory)) == (403, [1100])
        assert inventory.json()["errors"][0]["domain"] == "ACCESS"
        fulfillment = ebay.orders()
        assert (fulfillment.status_code, errors(fulfillment)) == (401, [1001])
        assert fulfillment.json()["errors"][0]["domain"] == "OAuth"

    def test_missing_and_unknown_tokens_are_refused(self, fake: FakeEbay) -> None:
        """No Authorization header or an unknown token: 401 1001 (403 1100 on Inventory)."""
        http = httpx.Client(transport=fake.transport, base_url=BASE)
        assert errors(http.get(f"{FUL}/order")) == [1001]
        assert http.get(f"{INV}/offer", params={"sku": "A"}).status_code == 403
        bad = http.get(f"{FUL}/order", headers={"Authorization": "Bearer nope"})
        assert bad.status_code == 401

    def test_revoked_tokens_are_refused_and_new_ones_work(self, ebay: Ebay) -> None:
        """revoke_auth invalidates every token issued so far; a refresh recovers."""
        ebay.token()
        ebay.fake.faults.revoke_auth()
        assert ebay.orders().status_code == 401
        ebay.token()
        assert ebay.orders().status_code == 200

    def test_auth_failures_are_not_counted(self, ebay: Ebay, clock: FakeClock) -> None:
        """A refused token costs no quota."""
        ebay.token()
        clock.advance(7200)
        ebay.orders()
        assert ebay.fake.daily_used("sell.fulfillment") == 0

    def test_application_and_user_tokens_are_not_interchangeable(self, ebay: Ebay) -> None:
        """getRateLimits takes an app token, getUserRateLimits a user token; else 403 1100."""
        app = ebay.token("client_credentials")
        user = ebay.token()
        assert errors(ebay.call("GET", f"{ANA}/rate_limit/", token=user)) == [1100]
        assert errors(ebay.call("GET", f"{ANA}/user_rate_limit/", token=app)) == [1100]
        assert ebay.call("GET", f"{FUL}/order", token=app).status_code == 403


class TestOffers:
    def test_get_offer_answers_money_as_a_string(self, ebay: Ebay) -> None:
        """getOffer: pricingSummary.price.value is a string with cents."""
        offer = ebay.fake.add_offer("SKU-RED-M", price=Decimal("19.9"), quantity=3)
        body = ebay.call("GET", f"{INV}/offer/{offer}").json()
        assert body["pricingSummary"]["price"] == {"value": "19.90", "currency": "USD"}
        assert (body["offerId"], body["sku"], body["availableQuantity"]) == (offer, "SKU-RED-M", 3)
        assert (body["status"], body["format"], body["marketplaceId"]) == (
            "PUBLISHED",
            "FIXED_PRICE",
            "EBAY_US",
        )
        assert body["listing"]["listingStatus"] == "ACTIVE"

    def test_an_unpublished_offer_has_no_listing(self, ebay: Ebay) -> None:
        """An UNPUBLISHED offer answers without a listing."""
        offer = ebay.fake.add_offer("U", price=Decimal(1), quantity=0, status="UNPUBLISHED")
        assert "listing" not in ebay.call("GET", f"{INV}/offer/{offer}").json()

    def test_an_unknown_offer_is_404(self, ebay: Ebay) -> None:
        """getOffer for an id the fake does not hold: 404 25713."""
        response = ebay.call("GET", f"{INV}/offer/999")
        assert (response.status_code, errors(response)) == (404, [25713])

    def test_get_offers_pages_by_page_index(self, ebay: Ebay) -> None:
        """offset is a page index: limit=2 offset=1 is the 3rd and 4th offers."""
        ids = [
            ebay.fake.add_offer(
                "S",
                price=Decimal(i + 1),
                quantity=i,
                format="AUCTION" if i == 4 else "FIXED_PRICE",
            )
            for i in range(5)
        ]
        first = ebay.call("GET", f"{INV}/offer", params={"sku": "S", "limit": 2}).json()
        assert (first["total"], first["size"], first["limit"]) == (5, 2, 2)
        assert "prev" not in first
        assert "offset=1" in first["next"]
        second = ebay.call(
            "GET", f"{INV}/offer", params={"sku": "S", "limit": 2, "offset": 1}
        ).json()
        assert [o["offerId"] for o in second["offers"]] == ids[2:4]
        assert "offset=0" in second["prev"]
        last = ebay.call(
            "GET", f"{INV}/offer", params={"sku": "S", "limit": 2, "offset": 2}
        ).json()
        assert ("next" not in last, last["size"]) == (True, 1)
        auctions = ebay.call(
            "GET", f"{INV}/offer", params={"sku": "S", "format": "AUCTION"}
        ).json()
        assert [o["offerId"] for o in auctions["offers"]] == ids[4:]
        assert ebay.call("GET", f"{INV}/offer", params={"sku": "S"}).json()["limit"] == 100

    @pytest.mark.parametrize(
        ("params", "status", "error"),
        [
            ({}, 400, 25709),
            ({"sku": "S", "limit": "0"}, 400, 25706),
            ({"sku": "S", "limit": "x"}, 400, 25706),
            ({"sku": "S", "offset": "-1"}, 400, 25706),
            ({"sku": "nothing"}, 404, 25713),
            ({"sku": "S", "marketplace_id": "EBAY_DE"}, 404, 25713),
        ],
    )
    def test_get_offers_errors(
        self, ebay: Ebay, params: dict[str, str], status: int, error: int
    ) -> None:
        """A missing sku, bad pagination or no offers: eBay's codes."""
        ebay.fake.add_offer("S", price=Decimal(1), quantity=1)
        response = ebay.call("GET", f"{INV}/offer", params=params)
        assert (response.status_code, errors(response)) == (status, [error])


class TestBulkUpdatePriceQuantity:
    def test_all_items_pass_is_200_and_changes_state(self, ebay: Ebay) -> None:
        """Every item ok: 200, one response per offer, prices and quantities set."""
        fake = ebay.fake
        a = fake.add_offer("SKU-RED-M", price=Decimal("10.00"), quantity=1)
        b = fake.add_offer("SKU-BLU-L", price=Decimal("20.00"), quantity=2)
        response = ebay.bulk(
            {
                "sku": "SKU-RED-M",
                "shipToLocationAvailability": {"quantity": 40},
                "offers": [
                    {
                        "offerId": a,
                        "availableQuantity": 12,
                        "price": {"value": "19.99", "currency": "USD"},
                    }
                ],
            },
            price(b, "24.50"),
        )
        assert response.status_code == 200
        assert response.json() == {
            "responses": [
                {"statusCode": 200, "sku": "SKU-RED-M", "offerId": a},
                {"statusCode": 200, "sku": "SKU-BLU-L", "offerId": b},
            ]
        }
        assert fake.prices == {a: Decimal("19.99"), b: Decimal("24.50")}
        assert (fake.quantity(a), fake.quantity(b)) == (12, 2)
        assert fake.offer(a).revisions_today == 1
        assert [c.operation for c in fake.writes()] == ["bulkUpdatePriceQuantity"]

    def test_a_mixed_batch_is_207_with_per_item_results(self, ebay: Ebay) -> None:
        """An unknown offer fails alone (400 25709 inside a 207); the others apply."""
        fake = ebay.fake
        a = fake.add_offer("A", price=Decimal("10.00"), quantity=1)
        response = ebay.bulk(price(a, "11.00"), price("5005317011", "24.50"))
        assert response.status_code == 207
        ok, failed = response.json()["responses"]
        assert ok == {"statusCode": 200, "sku": "A", "offerId": a}
        assert (failed["statusCode"], failed["offerId"]) == (400, "5005317011")
        assert failed["errors"][0]["errorId"] == 25709
        assert failed["errors"][0]["domain"] == "API_INVENTORY"
        assert fake.price(a) == Decimal("11.00")
        assert fake.writes()[0].applied

    def test_all_items_failing_is_207_and_not_applied(self, ebay: Ebay) -> None:
        """No item passed: still 207, and nothing written."""
        response = ebay.bulk(price("1", "2.00"))
        assert response.status_code == 207
        assert ebay.fake.writes() == []

    def test_a_sku_only_entry_answers_without_offer_id(self, ebay: Ebay) -> None:
        """shipToLocationAvailability alone: one response with the sku, no offerId."""
        response = ebay.bulk({"sku": "A", "shipToLocationAvailability": {"quantity": 4}})
        assert response.json()["responses"] == [{"statusCode": 200, "sku": "A"}]

    @pytest.mark.parametrize("count", [0, 26])
    def test_more_than_25_requests_is_a_400(self, ebay: Ebay, count: int) -> None:
        """26 requests (or none): 400 25709 for the whole call, nothing applied."""
        offer = ebay.fake.add_offer("A", price=Decimal("1.00"), quantity=1)
        response = ebay.bulk(*[price(offer, "2.00")] * count)
        assert (response.status_code, errors(response)) == (400, [25709])
        assert ebay.fake.price(offer) == Decimal("1.00")

    def test_25_requests_are_accepted(self, ebay: Ebay) -> None:
        """Exactly 25 requests is within the limit."""
        ids = [ebay.fake.add_offer(f"S{i}", price=Decimal(1), quantity=1) for i in range(25)]
        assert ebay.bulk(*[price(i, "3.00") for i in ids]).status_code == 200

    def test_a_duplicate_offer_id_fails_the_item(self, ebay: Ebay) -> None:
        """The same offerId twice in one offers array: both entries fail, nothing applied."""
        offer = ebay.fake.add_offer("A", price=Decimal("1.00"), quantity=1)
        entry = {"offerId": offer, "price": {"value": "2.00", "currency": "USD"}}
        response = ebay.bulk({"offers": [entry, entry]})
        assert response.status_code == 207
        assert [r["statusCode"] for r in response.json()["responses"]] == [400, 400]
        assert ebay.fake.price(offer) == Decimal("1.00")

    @pytest.mark.parametrize(
        "entry",
        [
            {"price": {"value": 2.5, "currency": "USD"}},  # a number, not a string
            {"price": "2.00"},
            {"offerId": 5, "price": {"value": "2.00", "currency": "USD"}},
            {"price": {"value": "abc", "currency": "USD"}},
            {"price": {"value": "0", "currency": "USD"}},
            {"price": {"value": "2.00", "currency": "EUR"}},
            {"availableQuantity": -1},
            {"availableQuantity": True},
            {},
        ],
    )
    def test_bad_offer_entries_fail_per_item(self, ebay: Ebay, entry: dict[str, Any]) -> None:
        """A bad price or quantity fails that item inside a 207."""
        offer = ebay.fake.add_offer("A", price=Decimal("1.00"), quantity=1)
        response = ebay.bulk({"offers": [{"offerId": offer, **entry}]})
        assert response.status_code == 207
        assert response.json()["responses"][0]["statusCode"] == 400
        assert ebay.fake.offer(offer).revisions_today == 0

    @pytest.mark.parametrize(
        "item",
        [
            "not an object",
            {"sku": "B", "offers": [{"offerId": "OFFER"}]},  # offer of another SKU
            {"sku": "x" * 51, "offers": []},
            {"offers": "no"},
            {"shipToLocationAvailability": {"quantity": 1}},  # no sku
            {"sku": "A", "shipToLocationAvailability": {"quantity": -1}},
            {"sku": "A"},
        ],
    )
    def test_bad_items_fail_per_item(self, ebay: Ebay, item: Any) -> None:
        """Malformed items fail in the 207 without touching the offer."""
        offer = ebay.fake.add_offer("A", price=Decimal("1.00"), quantity=1, offer_id="OFFER")
        response = ebay.bulk(item)
        assert response.status_code == 207
        assert response.json()["responses"][0]["statusCode"] == 400
        assert ebay.fake.offer(offer).revisions_today == 0

    def test_an_unpublished_offer_fails(self, ebay: Ebay) -> None:
        """Only published offers: an unpublished one is 25709 (use updateOffer)."""
        offer = ebay.fake.add_offer("A", price=Decimal(1), quantity=1, status="UNPUBLISHED")
        assert (
            ebay.bulk(price(offer, "2.00")).json()["responses"][0]["errors"][0]["errorId"] == 25709
        )

    def test_the_251st_revision_of_a_day_fails_until_the_reset(
        self, ebay: Ebay, clock: FakeClock
    ) -> None:
        """250 revisions a day per offer; the next is a per-item 25767 until 07:00Z."""
        fake = ebay.fake
        offer = fake.add_offer("A", price=Decimal("1.00"), quantity=1)
        other = fake.add_offer("B", price=Decimal("1.00"), quantity=1)
        for i in range(250):
            assert ebay.bulk(price(offer, f"{i + 1}.00")).status_code == 200
        response = ebay.bulk(price(offer, "999.00"), price(other, "2.00"))
        assert response.status_code == 207
        refused, ok = response.json()["responses"]
        assert refused["errors"][0]["errorId"] == 25767
        assert ok["statusCode"] == 200
        assert fake.price(offer) == Decimal("250.00")
        assert fake.offer(offer).revisions_today == 250
        clock.advance(RESET - clock.time())
        assert fake.offer(offer).revisions_today == 0
        ebay.token()  # the old one expired meanwhile
        assert ebay.bulk(price(offer, "999.00")).status_code == 200

    @pytest.mark.parametrize("content_type", [None, "text/plain"])
    def test_content_type_json_is_required(self, ebay: Ebay, content_type: str | None) -> None:
        """Without Content-Type: application/json the call is 415 (25002) [U]."""
        offer = ebay.fake.add_offer("A", price=Decimal("1.00"), quantity=1)
        headers = {} if content_type is None else {"Content-Type": content_type}
        response = ebay.call(
            "POST",
            f"{INV}/bulk_update_price_quantity",
            content=b'{"requests": []}',
            headers=headers,
        )
        assert (response.status_code, errors(response)) == (415, [25002])
        assert ebay.fake.price(offer) == Decimal("1.00")

    def test_a_body_that_is_not_json_is_400(self, ebay: Ebay) -> None:
        """Content-Type JSON with a broken body: 400 25002."""
        response = ebay.call(
            "POST",
            f"{INV}/bulk_update_price_quantity",
            content=b"{not json",
            headers={"Content-Type": "application/json"},
        )
        assert (response.status_code, errors(response)) == (400, [25002])

    def test_a_replay_converges_and_is_not_a_duplicate(self, ebay: Ebay) -> None:
        """bulkUpdatePriceQuantity sets absolute values: a replay is no duplicate write."""
        offer = ebay.fake.add_offer("A", price=Decimal("1.00"), quantity=1)
        ebay.bulk(price(offer, "2.00"))
        ebay.bulk(price(offer, "2.00"))
        ebay.fake.assert_no_duplicate_writes()
        assert ebay.fake.offer(offer).revisions_today == 2


class TestOrders:
    def test_get_orders_pages_with_a_record_offset(self, ebay: Ebay, clock: FakeClock) -> None:
        """limit/offset count records; total, next and prev are set; newest first."""
        fake = ebay.fake
        ids = []
        for _ in range(5):
            ids.append(fake.add_order(line_items=[("A", 1, Decimal("19.99"))]))
            clock.advance(60)
        page = ebay.orders(limit=2, offset=1).json()
        assert (page["total"], page["limit"], page["offset"]) == (5, 2, 1)
        assert [o["orderId"] for o in page["orders"]] == [ids[3], ids[2]]
        assert "offset=3" in page["next"]
        assert "offset=0" in page["prev"]
        assert "prev" not in ebay.orders().json()
        assert ebay.orders().json()["limit"] == 50

    def test_an_order_has_the_documented_fields(self, ebay: Ebay) -> None:
        """Order: money as strings, statuses, empty cancelRequests, the seller id."""
        order_id = ebay.fake.add_order(line_items=[("A", 2, Decimal(5))])
        order = ebay.orders().json()["orders"][0]
        assert order["orderId"] == order_id
        assert order["pricingSummary"]["total"] == {"value": "10.00", "currency": "USD"}
        assert order["orderFulfillmentStatus"] == "NOT_STARTED"
        assert order["cancelStatus"]["cancelRequests"] == []
        assert order["sellerId"] == "demo_seller"
        assert order["creationDate"].endswith(".000Z")
        line = order["lineItems"][0]
        assert line["lineItemCost"] == {"value": "10.00", "currency": "USD"}
        assert (line["quantity"], line["lineItemFulfillmentStatus"]) == (2, "NOT_STARTED")
        assert ebay.call("GET", f"{FUL}/order/{order_id}").json()["orderId"] == order_id

    def test_without_a_filter_only_the_last_90_days(self, ebay: Ebay, clock: FakeClock) -> None:
        """No filter: orders created in the last 90 days."""
        old = ebay.fake.add_order(created=clock.time() - 91 * DAY)
        new = ebay.fake.add_order()
        assert [o["orderId"] for o in ebay.orders().json()["orders"]] == [new]
        assert old != new

    def test_filters_by_dates_and_status(self, ebay: Ebay, clock: FakeClock) -> None:
        """creationdate, lastmodifieddate and orderfulfillmentstatus select orders."""
        fake = ebay.fake
        first = fake.add_order(created=at("2025-12-01T00:00:00Z"))
        second = fake.add_order(created=at("2025-12-20T00:00:00Z"), status="FULFILLED")
        created = "creationdate:[2025-11-30T00:00:00.000Z..2025-12-02T00:00:00.000Z]"
        found = ebay.orders(filter=created).json()["orders"]
        assert [o["orderId"] for o in found] == [first]
        open_ended = ebay.orders(filter="creationdate:[2025-11-01T00:00:00.000Z..]").json()
        assert open_ended["total"] == 2
        modified = ebay.orders(filter="lastmodifieddate:[2025-12-19T00:00:00.000Z..]").json()
        assert [o["orderId"] for o in modified["orders"]] == [second]
        done = ebay.orders(
            filter="creationdate:[2025-11-01T00:00:00.000Z..],orderfulfillmentstatus:{FULFILLED|IN_PROGRESS}"
        ).json()
        assert [o["orderId"] for o in done["orders"]] == [second]
        waiting = ebay.orders(
            filter="creationdate:[2025-11-01T00:00:00.000Z..],orderfulfillmentstatus:{NOT_STARTED|IN_PROGRESS}"
        ).json()
        assert [o["orderId"] for o in waiting["orders"]] == [first]
        assert clock.time() == START

    @pytest.mark.parametrize(
        ("params", "error"),
        [
            ({"limit": "201"}, 31100),
            ({"limit": "0"}, 31100),
            ({"limit": "ten"}, 31100),
            ({"offset": "-1"}, 31000),
            ({"filter": "colour:red"}, 30700),
            ({"filter": "creationdate"}, 30800),
            ({"filter": "creationdate:2025-01-01"}, 30800),
            ({"filter": "orderfulfillmentstatus:{FULFILLED}"}, 30800),
            ({"filter": "orderfulfillmentstatus:{NOT_STARTED|FULFILLED}"}, 30800),
            ({"filter": "creationdate:[2025-01-01..]"}, 30810),
            ({"filter": "creationdate:[2025-13-01T00:00:00.000Z..]"}, 30810),
            ({"filter": "creationdate:[..2025-12-01T00:00:00.000Z]"}, 30820),
            ({"filter": "creationdate:[2023-01-01T00:00:00.000Z..]"}, 30830),
            (
                {"filter": "creationdate:[2025-12-02T00:00:00.000Z..2025-12-01T00:00:00.000Z]"},
                30840,
            ),
            ({"filter": "creationdate:[2026-02-01T00:00:00.000Z..]"}, 30850),
            ({"orderIds": ",".join(f"01-00000-{i:05}" for i in range(51))}, 30900),
            ({"fieldGroups": "EVERYTHING"}, 32800),
        ],
    )
    def test_get_orders_errors(self, ebay: Ebay, params: dict[str, str], error: int) -> None:
        """Bad limits, offsets, filters and id lists answer eBay's 400 codes."""
        response = ebay.orders(**params)
        assert (response.status_code, errors(response)) == (400, [error])

    def test_unencoded_filter_brackets_are_refused(self, ebay: Ebay) -> None:
        """[ ] { } | must be percent-encoded; literal ones are 400 30800 [U]."""
        raw = f"{FUL}/order?filter=creationdate:[2025-12-01T00:00:00.000Z..]"
        response = ebay.call("GET", raw)
        assert (response.status_code, errors(response)) == (400, [30800])

    def test_order_ids_ignore_the_filter_and_paging(self, ebay: Ebay) -> None:
        """orderIds (50 at most) returns those orders; limit, offset and filter are ignored."""
        fake = ebay.fake
        ids = [fake.add_order() for _ in range(3)]
        body = ebay.orders(
            orderIds=f"{ids[0]},{ids[2]},99-99999-99999", limit="999", offset="-5"
        ).json()
        assert [o["orderId"] for o in body["orders"]] == [ids[0], ids[2]]
        assert body["total"] == 2
        assert ebay.orders(orderIds=",".join([ids[0]] * 50)).status_code == 200

    @pytest.mark.parametrize(("order_id", "status"), [("bogus", 400), ("12-34567-89012", 404)])
    def test_get_order_errors(self, ebay: Ebay, order_id: str, status: int) -> None:
        """A malformed order id is 400 32100; an unknown one 404 [U]."""
        response = ebay.call("GET", f"{FUL}/order/{order_id}")
        assert (response.status_code, errors(response)) == (status, [32100])

    def test_get_order_checks_field_groups(self, ebay: Ebay) -> None:
        """fieldGroups other than TAX_BREAKDOWN: 400 32800."""
        order_id = ebay.fake.add_order()
        ok = ebay.call("GET", f"{FUL}/order/{order_id}", params={"fieldGroups": "TAX_BREAKDOWN"})
        assert ok.status_code == 200
        bad = ebay.call("GET", f"{FUL}/order/{order_id}", params={"fieldGroups": "X"})
        assert errors(bad) == [32800]

    def test_orders_of_another_user_are_not_shown(self, fake: FakeEbay) -> None:
        """A user sees only their own orders."""
        fake.add_order(user_id="someone_else")
        assert Ebay(fake).orders().json()["total"] == 0


class TestShippingFulfillment:
    def test_created_with_an_empty_body_and_the_id_in_location(self, ebay: Ebay) -> None:
        """201, no body, the id only in Location; read back as shipmentTrackingNumber."""
        fake = ebay.fake
        order_id = fake.add_order(line_items=[("A", 1, Decimal("19.99"))], created=START - DAY)
        line = _line(fake, order_id)
        response = ebay.ship(
            order_id,
            {
                "lineItems": [{"lineItemId": line, "quantity": 1}],
                "shippedDate": "2025-12-31T09:00:00.000Z",
                "shippingCarrierCode": "USPS",
                "trackingNumber": "9400110200881234567890",
            },
        )
        assert response.status_code == 201
        assert response.content == b""
        prefix = f"{BASE}{FUL}/order/{order_id}/shipping_fulfillment/"
        assert response.headers["Location"].startswith(prefix)
        fulfillment_id = response.headers["Location"].removeprefix(prefix)
        listed = ebay.call("GET", f"{FUL}/order/{order_id}/shipping_fulfillment").json()
        assert listed == {
            "total": 1,
            "fulfillments": [
                {
                    "fulfillmentId": fulfillment_id,
                    "lineItems": [{"lineItemId": line, "quantity": 1}],
                    "shipmentTrackingNumber": "9400110200881234567890",
                    "shippedDate": "2025-12-31T09:00:00.000Z",
                    "shippingCarrierCode": "USPS",
                }
            ],
        }
        ebay.ship(order_id, {"lineItems": [{"lineItemId": line}]})  # another, listed second
        one = ebay.call("GET", f"{FUL}/order/{order_id}/shipping_fulfillment/{fulfillment_id}")
        assert one.json() == listed["fulfillments"][0]
        assert fake.fulfillments(order_id)[0].tracking_number == "9400110200881234567890"
        order = ebay.call("GET", f"{FUL}/order/{order_id}").json()
        assert order["fulfillmentHrefs"][0] == response.headers["Location"]
        assert len(order["fulfillmentHrefs"]) == 2
        second = ebay.http.get(
            order["fulfillmentHrefs"][1], headers={"Authorization": f"Bearer {ebay.access}"}
        )
        assert second.json()["fulfillmentId"] != fulfillment_id

    def test_status_moves_as_lines_ship(self, ebay: Ebay, clock: FakeClock) -> None:
        """NOT_STARTED, then IN_PROGRESS while lines remain, then FULFILLED."""
        fake = ebay.fake
        order_id = fake.add_order(line_items=[("A", 2, "1.00"), ("B", 1, "2.00")])
        a, b = _line(fake, order_id), _line(fake, order_id, 1)
        clock.advance(10)
        ebay.ship(order_id, {"lineItems": [{"lineItemId": a, "quantity": 1}]})
        assert fake.order(order_id).status == "IN_PROGRESS"
        (untracked,) = ebay.call("GET", f"{FUL}/order/{order_id}/shipping_fulfillment").json()[
            "fulfillments"
        ]
        assert "shipmentTrackingNumber" not in untracked
        assert "shippingCarrierCode" not in untracked
        assert fake.order(order_id).line_items[0].status == "IN_PROGRESS"
        ebay.ship(order_id, {"lineItems": [{"lineItemId": a, "quantity": 1}, {"lineItemId": b}]})
        order = fake.order(order_id)
        assert (order.status, order.modified) == ("FULFILLED", START + 10)
        body = ebay.call("GET", f"{FUL}/order/{order_id}").json()
        assert body["orderFulfillmentStatus"] == "FULFILLED"
        done = "orderfulfillmentstatus:{FULFILLED|IN_PROGRESS}"
        assert ebay.orders(filter=done).json()["total"] == 1

    def test_a_replay_adds_another_record_until_34100(self, ebay: Ebay) -> None:
        """Not idempotent: each replay is a new fulfillment, until 400 34100."""
        fake = ebay.fake
        order_id = fake.add_order()
        body = {"lineItems": [{"lineItemId": _line(fake, order_id), "quantity": 1}]}
        statuses = [ebay.ship(order_id, body).status_code for _ in range(11)]
        assert statuses == [201] * 10 + [400]
        assert errors(ebay.ship(order_id, body)) == [34100]
        assert len(fake.fulfillments(order_id)) == 10
        with pytest.raises(AssertionError, match="createShippingFulfillment"):
            fake.assert_no_duplicate_writes()

    def test_the_same_tracking_twice_is_a_duplicate_write(self, ebay: Ebay) -> None:
        """Two fulfillments with one tracking number on one order: a duplicate."""
        fake = ebay.fake
        order_id = fake.add_order(line_items=[("A", 2, "1.00")])
        line = _line(fake, order_id)
        track = {"shippingCarrierCode": "UPS", "trackingNumber": "1Z999"}
        ebay.ship(order_id, {"lineItems": [{"lineItemId": line, "quantity": 1}], **track})
        fake.assert_no_duplicate_writes()
        other = {"shippingCarrierCode": "UPS", "trackingNumber": "1Z998"}
        ebay.ship(order_id, {"lineItems": [{"lineItemId": line, "quantity": 1}], **other})
        fake.assert_no_duplicate_writes()
        ebay.ship(order_id, {"lineItems": [{"lineItemId": line, "quantity": 2}], **track})
        with pytest.raises(AssertionError, match="trackingNumber=1Z999"):
            fake.assert_no_duplicate_writes()

    @pytest.mark.parametrize(
        ("body", "error"),
        [
            ({"lineItems": [{"lineItemId": "123", "quantity": 1}]}, 32200),
            ({"lineItems": [{"lineItemId": 5}]}, 32200),
            ({"lineItems": "everything"}, 32600),
            ({"lineItems": []}, 32600),
            ({"lineItems": [{"lineItemId": "LINE"}, {"lineItemId": "LINE"}]}, 32210),
            ({"lineItems": [{"lineItemId": "LINE"}], "trackingNumber": "1Z999"}, 32300),
            (
                {
                    "lineItems": [{"lineItemId": "LINE"}],
                    "trackingNumber": "1Z 999",
                    "shippingCarrierCode": "UPS",
                },
                32300,
            ),
            ({"lineItems": [{"lineItemId": "LINE"}], "shippedDate": "yesterday"}, 32500),
            (
                {"lineItems": [{"lineItemId": "LINE"}], "shippedDate": "2026-02-01T00:00:00.000Z"},
                32500,
            ),
            (
                {"lineItems": [{"lineItemId": "LINE"}], "shippedDate": "2020-01-01T00:00:00.000Z"},
                32500,
            ),
            ({"lineItems": [{"lineItemId": "LINE", "quantity": 3}]}, 32600),
        ],
    )
    def test_bad_requests_are_refused(self, ebay: Ebay, body: dict[str, Any], error: int) -> None:
        """Bad line items, tracking or shipped dates: eBay's 400 codes; nothing written."""
        fake = ebay.fake
        order_id = fake.add_order(line_items=[("A", 2, "1.00")], created=START - DAY)
        line = _line(fake, order_id)
        response = ebay.ship(order_id, json.loads(json.dumps(body).replace('"LINE"', f'"{line}"')))
        assert (response.status_code, errors(response)) == (400, [error])
        assert fake.fulfillments(order_id) == []
        assert fake.writes() == []

    def test_an_unknown_order_is_400_32100(self, ebay: Ebay) -> None:
        """createShippingFulfillment on an order the seller does not have: 400 32100."""
        response = ebay.ship("12-34567-89012", {"lineItems": [{"lineItemId": "1"}]})
        assert (response.status_code, errors(response)) == (400, [32100])

    def test_content_type_json_is_required(self, ebay: Ebay) -> None:
        """Without Content-Type: application/json: 415 (32600) [U]."""
        order_id = ebay.fake.add_order()
        response = ebay.call(
            "POST",
            f"{FUL}/order/{order_id}/shipping_fulfillment",
            content=b"{}",
            headers={"Content-Type": "text/plain"},
        )
        assert (response.status_code, errors(response)) == (415, [32600])

    def test_reading_unknown_fulfillments(self, ebay: Ebay) -> None:
        """Unknown fulfillment: 404 32110; malformed id: 400 32110; none yet: total 0."""
        order_id = ebay.fake.add_order()
        path = f"{FUL}/order/{order_id}/shipping_fulfillment"
        assert ebay.call("GET", path).json() == {"total": 0, "fulfillments": []}
        unknown = ebay.call("GET", f"{path}/123")
        assert (unknown.status_code, errors(unknown)) == (404, [32110])
        bad = ebay.call("GET", f"{path}/a-b")
        assert (bad.status_code, errors(bad)) == (400, [32110])


class TestDailyQuotas:
    def test_a_spent_budget_is_429_2001_without_rate_headers(
        self, ebay: Ebay, clock: FakeClock
    ) -> None:
        """Past the day's limit: 429 errorId 2001 ACCESS, no rate headers, until 07:00Z."""
        fake = ebay.fake
        fake.set_daily_limit("sell.fulfillment", 3)
        ebay.token()
        statuses = [ebay.orders().status_code, ebay.orders(limit="999").status_code]
        statuses += [ebay.orders().status_code, ebay.orders().status_code]
        assert statuses == [200, 400, 200, 429]  # a 400 counts too
        refused = ebay.orders()
        assert refused.json() == {
            "errors": [
                {
                    "errorId": 2001,
                    "domain": "ACCESS",
                    "category": "REQUEST",
                    "message": "Too many requests",
                    "longMessage": "The request limit has been reached for the resource.",
                }
            ]
        }
        assert not [
            h for h in refused.headers if "rate" in h.lower() or h.lower() == "retry-after"
        ]
        assert fake.daily_used("sell.fulfillment") == 3
        offer = fake.add_offer("A", price=Decimal(1), quantity=1)
        assert ebay.call("GET", f"{INV}/offer/{offer}").status_code == 200  # another resource
        clock.advance(RESET - clock.time() - 1)
        ebay.token()  # the old one expired meanwhile
        assert ebay.orders().status_code == 429
        clock.advance(1)
        assert ebay.orders().status_code == 200
        assert fake.daily_used("sell.fulfillment") == 1

    def test_a_user_budget_applies_on_top_of_the_app_budget(self, ebay: Ebay) -> None:
        """set_daily_limit(user=) limits that user's calls; other users keep going."""
        fake = ebay.fake
        fake.set_daily_limit("sell.fulfillment", 1, user="demo_seller")
        assert [ebay.orders().status_code for _ in range(2)] == [200, 429]
        other = Ebay(fake, fake.authorize("another_seller"))
        assert other.orders().status_code == 200
        assert fake.daily_used("sell.fulfillment", user="demo_seller") == 1
        assert fake.daily_used("sell.fulfillment") == 2

    def test_get_rate_limits_reports_the_app_budgets(self, ebay: Ebay) -> None:
        """getRateLimits (app token): count, limit, remaining, reset, timeWindow per resource."""
        ebay.orders()
        ebay.orders()
        app = ebay.token("client_credentials")
        body = ebay.call("GET", f"{ANA}/rate_limit/", token=app).json()
        by_api = {(x["apiContext"], x["apiName"]): x for x in body["rateLimits"]}
        assert set(by_api) == {
            ("sell", "inventory"),
            ("sell", "fulfillment"),
            ("developer", "analytics"),
        }
        fulfillment = by_api["sell", "fulfillment"]
        assert fulfillment["apiVersion"] == "v1"
        assert fulfillment["resources"] == [
            {
                "name": "sell.fulfillment",
                "rates": [
                    {
                        "count": 2,
                        "limit": 100_000,
                        "remaining": 99_998,
                        "reset": "2026-01-01T07:00:00.000Z",
                        "timeWindow": 86400,
                    }
                ],
            }
        ]
        assert by_api["sell", "inventory"]["resources"][0]["rates"][0]["limit"] == 2_000_000
        analytics = by_api["developer", "analytics"]["resources"][0]["rates"][0]
        assert (analytics["limit"], analytics["count"]) == (5_000, 1)  # this call
        assert ebay.call("GET", f"{ANA}/rate_limit", token=app).status_code == 200  # no slash

    def test_filters_narrow_the_report_and_nothing_is_204(self, ebay: Ebay) -> None:
        """api_context and api_name filter the report; an empty one is 204 No Content."""
        app = ebay.token("client_credentials")
        only = ebay.call("GET", f"{ANA}/rate_limit/", token=app, params={"api_name": "inventory"})
        assert [x["apiName"] for x in only.json()["rateLimits"]] == ["inventory"]
        none = ebay.call("GET", f"{ANA}/rate_limit/", token=app, params={"api_context": "buy"})
        assert (none.status_code, none.content) == (204, b"")

    def test_get_user_rate_limits_is_204_until_a_user_budget_exists(self, ebay: Ebay) -> None:
        """getUserRateLimits (user token): 204 without user budgets, else the user's."""
        fake = ebay.fake
        assert ebay.call("GET", f"{ANA}/user_rate_limit/").status_code == 204
        fake.set_daily_limit("sell.inventory", 10, user="demo_seller")
        fake.add_offer("A", price=Decimal(1), quantity=1)
        ebay.call("GET", f"{INV}/offer", params={"sku": "A"})
        body = ebay.call("GET", f"{ANA}/user_rate_limit/").json()
        rate = body["rateLimits"][0]["resources"][0]["rates"][0]
        assert (rate["count"], rate["limit"], rate["remaining"]) == (1, 10, 9)

    def test_an_analytics_budget_can_run_out_too(self, ebay: Ebay) -> None:
        """developer.analytics is a quota like the others."""
        ebay.fake.set_daily_limit("developer.analytics", 1)
        app = ebay.token("client_credentials")
        codes = [ebay.call("GET", f"{ANA}/rate_limit/", token=app).status_code for _ in range(2)]
        assert codes == [200, 429]

    def test_bad_quota_arguments_are_refused(self, fake: FakeEbay) -> None:
        """Unknown resources and negative limits raise InvalidArgumentError."""
        with pytest.raises(InvalidArgumentError):
            fake.set_daily_limit("sell.marketing", 1)
        with pytest.raises(InvalidArgumentError):
            fake.set_daily_limit("sell.inventory", -1)
        with pytest.raises(InvalidArgumentError):
            fake.daily_used("nope")
        fake.set_daily_limit("sell.inventory", 5, user="u")
        assert fake.daily_used("sell.inventory", user="u") == 0
        fake.set_daily_limit("sell.inventory", 6, user="u")  # an existing budget
        assert fake.daily_used("sell.inventory") == 0
        fake.set_daily_limit("sell.inventory", 0)
        offer = fake.add_offer("A", price=Decimal(1), quantity=1)
        assert Ebay(fake).call("GET", f"{INV}/offer/{offer}").status_code == 429


class TestFaults:
    def test_concurrent_access_next_is_500_25025_and_not_applied(self, ebay: Ebay) -> None:
        """concurrent_access_next: 500 25025 APPLICATION, nothing written; the retry works."""
        fake = ebay.fake
        offer = fake.add_offer("A", price=Decimal("1.00"), quantity=1)
        fake.faults.concurrent_access_next("bulkUpdatePriceQuantity")
        refused = ebay.bulk(price(offer, "2.00"))
        assert (refused.status_code, errors(refused)) == (500, [25025])
        assert refused.json()["errors"][0]["category"] == "APPLICATION"
        assert fake.price(offer) == Decimal("1.00")
        assert ebay.bulk(price(offer, "2.00")).status_code == 200

    def test_ambiguous_next_applies_then_loses_the_answer(self, ebay: Ebay) -> None:
        """ambiguous_next: the fulfillment is created, the client gets ReadTimeout."""
        fake = ebay.fake
        order_id = fake.add_order()
        body = {
            "lineItems": [{"lineItemId": _line(fake, order_id)}],
            "trackingNumber": "T1",
            "shippingCarrierCode": "USPS",
        }
        fake.faults.ambiguous_next("createShippingFulfillment")
        ebay.token()
        with pytest.raises(httpx.ReadTimeout):
            ebay.ship(order_id, body)
        assert len(fake.fulfillments(order_id)) == 1
        (write,) = fake.writes("createShippingFulfillment")
        assert (write.applied, write.lost, write.status) == (True, True, 201)
        listed = ebay.call("GET", f"{FUL}/order/{order_id}/shipping_fulfillment").json()
        assert listed["fulfillments"][0]["shipmentTrackingNumber"] == "T1"  # how to reconcile

    def test_garbage_next_is_an_html_page(self, ebay: Ebay) -> None:
        """garbage_next: 502 text/html, once."""
        ebay.fake.faults.garbage_next("getOrders")
        response = ebay.orders()
        assert response.status_code == 502
        assert response.headers["content-type"] == "text/html"
        assert response.content.startswith(b"<html>")
        assert ebay.orders().status_code == 200

    def test_an_outage_is_503_html_or_the_api_system_error(
        self, ebay: Ebay, clock: FakeClock
    ) -> None:
        """outage(): 503 HTML in the window; system_error=True gives 500 25001 / 30500."""
        fake = ebay.fake
        ebay.token()
        fake.faults.outage(START, START + 10)
        fake.faults.outage(
            datetime.fromtimestamp(START + 10, tz=timezone.utc), START + 20, system_error=True
        )
        down = ebay.orders()
        assert (down.status_code, down.headers["content-type"]) == (503, "text/html")
        clock.advance(10)
        assert errors(ebay.orders()) == [30500]
        assert errors(ebay.bulk(price("1", "1.00"))) == [25001]
        clock.advance(10)
        assert ebay.orders().status_code == 200
        with pytest.raises(InvalidArgumentError):
            fake.faults.outage(5, 5)

    def test_error_rate_answers_the_api_system_error(self, ebay: Ebay) -> None:
        """error_rate 1: every API call is 500 with the API's own code."""
        ebay.token()
        ebay.fake.faults.error_rate = 1.0
        assert errors(ebay.orders()) == [30500]
        app = ebay.token("client_credentials")
        assert errors(ebay.call("GET", f"{ANA}/rate_limit/", token=app)) == [105000]

    def test_a_throttle_storm_is_429_and_not_counted(self, ebay: Ebay) -> None:
        """throttle_storm(1): 429 2001 with quota left; the call costs nothing."""
        ebay.token()
        ebay.fake.faults.throttle_storm(1.0)
        assert errors(ebay.orders()) == [2001]
        assert ebay.fake.daily_used("sell.fulfillment") == 0
        ebay.fake.faults.clear()
        assert ebay.orders().status_code == 200

    def test_latency_advances_the_fake_clock(self, ebay: Ebay, clock: FakeClock) -> None:
        """latency: each request takes that long on the fake clock."""
        ebay.fake.faults.latency = 2.5
        ebay.token()
        assert clock.time() == START + 2.5
        assert ebay.fake.calls[-1].at == START + 2.5

    def test_latency_sleeps_on_another_clock(self) -> None:
        """With a clock that is not a FakeClock, latency is that clock's sleep."""

        class Other:
            def __init__(self) -> None:
                self.inner, self.slept = FakeClock(), 0.0

            def time(self) -> float:
                return self.inner.time()

            def monotonic(self) -> float:
                return self.inner.monotonic()

            def sleep(self, seconds: float) -> None:
                self.slept += seconds

        clock = Other()
        fake = FakeEbay(clock=clock)
        fake.faults.latency = 1.5
        Ebay(fake).token()
        assert clock.slept == 1.5

    def test_fault_arguments_are_checked(self, fake: FakeEbay) -> None:
        """Bad probabilities, durations, counts and operation names are refused."""
        faults = fake.faults
        faults.error_rate = 0.25
        faults.throttle_storm(0.5)
        assert (faults.error_rate, faults.storm) == (0.25, 0.5)
        with pytest.raises(InvalidArgumentError):
            faults.error_rate = 2
        with pytest.raises(InvalidArgumentError):
            faults.latency = -1
        with pytest.raises(InvalidArgumentError):
            faults.throttle_storm(True)
        with pytest.raises(InvalidArgumentError):
            faults.ambiguous_next("getOrders", times=0)
        with pytest.raises(UnknownOperationError):
            faults.garbage_next("patchListingsItem")
        with pytest.raises(UnknownOperationError):
            fake.writes("nope")

    def test_repr_shows_active_faults(self, fake: FakeEbay) -> None:
        """The faults' repr names what is on."""
        assert repr(fake.faults) == "<FakeEbayFaults none>"
        fake.faults.error_rate = 0.5
        fake.faults.token_endpoint_throttled = True
        assert repr(fake.faults) == "<FakeEbayFaults error_rate=0.5 token_endpoint_throttled=True>"
        assert isinstance(fake.faults, FakeEbayFaults)


class TestRoutingAndInspection:
    def test_unknown_paths_and_methods(self, ebay: Ebay) -> None:
        """An unknown path is 404, a known path with another method 405 [U]."""
        assert ebay.call("GET", "/sell/inventory/v1/nothing").status_code == 404
        assert ebay.call("DELETE", f"{FUL}/order").status_code == 405
        assert ebay.fake.calls[-1].operation == "unknown"

    def test_calls_writes_and_reset(self, ebay: Ebay) -> None:
        """calls logs every request as a Call; writes only applied ones; reset_calls clears."""
        fake = ebay.fake
        offer = fake.add_offer("A", price=Decimal(1), quantity=1)
        ebay.bulk(price(offer, "2.00"))
        token_call, write = fake.calls
        assert isinstance(write, Call)
        assert (write.operation, write.method, write.status, write.applied) == (
            "bulkUpdatePriceQuantity",
            "POST",
            200,
            True,
        )
        assert write.path == f"{INV}/bulk_update_price_quantity"
        assert write.json == {"requests": [price(offer, "2.00")]}
        assert (write.seller_id, write.client_id) == ("demo_seller", fake.credentials.client_id)
        assert fake.writes("bulkUpdatePriceQuantity") == [write]
        assert token_call.operation == "token"
        fake.reset_calls()
        assert fake.calls == []

    def test_reprs_hide_secrets(self, ebay: Ebay) -> None:
        """Neither the fake nor its credentials show a secret."""
        creds = ebay.fake.credentials
        for text in (repr(creds), repr(ebay.fake)):
            assert creds.client_secret not in text
            assert creds.refresh_token not in text
        assert repr(ebay.fake) == "<FakeEbay offers=0 orders=0 calls=0>"

    def test_seeding_checks_its_arguments(self, fake: FakeEbay) -> None:
        """Bad offers and orders are refused with InvalidArgumentError."""
        bad_offers: list[dict[str, Any]] = [
            {"sku": "", "price": Decimal(1), "quantity": 1},
            {"sku": "A", "price": 1.5, "quantity": 1},
            {"sku": "A", "price": Decimal(-1), "quantity": 1},
            {"sku": "A", "price": "x", "quantity": 1},
            {"sku": "A", "price": Decimal(1), "quantity": -1},
            {"sku": "A", "price": Decimal(1), "quantity": 1, "status": "LIVE"},
            {"sku": "A", "price": Decimal(1), "quantity": 1, "format": "BARTER"},
        ]
        for kwargs in bad_offers:
            with pytest.raises(InvalidArgumentError):
                fake.add_offer(**kwargs)
        fake.add_offer("A", price=Decimal(1), quantity=1, offer_id="1")
        with pytest.raises(InvalidArgumentError):
            fake.add_offer("A", price=Decimal(1), quantity=1, offer_id="1")
        with pytest.raises(InvalidArgumentError):
            fake.add_order(line_items=[])
        with pytest.raises(InvalidArgumentError):
            fake.add_order(status="SHIPPED")
        with pytest.raises(InvalidArgumentError):
            fake.authorize("")
        with pytest.raises(InvalidArgumentError):
            fake.authorize("u", scopes=[])
        for lookup in (fake.offer, fake.order, fake.fulfillments):
            with pytest.raises(InvalidArgumentError):
                lookup("missing")

    def test_snapshots_are_frozen_values(self, fake: FakeEbay) -> None:
        """offer(), order() and the listings are frozen snapshots."""
        offer_id = fake.add_offer("A", price=Decimal("3.50"), quantity=2)
        offer = fake.offer(offer_id)
        assert isinstance(offer, EbayOffer)
        assert (offer.sku, offer.price, offer.currency, offer.quantity, offer.status) == (
            "A",
            Decimal("3.50"),
            "USD",
            2,
            "PUBLISHED",
        )
        assert fake.offers == [offer]
        assert fake.quantities == {offer_id: 2}
        order_id = fake.add_order(line_items=[("A", 2, Decimal("3.50"))], status="IN_PROGRESS")
        order = fake.order(order_id)
        assert (order.status, order.total, order.line_items[0].sku) == (
            "IN_PROGRESS",
            Decimal("7.00"),
            "A",
        )
        assert fake.orders == [order]
        assert fake.order(fake.add_order(status="FULFILLED")).status == "FULFILLED"


class TestTransports:
    def test_async_transport(self, fake: FakeEbay) -> None:
        """The same fake answers an httpx.AsyncClient."""
        creds = fake.credentials

        async def run() -> int:
            async with httpx.AsyncClient(transport=fake.async_transport, base_url=BASE) as client:
                token = await client.post(
                    OAUTH,
                    data={"grant_type": "refresh_token", "refresh_token": creds.refresh_token},
                    auth=(creds.client_id, creds.client_secret),
                )
                access = token.json()["access_token"]
                response = await client.get(
                    f"{FUL}/order", headers={"Authorization": f"Bearer {access}"}
                )
                return response.status_code

        assert asyncio.run(run()) == 200

    def test_serve_on_loopback(self, fake: FakeEbay) -> None:
        """Through serve(): refresh, bulk update, a fulfillment whose Location names the host."""
        offer = fake.add_offer("A", price=Decimal("1.00"), quantity=1)
        order_id = fake.add_order()
        with fake.serve() as base_url, httpx.Client(base_url=base_url) as http:
            assert base_url.startswith("http://127.0.0.1:")
            ebay = Ebay(fake, http=http)
            assert ebay.bulk(price(offer, "2.00")).status_code == 200
            response = ebay.ship(order_id, {"lineItems": [{"lineItemId": _line(fake, order_id)}]})
            assert response.status_code == 201
            assert response.headers["Location"].startswith(f"{base_url}{FUL}/order/{order_id}/")
            fake.faults.ambiguous_next("bulkUpdatePriceQuantity")
            with pytest.raises(httpx.RemoteProtocolError):
                ebay.bulk(price(offer, "3.00"))
        assert fake.price(offer) == Decimal("3.00")

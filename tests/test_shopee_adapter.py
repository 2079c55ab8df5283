"""ShopeeAdapter: the wire (signing vectors, envelopes, verdicts, prices), then against FakeShopee.

The wire helpers are checked on hand-made answers and WIRE.md's signing test
vectors; everything else runs on a fake clock through ``fake.transport``.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from sqlalchemy import select

from safe_release._ledger import Journal
from safe_release._ledger._entries import _redacted_query
from safe_release._release import recover, release
from safe_release._report import ReleaseStatus
from safe_release._secrets import Secret
from safe_release.adapters import MemoryTokenStore, StoredToken, StoreRefreshLock, Verdict
from safe_release.adapters import _shopee_wire as wire
from safe_release.adapters._shopee_auth import (
    RefreshLost,
    RefreshRefused,
    failure_error,
    grant_of,
)
from safe_release.adapters.shopee import ModelChange, Shipment, ShopeeAdapter
from safe_release.exceptions import (
    InvalidArgumentError,
    MarketplaceAuthError,
    MarketplaceHTTPError,
    MarketplaceResponseError,
    RateLimitedError,
    ReauthorizationRequired,
    TokenRefreshError,
)
from safe_release.testing import FakeClock, FakeShopee

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    import safe_release as sr

DEMO_KEY = Secret("demo_partner_key_not_real")
SKEWED = Verdict.FAILED  # stands in for the skew verdict in the wire tests


def answer(status: int, body: Any = None, *, path: str = "/api/v2/product/update_price") -> Any:
    """A response to a request of ``path`` with a JSON (or raw bytes) body."""
    request = httpx.Request("POST", "https://partner.shopeemobile.com" + path)
    if isinstance(body, bytes):
        return httpx.Response(status, content=body, request=request)
    return httpx.Response(status, json=body, request=request)


def env(error: str = "", message: str = "", **extra: Any) -> dict[str, Any]:
    """A Shopee envelope."""
    return {"request_id": "r1", "error": error, "message": message, **extra}


class _Op:
    name = "update_price"


OP: Any = _Op()


class TestSigning:
    @pytest.mark.parametrize(
        ("base", "digest"),
        [
            (
                "2001887/api/v2/shop/get_shop_info165571443159777174636562737266615546704c6d14701711",
                "dbf62dd86a5a2493ee16db2c44aaa4c66b2547219602678b15f1a0c9c734766d",
            ),
            (
                "2001887/api/v2/global_product/get_category165571443109777174636962737266615546704c6d1000000",
                "ac76e2f422c13fde9a902e6d369554305f1007db599040f50534444f76942149",
            ),
            (
                "2001887/api/v2/auth/access_token/get1655714431",
                "b988d9cdb40cfa707426761add950c35a6a7d9a33c18a57420439dccf6593237",
            ),
            (
                "1/api/v2/product/update_price1610000000c09222e3fc40ffb25fc947f738b1abf1600000",
                "b36fec3024a30f3b6567b2f8a95cb93079e85d9c5f93b380be41caf92ce94a28",
            ),
        ],
    )
    def test_wire_md_vectors(self, base: str, digest: str) -> None:
        """WIRE.md's four test vectors: lowercase hex HMAC-SHA256 under the demo key."""
        assert wire.sign_hex(DEMO_KEY, base) == digest

    def test_base_strings(self) -> None:
        """Shop APIs add access token and shop id; Public APIs sign three fields only."""
        shop = wire.base_string(
            1,
            "/api/v2/product/update_price",
            1610000000,
            "c09222e3fc40ffb25fc947f738b1abf1",
            600000,
        )
        assert (
            shop == "1/api/v2/product/update_price1610000000c09222e3fc40ffb25fc947f738b1abf1600000"
        )
        public = wire.base_string(2001887, "/api/v2/auth/access_token/get", 1655714431)
        assert public == "2001887/api/v2/auth/access_token/get1655714431"


class TestVerdicts:
    @pytest.mark.parametrize(
        ("status", "body", "verdict"),
        [
            (200, env(response={}), Verdict.OK),
            (200, env(), Verdict.OK),  # ship_order's success has no response object
            (403, env("invalid_acceess_token", "Invalid access_token."), Verdict.AUTH_EXPIRED),
            (403, env("error_auth", "Invalid access_token."), Verdict.AUTH_EXPIRED),
            (403, env("common.error_auth", "Invalid access_token."), Verdict.AUTH_EXPIRED),
            (403, env("error_auth", "No permission to current api."), Verdict.FAILED),
            (400, env("error_param", "Invalid timestamp"), SKEWED),
            (200, env("error_system_busy", "Our system is taking some time"), Verdict.THROTTLED),
            (200, env("error_server", "Too many requests, please try later"), Verdict.THROTTLED),
            (
                200,
                env("ads.rate_limit.exceed_api", "Too many requests at the moment"),
                Verdict.THROTTLED,
            ),
            (429, env("error_unknown"), Verdict.THROTTLED),
            (500, env("error_server", "Something wrong. Please try later."), Verdict.SERVER),
            (200, env("error_server", "Something wrong. Please try later."), Verdict.SERVER),
            (200, env("product.error_param", "invalid field"), Verdict.FAILED),
            (400, env("error_sign", "Wrong sign."), Verdict.FAILED),
            (200, {"request_id": "r"}, Verdict.SERVER),  # neither error nor response
            (200, b"<html>bad gateway</html>", Verdict.SERVER),
            (502, b"<html>bad gateway</html>", Verdict.SERVER),
            (404, b"not found", Verdict.FAILED),
            (429, b"", Verdict.THROTTLED),
            (200, [1, 2], Verdict.SERVER),
            (200, {"error": 5}, Verdict.SERVER),
        ],
    )
    def test_classify_reads_the_body(self, status: int, body: Any, verdict: Verdict) -> None:
        """The error code, not the status, decides; module prefixes are matched on the suffix."""
        assert wire.classify(answer(status, body), SKEWED) is verdict

    def test_errors_are_typed(self) -> None:
        """Throttled, refused credentials and plain failures each get their class and code."""
        busy = wire.shopee_error(OP, answer(200, env("error_system_busy", "busy")))
        assert isinstance(busy, RateLimitedError)
        assert (busy.status, busy.code, busy.request_id) == (200, "error_system_busy", "r1")
        sign = wire.shopee_error(OP, answer(400, env("error_sign", "Wrong sign.")))
        assert isinstance(sign, MarketplaceAuthError)
        assert "authorise the app again" in str(sign)
        plain = wire.shopee_error(OP, answer(200, env("product.error_param", "Repeat model_id.")))
        assert type(plain) is MarketplaceHTTPError
        assert plain.code == "product.error_param"
        assert "Repeat model_id." in str(plain)
        skew = wire.shopee_error(OP, answer(400, env("error_param", "Invalid timestamp")))
        assert "clock" in str(skew)

    @pytest.mark.parametrize(
        "body", [b"<html>oops</html>", b"", b"[1]", b'{"request_id": "r"}', b"{" * 10_000]
    )
    def test_bodies_that_are_not_envelopes(self, body: bytes) -> None:
        """Non-JSON, a list, neither error nor response, deep nesting: a response error."""
        error = wire.shopee_error(OP, answer(200, body))
        assert isinstance(error, MarketplaceResponseError)
        assert "not a Shopee answer" in str(error)
        with pytest.raises(MarketplaceResponseError):
            wire.envelope(OP, answer(200, body))

    def test_envelope_fields(self) -> None:
        """A warning list is joined; the code drops the module prefix and stray spaces."""
        found = wire.envelope(OP, answer(200, env(warning=["a", "b"], response={"x": 1})))
        assert (found.warning, found.response, found.request_id) == ("a; b", {"x": 1}, "r1")
        assert wire.code_of(" logistics.package_already_shipped") == "package_already_shipped"


class TestPrices:
    @pytest.mark.parametrize(
        ("price", "region", "sent"),
        [
            (Decimal("19.90"), "SG", 19.9),
            (Decimal(199), "SG", 199),
            (Decimal("199.00"), "TH", 199),
            (Decimal("0.01"), "MY", 0.01),
            (Decimal(150000), "ID", 150000),
        ],
    )
    def test_region_precision(self, price: Decimal, region: str, sent: float) -> None:
        """Two decimal places in SG/MY/BR/MX/PL/ES/AR, whole numbers elsewhere; exact numbers."""
        got = wire.wire_price(price, region)
        assert got == sent
        assert type(got) is type(sent)

    @pytest.mark.parametrize(
        ("price", "region"),
        [
            (Decimal("19.999"), "SG"),
            (Decimal("19.9"), "TH"),
            (Decimal(0), "SG"),
            (Decimal(-1), "SG"),
            (Decimal("NaN"), "SG"),
            (19.9, "SG"),
            ("19.90", "SG"),
        ],
    )
    def test_refused_before_sending(self, price: Any, region: str) -> None:
        """Too precise for the region, not positive, or not a Decimal: never rounded."""
        with pytest.raises(InvalidArgumentError):
            wire.wire_price(price, region)

    def test_prices_read_back_as_decimals(self) -> None:
        """Shopee's numbers become Decimals through their text; strings and bools are refused."""
        assert wire.price_number(19.9, "p", "op") == Decimal("19.9")
        for bad in ("19.9", True, None, -1):
            with pytest.raises(MarketplaceResponseError):
                wire.price_number(bad, "p", "op")


# -- against FakeShopee -------------------------------------------------------------------------

RED, BLUE = 800001, 800002  # an item without models, an item with models 1 and 2
OLD, NEW = Decimal("19.90"), Decimal("24.50")


class Spy(httpx.BaseTransport):
    """The fake's transport, with hooks: ``change`` rewrites answers, ``after`` runs after."""

    def __init__(self, fake: FakeShopee) -> None:
        self.fake = fake
        self.change: Callable[[httpx.Request, httpx.Response], httpx.Response] = _same
        self.after: Callable[[httpx.Request], None] = _nothing

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.fake.transport.handle_request(request)
        response.read()
        self.after(request)
        return self.change(request, response)


def _same(request: httpx.Request, response: httpx.Response) -> httpx.Response:
    del request
    return response


def _nothing(request: httpx.Request) -> None:
    del request


class Crash(BaseException):
    """The process dying mid-call."""


class Boom(Exception):  # noqa: N818 - the job's own error
    """The job failing."""


def make_shopee(
    fake: FakeShopee, clock: FakeClock, tokens: MemoryTokenStore, **options: Any
) -> ShopeeAdapter:
    """A ShopeeAdapter for the fake's default shop, its tokens in ``tokens``."""
    options.setdefault("transport", fake.transport)
    return ShopeeAdapter(
        partner_id=fake.partner_id,
        partner_key=fake.partner_key,
        shop_id=fake.shop_id,
        token_store=tokens,
        redirect_url="https://seller.example/shopee/callback",
        clock=clock,
        **options,
    )


def pickup_of(shopee: ShopeeAdapter, order_sn: str) -> dict[str, Any]:
    """The pickup object ship_order needs: the first address and its first time slot."""
    address = shopee.get_shipping_parameter(order_sn)["pickup"]["address_list"][0]
    slot = address["time_slot_list"][0]
    return {"address_id": address["address_id"], "pickup_time_id": slot["pickup_time_id"]}


def sent(fake: FakeShopee, operation: str) -> list[Any]:
    """The requests the fake answered for ``operation``."""
    return [call for call in fake.calls if call.operation == operation]


@pytest.fixture(name="fake")
def fixture_fake(clock: FakeClock) -> FakeShopee:
    """FakeShopee (SG) with an item without models and one with two models, and an order."""
    fake = FakeShopee(clock=clock)
    fake.add_item(RED, models={0: (OLD, 10)})
    fake.add_item(BLUE, models={1: (Decimal("5.00"), 3), 2: (Decimal("6.50"), 4)})
    return fake


@pytest.fixture(name="tokens")
def fixture_tokens() -> MemoryTokenStore:
    """The user's token store (one process)."""
    return MemoryTokenStore()


@pytest.fixture(name="shopee")
def fixture_shopee(
    fake: FakeShopee, clock: FakeClock, tokens: MemoryTokenStore
) -> Iterator[ShopeeAdapter]:
    """An adapter whose shop was just authorised (the code exchanged into the store)."""
    adapter = make_shopee(fake, clock, tokens)
    adapter.exchange_code(fake.authorize_shop())
    yield adapter
    adapter.close()


class TestSignedCalls:
    def test_every_attempt_is_signed_afresh(self, fake: FakeShopee, shopee: ShopeeAdapter) -> None:
        """Throttled calls are resent with a new timestamp and signature; the fake checks both."""
        fake.set_rate_limit("get_model_list", calls=1, per_seconds=1)
        shopee.get_model_list(BLUE)
        shopee.get_model_list(BLUE)
        calls = sent(fake, "get_model_list")
        assert [c.status for c in calls][-1] == 200
        assert len(calls) > 2
        stamps = [int(c.query["timestamp"]) for c in calls]
        assert stamps == sorted(stamps)
        assert stamps[-1] > stamps[0]
        assert {c.status for c in calls} == {200}  # signatures pass: only throttled, then ok

    def test_a_skewed_clock_is_corrected_from_the_date_header(
        self, fake: FakeShopee, clock: FakeClock, tokens: MemoryTokenStore
    ) -> None:
        """Ten minutes off: one "Invalid timestamp", the offset is set, the resend passes."""
        late = FakeClock(start=clock.time() + 600)
        with make_shopee(fake, late, tokens) as shopee:
            shopee.exchange_code(fake.authorize_shop())  # a Public API call, also corrected
            assert shopee.get_model_list(BLUE)["model"]
        assert abs(shopee.time_offset + 600) < 2
        skewed = [c for c in fake.calls if c.status != 200]
        assert len(skewed) == 1

    @pytest.mark.parametrize("error", ["invalid_acceess_token", "error_auth"])
    def test_an_expired_token_refreshes_once(
        self,
        fake: FakeShopee,
        shopee: ShopeeAdapter,
        clock: FakeClock,
        tokens: MemoryTokenStore,
        error: str,
    ) -> None:
        """Expired at Shopee, not locally: one refresh, the new pair saved, the call resent."""
        fake.faults.expired_token_error = error
        key = shopee.tokens.key
        stored = tokens.load(key)
        assert stored is not None
        later = stored.access_expires_at + 86_400  # our record is wrong: Shopee's clock rules
        tokens.save(key, replace(stored, access_expires_at=later))
        clock.advance(4 * 3600 + 1)
        assert shopee.get_model_list(BLUE)["model"]
        refreshed = tokens.load(key)
        assert refreshed is not None
        assert refreshed.refresh_token != stored.refresh_token
        assert len(sent(fake, "access_token_get")) == 1
        assert fake.refresh_token_state(stored.refresh_token.reveal()) == "spent"

    def test_a_lost_refresh_answer_needs_reauthorisation_never_a_loop(
        self, fake: FakeShopee, shopee: ShopeeAdapter, clock: FakeClock
    ) -> None:
        """Refresh token spent, answer lost: ReauthorizationRequired, and again at once."""
        fake.faults.lose_refresh_answer()
        clock.advance(4 * 3600 + 1)
        with pytest.raises(ReauthorizationRequired) as info:
            shopee.get_model_list(BLUE)
        assert info.value.shop == str(fake.shop_id)
        assert "auth_partner" in info.value.authorization_url
        with pytest.raises(ReauthorizationRequired):
            shopee.get_model_list(BLUE)
        assert len(sent(fake, "access_token_get")) == 1
        health = shopee.health()
        assert health.reauthorization_required
        assert not health.ok
        assert str(fake.shop_id) in health.detail
        shopee.exchange_code(fake.authorize_shop())  # the seller consents again
        assert shopee.get_model_list(BLUE)["model"]
        assert shopee.health().ok

    def test_a_refresh_answer_without_a_refresh_token(
        self, fake: FakeShopee, clock: FakeClock, tokens: MemoryTokenStore
    ) -> None:
        """A 200 without a refresh token: a typed error, one refresh, never a loop."""
        spy = Spy(fake)

        def strip(request: httpx.Request, response: httpx.Response) -> httpx.Response:
            if not request.url.path.endswith("/auth/access_token/get"):
                return response
            body = response.json()
            body.pop("refresh_token", None)
            return httpx.Response(200, json=body, request=request)

        with make_shopee(fake, clock, tokens, transport=spy) as shopee:
            shopee.exchange_code(fake.authorize_shop())
            spy.change = strip
            clock.advance(4 * 3600 + 1)
            for _ in range(3):
                with pytest.raises(MarketplaceAuthError):
                    shopee.get_model_list(BLUE)
        assert len(sent(fake, "access_token_get")) == 1

    def test_a_correct_signature_rejected_is_typed_and_bounded(
        self, fake: FakeShopee, shopee: ShopeeAdapter
    ) -> None:
        """error_sign on a correct request (the legacy sandbox quirk): one request, typed."""
        fake.faults.reject_valid_signatures = True
        fake.reset_calls()
        with pytest.raises(MarketplaceAuthError) as info:
            shopee.get_model_list(BLUE)
        assert info.value.code == "error_sign"
        assert len(fake.calls) == 1

    def test_garbage_is_a_typed_error(self, fake: FakeShopee, shopee: ShopeeAdapter) -> None:
        """An HTML page or an empty envelope: MarketplaceResponseError, bounded retries."""
        fake.faults.hollow_next("get_model_list", times=10)
        with pytest.raises(MarketplaceResponseError):
            shopee.get_model_list(BLUE)
        fake.faults.clear()
        fake.faults.garbage_next("get_order_detail", times=10)
        with pytest.raises(MarketplaceResponseError):
            shopee.get_order_detail(["X1"])
        assert len(sent(fake, "get_order_detail")) <= 5

    def test_no_secret_in_reprs_messages_or_ledger_queries(
        self, fake: FakeShopee, shopee: ShopeeAdapter, tokens: MemoryTokenStore
    ) -> None:
        """The partner key and the tokens never show in reprs or errors."""
        fake.faults.reject_valid_signatures = True
        with pytest.raises(MarketplaceAuthError) as info:
            shopee.get_model_list(BLUE)
        stored = tokens.load(shopee.tokens.key)
        assert stored is not None
        shown = " ".join([repr(shopee), str(info.value), repr(stored), repr(shopee.tokens)])
        for secret in (
            fake.partner_key,
            stored.access_token.reveal(),
            stored.refresh_token.reveal(),
        ):
            assert secret not in shown

    def test_the_consent_link_is_signed(self, fake: FakeShopee, shopee: ShopeeAdapter) -> None:
        """auth_partner is a Public API: partner_id, timestamp, sign and the redirect."""
        url = httpx.URL(shopee.authorization_url())
        assert url.path == "/api/v2/shop/auth_partner"
        stamp = int(url.params["timestamp"])
        base = wire.base_string(fake.partner_id, url.path, stamp)
        assert url.params["sign"] == wire.sign_hex(Secret(fake.partner_key), base)
        assert url.params["redirect"] == "https://seller.example/shopee/callback"

    def test_bad_arguments(
        self, fake: FakeShopee, clock: FakeClock, tokens: MemoryTokenStore
    ) -> None:
        """Unknown environment or region, bad ids, an empty key: refused at construction."""
        good: dict[str, Any] = {
            "partner_id": fake.partner_id,
            "partner_key": fake.partner_key,
            "shop_id": fake.shop_id,
            "token_store": tokens,
        }
        for bad in (
            {"environment": "moon"},
            {"region": "XX"},
            {"partner_id": "1"},
            {"shop_id": 0},
            {"partner_key": ""},
        ):
            with pytest.raises(InvalidArgumentError):
                ShopeeAdapter(**{**good, **bad}, clock=clock)
        with ShopeeAdapter(**good, clock=clock) as shopee, pytest.raises(InvalidArgumentError):
            shopee.authorization_url()  # no redirect_url anywhere


class TestProducts:
    def test_update_price_reads_the_old_price(
        self, fake: FakeShopee, shopee: ShopeeAdapter
    ) -> None:
        """An item without models is model 0; the old price is read first; an exact number sent."""
        (change,) = shopee.update_price(RED, {0: NEW})
        assert change == ModelChange(
            item_id=RED, model_id=0, field="price", old=OLD, new=NEW, ok=True
        )
        assert fake.price(RED) == NEW
        (write,) = fake.writes("update_price")
        assert write.json == {
            "item_id": RED,
            "price_list": [{"model_id": 0, "original_price": 24.5}],
        }

    def test_per_model_failures(self, fake: FakeShopee, shopee: ShopeeAdapter) -> None:
        """failure_list: the refused model is a failed change, the other applied."""
        fake.faults.fail_models(BLUE, [2], reason="error_in_item_promotion_item_price_lock")
        changes = shopee.update_price(BLUE, {1: Decimal("5.50"), 2: Decimal(7)})
        assert [(c.model_id, c.ok, c.code) for c in changes] == [
            (1, True, None),
            (2, False, "error_in_item_promotion_item_price_lock"),
        ]
        assert (fake.price(BLUE, 1), fake.price(BLUE, 2)) == (Decimal("5.50"), Decimal("6.50"))

    def test_update_stock(self, fake: FakeShopee, shopee: ShopeeAdapter) -> None:
        """Seller stock per model, the old stock read from get_model_list."""
        changes = shopee.update_stock(BLUE, {1: 0, 2: 9})
        assert [(c.old, c.new) for c in changes] == [(3, 0), (4, 9)]
        assert (fake.stock(BLUE, 1), fake.stock(BLUE, 2)) == (0, 9)

    def test_bad_input_is_refused_before_sending(
        self, fake: FakeShopee, shopee: ShopeeAdapter
    ) -> None:
        """Floats, too fine, 51 models, unknown models, negative stock: nothing written."""
        bad: list[Callable[[], Any]] = [
            lambda: shopee.update_price(RED, {0: 19.9}),  # type: ignore[dict-item]
            lambda: shopee.update_price(RED, {0: Decimal("19.999")}),
            lambda: shopee.update_price(RED, {}),
            lambda: shopee.update_price(BLUE, dict.fromkeys(range(51), NEW)),
            lambda: shopee.update_price(BLUE, {3: NEW}),
            lambda: shopee.update_stock(BLUE, {1: -1}),
            lambda: shopee.update_stock(0, {0: 1}),
        ]
        for call in bad:
            with pytest.raises(InvalidArgumentError):
                call()
        assert fake.writes("update_price") == fake.writes("update_stock") == []

    def test_whole_number_regions(self, clock: FakeClock, tokens: MemoryTokenStore) -> None:
        """In TH prices are whole numbers: 19.90 is refused, 20 sent as 20."""
        fake = FakeShopee(clock=clock, region="TH")
        fake.add_item(RED, models={0: (Decimal(19), 1)})
        with make_shopee(fake, clock, tokens, region="TH") as shopee:
            shopee.exchange_code(fake.authorize_shop())
            with pytest.raises(InvalidArgumentError):
                shopee.update_price(RED, {0: OLD})
            shopee.update_price(RED, {0: Decimal("20.00")})
        assert fake.price(RED) == 20

    def test_async(self, fake: FakeShopee, shopee: ShopeeAdapter) -> None:
        """aupdate_price and aupdate_stock through the async transport."""

        async def main() -> list[ModelChange]:
            prices = await shopee.aupdate_price(BLUE, {1: Decimal("5.10")})
            return prices + await shopee.aupdate_stock(RED, {0: 2})

        changes = asyncio.run(main())
        assert [c.ok for c in changes] == [True, True]
        assert (fake.price(BLUE, 1), fake.stock(RED)) == (Decimal("5.10"), 2)


class TestOrders:
    def test_cursor_paging(
        self, fake: FakeShopee, shopee: ShopeeAdapter, clock: FakeClock
    ) -> None:
        """page_size 1 over three orders: three pages, cursors followed."""
        sns = {fake.add_order(items=[(RED, 0, 1)]) for _ in range(3)}
        now = datetime.fromtimestamp(clock.time(), timezone.utc)
        got = shopee.get_order_list(
            now - timedelta(days=1), now + timedelta(minutes=1), page_size=1
        )
        assert {o["order_sn"] for o in got} == sns
        assert len(sent(fake, "get_order_list")) == 3

    def test_a_repeated_cursor_stops_paging(
        self, fake: FakeShopee, clock: FakeClock, tokens: MemoryTokenStore
    ) -> None:
        """A server handing back the same cursor: a response error, not an endless loop."""
        spy = Spy(fake)

        def same_cursor(request: httpx.Request, response: httpx.Response) -> httpx.Response:
            if not request.url.path.endswith("get_order_list"):
                return response
            body = {"error": "", "message": "", "request_id": "r", "response": {
                "more": True, "next_cursor": "20", "order_list": []}}  # fmt: skip
            return httpx.Response(200, json=body, request=request)

        spy.change = same_cursor
        now = datetime.fromtimestamp(clock.time(), timezone.utc)
        with make_shopee(fake, clock, tokens, transport=spy) as shopee:
            shopee.exchange_code(fake.authorize_shop())
            with pytest.raises(MarketplaceResponseError, match="cursor"):
                shopee.get_order_list(now - timedelta(days=1), now)
        assert len(sent(fake, "get_order_list")) == 2

    @pytest.mark.parametrize(
        "kwargs",
        [
            {"days": 16},
            {"days": -1},
            {"page_size": 101},
            {"page_size": 0},
            {"order_status": "LOST"},
            {"time_range_field": "pay_time"},
            {"naive": True},
        ],
    )
    def test_bad_list_arguments(
        self, fake: FakeShopee, shopee: ShopeeAdapter, clock: FakeClock, kwargs: dict[str, Any]
    ) -> None:
        """A window over 15 days, bad page sizes, statuses or times: refused, nothing sent."""
        days = kwargs.pop("days", 1)
        now = datetime.fromtimestamp(clock.time(), timezone.utc)
        if kwargs.pop("naive", False):
            now = now.replace(tzinfo=None)
        with pytest.raises(InvalidArgumentError):
            shopee.get_order_list(now - timedelta(days=days), now, **kwargs)
        assert sent(fake, "get_order_list") == []

    def test_order_detail(self, fake: FakeShopee, shopee: ShopeeAdapter) -> None:
        """Details of up to 50 orders; 51 refused before sending."""
        sn = fake.add_order(items=[(BLUE, 1, 2)])
        (order,) = shopee.get_order_detail([sn])
        assert (order["order_sn"], order["order_status"]) == (sn, "READY_TO_SHIP")
        with pytest.raises(InvalidArgumentError):
            shopee.get_order_detail([sn] * 51)
        with pytest.raises(InvalidArgumentError):
            shopee.get_order_detail(sn)  # type: ignore[arg-type]

    def test_ship_then_track(
        self, fake: FakeShopee, shopee: ShopeeAdapter, clock: FakeClock
    ) -> None:
        """get_shipping_parameter, ship_order, then a tracking number once Shopee has one."""
        sn = fake.add_order(items=[(RED, 0, 1)])
        needed = shopee.get_shipping_parameter(sn)["info_needed"]
        assert "pickup" in needed
        shipment = shopee.ship_order(sn, pickup=pickup_of(shopee, sn))
        assert shipment == Shipment(order_sn=sn, request_id=shipment.request_id)
        assert fake.order(sn).status == "PROCESSED"
        assert shopee.get_tracking_number(sn) is None
        clock.advance(fake.tracking_delay + 1)
        assert shopee.get_tracking_number(sn)

    def test_a_second_ship_is_done_not_an_error(
        self, fake: FakeShopee, shopee: ShopeeAdapter
    ) -> None:
        """logistics.package_already_shipped is read as done."""
        sn = fake.add_order(items=[(RED, 0, 1)], channel="dropoff")
        shopee.ship_order(sn, dropoff={})
        again = shopee.ship_order(sn, dropoff={})
        assert again.already_shipped
        fake.assert_no_duplicate_writes()

    def test_a_lost_answer_is_reconciled_not_resent(
        self, fake: FakeShopee, shopee: ShopeeAdapter
    ) -> None:
        """ship_order's answer lost: the order reads PROCESSED, so it is done; sent once."""
        sn = fake.add_order(items=[(RED, 0, 1)], channel="dropoff")
        fake.faults.ambiguous_next("ship_order")
        shipment = shopee.ship_order(sn, dropoff={})
        assert shipment.reconciled
        assert len(sent(fake, "ship_order")) == 1
        fake.assert_no_duplicate_writes()

    def test_bad_ship_arguments(self, fake: FakeShopee, shopee: ShopeeAdapter) -> None:
        """Exactly one mode, a real order number: else refused before sending."""
        sn = fake.add_order(items=[(RED, 0, 1)])
        for kwargs in ({}, {"pickup": {}, "dropoff": {}}, {"pickup": [1]}):
            with pytest.raises(InvalidArgumentError):
                shopee.ship_order(sn, **kwargs)
        with pytest.raises(InvalidArgumentError):
            shopee.ship_order("no such; order", dropoff={})
        assert sent(fake, "ship_order") == []

    def test_async_reads_and_ship(
        self, fake: FakeShopee, shopee: ShopeeAdapter, clock: FakeClock
    ) -> None:
        """The async surface: list, detail and ship (its lost answer reconciled awaited)."""
        sn = fake.add_order(items=[(RED, 0, 1)], channel="dropoff")
        now = datetime.fromtimestamp(clock.time(), timezone.utc)
        fake.faults.ambiguous_next("ship_order")

        async def main() -> tuple[list[dict[str, Any]], list[dict[str, Any]], Shipment]:
            listed = await shopee.aget_order_list(
                now - timedelta(days=1), now + timedelta(minutes=1)
            )
            detail = await shopee.aget_order_detail([sn])
            return listed, detail, await shopee.aship_order(sn, dropoff={})

        listed, detail, shipment = asyncio.run(main())
        assert [o["order_sn"] for o in listed] == [sn] == [o["order_sn"] for o in detail]
        assert shipment.reconciled
        assert len(sent(fake, "ship_order")) == 1


class TestHealth:
    def test_healthy(self, fake: FakeShopee, shopee: ShopeeAdapter, clock: FakeClock) -> None:
        """Valid token, a read round trip, about 30 days before the refresh token lapses."""
        health = shopee.health()
        assert health.ok
        assert not health.reauthorization_required
        assert health.refresh_days_left is not None
        assert 29.9 < health.refresh_days_left <= 30
        assert health.shop_id == fake.shop_id
        del clock

    def test_no_tokens_yet(
        self, fake: FakeShopee, clock: FakeClock, tokens: MemoryTokenStore
    ) -> None:
        """An empty store: the shop needs authorising, health says so."""
        with make_shopee(fake, clock, tokens) as shopee:
            health = shopee.health()
        assert health.reauthorization_required
        assert not health.ok


class TestRelease:
    def test_a_failing_release_undoes_only_the_models_that_applied(
        self, store: sr.Store, fake: FakeShopee, shopee: ShopeeAdapter
    ) -> None:
        """Per-model compensation: applied models go back, the refused one is left alone."""
        fake.faults.fail_models(BLUE, [2], reason="error_update_price_fail")
        with (  # noqa: PT012 - the body is under test
            pytest.raises(Boom) as info,
            release("shopee-prices", store=store, adapters=[shopee]),
        ):
            shopee.update_price(BLUE, {1: Decimal("5.50"), 2: Decimal(7)})
            shopee.update_stock(RED, {0: 0})
            raise Boom
        report = info.value.rollback_report  # type: ignore[attr-defined]
        assert report.status is ReleaseStatus.ROLLED_BACK
        steps = [s.name for s in report.restored if s.kind == "compensation"]
        assert steps == [
            f"shopee stock of item {RED} model 0",
            f"shopee price of item {BLUE} model 1",
        ]
        assert (fake.price(BLUE, 1), fake.stock(RED)) == (Decimal("5.00"), 10)
        fake.assert_no_duplicate_writes()

    def test_async_release(self, store: sr.Store, fake: FakeShopee, shopee: ShopeeAdapter) -> None:
        """The async surface inside an async release is compensated the same way."""

        async def main() -> None:
            async with release("shopee-prices", store=store, adapters=[shopee]):
                await shopee.aupdate_price(RED, {0: NEW})
                assert fake.price(RED) == NEW
                raise Boom

        with pytest.raises(Boom):
            asyncio.run(main())
        assert fake.price(RED) == OLD

    def test_a_crashed_job_is_rolled_back_by_recover_once(
        self, store: sr.Store, fake: FakeShopee, clock: FakeClock, shopee: ShopeeAdapter
    ) -> None:
        """The job died after the writes: recover() undoes each model once; again: nothing."""
        rel = release("shopee-prices", store=store, adapters=[shopee], lease=10)
        rel.__enter__()
        shopee.update_price(BLUE, {1: Decimal("5.50"), 2: Decimal(7)})
        rel._unbind()
        assert rel._lock is not None
        rel._lock.close()
        clock.advance(11)
        (report,) = recover(store, adapters=[shopee])
        assert report.status is ReleaseStatus.ROLLED_BACK
        assert (fake.price(BLUE, 1), fake.price(BLUE, 2)) == (Decimal("5.00"), Decimal("6.50"))
        assert recover(store, adapters=[shopee]) == []
        assert len(fake.writes("update_price")) == 1 + 2

    def test_a_refused_inverse_is_a_failed_step(
        self, store: sr.Store, fake: FakeShopee, shopee: ShopeeAdapter
    ) -> None:
        """An inverse Shopee refuses in failure_list is a failed step, sent again later."""
        journal = Journal(store, release_id="rel-1", scope="prices")
        shopee.bind_journal(journal)
        shopee.update_price(RED, {0: NEW})
        shopee.bind_journal(None)
        fake.faults.fail_models(RED, [0], reason="error_cannot_update_price_in_promotion")
        (step,) = journal.compensate([shopee])
        assert not step.ok
        assert "error_cannot_update_price_in_promotion" in step.detail
        fake.faults.clear()
        (step,) = journal.compensate([shopee])
        assert step.ok
        assert fake.price(RED) == OLD


class TestSharedTokens:
    def test_two_processes_refresh_once(
        self, store: sr.Store, fake: FakeShopee, clock: FakeClock, tokens: MemoryTokenStore
    ) -> None:
        """Two adapters (processes) on one shop and one store lock: one refresh, both served."""
        first = make_shopee(fake, clock, tokens, refresh_lock=StoreRefreshLock(store))
        second = make_shopee(fake, clock, tokens, refresh_lock=StoreRefreshLock(store))
        with first, second:
            first.exchange_code(fake.authorize_shop())
            for _ in range(3):
                clock.advance(4 * 3600 + 1)
                assert first.get_model_list(BLUE)["model"]
                assert second.get_model_list(BLUE)["model"]
        assert len(sent(fake, "access_token_get")) == 3
        assert all(c.status == 200 for c in fake.calls)

    def test_a_failed_save_is_offered_again_never_refreshed_twice(
        self, fake: FakeShopee, clock: FakeClock
    ) -> None:
        """The store refuses the new pair once: TokenRefreshError; the next call saves it."""

        class Flaky(MemoryTokenStore):
            fail = 0

            def save(self, key: str, token: StoredToken) -> None:
                if self.fail:
                    self.fail -= 1
                    raise OSError("disk full")
                super().save(key, token)

        tokens = Flaky()
        with make_shopee(fake, clock, tokens) as shopee:
            shopee.exchange_code(fake.authorize_shop())
            clock.advance(4 * 3600 + 1)
            tokens.fail = 1
            with pytest.raises(TokenRefreshError, match="saving"):
                shopee.get_model_list(BLUE)
            assert shopee.get_model_list(BLUE)["model"]
        assert len(sent(fake, "access_token_get")) == 1


class TestLedger:
    def test_no_token_or_signature_in_the_ledger(
        self, store: sr.Store, fake: FakeShopee, shopee: ShopeeAdapter, tokens: MemoryTokenStore
    ) -> None:
        """The ledger's copy of a write holds no access token, no sign, no partner key."""
        with release("shopee-prices", store=store, adapters=[shopee]):
            shopee.update_price(RED, {0: NEW})
        stored = tokens.load(shopee.tokens.key)
        assert stored is not None
        with store.engine.connect() as conn:
            rows = [str(dict(r._mapping)) for r in conn.execute(select(store.tables.ledger))]
        assert rows
        text = " ".join(rows)
        for secret in (stored.access_token.reveal(), fake.partner_key):
            assert secret not in text
        assert "item 800001 model 0 price" in text

    def test_the_ledger_masks_a_signed_query(self) -> None:
        """Should a signed request reach the ledger, sign and access_token are masked."""
        url = httpx.URL(
            "https://partner.shopeemobile.com/api/v2/product/update_price"
            "?partner_id=1&timestamp=2&access_token=SECRETTOKEN&shop_id=3&sign=SIGNATURE99"
        )
        masked = _redacted_query(url)
        assert "SECRETTOKEN" not in masked
        assert "SIGNATURE99" not in masked
        assert "partner_id=1" in masked

    def test_a_shipment_in_a_release_is_never_sent_twice(
        self, store: sr.Store, fake: FakeShopee, shopee: ShopeeAdapter
    ) -> None:
        """ship_order's lost answer inside a release: reconciled, journaled, not undone."""
        sn = fake.add_order(items=[(RED, 0, 1)], channel="dropoff")
        fake.faults.ambiguous_next("ship_order")
        with pytest.raises(Boom), release("shopee-ship", store=store, adapters=[shopee]):  # noqa: PT012
            assert shopee.ship_order(sn, dropoff={}).reconciled
            raise Boom
        assert fake.order(sn).status == "PROCESSED"  # irreversible: left as it is
        assert len(sent(fake, "ship_order")) == 1
        fake.assert_no_duplicate_writes()


class TestTokenAnswers:
    def test_a_pair(self) -> None:
        """Both tokens as Secrets, the access lifetime capped at 4 h, 30 days to refresh."""
        body = b'{"access_token":"a1","refresh_token":"r1","expire_in":99999,"error":""}'
        grant = grant_of("access_token_get", 200, body)
        assert (grant.access_token, grant.refresh_token) == (Secret("a1"), Secret("r1"))
        assert grant.expires_in == 14_400
        assert grant.refresh_expires_in == 30 * 86_400

    @pytest.mark.parametrize(
        ("body", "raised"),
        [
            (b"<html>", RefreshLost),
            (b'{"access_token":"a","expire_in":10,"error":""}', RefreshLost),
            (b'{"access_token":"a","refresh_token":"r","expire_in":"10"}', RefreshLost),
            (b'{"access_token":"a","refresh_token":"r","expire_in":-1}', RefreshLost),
            (b'{"error":"error_auth","message":"Invalid refresh_token."}', RefreshRefused),
            (b'{"error":"refresh_token_expired","message":""}', RefreshRefused),
            (b'{"error":"error_sign","message":"Wrong sign."}', TokenRefreshError),
            (b'{"error":"error_param","message":"Invalid timestamp"}', TokenRefreshError),
        ],
    )
    def test_what_each_answer_says_of_the_refresh_token(
        self, body: bytes, raised: type[Exception]
    ) -> None:
        """Unreadable or incomplete: maybe spent; refused as used: spent; a bad request: not."""
        with pytest.raises(raised) as info:
            grant_of("access_token_get", 200, body)
        assert type(info.value) is raised
        assert "a1" not in str(info.value)

    def test_no_answer(self) -> None:
        """Not sent: a plain TokenRefreshError (unspent); sent and lost: RefreshLost."""
        assert type(failure_error("access_token_get", (False, "ConnectError"))) is (
            TokenRefreshError
        )
        assert isinstance(failure_error("access_token_get", (True, "ReadTimeout")), RefreshLost)

    def test_a_throttled_429(self, fake: FakeShopee, shopee: ShopeeAdapter) -> None:
        """Throttling signalled with HTTP 429 and error_system_busy: retried, then served."""
        fake.faults.throttle_status = 429
        fake.faults.throttle_error = "error_system_busy"
        fake.set_rate_limit("get_model_list", calls=1, per_seconds=1)
        shopee.get_model_list(BLUE)
        assert shopee.get_model_list(BLUE)["model"]
        assert 429 in {c.status for c in sent(fake, "get_model_list")}

    def test_bad_consent_arguments(self, shopee: ShopeeAdapter) -> None:
        """A redirect that is no URL, an empty code: refused, nothing sent."""
        with pytest.raises(InvalidArgumentError):
            shopee.authorization_url("ftp://x")
        with pytest.raises(InvalidArgumentError):
            shopee.exchange_code("")

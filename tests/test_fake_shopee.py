"""FakeShopee: signing, tokens, throttling, product, orders, logistics, faults, inspection.

Every test talks to the fake over httpx with its transport (one through ``serve()``),
as a Shopee client would, on a `FakeClock`. The client below signs on its own
(``hmac`` here, never the fake's or the adapter's code), so that the fake's check
and this one must agree with WIRE.md's test vectors independently.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

import safe_release.testing._shopee as fake_package
from safe_release.exceptions import InvalidArgumentError, UnknownOperationError
from safe_release.testing import (
    Call,
    FakeClock,
    FakeShopee,
    FakeShopeeCredentials,
    ShopeeItem,
    ShopeeOrder,
)
from safe_release.testing._shopee._shp_gateway import GATEWAY_OPERATIONS, HANDLERS
from safe_release.testing._shopee._shp_routes import ROUTES, route
from safe_release.testing._shopee._shp_wire import base_string, signature
from tests.fakes_util import FakeClient, fake_modules, imported

if TYPE_CHECKING:
    from pathlib import Path

BASE = "https://partner.shopeemobile.com"
DAY = 86400.0
ITEM, VARIANTS = 800123456, 800123457
DEMO_KEY = "demo_partner_key_not_real"


class Shp(FakeClient[FakeShopeeCredentials]):
    """A minimal Shopee v2 client: common parameters, its own HMAC, JSON bodies."""

    base_url = BASE

    def sign(self, path: str, ts: int, token: str = "", shop: str = "") -> str:
        base = f"{self.creds.partner_id}{path}{ts}{token}{shop}"
        return hmac.new(self.creds.partner_key.encode(), base.encode(), hashlib.sha256).hexdigest()

    def common(
        self, path: str, *, public: bool = False, skew: float = 0, token: str | None = None
    ) -> dict[str, Any]:
        ts = int(self.fake.clock.time() + skew)
        if public:
            return {
                "partner_id": self.creds.partner_id,
                "timestamp": ts,
                "sign": self.sign(path, ts),
            }
        access = self.creds.access_token if token is None else token
        shop = str(self.creds.shop_id)
        return {
            "partner_id": self.creds.partner_id,
            "timestamp": ts,
            "access_token": access,
            "shop_id": shop,
            "sign": self.sign(path, ts, access, shop),
        }

    def get(
        self, path: str, /, *, common: dict[str, Any] | None = None, **params: Any
    ) -> httpx.Response:
        query = {**(common if common is not None else self.common(path)), **params}
        return self.http.get(path, params=query)

    def post(
        self,
        path: str,
        body: Any,
        *,
        public: bool = False,
        common: dict[str, Any] | None = None,
    ) -> httpx.Response:
        query = common if common is not None else self.common(path, public=public)
        return self.http.post(path, params=query, json=body)

    def refresh(self, refresh_token: str, shop_id: int | None = None) -> httpx.Response:
        body = {
            "refresh_token": refresh_token,
            "partner_id": self.creds.partner_id,
            "shop_id": self.creds.shop_id if shop_id is None else shop_id,
        }
        return self.post("/api/v2/auth/access_token/get", body, public=True)

    def token_get(self, code: str, shop_id: int | None = None) -> httpx.Response:
        body = {
            "code": code,
            "shop_id": self.creds.shop_id if shop_id is None else shop_id,
            "partner_id": self.creds.partner_id,
        }
        return self.post("/api/v2/auth/token/get", body, public=True)

    def price(self, item_id: int, *prices: tuple[int, Any]) -> httpx.Response:
        body = {
            "item_id": item_id,
            "price_list": [{"model_id": m, "original_price": p} for m, p in prices],
        }
        return self.post("/api/v2/product/update_price", body)

    def stock(self, item_id: int, *stocks: tuple[int, int]) -> httpx.Response:
        body = {
            "item_id": item_id,
            "stock_list": [{"model_id": m, "seller_stock": [{"stock": s}]} for m, s in stocks],
        }
        return self.post("/api/v2/product/update_stock", body)

    def ship(self, order_sn: str, **objects: Any) -> httpx.Response:
        return self.post("/api/v2/logistics/ship_order", {"order_sn": order_sn, **objects})


def err(response: httpx.Response) -> tuple[int, str, str]:
    """(status, error, message) of an answer."""
    body = response.json()
    return response.status_code, body["error"], body["message"]


def ok(response: httpx.Response) -> Any:
    """The ``response`` of a successful answer (the envelope checked)."""
    body = response.json()
    assert response.status_code == 200, response.text
    assert body["error"] == "", body
    assert body["message"] == "", body
    assert body["request_id"], body
    return body.get("response")


PICKUP = {"pickup": {"address_id": 200001, "pickup_time_id": "1767344400"}}


@pytest.fixture(name="fake")
def _fake(clock: FakeClock) -> FakeShopee:
    fake = FakeShopee(clock=clock)
    fake.add_item(ITEM, models={0: (Decimal("19.90"), 25)})
    fake.add_item(VARIANTS, models={1: (Decimal(10), 3), 2: (Decimal("12.50"), 4)})
    return fake


@pytest.fixture(name="shp")
def _shp(fake: FakeShopee) -> Shp:
    return Shp(fake)


# -- signing --------------------------------------------------------------------------

# WIRE.md 3, "Test vectors": (partner, path, timestamp, access token, id, digest).
VECTORS = [
    (
        "2001887",
        "/api/v2/shop/get_shop_info",
        "1655714431",
        "59777174636562737266615546704c6d",
        "14701711",
        "dbf62dd86a5a2493ee16db2c44aaa4c66b2547219602678b15f1a0c9c734766d",
    ),
    (
        "2001887",
        "/api/v2/global_product/get_category",
        "1655714431",
        "09777174636962737266615546704c6d",
        "1000000",
        "ac76e2f422c13fde9a902e6d369554305f1007db599040f50534444f76942149",
    ),
    (
        "2001887",
        "/api/v2/auth/access_token/get",
        "1655714431",
        "",
        "",
        "b988d9cdb40cfa707426761add950c35a6a7d9a33c18a57420439dccf6593237",
    ),
    (
        "1",
        "/api/v2/product/update_price",
        "1610000000",
        "c09222e3fc40ffb25fc947f738b1abf1",
        "600000",
        "b36fec3024a30f3b6567b2f8a95cb93079e85d9c5f93b380be41caf92ce94a28",
    ),
]
BASES = [
    "2001887/api/v2/shop/get_shop_info165571443159777174636562737266615546704c6d14701711",
    "2001887/api/v2/global_product/get_category165571443109777174636962737266615546704c6d1000000",
    "2001887/api/v2/auth/access_token/get1655714431",
    "1/api/v2/product/update_price1610000000c09222e3fc40ffb25fc947f738b1abf1600000",
]


class TestSigning:
    @pytest.mark.parametrize(("vector", "base"), list(zip(VECTORS, BASES, strict=True)))
    def test_wire_vectors(self, vector: tuple[str, ...], base: str) -> None:
        """The fake's base string and digest are WIRE.md 3's, to the byte."""
        partner, path, ts, token, shop, digest = vector
        assert base_string(partner, path, ts, token, shop) == base
        assert signature(DEMO_KEY, base) == digest

    def test_the_test_client_agrees(self, fake: FakeShopee) -> None:
        """This file's own signer reproduces the Shop API vector too."""
        creds = FakeShopeeCredentials(2001887, DEMO_KEY, 14701711, "", "", 0.0, 0.0, "SG")
        client = Shp(fake, creds)
        got = client.sign("/api/v2/shop/get_shop_info", 1655714431, VECTORS[0][3], "14701711")
        assert got == VECTORS[0][5]

    def test_signed_call_passes(self, shp: Shp) -> None:
        """A correctly signed Shop API call is answered."""
        body = shp.get("/api/v2/shop/get_shop_info").json()
        assert body["error"] == ""
        assert body["region"] == "SG"

    def test_wrong_sign(self, shp: Shp) -> None:
        """One flipped hex digit: 400 error_sign "Wrong sign."."""
        common = shp.common("/api/v2/shop/get_shop_info")
        common["sign"] = ("0" if common["sign"][0] != "0" else "1") + common["sign"][1:]
        answer = shp.get("/api/v2/shop/get_shop_info", common=common)
        assert err(answer) == (400, "error_sign", "Wrong sign.")

    def test_upper_case_hex_is_wrong(self, shp: Shp) -> None:
        """The digest is lowercase hex; upper case does not match."""
        common = shp.common("/api/v2/shop/get_shop_info")
        common["sign"] = common["sign"].upper()
        assert err(shp.get("/api/v2/shop/get_shop_info", common=common))[1] == "error_sign"

    def test_public_form_on_a_shop_api_is_wrong(self, shp: Shp) -> None:
        """A Shop API signed without access_token and shop_id fails."""
        path = "/api/v2/shop/get_shop_info"
        common = shp.common(path)
        common["sign"] = shp.sign(path, common["timestamp"])
        assert err(shp.get(path, common=common))[1] == "error_sign"

    def test_shop_form_on_a_public_api_is_wrong(self, shp: Shp) -> None:
        """The token calls sign partner_id + path + timestamp only."""
        path = "/api/v2/auth/access_token/get"
        common = shp.common(path, public=True)
        common["sign"] = shp.sign(path, common["timestamp"], "", str(shp.creds.shop_id))
        body = {"refresh_token": shp.creds.refresh_token, "partner_id": shp.creds.partner_id}
        assert err(shp.post(path, body, common=common))[1] == "error_sign"

    def test_body_is_not_signed(self, shp: Shp, fake: FakeShopee) -> None:
        """Any body goes with a signature over the path: the body is unsigned."""
        ok(shp.price(ITEM, (0, 21)))
        assert fake.price(ITEM) == 21

    def test_other_path_is_wrong(self, shp: Shp) -> None:
        """The path is in the base string: a sign for another path fails."""
        common = shp.common("/api/v2/order/get_order_list")
        assert err(shp.get("/api/v2/shop/get_shop_info", common=common))[1] == "error_sign"

    def test_reject_valid_signatures(self, shp: Shp, fake: FakeShopee) -> None:
        """The legacy host's quirk: a correct signature answers error_sign."""
        fake.faults.reject_valid_signatures = True
        assert err(shp.get("/api/v2/shop/get_shop_info")) == (400, "error_sign", "Wrong sign.")
        fake.faults.clear()
        ok(shp.get("/api/v2/shop/get_shop_info"))


class TestCommonParameters:
    PATH = "/api/v2/shop/get_shop_info"

    @pytest.mark.parametrize(
        ("drop", "message"),
        [
            ("partner_id", "Invalid partner_id."),
            ("timestamp", "no timestamp"),
            ("sign", "There is no sign in query."),
            ("access_token", "There is no access_token in query."),
        ],
    )
    def test_missing(self, shp: Shp, drop: str, message: str) -> None:
        """Each missing common parameter has its error_param message."""
        common = shp.common(self.PATH)
        del common[drop]
        assert err(shp.get(self.PATH, common=common)) == (400, "error_param", message)

    def test_unknown_partner(self, shp: Shp) -> None:
        """Another partner id is "Invalid partner_id."."""
        common = {**shp.common(self.PATH), "partner_id": 1}
        assert err(shp.get(self.PATH, common=common)) == (
            400,
            "error_param",
            "Invalid partner_id.",
        )

    @pytest.mark.parametrize("shop", ["", "abc", "12345"])
    def test_bad_shop(self, shp: Shp, shop: str) -> None:
        """A missing, malformed or unknown shop_id is error_shop "shopid is invalid"."""
        common = {**shp.common(self.PATH), "shop_id": shop}
        assert err(shp.get(self.PATH, common=common)) == (403, "error_shop", "shopid is invalid")

    @pytest.mark.parametrize(
        ("skew", "passes"), [(0, True), (300, True), (-300, True), (301, False), (-301, False)]
    )
    def test_timestamp_window(self, shp: Shp, skew: float, passes: bool) -> None:
        """A timestamp within 300 s of the fake clock passes; further is "Invalid timestamp"."""
        answer = shp.get(self.PATH, common=shp.common(self.PATH, skew=skew))
        if passes:
            assert answer.json()["error"] == ""
        else:
            assert err(answer) == (400, "error_param", "Invalid timestamp")

    def test_timestamp_in_milliseconds(self, shp: Shp, fake: FakeShopee) -> None:
        """Milliseconds are not seconds: "Invalid timestamp"."""
        ts = int(fake.clock.time() * 1000)
        common = {**shp.common(self.PATH), "timestamp": ts}
        common["sign"] = shp.sign(self.PATH, ts, shp.creds.access_token, str(shp.creds.shop_id))
        assert err(shp.get(self.PATH, common=common))[2] == "Invalid timestamp"

    def test_window_follows_the_fake_clock(self, shp: Shp, fake: FakeShopee) -> None:
        """A request signed, then held 301 s, is stale."""
        common = shp.common(self.PATH)
        assert isinstance(fake.clock, FakeClock)
        fake.clock.advance(301)
        assert err(shp.get(self.PATH, common=common))[2] == "Invalid timestamp"

    def test_date_header(self, shp: Shp) -> None:
        """Every answer carries a Date header on the fake clock (for skew correction)."""
        answer = shp.get(self.PATH, common=shp.common(self.PATH, skew=1000))
        assert answer.headers["date"] == "Thu, 01 Jan 2026 00:00:00 GMT"


# -- tokens ---------------------------------------------------------------------------


class TestAccessTokens:
    PATH = "/api/v2/shop/get_shop_info"

    def test_lives_14400_seconds(self, shp: Shp, fake: FakeShopee, clock: FakeClock) -> None:
        """The seeded token works until 14400 s, then answers invalid_acceess_token [sic]."""
        assert fake.credentials.access_expires_at == clock.time() + 14400
        clock.advance(14399)
        ok(shp.get(self.PATH))
        clock.advance(1)
        assert err(shp.get(self.PATH)) == (403, "invalid_acceess_token", "Invalid access_token.")

    def test_documented_form(self, shp: Shp, fake: FakeShopee, clock: FakeClock) -> None:
        """faults.expired_token_error = "error_auth": the documented form instead."""
        fake.faults.expired_token_error = "error_auth"  # noqa: S105 - an error code
        clock.advance(14400)
        assert err(shp.get(self.PATH)) == (403, "error_auth", "Invalid access_token.")

    def test_unknown_token(self, shp: Shp) -> None:
        """A token the fake never issued is error_auth."""
        common = shp.common(self.PATH, token="0" * 32)
        assert err(shp.get(self.PATH, common=common)) == (
            403,
            "error_auth",
            "Invalid access_token.",
        )

    def test_tokens_are_per_shop(self, shp: Shp, fake: FakeShopee) -> None:
        """Shop A's token with shop B's id is error_auth; B's own works."""
        other = fake.add_shop(region="MY")
        stolen = FakeShopeeCredentials(
            other.partner_id,
            other.partner_key,
            other.shop_id,
            shp.creds.access_token,
            "",
            0,
            0,
            "MY",
        )
        assert err(Shp(fake, stolen).get(self.PATH))[1] == "error_auth"
        assert Shp(fake, other).get(self.PATH).json()["region"] == "MY"

    def test_revoke_auth(self, shp: Shp, fake: FakeShopee) -> None:
        """After revoke_auth the old tokens are error_auth; new ones work."""
        fake.faults.revoke_auth()
        assert err(shp.get(self.PATH))[1] == "error_auth"
        ok(Shp(fake, fake.reauthorize()).get(self.PATH))

    def test_shop_info(self, shp: Shp, fake: FakeShopee, clock: FakeClock) -> None:
        """get_shop_info's fields sit beside request_id, with the authorisation's expiry [U]."""
        body = shp.get(self.PATH).json()
        assert body["shop_name"] == f"Shop {fake.shop_id}"
        assert body["expire_time"] == int(clock.time() + 365 * DAY)
        assert "response" not in body


class TestRefresh:
    def test_rotates(self, shp: Shp, fake: FakeShopee) -> None:
        """A refresh answers a new pair and spends the old refresh token."""
        answer = shp.refresh(fake.credentials.refresh_token)
        body = answer.json()
        assert answer.status_code == 200
        assert body["error"] == ""
        assert body["partner_id"] == fake.partner_id
        assert body["shop_id"] == fake.shop_id
        assert body["expire_in"] == 14400
        assert body["refresh_token"] != fake.credentials.refresh_token
        assert fake.refresh_token_state(fake.credentials.refresh_token) == "spent"
        assert fake.refresh_token_state(body["refresh_token"]) == "live"
        path = "/api/v2/shop/get_shop_info"
        assert (
            shp.get(path, common=shp.common(path, token=body["access_token"])).json()["error"]
            == ""
        )
        assert fake.tokens_issued == 2
        assert fake.refreshes == 1

    def test_replay(self, shp: Shp, fake: FakeShopee) -> None:
        """A spent refresh token answers error_auth "Invalid refresh_token."; the new one works."""
        first = shp.refresh(fake.credentials.refresh_token).json()
        assert err(shp.refresh(fake.credentials.refresh_token)) == (
            403,
            "error_auth",
            "Invalid refresh_token.",
        )
        assert shp.refresh(first["refresh_token"]).json()["error"] == ""

    def test_old_access_token_keeps_working(self, shp: Shp, fake: FakeShopee) -> None:
        """A refresh does not end the previous access token's life."""
        shp.refresh(fake.credentials.refresh_token)
        ok(shp.get("/api/v2/shop/get_shop_info"))

    def test_thirty_days(self, shp: Shp, fake: FakeShopee, clock: FakeClock) -> None:
        """After 30 days the refresh token is refresh_token_expired."""
        clock.advance(30 * DAY)
        assert err(shp.refresh(fake.credentials.refresh_token))[1] == "refresh_token_expired"

    def test_other_shop(self, shp: Shp, fake: FakeShopee) -> None:
        """A refresh token is per shop."""
        other = fake.add_shop()
        assert err(shp.refresh(fake.credentials.refresh_token, other.shop_id))[1] == "error_auth"

    def test_bad_bodies(self, shp: Shp, fake: FakeShopee) -> None:
        """Both shop_id and merchant_id, no shop_id, another partner, not JSON: typed errors."""
        path = "/api/v2/auth/access_token/get"
        rt = fake.credentials.refresh_token
        both = {
            "refresh_token": rt,
            "partner_id": fake.partner_id,
            "shop_id": fake.shop_id,
            "merchant_id": 1,
        }
        assert err(shp.post(path, both, public=True))[1] == "error_param"
        assert (
            err(shp.post(path, {"refresh_token": rt, "partner_id": fake.partner_id}, public=True))[
                1
            ]
            == "error_param"
        )
        wrong = {"refresh_token": rt, "partner_id": 1, "shop_id": fake.shop_id}
        assert err(shp.post(path, wrong, public=True))[1] == "invalid_partner_id"
        garbage = shp.http.post(path, params=shp.common(path, public=True), content=b"{nope")
        assert err(garbage)[:2] == (400, "error_param")
        assert fake.refresh_token_state(rt) == "live"

    def test_lost_answer(self, shp: Shp, fake: FakeShopee) -> None:
        """lose_refresh_answer: applied (old token spent), then the answer is lost."""
        fake.faults.lose_refresh_answer()
        with pytest.raises(httpx.ReadTimeout):
            shp.refresh(fake.credentials.refresh_token)
        assert fake.refresh_token_state(fake.credentials.refresh_token) == "spent"
        assert err(shp.refresh(fake.credentials.refresh_token))[2] == "Invalid refresh_token."
        assert [c.applied for c in fake.writes("access_token_get")] == [True]

    def test_token_calls_log_no_secrets(self, shp: Shp, fake: FakeShopee) -> None:
        """Token calls keep no body in the log; Shop API queries mask access_token."""
        shp.refresh(fake.credentials.refresh_token)
        shp.get("/api/v2/shop/get_shop_info")
        refresh, info = fake.calls
        assert refresh.json is None
        assert info.query["access_token"] == "***"  # noqa: S105 - the mask
        assert fake.credentials.access_token not in repr(fake.calls)
        assert fake.partner_key not in repr(fake) + repr(fake.credentials)


class TestCodeFlow:
    def test_authorize_shop(self, shp: Shp, fake: FakeShopee) -> None:
        """authorize_shop() gives a one-use code; token/get exchanges it once."""
        code = fake.authorize_shop()
        body = shp.token_get(code).json()
        assert body["error"] == ""
        assert len(body["access_token"]) == 32
        assert body["expire_in"] == 14400
        assert err(shp.token_get(code)) == (403, "invalid_code", "Invalid code")
        assert fake.refresh_token_state(body["refresh_token"]) == "live"

    def test_code_lives_ten_minutes(self, shp: Shp, fake: FakeShopee, clock: FakeClock) -> None:
        """A code used after 600 s is invalid_code; used after 100 s, expire_in is 14300."""
        late = fake.authorize_shop()
        soon = fake.authorize_shop()
        clock.advance(100)
        assert shp.token_get(soon).json()["expire_in"] == 14300
        clock.advance(500)
        assert err(shp.token_get(late))[1] == "invalid_code"

    def test_code_is_per_shop(self, shp: Shp, fake: FakeShopee) -> None:
        """A code for one shop, exchanged for another, is invalid_shop_id."""
        other = fake.add_shop()
        assert err(shp.token_get(fake.authorize_shop(), other.shop_id))[1] == "invalid_shop_id"

    def test_auth_partner_redirects(self, shp: Shp, fake: FakeShopee) -> None:
        """The signed consent link redirects to redirect?code=...&shop_id=...."""
        path = "/api/v2/shop/auth_partner"
        answer = shp.get(
            path, common=shp.common(path, public=True), redirect="https://app.test/cb"
        )
        assert answer.status_code == 302
        location = urlsplit(answer.headers["location"])
        assert location.netloc == "app.test"
        found = parse_qs(location.query)
        assert found["shop_id"] == [str(fake.shop_id)]
        assert shp.token_get(found["code"][0]).json()["error"] == ""
        no_redirect = shp.get(path, common=shp.common(path, public=True))
        assert err(no_redirect)[1] == "error_param"

    def test_authorize_days(self, fake: FakeShopee, shp: Shp, clock: FakeClock) -> None:
        """authorize_shop(days=...) sets the authorisation's expiry; > 365 is refused."""
        fake.authorize_shop(days=10)
        assert shp.get("/api/v2/shop/get_shop_info").json()["expire_time"] == int(
            clock.time() + 10 * DAY
        )
        with pytest.raises(InvalidArgumentError):
            fake.authorize_shop(days=366)

    def test_reauthorize(self, fake: FakeShopee) -> None:
        """reauthorize(): a fresh pair, counted in tokens_issued."""
        creds = fake.reauthorize()
        assert creds.refresh_token != fake.credentials.refresh_token
        assert fake.tokens_issued == 2


# -- throttling -----------------------------------------------------------------------


class TestThrottling:
    PATH = "/api/v2/shop/get_shop_info"

    def test_limit_in_the_body(self, shp: Shp, fake: FakeShopee, clock: FakeClock) -> None:
        """Over the limit: 200 and error_server "Too many requests..."; refills on the clock."""
        fake.set_rate_limit("get_shop_info", calls=2, per_seconds=60)
        ok(shp.get(self.PATH))
        ok(shp.get(self.PATH))
        status, error, message = err(shp.get(self.PATH))
        assert (status, error) == (200, "error_server")
        assert message.startswith("Too many requests")
        clock.advance(30)
        ok(shp.get(self.PATH))

    def test_per_shop_and_per_api(self, shp: Shp, fake: FakeShopee) -> None:
        """Each shop has its own bucket per API; other APIs are not limited."""
        fake.set_rate_limit("get_shop_info", calls=1, per_seconds=60)
        other = Shp(fake, fake.add_shop())
        ok(shp.get(self.PATH))
        ok(other.get(self.PATH))
        assert err(shp.get(self.PATH))[1] == "error_server"
        ok(shp.get("/api/v2/product/get_model_list", item_id=VARIANTS))

    def test_one_shop_only(self, shp: Shp, fake: FakeShopee) -> None:
        """set_rate_limit(shop_id=...) limits that shop alone."""
        other = Shp(fake, fake.add_shop())
        fake.set_rate_limit("get_shop_info", calls=1, per_seconds=60, shop_id=other.creds.shop_id)
        for _ in range(3):
            ok(shp.get(self.PATH))
        ok(other.get(self.PATH))
        assert err(other.get(self.PATH))[1] == "error_server"

    def test_busy_and_429(self, shp: Shp, fake: FakeShopee) -> None:
        """throttle_error and throttle_status choose the answer's form."""
        fake.set_rate_limit("get_shop_info", calls=1, per_seconds=60)
        fake.faults.throttle_error = "error_system_busy"
        fake.faults.throttle_status = 429
        ok(shp.get(self.PATH))
        assert err(shp.get(self.PATH))[:2] == (429, "error_system_busy")

    def test_storm_and_token_endpoint(self, shp: Shp, fake: FakeShopee) -> None:
        """A storm throttles every call; token_endpoint_throttled only the token calls."""
        fake.faults.token_endpoint_throttled = True
        assert err(shp.refresh(fake.credentials.refresh_token))[1] == "error_server"
        assert fake.refresh_token_state(fake.credentials.refresh_token) == "live"
        ok(shp.get(self.PATH))
        fake.faults.throttle_storm(1.0)
        assert err(shp.get(self.PATH))[1] == "error_server"

    def test_bad_settings(self, fake: FakeShopee) -> None:
        """Unknown APIs, bad counts and forms are InvalidArgumentError/UnknownOperationError."""
        with pytest.raises(UnknownOperationError):
            fake.set_rate_limit("nope", calls=1, per_seconds=1)
        with pytest.raises(InvalidArgumentError):
            fake.set_rate_limit("ship_order", calls=0, per_seconds=1)
        with pytest.raises(InvalidArgumentError):
            fake.set_rate_limit("ship_order", calls=1, per_seconds=0)
        with pytest.raises(InvalidArgumentError):
            fake.faults.throttle_error = "error_rate_limit"
        with pytest.raises(InvalidArgumentError):
            fake.faults.throttle_status = 503
        with pytest.raises(InvalidArgumentError):
            fake.faults.expired_token_error = "invalid_access_token"  # noqa: S105 - an error code


# -- product --------------------------------------------------------------------------


class TestUpdatePrice:
    def test_item_without_models(self, shp: Shp, fake: FakeShopee) -> None:
        """Model 0 prices an item without models; the answer lists it in success_list."""
        response = ok(shp.price(ITEM, (0, 199)))
        assert response == {
            "success_list": [{"model_id": 0, "original_price": 199}],
            "failure_list": [],
        }
        assert fake.price(ITEM) == Decimal(199)

    def test_models_and_partial_failure(self, shp: Shp, fake: FakeShopee) -> None:
        """A failing model lands in failure_list while error stays ""."""
        fake.faults.fail_models(VARIANTS, [2], reason="error_cannot_update_price_in_promotion")
        response = ok(shp.price(VARIANTS, (1, 11.5), (2, 13)))
        assert response["success_list"] == [{"model_id": 1, "original_price": 11.5}]
        assert response["failure_list"] == [
            {"model_id": 2, "failed_reason": "error_cannot_update_price_in_promotion"}
        ]
        assert (fake.price(VARIANTS, 1), fake.price(VARIANTS, 2)) == (
            Decimal("11.5"),
            Decimal("12.50"),
        )
        assert fake.writes("update_price")[0].applied

    def test_all_failed_is_not_applied(self, shp: Shp, fake: FakeShopee) -> None:
        """No model changed: the call is not a write."""
        fake.faults.fail_models(ITEM, [0])
        assert ok(shp.price(ITEM, (0, 5)))["failure_list"][0]["model_id"] == 0
        assert fake.writes() == []

    def test_precision_by_region(self, fake: FakeShopee) -> None:
        """SG takes two decimals (not three); TH whole numbers only."""
        shp = Shp(fake)
        response = ok(shp.price(VARIANTS, (1, 10.99), (2, 10.999)))
        assert [x["model_id"] for x in response["success_list"]] == [1]
        assert response["failure_list"][0]["model_id"] == 2
        fake.add_item(5, models={0: ("100", 1)}, region="TH")
        assert ok(shp.price(5, (0, 100.5)))["failure_list"][0]["model_id"] == 0
        assert ok(shp.price(5, (0, 120)))["success_list"] == [
            {"model_id": 0, "original_price": 120}
        ]

    def test_limits(self, shp: Shp) -> None:
        """A zero price is error_price_exceed_min_limitt, a huge one ..._max_limitt (sic)."""
        response = ok(shp.price(VARIANTS, (1, 0), (2, 1e12)))
        reasons = [x["failed_reason"] for x in response["failure_list"]]
        assert reasons == ["error_price_exceed_min_limitt", "error_price_exceed_max_limitt"]

    def test_request_errors(self, shp: Shp, fake: FakeShopee) -> None:
        """The whole call fails for its item and model ids; nothing changes."""
        path = "/api/v2/product/update_price"
        assert err(shp.price(ITEM, (0, 1), (0, 2))) == (200, "error_param", "Repeat model_id.")
        assert err(shp.price(VARIANTS, (9, 1))) == (200, "error_param", "Wrong model_id.")
        assert err(shp.price(VARIANTS, (0, 1)))[1] == "error_edit_item_price_for_item_has_model"
        assert err(shp.price(ITEM, (1, 1)))[1] == "error_param"
        assert err(shp.price(404, (0, 1)))[1] == "error_item_not_found"
        assert err(shp.price(ITEM))[1] == "product.error_param"
        assert err(shp.price(ITEM, *[(m, 1) for m in range(51)]))[1] == "product.error_param"
        assert err(shp.post(path, {"price_list": []}))[1] == "product.error_param"
        assert (
            err(shp.post(path, {"item_id": ITEM, "price_list": [{"model_id": 0}]}))[1]
            == "product.error_param"
        )
        assert (
            err(
                shp.post(
                    path, {"item_id": ITEM, "price_list": [{"model_id": 0, "original_price": "1"}]}
                )
            )[1]
            == "product.error_param"
        )
        assert err(shp.http.post(path, params=shp.common(path), content=b"<xml/>"))[:2] == (
            400,
            "error_param",
        )
        assert fake.price(ITEM) == Decimal("19.90")
        assert fake.writes() == []

    def test_fifty_models(self, shp: Shp, fake: FakeShopee) -> None:
        """Fifty models in one call are fine."""
        fake.add_item(7, models=dict.fromkeys(range(1, 51), (1, 1)))
        assert len(ok(shp.price(7, *[(m, 2) for m in range(1, 51)]))["success_list"]) == 50

    def test_deleted_item(self, shp: Shp, fake: FakeShopee) -> None:
        """A deleted item cannot be changed."""
        fake.add_item(9, models={0: (1, 1)}, status="DELETED")
        assert err(shp.price(9, (0, 2)))[1] == "error_item_not_found"
        assert err(shp.stock(9, (0, 2)))[1] == "error_item_not_found"


class TestUpdateStock:
    def test_sets_seller_stock(self, shp: Shp, fake: FakeShopee) -> None:
        """update_stock sets seller stock per model and lists it in success_list."""
        response = ok(shp.stock(VARIANTS, (1, 0), (2, 40)))
        assert response == {
            "success_list": [{"model_id": 1, "stock": 0}, {"model_id": 2, "stock": 40}],
            "failure_list": [],
        }
        assert (fake.stock(VARIANTS, 1), fake.stock(VARIANTS, 2)) == (0, 40)
        assert fake.stocks[VARIANTS, 2] == 40

    def test_locations(self, shp: Shp, fake: FakeShopee) -> None:
        """Multi-warehouse rows are summed and echoed with their location_id."""
        body = {
            "item_id": ITEM,
            "stock_list": [
                {
                    "model_id": 0,
                    "seller_stock": [
                        {"location_id": "SGA", "stock": 3},
                        {"location_id": "SGB", "stock": 4},
                    ],
                }
            ],
        }
        response = ok(shp.post("/api/v2/product/update_stock", body))
        assert response["success_list"][1] == {"model_id": 0, "location_id": "SGB", "stock": 4}
        assert fake.stock(ITEM) == 7

    def test_failures(self, shp: Shp, fake: FakeShopee) -> None:
        """Per-model failures and bad stock values."""
        fake.faults.fail_models(
            VARIANTS, [1], reason="The stock is below the promotion's reserve."
        )
        response = ok(shp.stock(VARIANTS, (1, 1), (2, 2)))
        assert response["failure_list"][0]["model_id"] == 1
        assert err(shp.stock(ITEM, (0, -1)))[1] == "product.error_param"
        path = "/api/v2/product/update_stock"
        bad = {"item_id": ITEM, "stock_list": [{"model_id": 0, "seller_stock": []}]}
        assert err(shp.post(path, bad))[1] == "product.error_param"
        assert err(shp.stock(ITEM, (0, 1), (0, 2)))[2] == "Repeat model_id."


class TestReads:
    def test_item_base_info(self, shp: Shp) -> None:
        """Items without models carry price_info and stock_info_v2; unknown ids warn [U]."""
        body = shp.get(
            "/api/v2/product/get_item_base_info", item_id_list=f"{ITEM},{VARIANTS},404"
        ).json()
        items = body["response"]["item_list"]
        assert items[0]["price_info"] == [
            {"currency": "SGD", "original_price": 19.9, "current_price": 19.9}
        ]
        assert items[0]["stock_info_v2"]["seller_stock"] == [{"stock": 25}]
        assert items[1] == {"item_id": VARIANTS, "item_status": "NORMAL", "has_model": True}
        assert "404" in body["warning"]

    def test_item_base_info_errors(self, shp: Shp) -> None:
        """No ids, too many ids or non-numbers: product.error_param."""
        path = "/api/v2/product/get_item_base_info"
        assert err(shp.get(path))[1] == "product.error_param"
        assert (
            err(shp.get(path, item_id_list=",".join(str(i) for i in range(1, 52))))[1]
            == "product.error_param"
        )
        assert err(shp.get(path, item_id_list="x"))[1] == "product.error_param"

    def test_model_list(self, shp: Shp) -> None:
        """get_model_list: each model's price and stock; an item without models has none."""
        models = ok(shp.get("/api/v2/product/get_model_list", item_id=VARIANTS))["model"]
        assert [(m["model_id"], m["price_info"][0]["original_price"]) for m in models] == [
            (1, 10),
            (2, 12.5),
        ]
        assert models[1]["stock_info_v2"]["seller_stock"] == [{"stock": 4}]
        assert ok(shp.get("/api/v2/product/get_model_list", item_id=ITEM))["model"] == []
        assert (
            err(shp.get("/api/v2/product/get_model_list", item_id=404))[1]
            == "error_item_not_found"
        )
        assert (
            err(shp.get("/api/v2/product/get_model_list", item_id="x"))[1] == "product.error_param"
        )

    def test_item_snapshot(self, fake: FakeShopee) -> None:
        """fake.item() is a frozen ShopeeItem."""
        item = fake.item(VARIANTS)
        assert isinstance(item, ShopeeItem)
        assert (item.currency, item.has_model, [m.model_id for m in item.models]) == (
            "SGD",
            True,
            [1, 2],
        )
        assert fake.prices[ITEM, 0] == Decimal("19.90")


# -- orders and logistics -------------------------------------------------------------


class TestOrders:
    PATH = "/api/v2/order/get_order_list"

    def window(self, fake: FakeShopee, **extra: Any) -> dict[str, Any]:
        now = int(fake.clock.time())
        return {
            "time_range_field": "create_time",
            "time_from": now - 15 * 86400,
            "time_to": now,
            "page_size": 2,
            **extra,
        }

    def test_pages(self, shp: Shp, fake: FakeShopee, clock: FakeClock) -> None:
        """cursor/next_cursor/more walk the window, oldest first."""
        sns = []
        for _ in range(5):
            sns.append(fake.add_order(items=[(ITEM, 0, 1)]))
            clock.advance(60)
        seen, cursor, more = [], "", True
        while more:
            response = ok(
                shp.get(
                    self.PATH,
                    **self.window(fake, cursor=cursor, response_optional_fields="order_status"),
                )
            )
            seen += [row["order_sn"] for row in response["order_list"]]
            assert all(row["order_status"] == "READY_TO_SHIP" for row in response["order_list"])
            cursor, more = response["next_cursor"], response["more"]
        assert seen == sns
        assert cursor == ""

    def test_filters(self, shp: Shp, fake: FakeShopee, clock: FakeClock) -> None:
        """order_status and the window filter; without the optional field no status shows."""
        old = fake.add_order(items=[(ITEM, 0, 1)], created=clock.time() - 20 * DAY)
        paid = fake.add_order(items=[(ITEM, 0, 1)])
        unpaid = fake.add_order(items=[(ITEM, 0, 1)], status="UNPAID")
        rows = ok(shp.get(self.PATH, **self.window(fake, page_size=100)))["order_list"]
        assert rows == [{"order_sn": paid}, {"order_sn": unpaid}]
        rows = ok(shp.get(self.PATH, **self.window(fake, order_status="UNPAID")))["order_list"]
        assert rows == [{"order_sn": unpaid}]
        assert old not in str(rows)

    def test_bad_parameters(self, shp: Shp, fake: FakeShopee) -> None:
        """16 days, a reversed range, page_size 0 or 101, an unknown status or field."""
        now = int(fake.clock.time())
        too_long = self.window(fake, time_from=now - 15 * 86400 - 1)
        assert err(shp.get(self.PATH, **too_long)) == (
            200,
            "order.order_list_invalid_time",
            "Start time must be earlier than end time and diff in 15days.",
        )
        assert (
            err(shp.get(self.PATH, **self.window(fake, time_from=now, time_to=now - 1)))[1]
            == "order.order_list_invalid_time"
        )
        assert err(shp.get(self.PATH, **self.window(fake, page_size=101)))[1] == "error_param"
        assert err(shp.get(self.PATH, **self.window(fake, page_size=0)))[1] == "error_param"
        assert (
            err(shp.get(self.PATH, **self.window(fake, order_status="LOST")))[1] == "error_param"
        )
        assert (
            err(shp.get(self.PATH, **self.window(fake, time_range_field="pay_time")))[1]
            == "error_param"
        )

    def test_detail(self, shp: Shp, fake: FakeShopee) -> None:
        """Default fields always; item_list, package_list and total_amount on request."""
        sn = fake.add_order(items=[(VARIANTS, 2, 3)])
        path = "/api/v2/order/get_order_detail"
        row = ok(shp.get(path, order_sn_list=sn))["order_list"][0]
        assert (row["order_sn"], row["currency"], row["order_status"]) == (
            sn,
            "SGD",
            "READY_TO_SHIP",
        )
        assert "item_list" not in row
        fields = "item_list,package_list,total_amount,recipient_address,pay_time"
        row = ok(shp.get(path, order_sn_list=sn, response_optional_fields=fields))["order_list"][0]
        assert row["item_list"][0]["model_quantity_purchased"] == 3
        assert row["total_amount"] == 37.5
        assert row["package_list"][0]["logistics_status"] == "LOGISTICS_NOT_START"

    def test_detail_errors(self, shp: Shp, fake: FakeShopee) -> None:
        """51 numbers are error_param; an unknown one error_not_found."""
        path = "/api/v2/order/get_order_detail"
        sn = fake.add_order(items=[(ITEM, 0, 1)])
        assert err(shp.get(path, order_sn_list=",".join([sn] * 51)))[1] == "error_param"
        assert err(shp.get(path, order_sn_list=f"{sn},NOPE")) == (
            200,
            "error_not_found",
            "Wrong parameters, detail: the order is not found.",
        )
        other = Shp(fake, fake.add_shop())
        assert err(other.get(path, order_sn_list=sn))[1] == "error_not_found"

    def test_order_snapshot_and_seeding(self, fake: FakeShopee) -> None:
        """fake.order() is a frozen ShopeeOrder; bad seeding is InvalidArgumentError."""
        sn = fake.add_order(items=[(VARIANTS, 1, 2)], order_sn="260101ABCDEFGH")
        order = fake.order(sn)
        assert isinstance(order, ShopeeOrder)
        assert (order.status, order.items[0].price, order.tracking_number) == (
            "READY_TO_SHIP",
            Decimal(10),
            "",
        )
        assert fake.orders == [order]
        for bad in (
            {"items": []},
            {"items": [(404, 0, 1)]},
            {"items": [(ITEM, 0, 1)], "status": "X"},
            {"items": [(ITEM, 0, 1)], "channel": "x"},
            {"items": [(ITEM, 0, 1)], "order_sn": sn},
        ):
            with pytest.raises(InvalidArgumentError):
                fake.add_order(**bad)
        with pytest.raises(InvalidArgumentError):
            fake.order("NOPE")
        with pytest.raises(InvalidArgumentError):
            fake.set_order_status(sn, "X")

    def test_seeded_ids(self) -> None:
        """The same seed gives the same partner, shop and order numbers."""
        made = []
        for _ in range(2):
            fake = FakeShopee(clock=FakeClock(), seed=7)
            fake.add_item(1, models={0: (1, 1)})
            made.append((fake.partner_id, fake.shop_id, fake.add_order(items=[(1, 0, 1)])))
        assert made[0] == made[1]
        assert made[0][2].startswith("260101")


class TestShipping:
    def test_pickup_flow(self, shp: Shp, fake: FakeShopee, clock: FakeClock) -> None:
        """Parameters, ship_order (no response object), PROCESSED, tracking after the delay."""
        sn = fake.add_order(items=[(ITEM, 0, 1)])
        params = ok(shp.get("/api/v2/logistics/get_shipping_parameter", order_sn=sn))
        assert params["info_needed"] == {"pickup": ["address_id", "pickup_time_id"]}
        address = params["pickup"]["address_list"][0]
        slot = address["time_slot_list"][0]["pickup_time_id"]
        answer = shp.ship(sn, pickup={"address_id": address["address_id"], "pickup_time_id": slot})
        assert ok(answer) is None
        assert "response" not in answer.json()
        assert fake.order(sn).status == "PROCESSED"
        tracking = "/api/v2/logistics/get_tracking_number"
        assert ok(shp.get(tracking, order_sn=sn))["tracking_number"] == ""
        clock.advance(fake.tracking_delay)
        number = ok(shp.get(tracking, order_sn=sn))["tracking_number"]
        assert number
        assert fake.order(sn).tracking_number == number

    def test_repeat_is_already_shipped(self, shp: Shp, fake: FakeShopee) -> None:
        """A second ship_order answers logistics.package_already_shipped and changes nothing."""
        sn = fake.add_order(items=[(ITEM, 0, 1)])
        ok(shp.ship(sn, **PICKUP))
        assert err(shp.ship(sn, **PICKUP))[:2] == (200, "logistics.package_already_shipped")
        assert (
            err(shp.get("/api/v2/logistics/get_shipping_parameter", order_sn=sn))[1]
            == "logistics.package_already_shipped"
        )
        assert len(fake.writes("ship_order")) == 1
        fake.assert_no_duplicate_writes()

    def test_other_channels(self, shp: Shp, fake: FakeShopee) -> None:
        """dropoff takes an empty object; non_integrated gives its tracking number at once."""
        drop = fake.add_order(items=[(ITEM, 0, 1)], channel="dropoff")
        assert "dropoff" in ok(shp.get("/api/v2/logistics/get_shipping_parameter", order_sn=drop))
        ok(shp.ship(drop, dropoff={}))
        own = fake.add_order(items=[(ITEM, 0, 1)], channel="non_integrated")
        ok(shp.ship(own, non_integrated={"tracking_number": "TN1"}))
        assert (
            ok(shp.get("/api/v2/logistics/get_tracking_number", order_sn=own))["tracking_number"]
            == "TN1"
        )

    def test_ship_errors(self, shp: Shp, fake: FakeShopee) -> None:
        """Wrong or several objects, bad pickup, unready, finalised, unknown orders."""
        sn = fake.add_order(items=[(ITEM, 0, 1)])
        assert err(shp.ship(sn))[1] == "logistics.error_param"
        assert err(shp.ship(sn, dropoff={}))[1] == "logistics.error_param"
        assert err(shp.ship(sn, dropoff={}, **PICKUP))[1] == "logistics.error_param"
        assert (
            err(shp.ship(sn, pickup={"address_id": 1, "pickup_time_id": "x"}))[1]
            == "logistics.error_param"
        )
        assert err(shp.ship(sn, package_number="X", **PICKUP))[1] == "logistics.package_not_exist"
        own = fake.add_order(items=[(ITEM, 0, 1)], channel="non_integrated")
        assert err(shp.ship(own, non_integrated={}))[1] == "logistics.error_param"
        unpaid = fake.add_order(items=[(ITEM, 0, 1)], status="UNPAID")
        assert err(shp.ship(unpaid, **PICKUP)) == (
            200,
            "logistics.error_param",
            "The order status is not ready to ship.",
        )
        fake.set_order_status(unpaid, "CANCELLED")
        assert err(shp.ship(unpaid, **PICKUP))[1] == "logistics.order_finalized"
        assert err(shp.ship("NOPE", **PICKUP))[1] == "error_not_found"
        assert err(shp.post("/api/v2/logistics/ship_order", {}))[1] == "logistics.error_param"
        assert (
            err(shp.get("/api/v2/logistics/get_tracking_number", order_sn="NOPE"))[1]
            == "error_not_found"
        )
        assert fake.writes() == []

    def test_retry_ship(self, shp: Shp, fake: FakeShopee) -> None:
        """After a failed pickup (RETRY_SHIP) the order ships again; the log shows both."""
        sn = fake.add_order(items=[(ITEM, 0, 1)])
        ok(shp.ship(sn, **PICKUP))
        fake.set_order_status(sn, "RETRY_SHIP")
        ok(shp.ship(sn, **PICKUP))
        with pytest.raises(AssertionError, match=f"ship_order {sn}: applied 2 times"):
            fake.assert_no_duplicate_writes()


# -- faults ---------------------------------------------------------------------------


class TestFaults:
    def test_ambiguous_ship(self, shp: Shp, fake: FakeShopee) -> None:
        """ambiguous_next: shipped, answer lost; the retry reads already shipped."""
        sn = fake.add_order(items=[(ITEM, 0, 1)])
        fake.faults.ambiguous_next("ship_order")
        with pytest.raises(httpx.ReadTimeout):
            shp.ship(sn, **PICKUP)
        assert fake.order(sn).status == "PROCESSED"
        assert err(shp.ship(sn, **PICKUP))[1] == "logistics.package_already_shipped"
        assert [c.lost for c in fake.writes("ship_order")] == [True]

    def test_garbage(self, shp: Shp, fake: FakeShopee) -> None:
        """garbage_next: a 502 HTML page, nothing applied."""
        fake.faults.garbage_next("update_price")
        answer = shp.price(ITEM, (0, 5))
        assert answer.status_code == 502
        assert answer.headers["content-type"] == "text/html"
        with pytest.raises(json.JSONDecodeError):
            answer.json()
        assert fake.price(ITEM) == Decimal("19.90")

    def test_hollow_answers(self, shp: Shp, fake: FakeShopee) -> None:
        """hollow_next: processed, answered 200 with neither error nor response (nor tokens)."""
        fake.faults.hollow_next("get_model_list")
        fake.faults.hollow_next("access_token_get")
        body = shp.get("/api/v2/product/get_model_list", item_id=VARIANTS).json()
        assert set(body) == {"request_id", "error", "message"}
        body = shp.refresh(fake.credentials.refresh_token).json()
        assert "refresh_token" not in body
        assert body["error"] == ""
        assert fake.refresh_token_state(fake.credentials.refresh_token) == "spent"
        assert ok(shp.get("/api/v2/product/get_model_list", item_id=VARIANTS))["model"]

    def test_outage(self, shp: Shp, fake: FakeShopee, clock: FakeClock) -> None:
        """An outage answers 503 with an empty body, then ends."""
        fake.faults.outage(clock.time(), clock.time() + 60)
        answer = shp.get("/api/v2/shop/get_shop_info")
        assert (answer.status_code, answer.content) == (503, b"")
        clock.advance(60)
        ok(shp.get("/api/v2/shop/get_shop_info"))

    def test_error_rate(self, shp: Shp, fake: FakeShopee) -> None:
        """error_rate 1: every call is 500 error_server."""
        fake.faults.error_rate = 1.0
        assert err(shp.get("/api/v2/shop/get_shop_info")) == (
            500,
            "error_server",
            "Something wrong. Please try later.",
        )

    def test_latency(self, shp: Shp, fake: FakeShopee, clock: FakeClock) -> None:
        """latency advances the fake clock."""
        fake.faults.latency = 2.5
        before = clock.time()
        ok(shp.get("/api/v2/shop/get_shop_info"))
        assert clock.time() == before + 2.5

    def test_repr_and_bad_arguments(self, fake: FakeShopee) -> None:
        """The faults' repr shows what is set; bad arguments are InvalidArgumentError."""
        fake.faults.reject_valid_signatures = True
        fake.faults.fail_models(ITEM, [0])
        assert "reject_valid_signatures=True" in repr(fake.faults)
        assert "failing_models=1" in repr(fake.faults)
        with pytest.raises(InvalidArgumentError):
            fake.faults.fail_models(ITEM, [0], reason="")
        with pytest.raises(UnknownOperationError):
            fake.faults.ambiguous_next("updatePrice")


# -- inspection -----------------------------------------------------------------------


class TestInspection:
    def test_duplicate_price_writes(self, shp: Shp, fake: FakeShopee) -> None:
        """The same body applied twice in a row is a duplicate; A, B, A is not."""
        ok(shp.price(ITEM, (0, 5)))
        ok(shp.price(ITEM, (0, 6)))
        ok(shp.price(ITEM, (0, 5)))
        fake.assert_no_duplicate_writes()
        ok(shp.price(ITEM, (0, 5)))
        with pytest.raises(
            AssertionError, match="update_price item 800123456: the same body again"
        ):
            fake.assert_no_duplicate_writes()

    def test_calls_and_writes(self, shp: Shp, fake: FakeShopee) -> None:
        """calls logs everything; writes() only what changed state; reset_calls forgets."""
        ok(shp.stock(ITEM, (0, 1)))
        shp.get("/api/v2/shop/get_shop_info")
        calls = fake.calls
        assert all(isinstance(c, Call) for c in calls)
        assert [c.operation for c in calls] == ["update_stock", "get_shop_info"]
        assert calls[0].json == {
            "item_id": ITEM,
            "stock_list": [{"model_id": 0, "seller_stock": [{"stock": 1}]}],
        }
        assert (calls[0].seller_id, calls[0].client_id) == (
            str(fake.shop_id),
            str(fake.partner_id),
        )
        assert [c.operation for c in fake.writes()] == ["update_stock"]
        with pytest.raises(UnknownOperationError):
            fake.writes("updateStock")
        fake.reset_calls()
        assert fake.calls == []

    def test_seeding_errors(self, fake: FakeShopee) -> None:
        """Bad items, regions, shops and models are InvalidArgumentError."""
        for kwargs in (
            {"models": {}},
            {"models": {0: (1, 1), 1: (1, 1)}},
            {"models": {0: (1.5, 1)}},
            {"models": {0: (1, -1)}},
            {"models": {0: 1}},
            {"models": {0: (1, 1)}, "region": "US"},
            {"models": {0: (1, 1)}, "status": "GONE"},
            {"models": {0: (1, 1)}, "shop_id": 1},
        ):
            with pytest.raises(InvalidArgumentError):
                fake.add_item(1, **kwargs)
        with pytest.raises(InvalidArgumentError):
            FakeShopee(region="XX")
        with pytest.raises(InvalidArgumentError):
            fake.price(ITEM, 3)
        with pytest.raises(InvalidArgumentError):
            fake.item(404)
        with pytest.raises(InvalidArgumentError):
            fake.tracking_delay = -1


# -- routing, the table, the real server ----------------------------------------------

# WIRE.md 2-4 and 6, written out here on their own; the three [U] reads are spec D's.
PUBLISHED: dict[str, tuple[str, str]] = {
    "auth_partner": ("GET", "/api/v2/shop/auth_partner"),
    "token_get": ("POST", "/api/v2/auth/token/get"),
    "access_token_get": ("POST", "/api/v2/auth/access_token/get"),
    "get_shop_info": ("GET", "/api/v2/shop/get_shop_info"),
    "update_price": ("POST", "/api/v2/product/update_price"),
    "update_stock": ("POST", "/api/v2/product/update_stock"),
    "get_item_base_info": ("GET", "/api/v2/product/get_item_base_info"),  # spec D [U]
    "get_model_list": ("GET", "/api/v2/product/get_model_list"),  # spec D [U]
    "get_order_list": ("GET", "/api/v2/order/get_order_list"),
    "get_order_detail": ("GET", "/api/v2/order/get_order_detail"),
    "get_shipping_parameter": ("GET", "/api/v2/logistics/get_shipping_parameter"),
    "ship_order": ("POST", "/api/v2/logistics/ship_order"),
    "get_tracking_number": ("GET", "/api/v2/logistics/get_tracking_number"),
}
PUBLIC_APIS = {"auth_partner", "token_get", "access_token_get"}


class TestRouting:
    def test_table_is_the_published_one(self) -> None:
        """The route table is WIRE.md's: operations, methods, paths, public or shop signing."""
        assert {n: (r.method, r.path) for n, r in ROUTES.items()} == PUBLISHED
        assert {n for n, r in ROUTES.items() if r.kind == "public"} == PUBLIC_APIS

    @pytest.mark.parametrize("operation", sorted(PUBLISHED))
    def test_published_path_reaches_the_operation(self, operation: str) -> None:
        """A request on the published method and path is routed to the operation."""
        method, path = PUBLISHED[operation]
        assert route(method, path + "?partner_id=1") == (operation, {}, True)

    def test_every_route_has_a_handler(self) -> None:
        """The fake answers exactly the operations of its table."""
        assert set(HANDLERS) | GATEWAY_OPERATIONS == set(ROUTES)

    @pytest.mark.parametrize("file", fake_modules(fake_package), ids=lambda p: p.name)
    def test_no_adapter_tables_imported(self, file: Path) -> None:
        """The fake (and what it shares with the other fakes) imports nothing from the adapters."""
        assert {n for n in imported(file) if n.startswith("safe_release.adapters")} == set()

    def test_unknown_path_and_method(self, shp: Shp, fake: FakeShopee) -> None:
        """Unknown paths are 404 error_not_found; a known path with another method 405."""
        assert err(shp.http.get("/api/v2/product/delete_item"))[:2] == (404, "error_not_found")
        assert shp.http.get("/api/v2/product/update_price").status_code == 405
        assert fake.calls[-1].operation == "unknown"


class TestTransports:
    def test_async_transport(self, fake: FakeShopee) -> None:
        """The async transport answers the same way."""
        shp = Shp(fake)
        path = "/api/v2/shop/get_shop_info"
        query = shp.common(path)

        async def run() -> str:
            async with httpx.AsyncClient(transport=fake.async_transport, base_url=BASE) as client:
                response = await client.get(path, params=query)
                return str(response.json()["error"])

        assert asyncio.run(run()) == ""

    def test_serve_on_loopback(self, fake: FakeShopee) -> None:
        """serve(): a real HTTP server on 127.0.0.1 speaks the same wire, lost answers too."""
        sn = fake.add_order(items=[(ITEM, 0, 1)])
        with fake.serve() as base_url, httpx.Client(base_url=base_url, timeout=10) as http:
            assert base_url.startswith("http://127.0.0.1:")
            shp = Shp(fake, http=http)
            ok(shp.price(ITEM, (0, 25)))
            assert (
                err(
                    shp.get(
                        "/api/v2/shop/get_shop_info",
                        common=shp.common("/api/v2/shop/get_shop_info", skew=400),
                    )
                )[2]
                == "Invalid timestamp"
            )
            fake.faults.lose_refresh_answer()
            with pytest.raises(httpx.RemoteProtocolError):
                shp.refresh(fake.credentials.refresh_token)
            ok(shp.ship(sn, **PICKUP))
        assert fake.price(ITEM) == 25
        assert fake.refresh_token_state(fake.credentials.refresh_token) == "spent"
        assert fake.order(sn).status == "PROCESSED"

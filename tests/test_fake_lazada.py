"""FakeLazada: signing, timestamps, tokens, throttling, shutdowns, products, orders, faults.

Every test talks to the fake over httpx with its transport (one through ``serve()``),
as a Lazada client would, on a `FakeClock`. Requests are signed here with a signer
of the tests' own, and the WIRE.md test vectors are pinned against both it and the
fake's.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
from datetime import datetime, timezone
from decimal import Decimal
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

import safe_release.testing._lazada as fake_package
from safe_release.exceptions import InvalidArgumentError, UnknownOperationError
from safe_release.testing import (
    FakeClock,
    FakeLazada,
    FakeLazadaCredentials,
    LazadaOrder,
    LazadaSku,
)
from safe_release.testing._lazada._lzd_gateway import HANDLERS
from safe_release.testing._lazada._lzd_routes import AUTH_OPERATIONS, ROUTES, operation_for
from safe_release.testing._lazada._lzd_sign import signature, string_to_sign
from tests.fakes_util import fake_modules, imported

ROOT = Path(__file__).resolve().parent.parent
WIRE = Path(
    os.environ.get("SAFE_RELEASE_LAZADA_WIRE")
    or ROOT.parent / "shared" / "reference" / "lazada" / "WIRE.md"
)
DAY = 86400.0
OFFICIAL = {
    "app_key": "123456",
    "access_token": "test",
    "timestamp": "1517820392000",
    "sign_method": "sha256",
}
REFRESH_VECTOR = "500016000300bwa2WteaQyfwBMnPxurcA0mXGhQdTt18356663CfcDTYpWoi"
PAYLOAD = (
    "<Request><Product><Skus><Sku><ItemId>234234234</ItemId><SkuId>234</SkuId>"
    "<SellerSku>Apple-SG-Glod-64G</SellerSku><Price>1099.00</Price><SalePrice>900.00</SalePrice>"
    "<Quantity>20</Quantity></Sku></Skus></Product></Request>"
)


def own_sign(secret: str, path: str, params: dict[str, str]) -> str:
    """The tests' own signer: WIRE.md section 3, written out step by step."""
    kept = {k: v for k, v in params.items() if k != "sign" and v != ""}
    text = path + "".join(f"{k}{kept[k]}" for k in sorted(kept))
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest().upper()


def sku_xml(*skus: dict[str, object]) -> str:
    """A price_quantity/update payload with one <Sku> per dict."""
    body = "".join(
        "<Sku>" + "".join(f"<{k}>{v}</{k}>" for k, v in sku.items()) + "</Sku>" for sku in skus
    )
    return f"<Request><Product><Skus>{body}</Skus></Product></Request>"


class Lzd:
    """A minimal Lazada client: signs every call with the fake's app secret."""

    def __init__(self, fake: FakeLazada, *, http: httpx.Client | None = None) -> None:
        self.fake = fake
        self.creds: FakeLazadaCredentials = fake.credentials
        self.http = http or httpx.Client(
            transport=fake.transport, base_url="https://api.lazada.sg/rest"
        )

    def params(
        self,
        path: str,
        business: dict[str, str] | None = None,
        *,
        token: str | None = "",
        timestamp: str | None = None,
    ) -> dict[str, str]:
        params = {
            "app_key": self.creds.app_key,
            "timestamp": timestamp or str(int(self.fake.clock.time() * 1000)),
            "sign_method": "sha256",
            **(business or {}),
        }
        access = self.creds.access_token if token == "" else token
        if access is not None and path not in {"/auth/token/create", "/auth/token/refresh"}:
            params["access_token"] = access
        params["sign"] = own_sign(self.creds.app_secret, path, params)
        return params

    def raw(
        self,
        path: str,
        business: dict[str, str] | None = None,
        *,
        method: str = "GET",
        **options: Any,
    ) -> httpx.Response:
        params = options.pop("sent", None) or self.params(path, business, **options)
        if method == "GET":
            return self.http.get(path, params=params)
        return self.http.post(path, data=params)

    def call(
        self, path: str, business: dict[str, str] | None = None, **options: Any
    ) -> dict[str, Any]:
        response = self.raw(path, business, **options)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def refresh(self, refresh_token: str) -> dict[str, Any]:
        return self.call("/auth/token/refresh", {"refresh_token": refresh_token}, method="POST")

    def update(self, payload: str) -> dict[str, Any]:
        return self.call("/product/price_quantity/update", {"payload": payload}, method="POST")

    def pack(self, order_id: int, item_ids: list[int], **extra: Any) -> dict[str, Any]:
        req = {
            "pack_order_list": [{"order_id": order_id, "order_item_list": item_ids}],
            "delivery_type": "dropship",
            "shipping_allocate_type": "TFS",
            **extra,
        }
        return self.call("/order/fulfill/pack", {"packReq": json.dumps(req)}, method="POST")

    def rts(self, *package_ids: str) -> dict[str, Any]:
        req = {"packages": [{"package_id": p} for p in package_ids]}
        return self.call("/order/package/rts", {"readyToShipReq": json.dumps(req)}, method="POST")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fake(clock: FakeClock) -> FakeLazada:
    fake = FakeLazada(clock=clock, seed=7)
    fake.add_sku("SKU-1", item_id=1001, sku_id=11, price="19.90", quantity=5)
    fake.add_sku("SKU-2", item_id=1001, sku_id=12, price="29.90", quantity=3, sale_price="25.00")
    fake.add_sku("SKU-3", item_id=1002, sku_id=21, price="9.00", quantity=0)
    return fake


@pytest.fixture
def lz(fake: FakeLazada) -> Lzd:
    return Lzd(fake)


def code(body: dict[str, Any]) -> str:
    """The envelope's code; asserts the failure shape when it is not "0"."""
    if body["code"] != "0":
        assert set(body) == {"type", "code", "message", "request_id"}, body
        assert body["type"] in {"ISV", "ISP", "SYSTEM"}
    return str(body["code"])


def packed_order(fake: FakeLazada, lz: Lzd, units: int = 2) -> tuple[int, list[int], str]:
    """An order packed in one package: (order id, item ids, package id)."""
    order_id = fake.add_order(lines=[("SKU-1", units)])
    items = [i.order_item_id for i in fake.items(order_id)]
    result = lz.pack(order_id, items)["result"]
    package = result["data"]["pack_order_list"][0]["order_item_list"][0]["package_id"]
    return order_id, items, package


# -- signing ------------------------------------------------------------------------


class TestSigning:
    def test_official_vector(self) -> None:
        """Lazada's own example (WIRE.md 3) reproduces with the fake's and the tests' signers."""
        params = {**OFFICIAL, "order_id": "1234"}
        assert string_to_sign("/order/get", params) == (
            "/order/getaccess_tokentestapp_key123456order_id1234sign_methodsha256"
            "timestamp1517820392000"
        )
        expected = "4190D32361CFB9581350222F345CB77F3B19F0E31D162316848A2C1FFD5FAB4A"
        assert signature("helloworld", "/order/get", params) == expected
        assert own_sign("helloworld", "/order/get", params) == expected

    @pytest.mark.parametrize(
        ("path", "extra", "expected"),
        [
            (
                "/product/price_quantity/update",
                {"payload": PAYLOAD},
                "A00ED3A01E76BEB5333C080AD750246AA55D5719B5F463EBB499103471C39411",
            ),
            (
                "/order/package/rts",
                {"readyToShipReq": '{"packages":[{"package_id":"FP038524014"}]}'},
                "D2D17306AAAF25AE9C3FE4C29F6BA2AA49EB6C1CEAF18FC913AD1E62ABA5D329",
            ),
        ],
        ids=["price_quantity", "package_rts"],
    )
    def test_our_vectors(self, path: str, extra: dict[str, str], expected: str) -> None:
        """WIRE.md's own vectors, with the official system parameters."""
        params = {**OFFICIAL, **extra}
        assert signature("helloworld", path, params) == expected
        assert own_sign("helloworld", path, params) == expected

    def test_refresh_vector(self) -> None:
        """The refresh vector: no access_token among the parameters."""
        params = {k: v for k, v in OFFICIAL.items() if k != "access_token"}
        params["refresh_token"] = REFRESH_VECTOR
        expected = "C108E127E2A0E5DBDAC5A4A4A89561589247CCBFE131064C219B85CE4E3E5D3A"
        assert signature("helloworld", "/auth/token/refresh", params) == expected

    def test_sign_and_empty_values_are_not_signed(self) -> None:
        """``sign`` and empty values are left out of the string to sign; names sort by bytes."""
        params = {**OFFICIAL, "sign": "X", "empty": "", "Zeta": "1"}
        assert string_to_sign("/p", params) == (
            "/pZeta1access_tokentestapp_key123456sign_methodsha256timestamp1517820392000"
        )

    def test_a_signed_call_is_answered(self, lz: Lzd) -> None:
        """A correctly signed call gets ``code`` "0", HTTP 200 and the fake clock's Date."""
        response = lz.raw("/seller/get")
        assert response.status_code == 200
        body = response.json()
        assert code(body) == "0"
        assert body["data"]["seller_id"] == lz.creds.seller_id
        assert len(body["request_id"]) == 25
        date = parsedate_to_datetime(response.headers["date"])
        assert date.timestamp() == int(lz.fake.clock.time())

    def test_post_form_parameters_are_signed(self, lz: Lzd) -> None:
        """A POST's form fields take part in the signature like query parameters."""
        assert code(lz.update(sku_xml({"SellerSku": "SKU-1", "Quantity": 7}))) == "0"
        assert lz.fake.quantity("SKU-1") == 7

    def test_multipart_fields_are_signed_files_are_not(self, lz: Lzd) -> None:
        """A multipart POST: its fields are signed, its file parts are not."""
        path = "/product/price_quantity/update"
        payload = sku_xml({"SellerSku": "SKU-1", "Quantity": 8})
        params = lz.params(path, {"payload": payload})
        response = lz.http.post(
            path, data=params, files={"image": ("a.png", b"\x89PNG", "image/png")}
        )
        assert code(response.json()) == "0"
        assert lz.fake.quantity("SKU-1") == 8

    def test_empty_parameter_is_skipped(self, lz: Lzd) -> None:
        """An empty-valued parameter is not part of the signature (Java/C# SDKs)."""
        body = lz.call("/orders/get", {"created_after": "2025-01-01T00:00:00+08:00", "status": ""})
        assert code(body) == "0"

    def test_wrong_signature(self, lz: Lzd) -> None:
        """A wrong, lower-case or foreign-secret signature is IncompleteSignature."""
        params = lz.params("/seller/get")
        for bad in ("0" * 64, params["sign"].lower(), own_sign("other", "/seller/get", params)):
            body = lz.call("/seller/get", sent={**params, "sign": bad})
            assert code(body) == "IncompleteSignature"
            assert body["message"] == "The request signature does not conform to lazop standards"
        tampered = {**params, "access_token": params["access_token"] + "x"}
        assert code(lz.call("/seller/get", sent=tampered)) == "IncompleteSignature"
        wrong_path = lz.params("/orders/get")
        assert code(lz.call("/seller/get", sent=wrong_path)) == "IncompleteSignature"
        assert code(lz.call("/seller/get", sent={**params, "sign": "é"})) == "IncompleteSignature"

    def test_sign_method_must_be_sha256(self, lz: Lzd) -> None:
        params = lz.params("/seller/get")
        params["sign_method"] = "md5"
        params["sign"] = own_sign(lz.creds.app_secret, "/seller/get", params)
        assert code(lz.call("/seller/get", sent=params)) == "IncompleteSignature"

    @pytest.mark.parametrize("name", ["sign", "app_key", "timestamp", "sign_method"])
    def test_missing_system_parameter(self, lz: Lzd, name: str) -> None:
        """A missing system parameter is MissingParameter naming it."""
        params = lz.params("/seller/get")
        del params[name]
        body = lz.call("/seller/get", sent=params)
        assert code(body) == "MissingParameter"
        assert f"\u201c{name}\u201d" in body["message"]

    def test_unknown_app_key(self, lz: Lzd) -> None:
        params = lz.params("/seller/get")
        params["app_key"] = "999"
        assert code(lz.call("/seller/get", sent=params)) == "InvalidAppKey"

    def test_reject_valid_signatures(self, lz: Lzd) -> None:
        """The fault rejects the next correct signatures, then lets them through."""
        lz.fake.faults.reject_valid_signatures(times=2)
        assert [code(lz.call("/seller/get")) for _ in range(3)] == [
            "IncompleteSignature",
            "IncompleteSignature",
            "0",
        ]
        with pytest.raises(InvalidArgumentError):
            lz.fake.faults.reject_valid_signatures(times=0)


class TestTimestamp:
    def test_milliseconds_and_iso(self, lz: Lzd, clock: FakeClock) -> None:
        """Epoch milliseconds and ISO 8601 (Z, offset, naive as UTC) are accepted."""
        now = datetime.fromtimestamp(clock.time(), timezone.utc)
        for stamp in (
            now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            now.astimezone().isoformat(),
            now.strftime("%Y-%m-%dT%H:%M:%S"),
            str(int((clock.time() - 7199) * 1000)),
            str(int((clock.time() + 7199) * 1000)),
        ):
            assert code(lz.call("/seller/get", timestamp=stamp)) == "0", stamp

    @pytest.mark.parametrize("offset", [-7201, 7201])
    def test_outside_the_window(self, lz: Lzd, clock: FakeClock, offset: int) -> None:
        """More than 7200 s away from the fake clock is rejected."""
        stamp = str(int((clock.time() + offset) * 1000))
        assert code(lz.call("/seller/get", timestamp=stamp)) == "InvalidTimestamp"

    @pytest.mark.parametrize("stamp", ["soon", "151782039200", "1517820392000000", "2026-13-01"])
    def test_garbage(self, lz: Lzd, stamp: str) -> None:
        assert code(lz.call("/seller/get", timestamp=stamp)) == "InvalidTimestamp"

    def test_the_clock_moves_the_window(self, lz: Lzd, clock: FakeClock) -> None:
        stamp = str(int(clock.time() * 1000))
        clock.advance(7201)
        assert code(lz.call("/seller/get", timestamp=stamp)) == "InvalidTimestamp"


# -- tokens -------------------------------------------------------------------------


class TestTokens:
    def test_missing_and_invalid_access_token(self, lz: Lzd) -> None:
        body = lz.call("/seller/get", token=None)
        assert code(body) == "MissingParameter"
        assert "access_token" in body["message"]
        body = lz.call("/seller/get", token="nope")  # noqa: S106 - not a secret
        assert code(body) == "IllegalAccessToken"
        assert body["message"] == "The specified access token is invalid or expired"
        assert body["type"] == "ISV"

    @pytest.mark.parametrize(
        ("status", "access", "refresh"), [("online", 30, 180), ("test", 7, 30)]
    )
    def test_lifetimes_by_app_status(self, status: str, access: int, refresh: int) -> None:
        """The access token expires after 30 d (online) or 7 d (test) of the fake clock."""
        clock = FakeClock()
        fake = FakeLazada(clock=clock, app_status=status)
        lz = Lzd(fake)
        creds = fake.credentials
        assert creds.access_expires_at == clock.time() + access * DAY
        assert creds.refresh_expires_at == clock.time() + refresh * DAY
        clock.advance(access * DAY - 1)
        assert code(lz.call("/seller/get")) == "0"
        clock.advance(1)
        assert code(lz.call("/seller/get")) == "IllegalAccessToken"

    def test_create(self, lz: Lzd, clock: FakeClock) -> None:
        """A code gives a pair at the top level with ``country_user_info``; once only."""
        auth = lz.fake.authorization_code()
        body = lz.call("/auth/token/create", {"code": auth}, method="POST")
        assert code(body) == "0"
        assert "data" not in body
        assert body["expires_in"] == 30 * DAY
        assert body["refresh_expires_in"] == 180 * DAY
        assert body["country"] == "sg"
        assert body["country_user_info"][0]["seller_id"] == lz.creds.seller_id
        assert "country_user_info_list" not in body
        assert lz.fake.tokens_issued == 1
        assert code(lz.call("/seller/get", token=body["access_token"])) == "0"
        again = lz.call("/auth/token/create", {"code": auth})
        assert code(again) == "InvalidCode"
        assert again["message"] == "Invalid authorization code"
        late = lz.fake.authorization_code()
        clock.advance(1801)
        assert code(lz.call("/auth/token/create", {"code": late})) == "InvalidCode"
        assert code(lz.call("/auth/token/create")) == "MissingParameter"

    def test_refresh_rotates_without_extending(self, lz: Lzd, clock: FakeClock) -> None:
        """A refresh returns a new pair; the refresh deadline keeps counting down."""
        clock.advance(10 * DAY)
        body = lz.refresh(lz.creds.refresh_token)
        assert code(body) == "0"
        assert body["refresh_expires_in"] == 170 * DAY
        assert body["expires_in"] == 30 * DAY
        assert "country_user_info_list" in body
        assert "country_user_info" not in body
        assert body["refresh_token"] != lz.creds.refresh_token
        clock.advance(160 * DAY)
        second = lz.refresh(body["refresh_token"])
        assert second["refresh_expires_in"] == 10 * DAY
        assert second["expires_in"] == 10 * DAY  # never past the refresh deadline
        clock.advance(10 * DAY)
        expired = lz.refresh(second["refresh_token"])
        assert code(expired) == "IllegalRefreshToken"
        assert expired["message"] == "The specified refresh token is invalid or expired"
        assert lz.fake.tokens_issued == 2

    def test_refresh_token_is_single_use(self, lz: Lzd) -> None:
        """Replaying a spent refresh token is IllegalRefreshToken; the newest one works."""
        first = lz.refresh(lz.creds.refresh_token)
        assert code(lz.refresh(lz.creds.refresh_token)) == "IllegalRefreshToken"
        assert code(lz.refresh(first["refresh_token"])) == "0"
        assert code(lz.refresh("bogus")) == "IllegalRefreshToken"
        assert code(lz.call("/auth/token/refresh", method="POST")) == "MissingParameter"

    def test_test_app_refresh(self) -> None:
        clock = FakeClock()
        lz = Lzd(FakeLazada(clock=clock, app_status="test"))
        body = lz.refresh(lz.creds.refresh_token)
        assert (body["expires_in"], body["refresh_expires_in"]) == (7 * DAY, 30 * DAY)

    def test_numbers_as_strings(self, lz: Lzd) -> None:
        lz.fake.faults.numbers_as_strings = True
        body = lz.refresh(lz.creds.refresh_token)
        assert body["expires_in"] == str(30 * 86400)
        assert body["refresh_expires_in"] == str(180 * 86400)

    def test_lost_refresh_answer(self, lz: Lzd) -> None:
        """The refresh is applied (the old token is spent) but the client hears nothing."""
        lz.fake.faults.lose_refresh_answer()
        with pytest.raises(httpx.ReadTimeout):
            lz.refresh(lz.creds.refresh_token)
        assert lz.fake.tokens_issued == 1
        assert lz.fake.writes("token_refresh")[0].lost
        assert code(lz.refresh(lz.creds.refresh_token)) == "IllegalRefreshToken"

    def test_reauthorize(self, fake: FakeLazada, clock: FakeClock) -> None:
        """Consent again: a new pair with a fresh refresh deadline."""
        old = fake.credentials
        clock.advance(100 * DAY)
        new = fake.reauthorize()
        assert fake.credentials is new
        assert new.refresh_token != old.refresh_token
        assert new.refresh_expires_at == clock.time() + 180 * DAY
        assert code(Lzd(fake).call("/seller/get")) == "0"

    def test_revoke_auth(self, lz: Lzd) -> None:
        lz.fake.faults.revoke_auth()
        assert code(lz.call("/seller/get")) == "IllegalAccessToken"

    def test_token_endpoint_throttled(self, lz: Lzd) -> None:
        lz.fake.faults.token_endpoint_throttled = True
        assert code(lz.refresh(lz.creds.refresh_token)) == "ApiCallLimit"
        lz.fake.faults.token_endpoint_throttled = False
        assert code(lz.refresh(lz.creds.refresh_token)) == "0"

    def test_access_token_of_another_app_is_illegal(self, lz: Lzd) -> None:
        other = FakeLazada(clock=lz.fake.clock, seed=99)
        assert code(lz.call("/seller/get", token=other.credentials.access_token)) == (
            "IllegalAccessToken"
        )


# -- throttling, budget, shutdowns ----------------------------------------------------


class TestThrottle:
    def test_per_second_bucket_and_ban(self, lz: Lzd, clock: FakeClock) -> None:
        """Over the API's QPS: ApiCallLimit naming the ban, enforced for that long."""
        lz.fake.set_qps("seller_get", 2)
        assert lz.fake.qps("seller_get") == 2
        assert [code(lz.call("/seller/get")) for _ in range(2)] == ["0", "0"]
        body = lz.call("/seller/get")
        assert code(body) == "ApiCallLimit"
        assert body["type"] == "ISV"
        assert body["message"] == (
            "Api access frequency exceeds the limit. this ban will last 1 seconds."
        )
        assert code(lz.call("/order/items/get", {"order_id": "1"})) == "16"  # another API
        clock.advance(1)
        assert code(lz.call("/seller/get")) == "0"

    def test_ban_length_is_configurable(self, lz: Lzd, clock: FakeClock) -> None:
        lz.fake.set_qps("seller_get", 1)
        lz.fake.faults.ban_seconds = 5
        lz.call("/seller/get")
        assert "this ban will last 5 seconds." in lz.call("/seller/get")["message"]
        clock.advance(4.5)
        assert code(lz.call("/seller/get")) == "ApiCallLimit"
        clock.advance(0.5)
        assert code(lz.call("/seller/get")) == "0"
        with pytest.raises(InvalidArgumentError):
            lz.fake.faults.ban_seconds = 0

    def test_garbage_ban_text(self, lz: Lzd) -> None:
        lz.fake.faults.ban_text = "many"
        lz.fake.faults.throttle_storm(1.0)
        body = lz.call("/seller/get")
        assert body["message"].endswith("this ban will last many seconds.")

    def test_no_rate_headers(self, lz: Lzd) -> None:
        lz.fake.set_qps("seller_get", 1)
        lz.call("/seller/get")
        response = lz.raw("/seller/get")
        assert response.status_code == 200
        assert not [h for h in response.headers if "rate" in h.lower() or h == "retry-after"]

    def test_daily_budget(self, clock: FakeClock) -> None:
        """A test app gets 10,000 calls a day; over it, a ban until the next UTC day."""
        fake = FakeLazada(clock=clock, app_status="test")
        assert fake.daily_budget == 10_000
        assert FakeLazada(clock=clock).daily_budget == 10_000_000
        fake.daily_budget = 3
        lz = Lzd(fake)
        assert [code(lz.call("/seller/get")) for _ in range(3)] == ["0"] * 3
        assert fake.calls_today == 3
        clock.advance(1)
        body = lz.call("/seller/get")
        assert code(body) == "ApiCallLimit"
        left = int(DAY - clock.time() % DAY)
        assert body["message"].endswith(f"this ban will last {left} seconds.")
        clock.advance(left)
        assert code(lz.call("/seller/get")) == "0"
        with pytest.raises(InvalidArgumentError):
            fake.daily_budget = 0

    def test_campaign_shutdown(self, lz: Lzd, clock: FakeClock) -> None:
        """998 "service disabled" inside the window, for business calls only."""
        now = clock.time()
        lz.fake.faults.campaign_shutdown(now + 10, now + 20)
        assert code(lz.call("/seller/get")) == "0"
        clock.advance(10)
        body = lz.call("/seller/get")
        assert code(body) == "998"
        assert body["message"].endswith("this API service is disabled")
        assert code(lz.refresh(lz.creds.refresh_token)) == "0"
        clock.advance(10)
        assert code(lz.call("/seller/get")) == "0"

    def test_campaign_shutdown_of_some_operations(self, lz: Lzd, clock: FakeClock) -> None:
        now = clock.time()
        lz.fake.faults.campaign_shutdown(now, now + 60, operations=["price_quantity_update"])
        assert code(lz.update(sku_xml({"SellerSku": "SKU-1", "Quantity": 1}))) == "998"
        assert code(lz.call("/seller/get")) == "0"
        with pytest.raises(UnknownOperationError):
            lz.fake.faults.campaign_shutdown(now, now + 1, operations=["nope"])
        with pytest.raises(InvalidArgumentError):
            lz.fake.faults.campaign_shutdown(now + 1, now)

    def test_storm_and_error_rate(self, lz: Lzd) -> None:
        lz.fake.faults.throttle_storm(1.0)
        assert code(lz.call("/seller/get")) == "ApiCallLimit"
        lz.fake.faults.clear()
        lz.fake.faults.error_rate = 1.0
        body = lz.call("/seller/get")
        assert code(body) == "6"
        assert body["type"] == "ISP"


# -- products ------------------------------------------------------------------------


class TestPriceQuantity:
    def test_update(self, lz: Lzd) -> None:
        """Price, sale price and quantity are set; ``data`` is ``{}``, no per-SKU list."""
        body = lz.update(
            sku_xml(
                {"SellerSku": "SKU-1", "Price": "21.00", "SalePrice": "20.00", "Quantity": 9},
                {"ItemId": 1001, "SkuId": 12, "Quantity": 0},
            )
        )
        assert code(body) == "0"
        assert body["data"] == {}
        assert set(body) == {"code", "data", "request_id"}
        assert lz.fake.price("SKU-1") == Decimal("21.00")
        assert lz.fake.sale_price("SKU-1") == Decimal("20.00")
        assert lz.fake.quantities == {"SKU-1": 9, "SKU-2": 0, "SKU-3": 0}
        assert lz.fake.prices["SKU-2"] == Decimal("29.90")  # omitted: unchanged
        write = lz.fake.writes("price_quantity_update")[0]
        assert write.json == {
            "payload": [
                {"SellerSku": "SKU-1", "price": "21.00", "sale_price": "20.00", "quantity": "9"},
                {"SellerSku": "SKU-2", "quantity": "0"},
            ]
        }

    def test_multi_warehouse(self, lz: Lzd) -> None:
        xml = sku_xml(
            {
                "SellerSku": "SKU-3",
                "MultiWarehouseInventories": "<MultiWarehouseInventory><WarehouseCode>a"
                "</WarehouseCode><Quantity>2</Quantity></MultiWarehouseInventory>"
                "<MultiWarehouseInventory><WarehouseCode>b</WarehouseCode><Quantity>3"
                "</Quantity></MultiWarehouseInventory>",
            }
        )
        assert code(lz.update(xml)) == "0"
        assert lz.fake.quantity("SKU-3") == 5

    def test_official_payload_shape(self, fake: FakeLazada, lz: Lzd) -> None:
        fake.add_sku("Apple-SG-Glod-64G", item_id=234234234, sku_id=234, price=1000, quantity=1)
        assert code(lz.update(PAYLOAD)) == "0"
        assert fake.sku("Apple-SG-Glod-64G") == LazadaSku(
            "Apple-SG-Glod-64G", 234234234, 234, Decimal("1099.00"), Decimal("900.00"), 20
        )

    def test_at_most_50(self, lz: Lzd) -> None:
        body = lz.update(sku_xml(*[{"SellerSku": "SKU-1", "Quantity": 1}] * 51))
        assert code(body) == "204"
        assert lz.fake.writes() == []

    @pytest.mark.parametrize(
        ("payload", "expected"),
        [
            ('{"Request": {"Product": {}}}', "30"),
            ("[]", "30"),
            ("<Request><Product><Skus></Skus></Product></Request>", "30"),
            ("<Request><Product>", "5"),
            ("<Other/>", "5"),
            ('<!DOCTYPE r [<!ENTITY x "y">]><Request/>', "5"),
            (sku_xml({"Quantity": 1}), "5"),
            (sku_xml({"SellerSku": "SKU-1", "Quantity": "-1"}), "5"),
            (sku_xml({"SellerSku": "SKU-1", "Price": "abc"}), "5"),
            (sku_xml({"SellerSku": "NOPE", "Quantity": 1}), "501"),
            (sku_xml({"SellerSku": "SKU-1", "ItemId": 1001, "SkuId": 12, "Quantity": 1}), "501"),
            (sku_xml({"SellerSku": "SKU-1", "Price": "0"}), "4118"),
            (sku_xml({"SellerSku": "SKU-1", "Price": "1.999"}), "4104"),
            (sku_xml({"SellerSku": "SKU-1", "SalePrice": "30.00"}), "4119"),
            (sku_xml({"SellerSku": "SKU-1", "Quantity": 1}, {"SellerSku": "SKU-1"}), "4105"),
        ],
    )
    def test_rejects(self, lz: Lzd, payload: str, expected: str) -> None:
        """Bad payloads fail as a whole with the documented codes; nothing is applied."""
        body = lz.update(payload)
        assert code(body) == expected
        assert lz.fake.quantity("SKU-1") == 5
        assert lz.fake.writes() == []

    def test_missing_payload_and_get(self, lz: Lzd) -> None:
        body = lz.call("/product/price_quantity/update", method="POST")
        assert code(body) == "MissingParameter"
        assert "payload" in body["message"]
        assert code(lz.call("/product/price_quantity/update", {"payload": PAYLOAD})) == (
            "InvalidMethod"
        )

    def test_campaign_lock(self, lz: Lzd) -> None:
        """A locked SKU fails the call with 501; the other SKUs are not applied either."""
        lz.fake.faults.campaign_lock(["SKU-2"])
        body = lz.update(
            sku_xml({"SellerSku": "SKU-1", "Quantity": 1}, {"SellerSku": "SKU-2", "Quantity": 1})
        )
        assert code(body) == "501"
        assert "THD_IC_ERR_F_IC_ABILITY_PG_004" in body["message"]
        assert lz.fake.quantity("SKU-1") == 5
        with pytest.raises(InvalidArgumentError):
            lz.fake.faults.campaign_lock([""])
        lz.fake.faults.clear()
        assert code(lz.update(sku_xml({"SellerSku": "SKU-2", "Quantity": 1}))) == "0"


class TestItemGet:
    def test_by_item_id_and_seller_sku(self, lz: Lzd) -> None:
        """``data.skus[]`` of the whole item; ``special_price`` only where a sale price is set."""
        body = lz.call("/product/item/get", {"item_id": "1001"})
        assert code(body) == "0"
        assert body["data"] == {
            "item_id": 1001,
            "skus": [
                {"SellerSku": "SKU-1", "SkuId": 11, "price": "19.90", "quantity": 5},
                {
                    "SellerSku": "SKU-2",
                    "SkuId": 12,
                    "price": "29.90",
                    "special_price": "25.00",
                    "quantity": 3,
                },
            ],
        }
        by_sku = lz.call("/product/item/get", {"seller_sku": "SKU-2"})
        assert by_sku["data"] == body["data"]

    def test_errors(self, lz: Lzd) -> None:
        assert code(lz.call("/product/item/get")) == "MissingParameter"
        assert code(lz.call("/product/item/get", {"item_id": "5"})) == "208"
        assert code(lz.call("/product/item/get", {"seller_sku": "NOPE"})) == "208"


# -- orders --------------------------------------------------------------------------


class TestOrders:
    def test_orders_get(self, fake: FakeLazada, lz: Lzd, clock: FakeClock) -> None:
        """Filters by creation time and status; count and countTotal; sorted newest first."""
        start = clock.time()
        first = fake.add_order(lines=[("SKU-1", 2)], created=start - 3600)
        second = fake.add_order(lines=[("SKU-2", 1, "12.50")], shipping_fee="1.50")
        fake.add_order(lines=[("SKU-3", 1)], created=start - 10 * DAY, status="canceled")
        after = datetime.fromtimestamp(start - DAY, timezone.utc).isoformat()
        body = lz.call("/orders/get", {"created_after": after})
        assert code(body) == "0"
        data = body["data"]
        assert (data["count"], data["countTotal"]) == (2, 2)
        assert [o["order_id"] for o in data["orders"]] == [second, first]
        order = data["orders"][0]
        assert order["price"] == "12.50"
        assert order["shipping_fee"] == "1.50"
        assert order["statuses"] == ["pending"]
        assert order["items_count"] == 1
        assert order["created_at"].endswith(" +0800")
        page = lz.call(
            "/orders/get",
            {"created_after": after, "limit": "1", "offset": "1", "sort_direction": "ASC"},
        )["data"]
        assert (page["count"], page["countTotal"]) == (1, 2)
        assert [o["order_id"] for o in page["orders"]] == [second]
        spaced = datetime.fromtimestamp(start - 30 * DAY, timezone.utc).strftime(
            "%Y-%m-%d %H:%M:%S +0000"
        )
        canceled = lz.call("/orders/get", {"created_after": spaced, "status": "canceled"})
        assert canceled["data"]["countTotal"] == 1

    def test_update_after_and_before(self, fake: FakeLazada, lz: Lzd, clock: FakeClock) -> None:
        order_id = fake.add_order(lines=[("SKU-1", 1)], created=clock.time() - DAY)
        before = datetime.fromtimestamp(clock.time(), timezone.utc).isoformat()
        assert lz.call("/orders/get", {"update_after": before})["data"]["countTotal"] == 0
        clock.advance(60)
        lz.pack(order_id, [fake.items(order_id)[0].order_item_id])
        body = lz.call(
            "/orders/get", {"update_after": before, "update_before": "2100-01-01T00:00:00Z"}
        )
        assert [o["order_id"] for o in body["data"]["orders"]] == [order_id]
        assert body["data"]["orders"][0]["statuses"] == ["packed"]

    @pytest.mark.parametrize(
        ("extra", "expected"),
        [
            ({}, "MissingParameter"),
            ({"created_after": "yesterday"}, "17"),
            ({"created_after": "2025-03-01T00:00:00"}, "17"),
            ({"created_after": "2025-03-01T00:00:00Z", "status": "lost-ish"}, "36"),
            ({"created_after": "2025-03-01T00:00:00Z", "limit": "101"}, "19"),
            ({"created_after": "2025-03-01T00:00:00Z", "limit": "0"}, "19"),
            ({"created_after": "2025-03-01T00:00:00Z", "offset": "-1"}, "14"),
            ({"created_after": "2025-03-01T00:00:00Z", "sort_direction": "UP"}, "74"),
            ({"created_after": "2025-03-01T00:00:00Z", "sort_by": "price"}, "75"),
        ],
    )
    def test_orders_get_errors(self, lz: Lzd, extra: dict[str, str], expected: str) -> None:
        assert code(lz.call("/orders/get", extra)) == expected

    def test_numbers_as_strings(self, fake: FakeLazada, lz: Lzd) -> None:
        order_id = fake.add_order(lines=[("SKU-1", 1)])
        fake.faults.numbers_as_strings = True
        data = lz.call("/orders/get", {"created_after": "2000-01-01T00:00:00Z"})["data"]
        assert data["count"] == "1"
        assert data["countTotal"] == "1"
        assert data["orders"][0]["order_id"] == str(order_id)
        assert data["orders"][0]["items_count"] == "1"

    def test_order_get_and_items(self, fake: FakeLazada, lz: Lzd) -> None:
        order_id = fake.add_order(lines=[("SKU-1", 2)])
        body = lz.call("/order/get", {"order_id": str(order_id)})
        assert code(body) == "0"
        assert body["data"]["order_id"] == order_id
        items = lz.call("/order/items/get", {"order_id": str(order_id)})["data"]
        assert [i["status"] for i in items] == ["pending", "pending"]
        assert {i["sku"] for i in items} == {"SKU-1"}
        assert items[0]["item_price"] == "19.90"
        assert items[0]["package_id"] == ""
        assert code(lz.call("/order/items/get", {"order_id": "123"})) == "16"
        assert code(lz.call("/order/items/get")) == "MissingParameter"
        assert code(lz.call("/order/get", {"order_id": "x"})) == "16"


class TestFulfilment:
    def test_pack_then_rts(self, fake: FakeLazada, lz: Lzd) -> None:
        """pending -> packed (package and tracking) -> ready_to_ship."""
        order_id = fake.add_order(lines=[("SKU-1", 2)])
        items = [i.order_item_id for i in fake.items(order_id)]
        body = lz.pack(order_id, items)
        assert code(body) == "0"
        assert set(body) == {"code", "result", "request_id"}
        result = body["result"]
        assert result["success"] is True
        assert result["error_code"] == ""
        answered = result["data"]["pack_order_list"][0]["order_item_list"]
        assert [a["item_err_code"] for a in answered] == ["0", "0"]
        package = answered[0]["package_id"]
        assert package.startswith("FP")
        assert answered[1]["package_id"] == package
        assert answered[0]["tracking_number"]
        assert answered[0]["retry"] is False
        assert {i.status for i in fake.items(order_id)} == {"packed"}
        assert fake.items(order_id)[0].package_id == package
        rts = lz.rts(package)["result"]
        assert rts["success"] is True
        assert rts["data"]["packages"] == [
            {"package_id": package, "item_err_code": "0", "msg": "success", "retry": False}
        ]
        assert fake.order(order_id).statuses == ["ready_to_ship"]
        fake.assert_no_duplicate_writes()

    def test_pack_per_item_errors(self, fake: FakeLazada, lz: Lzd) -> None:
        """Per-item codes beside ``result.success`` true; the good items are packed."""
        order_id = fake.add_order(lines=[("SKU-1", 3)])
        other = fake.add_order(lines=[("SKU-2", 1)])
        a, b, c = (i.order_item_id for i in fake.items(order_id))
        fake.faults.fail_item(c)
        body = lz.pack(order_id, [a, b, c, fake.items(other)[0].order_item_id, 5])
        assert body["result"]["success"] is True
        answered = body["result"]["data"]["pack_order_list"][0]["order_item_list"]
        assert [(x["item_err_code"], x["retry"]) for x in answered] == [
            ("0", False),
            ("0", False),
            ("700024", True),
            ("700025", False),
            ("700025", False),
        ]
        again = lz.pack(order_id, [a])["result"]["data"]["pack_order_list"][0]
        assert again["order_item_list"][0]["item_err_code"] == "700000"
        missing = lz.pack(1, [a])["result"]["data"]["pack_order_list"][0]
        assert missing["order_item_list"][0]["item_err_code"] == "700021"
        with pytest.raises(AssertionError, match=f"fulfill_pack order item {a}"):
            fake.assert_no_duplicate_writes()

    def test_pack_retry_of_a_failed_item_is_no_duplicate(self, fake: FakeLazada, lz: Lzd) -> None:
        order_id = fake.add_order(lines=[("SKU-1", 2)])
        a, b = (i.order_item_id for i in fake.items(order_id))
        fake.faults.fail_item(b)
        lz.pack(order_id, [a, b])
        fake.faults.clear()
        assert (
            lz.pack(order_id, [b])["result"]["data"]["pack_order_list"][0]["order_item_list"][0][
                "item_err_code"
            ]
            == "0"
        )
        fake.assert_no_duplicate_writes()

    def test_pack_batch_and_request_checks(self, fake: FakeLazada, lz: Lzd) -> None:
        order_id = fake.add_order(lines=[("SKU-1", 1)])
        item = fake.items(order_id)[0].order_item_id
        req = {
            "pack_order_list": [{"order_id": order_id, "order_item_list": [item]}] * 21,
            "delivery_type": "dropship",
            "shipping_allocate_type": "TFS",
        }
        body = lz.call("/order/fulfill/pack", {"packReq": json.dumps(req)}, method="POST")
        assert body["result"]["success"] is False
        assert body["result"]["error_code"] == "700022"
        assert fake.items(order_id)[0].status == "pending"
        bad = lz.call("/order/fulfill/pack", {"packReq": "{not json"}, method="POST")
        assert code(bad) == "InvalidParameter"
        assert code(lz.pack(order_id, [item], delivery_type="boat")) == "InvalidParameter"
        assert code(lz.pack(order_id, [item], shipping_allocate_type="NTFS")) == "InvalidParameter"
        assert code(lz.pack(order_id, [item], shipment_provider_code="X")) == "InvalidParameter"
        assert code(lz.call("/order/fulfill/pack", method="POST")) == "MissingParameter"

    def test_rts_per_package(self, fake: FakeLazada, lz: Lzd) -> None:
        _, _, package = packed_order(fake, lz)
        _, _, failing = packed_order(fake, lz)
        fake.faults.fail_item(failing, code="600002", retry=False)
        body = lz.rts(package, failing, "FP0")
        assert body["result"]["success"] is True
        assert [(p["item_err_code"], p["retry"]) for p in body["result"]["data"]["packages"]] == [
            ("0", False),
            ("600002", False),
            ("700000", False),
        ]
        again = lz.rts(package)["result"]["data"]["packages"][0]
        assert again["item_err_code"] == "700000"
        with pytest.raises(AssertionError, match=f"package_rts package {package}"):
            fake.assert_no_duplicate_writes()

    def test_rts_batch_and_request_checks(self, lz: Lzd) -> None:
        too_many = {"packages": [{"package_id": "FP1"}] * 21}
        body = lz.call(
            "/order/package/rts", {"readyToShipReq": json.dumps(too_many)}, method="POST"
        )
        assert body["result"]["error_code"] == "700022"
        bad = lz.call("/order/package/rts", {"readyToShipReq": "[]"}, method="POST")
        assert code(bad) == "InvalidParameter"

    def test_success_as_string(self, fake: FakeLazada, lz: Lzd) -> None:
        """Lazada's RTS sample shows ``"success": "true"``: with numbers_as_strings too."""
        _, _, package = packed_order(fake, lz)
        fake.faults.numbers_as_strings = True
        assert lz.rts(package)["result"]["success"] == "true"

    def test_fail_item_checks(self, fake: FakeLazada) -> None:
        for bad in (True, "", 1.5):
            with pytest.raises(InvalidArgumentError):
                fake.faults.fail_item(bad)  # type: ignore[arg-type]
        with pytest.raises(InvalidArgumentError):
            fake.faults.fail_item(1, code="0")


# -- faults --------------------------------------------------------------------------


class TestFaults:
    def test_ambiguous_write(self, lz: Lzd) -> None:
        """Applied, then the answer is lost."""
        lz.fake.faults.ambiguous_next("price_quantity_update")
        with pytest.raises(httpx.ReadTimeout):
            lz.update(sku_xml({"SellerSku": "SKU-1", "Quantity": 2}))
        assert lz.fake.quantity("SKU-1") == 2
        assert lz.fake.writes()[0].lost

    def test_garbage_and_outage(self, lz: Lzd, clock: FakeClock) -> None:
        lz.fake.faults.garbage_next("price_quantity_update")
        response = lz.raw(
            "/product/price_quantity/update",
            {"payload": sku_xml({"SellerSku": "SKU-1", "Quantity": 2})},
            method="POST",
        )
        assert response.status_code == 502
        assert response.text.startswith("<html>")
        assert lz.fake.quantity("SKU-1") == 5
        lz.fake.faults.outage(clock.time(), clock.time() + 5)
        outage = lz.raw("/seller/get")
        assert outage.status_code == 503
        assert outage.content == b""
        clock.advance(5)
        assert code(lz.call("/seller/get")) == "0"

    def test_service_timeout_next(self, lz: Lzd) -> None:
        """Applied, then answered ServiceTimeout (an ambiguous write)."""
        lz.fake.faults.service_timeout_next("price_quantity_update")
        body = lz.update(sku_xml({"SellerSku": "SKU-1", "Quantity": 3}))
        assert code(body) == "ServiceTimeout"
        assert body["type"] == "SYSTEM"
        assert lz.fake.quantity("SKU-1") == 3
        assert lz.fake.writes()[0].applied

    def test_service_timeout_rate(self, lz: Lzd) -> None:
        """Writes time out; about half were applied (seeded); reads never time out."""
        lz.fake.faults.service_timeout_rate = 1.0
        assert code(lz.call("/seller/get")) == "0"
        for quantity in range(20):
            xml = sku_xml({"SellerSku": "SKU-1", "Quantity": quantity})
            assert code(lz.update(xml)) == "ServiceTimeout"
        applied = len(lz.fake.writes("price_quantity_update"))
        assert 0 < applied < 20
        with pytest.raises(InvalidArgumentError):
            lz.fake.faults.service_timeout_rate = 2

    def test_faults_repr_and_clear(self, lz: Lzd, clock: FakeClock) -> None:
        faults = lz.fake.faults
        assert repr(faults) == "<FakeLazadaFaults none>"
        faults.campaign_shutdown(clock.time(), clock.time() + 1)
        faults.numbers_as_strings = True
        assert "shutdowns=1" in repr(faults)
        assert "numbers_as_strings=True" in repr(faults)
        faults.clear()
        assert repr(faults) == "<FakeLazadaFaults none>"
        with pytest.raises(UnknownOperationError):
            faults.ambiguous_next("nope")


# -- routes, inspection, wire ---------------------------------------------------------

PUBLISHED: dict[str, tuple[str, tuple[str, ...]]] = {
    # WIRE.md 4.2 and 4.3: the auth host
    "token_create": ("/auth/token/create", ("GET", "POST")),
    "token_refresh": ("/auth/token/refresh", ("GET", "POST")),
    # WIRE.md 6.1, 6.2, 6.3
    "price_quantity_update": ("/product/price_quantity/update", ("POST",)),
    "orders_get": ("/orders/get", ("GET",)),
    "order_items_get": ("/order/items/get", ("GET",)),
    "fulfill_pack": ("/order/fulfill/pack", ("POST",)),
    "package_rts": ("/order/package/rts", ("POST",)),
}
"""The operations WIRE.md documents: name -> (API path, methods)."""
BEYOND = {
    "order_get": ("/order/get", ("GET",)),  # WIRE.md's signing example only [U]
    "product_item_get": ("/product/item/get", ("GET",)),  # spec D [U]
    "seller_get": ("/seller/get", ("GET",)),  # a cheap health read [U]
}


class TestRoutes:
    def test_the_table(self) -> None:
        """Exactly the documented operations plus the three marked [U]."""
        table = {name: (r.path, r.methods) for name, r in ROUTES.items()}
        assert table == {**PUBLISHED, **BEYOND}
        assert {n for n, r in ROUTES.items() if r.host == "auth"} == AUTH_OPERATIONS
        assert {n for n, r in ROUTES.items() if r.write} == {
            "token_create",
            "token_refresh",
            "price_quantity_update",
            "fulfill_pack",
            "package_rts",
        }
        assert set(HANDLERS) | AUTH_OPERATIONS | {"seller_get"} == set(ROUTES)

    @pytest.mark.parametrize("name", sorted({**PUBLISHED, "order_get": BEYOND["order_get"]}))
    def test_each_path_is_in_wire_md(self, name: str) -> None:
        if not WIRE.is_file():
            pytest.skip(f"WIRE.md is not at {WIRE}; set SAFE_RELEASE_LAZADA_WIRE")
        text = WIRE.read_text(encoding="utf-8")
        assert f"`{ROUTES[name].path}" in text or f"{ROUTES[name].path}`" in text

    def test_the_legacy_rts_is_gone(self, lz: Lzd) -> None:
        """``/order/rts`` (taken offline in 2023) and unknown paths are InvalidApiPath."""
        assert operation_for("POST", "/rest/order/rts") == (None, None)
        assert code(lz.call("/order/rts", method="POST")) == "InvalidApiPath"
        assert lz.fake.calls[-1].operation == "unknown"

    def test_paths_with_and_without_rest(self) -> None:
        assert operation_for("GET", "/rest/orders/get?x=1") == ("orders_get", "/orders/get")
        assert operation_for("GET", "/orders/get/") == ("orders_get", "/orders/get")
        assert operation_for("POST", "/rest/orders/get") == (None, "/orders/get")

    @pytest.mark.parametrize("file", fake_modules(fake_package), ids=lambda p: p.name)
    def test_no_adapter_tables_imported(self, file: Path) -> None:
        """The fake (and what it shares with the other fakes) imports nothing from the adapters."""
        assert {n for n in imported(file) if n.startswith("safe_release.adapters")} == set()


class TestInspection:
    def test_calls_mask_secrets(self, lz: Lzd) -> None:
        lz.call("/seller/get")
        lz.refresh(lz.creds.refresh_token)
        lz.call("/auth/token/create", {"code": lz.fake.authorization_code()})
        logged = json.dumps([dict(c.query) for c in lz.fake.calls])
        for secret in (lz.creds.access_token, lz.creds.refresh_token, lz.creds.app_secret):
            assert secret not in logged
        assert lz.fake.calls[0].query["access_token"] == "<redacted>"  # noqa: S105
        assert lz.fake.calls[0].client_id == lz.creds.app_key
        assert lz.fake.calls[0].seller_id == lz.creds.seller_id
        lz.fake.reset_calls()
        assert lz.fake.calls == []

    def test_codes(self, lz: Lzd, clock: FakeClock) -> None:
        """Answers counted by envelope code (throttled ones too); gateway pages are not."""
        lz.fake.set_qps("seller_get", 1)
        lz.call("/seller/get")
        lz.call("/seller/get")
        lz.fake.faults.outage(clock.time(), clock.time() + 1)
        lz.raw("/seller/get")
        assert lz.fake.codes == {"0": 1, "ApiCallLimit": 1}
        lz.fake.reset_calls()
        assert lz.fake.codes == {}

    def test_reprs_show_no_secret(self, fake: FakeLazada) -> None:
        creds = fake.credentials
        for text in (repr(fake), repr(creds)):
            for secret in (creds.app_secret, creds.access_token, creds.refresh_token):
                assert secret not in text
        assert repr(fake).startswith("<FakeLazada country='sg'")

    def test_price_duplicates(self, lz: Lzd) -> None:
        """The same values again for a SKU is a duplicate; A, B, A is not."""
        for quantity in (1, 2, 1):
            lz.update(sku_xml({"SellerSku": "SKU-1", "Quantity": quantity}))
        lz.fake.assert_no_duplicate_writes()
        lz.update(sku_xml({"SellerSku": "SKU-1", "Quantity": 1}))
        with pytest.raises(AssertionError, match="price_quantity_update SKU-1"):
            lz.fake.assert_no_duplicate_writes()

    def test_seeding_checks(self, fake: FakeLazada) -> None:
        with pytest.raises(InvalidArgumentError):
            fake.add_sku("", item_id=1, sku_id=1, price=1, quantity=1)
        with pytest.raises(InvalidArgumentError):
            fake.add_sku("X", item_id=1, sku_id=11, price=1, quantity=1)  # SKU-1's sku_id
        with pytest.raises(InvalidArgumentError):
            fake.add_sku("X", item_id=1, sku_id=99, price=1.5, quantity=1)  # type: ignore[arg-type]
        with pytest.raises(InvalidArgumentError):
            fake.add_order(lines=[])
        with pytest.raises(InvalidArgumentError):
            fake.add_order(lines=[("SKU-1", 1)], status="teleported")
        with pytest.raises(InvalidArgumentError):
            fake.add_order(lines=[("", 1)])
        with pytest.raises(InvalidArgumentError):
            fake.order(1)
        with pytest.raises(InvalidArgumentError):
            fake.sku("NOPE")
        with pytest.raises(InvalidArgumentError):
            FakeLazada(country="xx")
        with pytest.raises(InvalidArgumentError):
            FakeLazada(app_status="beta")
        with pytest.raises(UnknownOperationError):
            fake.set_qps("nope", 1)
        with pytest.raises(InvalidArgumentError):
            fake.set_qps("seller_get", 0)

    def test_records(self, fake: FakeLazada) -> None:
        order_id = fake.add_order(lines=[("SKU-1", 1), ("SKU-2", 1, "5.00")], shipping_fee=2)
        order = fake.order(order_id)
        assert isinstance(order, LazadaOrder)
        assert order.price == Decimal("24.90")
        assert order.shipping_fee == Decimal(2)
        assert [o.order_id for o in fake.orders] == [order_id]
        assert "fulfill_pack" in fake.operations
        assert fake.country == "sg"


def test_serve(fake: FakeLazada) -> None:
    """serve(): a real HTTP server on 127.0.0.1 speaks the same wire, lost answers too."""
    with fake.serve() as base_url, httpx.Client(base_url=base_url + "/rest", timeout=10) as http:
        assert base_url.startswith("http://127.0.0.1:")
        lz = Lzd(fake, http=http)
        assert code(lz.call("/seller/get")) == "0"
        assert code(lz.update(sku_xml({"SellerSku": "SKU-1", "Quantity": 4}))) == "0"
        fake.faults.ambiguous_next("price_quantity_update")
        with pytest.raises(httpx.RemoteProtocolError):
            lz.update(sku_xml({"SellerSku": "SKU-1", "Quantity": 6}))
    assert fake.quantity("SKU-1") == 6


def test_async_transport(fake: FakeLazada) -> None:
    """The same transport serves an AsyncClient."""
    lz = Lzd(fake)
    params = lz.params("/seller/get")

    async def run() -> dict[str, Any]:
        async with httpx.AsyncClient(
            transport=fake.async_transport, base_url="https://api.lazada.sg/rest"
        ) as client:
            response = await client.get("/seller/get", params=params)
            body: dict[str, Any] = response.json()
            return body

    assert code(asyncio.run(run())) == "0"

"""ShopeeAdapter: the wire (signing vectors, envelopes, verdicts, prices), then against FakeShopee.

The wire helpers are checked on hand-made answers and WIRE.md's signing test
vectors; everything else runs on a fake clock through ``fake.transport``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest

from safe_release._secrets import Secret
from safe_release.adapters import Verdict
from safe_release.adapters import _shopee_wire as wire
from safe_release.exceptions import (
    InvalidArgumentError,
    MarketplaceAuthError,
    MarketplaceHTTPError,
    MarketplaceResponseError,
    RateLimitedError,
)

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

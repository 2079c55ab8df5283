"""httpx logs every request line at INFO; query-carried credentials must not reach the log.

Shopee and Lazada put the access token and the signature in the query string. Every
adapter masks secret-looking query values in httpx's log records.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, ClassVar

import httpx

from safe_release.adapters import MarketplaceAdapter, Operation
from safe_release.testing import FakeClock

if TYPE_CHECKING:
    import pytest

TOKEN = "canary-access-token-51c2"  # noqa: S105 - a canary
SIGN = "CANARYSIGNATURE0AF3"


class _Shop(MarketplaceAdapter):
    marketplace = "shop"
    operations: ClassVar[dict[str, Operation]] = {
        "get": Operation.declare("get", "GET", "/items", rate=10, burst=5)
    }


def test_query_credentials_are_masked_in_httpx_logs(caplog: pytest.LogCaptureFixture) -> None:
    """access_token, sign and refresh_token values show as ***; other values stay."""
    shop = _Shop(
        base_url="https://shop.test",
        seller="s",
        app="a",
        clock=FakeClock(),
        transport=httpx.MockTransport(lambda _request: httpx.Response(200, json={})),
    )
    with caplog.at_level(logging.INFO, logger="httpx"), shop:
        shop.call(
            "get",
            params={"access_token": TOKEN, "sign": SIGN, "refresh_token": TOKEN, "item_id": "42"},
        )
    lines = [r.getMessage() for r in caplog.records if r.name == "httpx"]
    assert lines, "httpx logged no request line: the test would prove nothing"
    text = "\n".join(lines)
    assert TOKEN not in text
    assert SIGN not in text
    assert "access_token=***" in text
    assert "item_id=42" in text

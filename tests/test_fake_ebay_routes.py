"""The fake's eBay route table, pinned to the operations WIRE.md documents.

eBay's OpenAPI contracts are under the eBay API License Agreement, not an open
licence, so they are neither copied nor read here. `PUBLISHED` is written from
../shared/reference/ebay/WIRE.md (sections 4.1 to 4.5, our own restatement of the
contracts) and `FakeEbay`'s table (``testing/_ebay/_ebay_routes.py``) is checked
against it; where WIRE.md is beside the checkout, each path is also checked to
appear in it verbatim.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

import safe_release.testing._ebay as fake_package
from safe_release.testing._ebay._ebay_gateway import HANDLERS
from safe_release.testing._ebay._ebay_routes import (
    FULFILLMENT_SCOPE,
    INVENTORY_SCOPE,
    RESOURCES,
    ROUTES,
    TOKEN_PATH,
    match,
)
from tests.fakes_util import fake_modules, imported

ROOT = Path(__file__).resolve().parent.parent
WIRE = Path(
    os.environ.get("SAFE_RELEASE_EBAY_WIRE")
    or ROOT.parent / "shared" / "reference" / "ebay" / "WIRE.md"
)
INV, FUL, ANA = "/sell/inventory/v1", "/sell/fulfillment/v1", "/developer/analytics/v1_beta"

PUBLISHED: list[tuple[str, str, str]] = [
    # WIRE.md 4.2
    ("GET", f"{INV}/offer", "getOffers"),
    ("GET", f"{INV}/offer/{{offerId}}", "getOffer"),
    # WIRE.md 4.1
    ("POST", f"{INV}/bulk_update_price_quantity", "bulkUpdatePriceQuantity"),
    # WIRE.md 4.3
    ("GET", f"{FUL}/order", "getOrders"),
    ("GET", f"{FUL}/order/{{orderId}}", "getOrder"),
    # WIRE.md 4.4
    ("POST", f"{FUL}/order/{{orderId}}/shipping_fulfillment", "createShippingFulfillment"),
    ("GET", f"{FUL}/order/{{orderId}}/shipping_fulfillment", "getShippingFulfillments"),
    (
        "GET",
        f"{FUL}/order/{{orderId}}/shipping_fulfillment/{{fulfillmentId}}",
        "getShippingFulfillment",
    ),
    # WIRE.md 4.5 (both trailing slashes are part of the documented paths)
    ("GET", f"{ANA}/rate_limit/", "getRateLimits"),
    ("GET", f"{ANA}/user_rate_limit/", "getUserRateLimits"),
]
"""(method, path template, operationId) of every operation the fake serves."""

DAILY = {"sell.inventory": 2_000_000, "sell.fulfillment": 100_000, "developer.analytics": 5_000}
"""WIRE.md 5 (and spec C): the default app-level daily quotas."""


class TestAgainstWire:
    def test_the_table_is_the_documented_operations(self) -> None:
        """Exactly the documented (method, path, operationId) rows, no more, no fewer."""
        table = sorted((r.method, r.path, r.name) for r in ROUTES.values())
        assert table == sorted(PUBLISHED)

    @pytest.mark.parametrize(("method", "path", "operation"), PUBLISHED, ids=str)
    def test_each_path_is_in_wire_md(self, method: str, path: str, operation: str) -> None:
        """Each documented path appears in WIRE.md (a typo in this test would not)."""
        if not WIRE.is_file():
            pytest.skip(f"WIRE.md is not at {WIRE}; set SAFE_RELEASE_EBAY_WIRE")
        text = WIRE.read_text(encoding="utf-8")
        tail = path.split("/v1/", 1)[-1].split("/v1_beta/", 1)[-1]
        assert tail.split("{", 1)[0].rstrip("/") in text
        # WIRE.md names the single-fulfillment read by its path only
        assert operation in text or operation == "getShippingFulfillment"
        assert method in text

    def test_token_path_and_base_paths(self) -> None:
        """The token endpoint and the three base paths are WIRE.md 1 and 2.2."""
        assert TOKEN_PATH == "/identity/v1/oauth2/token"  # noqa: S105 - a path
        if WIRE.is_file():
            text = WIRE.read_text(encoding="utf-8")
            for base in (TOKEN_PATH, INV, FUL, ANA):
                assert base in text

    def test_daily_quotas_are_the_documented_defaults(self) -> None:
        """sell.inventory 2,000,000; sell.fulfillment 100,000; developer.analytics 5,000."""
        assert {name: r.limit for name, r in RESOURCES.items()} == DAILY
        assert {r.resource for r in ROUTES.values()} == set(DAILY)

    def test_writes_need_the_write_scopes(self) -> None:
        """The two writes need sell.inventory and sell.fulfillment (not the readonly scopes)."""
        writes = {r.name: r.scopes for r in ROUTES.values() if r.write}
        assert writes == {
            "bulkUpdatePriceQuantity": frozenset({INVENTORY_SCOPE}),
            "createShippingFulfillment": frozenset({FULFILLMENT_SCOPE}),
        }
        assert (ROUTES["getRateLimits"].caller, ROUTES["getUserRateLimits"].caller) == (
            "app",
            "user",
        )


class TestRouting:
    @pytest.mark.parametrize(("method", "path", "operation"), PUBLISHED, ids=str)
    def test_documented_path_reaches_the_operation(
        self, method: str, path: str, operation: str
    ) -> None:
        """A request on the documented method and path is routed to the operation."""
        names = re.findall(r"{(\w+)}", path)
        raw = re.sub(r"{(\w+)}", lambda m: f"{m.group(1)}-value", path)
        assert match(method, raw) == (operation, {n: f"{n}-value" for n in names}, True)

    def test_a_known_path_with_another_method_is_known(self) -> None:
        """DELETE on /order: no operation, but the path exists (405, not 404)."""
        assert match("DELETE", f"{FUL}/order") == (None, {}, True)
        assert match("GET", f"{FUL}/orders") == (None, {}, False)
        assert match("GET", f"{FUL}/order//shipping_fulfillment") == (None, {}, False)

    def test_every_route_has_a_handler(self) -> None:
        """The fake answers exactly the operations of its route table."""
        assert set(HANDLERS) == set(ROUTES)


@pytest.mark.parametrize("file", fake_modules(fake_package), ids=lambda p: p.name)
def test_the_fake_imports_nothing_from_the_adapters(file: Path) -> None:
    """The fake stands alone: no adapter route table or wire module is imported."""
    assert {n for n in imported(file) if n.startswith("safe_release.adapters")} == set()

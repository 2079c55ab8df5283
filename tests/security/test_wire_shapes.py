"""Issue 11, L6: well-formed JSON of the wrong shape gets a typed, named error.

Every place the Amazon adapter reads a marketplace or Login with Amazon body is
fed JSON that parses but has the wrong shape (a list for an object, a string for
a number, null for a list, nesting 10,000 deep). Each must raise a
`MarketplaceError` naming what was wrong, never ``AttributeError``, ``KeyError``,
``TypeError`` or ``RecursionError`` (before the fix, eight of these did).
"""

from __future__ import annotations

import contextlib
import json
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safe_release._backoff import RetryPolicy
from safe_release.adapters.amazon import AmazonAdapter
from safe_release.exceptions import (
    MarketplaceAuthError,
    MarketplaceError,
    MarketplaceHTTPError,
    MarketplaceResponseError,
    TokenRefreshError,
)

if TYPE_CHECKING:
    from collections.abc import Callable

MP, SELLER, SKU = "ATVPDKIKX0DER", "A1SELLER", "SKU-1"
TOKEN = {"access_token": "Atza|access", "token_type": "bearer", "expires_in": 3600}
LISTING = {
    "sku": SKU,
    "attributes": {
        "purchasable_offer": [
            {
                "marketplace_id": MP,
                "currency": "USD",
                "our_price": [{"schedule": [{"value_with_tax": 19.99}]}],
            }
        ]
    },
    "fulfillmentAvailability": [{"fulfillmentChannelCode": "DEFAULT", "quantity": 5}],
}
DEEP = b"[" * 10_000 + b"]" * 10_000
NOT_JSON = object()


class Script:
    """A transport answering each operation with a scripted body (JSON or raw bytes)."""

    def __init__(
        self,
        bodies: dict[str, Any],
        *,
        status: int = 200,
        token: Any = None,
        token_status: int = 200,
    ) -> None:
        self.bodies, self.status = bodies, status
        self.token, self.token_status = (TOKEN if token is None else token), token_status

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/auth/o2/token":
            return _answer(self.token_status, self.token)
        key = request.method if request.method != "GET" else request.url.path.split("/")[1]
        body = self.bodies.get(key, LISTING if key == "listings" else {})
        return _answer(self.status if key in self.bodies else 200, body)


def _answer(status: int, body: Any) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.Response(status, content=content, headers={"content-type": "application/json"})


def amazon(script: Script) -> AmazonAdapter:
    """An adapter whose only network is ``script`` (no retries: one answer per call)."""
    return AmazonAdapter(
        seller_id=SELLER,
        client_id="amzn1.application-oa2-client.test",
        client_secret="s",  # noqa: S106 - a test value
        refresh_token="Atzr|r",  # noqa: S106 - a test value
        marketplace_id=MP,
        transport=httpx.MockTransport(script),
        retry=RetryPolicy(max_attempts=1),
    )


def read_orders(a: AmazonAdapter) -> object:
    """getOrders."""
    return a.get_orders(created_after="2026-01-01")


def read_items(a: AmazonAdapter) -> object:
    """getOrderItems."""
    return a.get_order_items("111-1")


def read_price(a: AmazonAdapter) -> object:
    """getListingsItem, then the price."""
    return a.get_price(SKU)


def read_quantity(a: AmazonAdapter) -> object:
    """getListingsItem, then the quantity."""
    return a.get_quantity(SKU)


def read_update(a: AmazonAdapter) -> object:
    """getListingsItem, then patchListingsItem (price)."""
    return a.update_price(SKU, Decimal("9.99"))


def read_stock(a: AmazonAdapter) -> object:
    """getListingsItem, then patchListingsItem (quantity)."""
    return a.update_quantity(SKU, 3)


def read_summaries(a: AmazonAdapter) -> object:
    """getInventorySummaries."""
    return a.get_inventory_summaries()


def read_plan(a: AmazonAdapter) -> object:
    """createInboundPlan."""
    return a.create_inbound_plan({"name": "p"})


def read_cancel(a: AmazonAdapter) -> object:
    """cancelInboundPlan."""
    return a.cancel_inbound_plan("wf-1")


def listing(**fields: Any) -> dict[str, Any]:
    """A getListingsItem body with ``fields`` replacing the good ones."""
    return {"sku": SKU, **fields}


WRONG_SHAPES = [
    # (what is read, the scripted bodies, the words the error must contain)
    (read_orders, {"orders": []}, "the body is a list"),
    (read_orders, {"orders": {"payload": []}}, "payload is a list"),
    (read_orders, {"orders": {"payload": "x"}}, "payload is a string"),
    (read_orders, {"orders": {"payload": {"Orders": {}}}}, "payload.Orders is an object"),
    (read_orders, {"orders": {"payload": {"Orders": ["x"]}}}, r"payload.Orders\[0\] is a string"),
    (
        read_orders,
        {"orders": {"payload": {"Orders": [], "NextToken": 5}}},
        "NextToken is a number",
    ),
    (read_items, {"orders": {"payload": {"OrderItems": 3}}}, "payload.OrderItems is a number"),
    (read_items, {"orders": {"payload": {"NextToken": ["t"]}}}, "NextToken is a list"),
    (read_price, {"listings": listing(attributes=[])}, "attributes is a list"),
    (
        read_price,
        {"listings": listing(attributes={"purchasable_offer": {}})},
        "attributes.purchasable_offer is an object",
    ),
    (
        read_price,
        {"listings": listing(attributes={"purchasable_offer": [1]})},
        r"purchasable_offer\[0\] is a number",
    ),
    (
        read_price,
        {
            "listings": listing(
                attributes={
                    "purchasable_offer": [
                        {"our_price": [{"schedule": [{"value_with_tax": "abc"}]}]}
                    ]
                }
            )
        },
        "value_with_tax is a string, not a finite decimal",
    ),
    (
        read_price,
        {
            "listings": listing(
                attributes={
                    "purchasable_offer": [
                        {"our_price": [{"schedule": [{"value_with_tax": True}]}]}
                    ]
                }
            )
        },
        "value_with_tax is true/false",
    ),
    (
        read_price,
        {
            "listings": listing(
                attributes={"purchasable_offer": [{"our_price": [{"schedule": "x"}]}]}
            )
        },
        "schedule is a string",
    ),
    (
        read_price,
        {"listings": listing(offers=[{"marketplaceId": MP, "price": []}])},
        r"offers\[0\].price is a list",
    ),
    (
        read_price,
        {"listings": listing(offers=[{"marketplaceId": MP, "price": {"amount": {"v": 1}}}])},
        "price.amount is an object",
    ),
    (
        read_quantity,
        {"listings": listing(fulfillmentAvailability=[{"quantity": "5"}])},
        "quantity is a string, not a whole number",
    ),
    (
        read_quantity,
        {"listings": listing(fulfillmentAvailability=[{"quantity": 5.5}])},
        "quantity is a number, not a whole number",
    ),
    (
        read_quantity,
        {"listings": listing(fulfillmentAvailability={"quantity": 5})},
        "fulfillmentAvailability is an object",
    ),
    (
        read_update,
        {
            "listings": listing(
                attributes={"purchasable_offer": [{"currency": {"c": "USD"}, "our_price": []}]}
            )
        },
        "currency is an object",
    ),
    (read_update, {"PATCH": {"status": "INVALID", "issues": 7}}, "issues is a number"),
    (read_update, {"PATCH": ["ACCEPTED"]}, "the body is a list"),
    (
        read_stock,
        {"PATCH": {"status": "INVALID", "issues": {"message": "x"}}},
        "issues is an object",
    ),
    (
        read_summaries,
        {"fba": {"payload": {"inventorySummaries": "x"}}},
        "inventorySummaries is a string",
    ),
    (read_summaries, {"fba": {"payload": {}, "pagination": []}}, "pagination is a list"),
    (
        read_summaries,
        {"fba": {"payload": {}, "pagination": {"nextToken": 1}}},
        "nextToken is a number",
    ),
    (read_plan, {"POST": {"inboundPlanId": 5, "operationId": "op"}}, "inboundPlanId is a number"),
    (read_plan, {"POST": {}}, "inboundPlanId is null"),
    (read_cancel, {"PUT": {"operationId": None}}, "operationId is null"),
    (read_price, {"listings": DEEP}, "nested too deeply"),
    (read_orders, {"orders": b"[" * 100_000}, "nested too deeply|not JSON"),
]


class TestMarketplaceBodies:
    @pytest.mark.parametrize(("read", "bodies", "words"), WRONG_SHAPES)
    def test_wrong_shape_is_named(
        self, read: Callable[[AmazonAdapter], object], bodies: dict[str, Any], words: str
    ) -> None:
        """A body of the wrong shape: MarketplaceResponseError saying which part is wrong."""
        with (
            amazon(Script(bodies)) as adapter,
            pytest.raises(MarketplaceResponseError, match=words) as info,
        ):
            read(adapter)
        assert info.value.marketplace == "amazon"

    @pytest.mark.parametrize(
        ("read", "where", "page"),
        [
            (read_orders, "orders", {"payload": {"Orders": [], "NextToken": "t1"}}),
            (read_items, "orders", {"payload": {"OrderItems": [], "NextToken": "t1"}}),
            (read_summaries, "fba", {"payload": {}, "pagination": {"nextToken": "t1"}}),
        ],
    )
    def test_a_repeated_page_token_stops_paging(
        self, read: Callable[[AmazonAdapter], object], where: str, page: dict[str, Any]
    ) -> None:
        """A server answering the same next-page token again cannot make a read loop for ever."""
        with (
            amazon(Script({where: page})) as adapter,
            pytest.raises(MarketplaceResponseError, match=r"same .*[Nn]extToken as the page"),
        ):
            read(adapter)

    def test_patch_issues_of_mixed_kinds_are_shown(self) -> None:
        """Refused patch: its issues are listed whatever their shape (no AttributeError)."""
        bodies = {"PATCH": {"status": "INVALID", "issues": ["plain text", 3, {"message": "bad"}]}}
        with (
            amazon(Script(bodies)) as adapter,
            pytest.raises(MarketplaceHTTPError, match="plain text; \\(int\\); bad"),
        ):
            read_update(adapter)

    @pytest.mark.parametrize(
        "errors",
        [
            None,
            {},
            [],
            [None],
            ["x"],
            [{"code": ["x"], "message": {"m": 1}, "details": 5}],
            DEEP,
        ],
    )
    def test_odd_error_documents_still_give_typed_errors(self, errors: Any) -> None:
        """A 400 with a strange ``errors``: MarketplaceHTTPError, whatever its shape."""
        body = errors if isinstance(errors, bytes) else {"errors": errors}
        with (
            amazon(Script({"listings": body}, status=400)) as adapter,
            pytest.raises(MarketplaceHTTPError, match="HTTP 400"),
        ):
            read_price(adapter)

    @pytest.mark.parametrize("body", [{"errors": [{"message": 5}]}, {"errors": "expired"}, DEEP])
    def test_odd_403_bodies_are_an_auth_error(self, body: Any) -> None:
        """A 403 whose error document has the wrong shape: MarketplaceAuthError, no refresh."""
        with (
            amazon(Script({"listings": body}, status=403)) as adapter,
            pytest.raises(MarketplaceAuthError),
        ):
            read_price(adapter)

    def test_the_good_listing_still_reads(self) -> None:
        """The table's baseline: the same script with good bodies works."""
        with amazon(Script({})) as adapter:
            assert (adapter.get_price(SKU), adapter.get_quantity(SKU)) == (Decimal("19.99"), 5)


LWA_SHAPES = [
    ([], "the body is a list, not a JSON object"),
    ("token", "the body is a string"),
    ({"access_token": 5, "expires_in": 3600}, "access_token is a number"),
    ({"access_token": "", "expires_in": 3600}, "access_token is a string, not a non-empty"),
    ({"access_token": "a", "expires_in": "3600"}, "expires_in is a string"),
    ({"access_token": "a", "expires_in": True}, "expires_in is true/false"),
    ({"access_token": "a", "expires_in": -1}, "expires_in is a number, not a positive"),
    ({"access_token": "a", "expires_in": None}, "expires_in is null"),
    ({"access_token": "a", "expires_in": 60, "refresh_token": 7}, "refresh_token is a number"),
    (DEEP, "the body is not JSON"),
    (b"1e999", "the body is a number"),
]


class TestTokenEndpointBodies:
    @pytest.mark.parametrize(("token", "words"), LWA_SHAPES)
    def test_wrong_shape_grant_is_named(self, token: Any, words: str) -> None:
        """A 200 from Login with Amazon without a usable grant: TokenRefreshError naming why."""
        with (
            amazon(Script({}, token=token)) as adapter,
            pytest.raises(TokenRefreshError, match=words),
        ):
            read_price(adapter)

    @pytest.mark.parametrize(
        "body",
        [[], {"error": ["invalid_grant"]}, {"error": "x" * 500}, {"error": "\x1b[2Jforged"}, DEEP],
    )
    def test_odd_error_bodies(self, body: Any) -> None:
        """A 400 with an odd body: TokenRefreshError without the odd text."""
        with (
            amazon(Script({}, token=body, token_status=400)) as adapter,
            pytest.raises(TokenRefreshError, match="HTTP 400: retry later") as info,
        ):
            read_price(adapter)
        assert "forged" not in str(info.value)
        assert "xxxx" not in str(info.value)

    def test_a_huge_lifetime_is_capped(self) -> None:
        """expires_in of 10**400 (no float holds it) is capped at a day, not an OverflowError."""
        with amazon(
            Script({}, token=b'{"access_token":"a","expires_in":1' + b"0" * 400 + b"}")
        ) as adapter:
            adapter.get_price(SKU)
            expires = adapter.tokens.expires_at
            assert expires is not None
            assert expires - adapter.clock.time() <= 86_400


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "payload",
                    "Orders",
                    "OrderItems",
                    "NextToken",
                    "attributes",
                    "purchasable_offer",
                    "our_price",
                    "schedule",
                    "value_with_tax",
                    "offers",
                    "marketplaceId",
                    "price",
                    "amount",
                    "currency",
                    "currencyCode",
                    "marketplace_id",
                    "fulfillmentAvailability",
                    "quantity",
                    "status",
                    "issues",
                    "message",
                    "errors",
                    "code",
                    "details",
                    "inventorySummaries",
                    "pagination",
                    "nextToken",
                    "inboundPlanId",
                    "operationId",
                    "access_token",
                    "expires_in",
                    "refresh_token",
                    "error",
                ]
            ),
            inner,
            max_size=4,
        )
    ),
    max_leaves=12,
)
READS = [
    read_orders,
    read_items,
    read_price,
    read_quantity,
    read_update,
    read_stock,
    read_summaries,
    read_plan,
    read_cancel,
]


class TestAnyJson:
    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        body=JSON,
        read=st.sampled_from(READS),
        status=st.sampled_from([200, 400, 403]),
        where=st.sampled_from(["orders", "listings", "PATCH", "fba", "POST", "PUT", "lwa"]),
    )
    def test_only_typed_errors(
        self, body: Any, read: Callable[[AmazonAdapter], object], status: int, where: str
    ) -> None:
        """Any JSON in any answer: a result or a MarketplaceError, never another exception."""
        script = Script({}, token=body) if where == "lwa" else Script({where: body}, status=status)
        with amazon(script) as adapter, contextlib.suppress(MarketplaceError):
            read(adapter)  # a result, or a typed error: anything else fails the test

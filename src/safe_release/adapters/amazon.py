"""The Amazon Selling Partner API (SP-API) adapter.

    from safe_release.adapters.amazon import AmazonAdapter

    amazon = AmazonAdapter(seller_id="A1SELLER", client_id="amzn1.application-oa2-client.x",
                           client_secret=os.environ["LWA_SECRET"],
                           refresh_token=os.environ["LWA_REFRESH_TOKEN"], region="na")
    change = amazon.update_price("SKU-1", Decimal("19.99"))   # change.old is the price replaced

Tokens come from Login with Amazon (refresh-token grant), are refreshed once and
shared by every thread and task, and go only into the ``x-amz-access-token``
header: never into logs, messages or reprs.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import httpx
from pydantic import BaseModel, ConfigDict

from safe_release._effects import Inverse
from safe_release.adapters import _amazon_wire as wire
from safe_release.adapters._amazon_ops import AMAZON_OPERATIONS, LWA_TOKEN_URL
from safe_release.adapters._auth import TokenProvider, atoken_for, token_for
from safe_release.adapters._base import MarketplaceAdapter, response_json
from safe_release.adapters._core import RECONCILED_HEADER
from safe_release.adapters._grants import auth_client, credential
from safe_release.exceptions import (
    InvalidArgumentError,
    MarketplaceError,
    MarketplaceHTTPError,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping, Sequence

    from safe_release._secrets import Secret
    from safe_release.adapters._core import Verdict
    from safe_release.adapters._operation import Operation

__all__ = ["ENDPOINTS", "AmazonAdapter", "Health", "InboundPlanRef", "ListingChange"]

_CREDENTIALS = "client_secret= and refresh_token= must be non-empty strings (or Secret)"

ENDPOINTS = {
    "na": "https://sellingpartnerapi-na.amazon.com",
    "eu": "https://sellingpartnerapi-eu.amazon.com",
    "fe": "https://sellingpartnerapi-fe.amazon.com",
}
DEFAULT_MARKETPLACE = {"na": "ATVPDKIKX0DER", "eu": "A1PA6795UKMFR9", "fe": "A1VC38T7YXB528"}
CURRENCY = {
    "ATVPDKIKX0DER": "USD",
    "A2EUQ1WTGCTBG2": "CAD",
    "A1AM78C64UM0Y8": "MXN",
    "A1PA6795UKMFR9": "EUR",
    "A1F83G8C2ARO7P": "GBP",
    "A13V1IB3VIYZZH": "EUR",
    "APJ6JRA9NG5V4": "EUR",
    "A1RKKUPIHCS9HS": "EUR",
    "A1VC38T7YXB528": "JPY",
    "A39IBJ37TRP1C6": "AUD",
    "A19VAU5U5O7RUS": "SGD",
}
_LISTING_DATA = ("summaries", "attributes", "offers", "fulfillmentAvailability")


class ListingChange(BaseModel):
    """A price or quantity patch, with the value it replaced (for compensation)."""

    model_config = ConfigDict(frozen=True)

    sku: str
    marketplace_id: str
    field: str
    old: Decimal | int | None
    new: Decimal | int
    submission_id: str
    status: str


class InboundPlanRef(BaseModel):
    """A created inbound plan and the operation to poll for its outcome."""

    model_config = ConfigDict(frozen=True)

    inbound_plan_id: str
    operation_id: str


class Health(BaseModel):
    """Whether the adapter can act for the seller right now."""

    model_config = ConfigDict(frozen=True)

    ok: bool
    auth_ok: bool
    read_ok: bool
    detail: str


class AmazonAdapter(MarketplaceAdapter):
    """Paced, retried SP-API calls for one seller account, one app, one region."""

    marketplace = "amazon"
    operations = AMAZON_OPERATIONS

    def __init__(
        self,
        *,
        seller_id: str,
        client_id: str,
        client_secret: str | Secret,
        refresh_token: str | Secret,
        region: str = "na",
        marketplace_id: str | None = None,
        base_url: str | None = None,
        token_url: str = LWA_TOKEN_URL,
        on_refresh_token_rotated: Callable[[Secret], None] | None = None,
        **options: Any,
    ) -> None:
        if region not in ENDPOINTS and base_url is None:
            msg = f"region= must be one of {sorted(ENDPOINTS)} (or give base_url=), not {region!r}"
            raise InvalidArgumentError(msg)
        if not isinstance(client_id, str) or not client_id:
            msg = "client_id= must be the LWA client id of the app (a non-empty string)"
            raise InvalidArgumentError(msg)
        app = "app-" + hashlib.sha256(client_id.encode()).hexdigest()[:12]
        super().__init__(
            base_url=base_url or ENDPOINTS[region],
            seller=seller_id,
            app=app,
            region=region,
            **options,
        )
        self.seller_id = seller_id
        self.marketplace_id = marketplace_id or DEFAULT_MARKETPLACE.get(region, "ATVPDKIKX0DER")
        self._auth_client = auth_client(options)
        secret = credential(client_secret, _CREDENTIALS)
        refresh = credential(refresh_token, _CREDENTIALS)
        self._refresh_token = refresh

        def refresh_grant() -> Any:
            return wire.lwa_refresh(
                self._auth_client,
                token_url,
                client_id=client_id,
                client_secret=secret,
                refresh_token=self._refresh_token,
                seconds=self.attempt_seconds(),
            )

        def rotated(new: Secret) -> None:
            self._refresh_token = new
            if on_refresh_token_rotated is not None:
                on_refresh_token_rotated(new)

        self._refresh_grant = refresh_grant
        self.tokens = TokenProvider(refresh_grant, clock=self.clock, on_rotate=rotated)

    # -- hooks -----------------------------------------------------------------------

    def authorize(self, request: httpx.Request, *, stale: object | None = None) -> object:
        """Put a valid LWA access token on the request (refreshing once if stale)."""
        token = token_for(self.tokens, stale)
        request.headers["x-amz-access-token"] = token.reveal()
        return token

    async def aauthorize(self, request: httpx.Request, *, stale: object | None = None) -> object:
        """`authorize`, awaiting a shared refresh instead of blocking the loop."""
        token = await atoken_for(self.tokens, stale)
        request.headers["x-amz-access-token"] = token.reveal()
        return token

    def classify(self, response: httpx.Response) -> Verdict:
        """SP-API semantics (403 'expired' means refresh once)."""
        return wire.classify(response)

    def rate_hint(self, response: httpx.Response) -> float | None:
        """``x-amzn-RateLimit-Limit`` on 2xx/400/404."""
        return wire.rate_hint(response)

    def error_for(self, op: Operation, response: httpx.Response) -> MarketplaceError:
        """Typed errors from SP-API error documents."""
        return wire.amazon_error(op, response)

    def ledger_target(self, op: Operation, request: httpx.Request) -> str:
        """A listing's price and quantity are separate targets (one patch path each)."""
        target = super().ledger_target(op, request)
        if op.name != "patchListingsItem":
            return target
        try:
            paths = [p["path"] for p in json.loads(request.content)["patches"]]
        except (ValueError, KeyError, TypeError):
            return target
        return target + " " + ",".join(sorted(map(str, paths)))

    # -- orders ------------------------------------------------------------------------

    def iter_orders(
        self,
        *,
        created_after: datetime | str,
        statuses: Sequence[str] = (),
        max_pages: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Orders created after ``created_after``, following ``NextToken`` pages."""
        after = (
            created_after.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            if isinstance(created_after, datetime)
            else created_after
        )
        params: dict[str, Any] = {
            "MarketplaceIds": self.marketplace_id,
            "CreatedAfter": after,
            "OrderStatuses": list(statuses) or None,
        }
        pages = 0
        while True:
            payload = self._payload("getOrders", params=params)
            yield from self._records("getOrders", payload, "Orders")
            pages += 1
            token = _next_token("getOrders", payload, "payload.NextToken", params.get("NextToken"))
            if not token or (max_pages is not None and pages >= max_pages):
                return
            params = {"MarketplaceIds": self.marketplace_id, "NextToken": token}

    def get_orders(self, **kwargs: Any) -> list[dict[str, Any]]:
        """`iter_orders` as a list."""
        return list(self.iter_orders(**kwargs))

    def get_order_items(self, order_id: str) -> list[dict[str, Any]]:
        """The items of one order (all pages)."""
        items: list[dict[str, Any]] = []
        params: dict[str, Any] = {}
        while True:
            payload = self._payload(
                "getOrderItems", path_params={"orderId": order_id}, params=params
            )
            items.extend(self._records("getOrderItems", payload, "OrderItems"))
            token = _next_token(
                "getOrderItems", payload, "payload.NextToken", params.get("NextToken")
            )
            if not token:
                return items
            params = {"NextToken": token}

    def confirm_shipment(self, order_id: str, package: Mapping[str, Any]) -> None:
        """Upload tracking for an MFN order (irreversible; a replay overwrites it)."""
        self.call(
            "confirmShipment",
            path_params={"orderId": order_id},
            json={"marketplaceId": self.marketplace_id, "packageDetail": dict(package)},
        )

    # -- listings ------------------------------------------------------------------------

    def get_listing(self, sku: str) -> dict[str, Any]:
        """The listing item (summaries, attributes, offers, availability)."""
        return self._json(
            "getListingsItem",
            path_params={"sellerId": self.seller_id, "sku": sku},
            params={"marketplaceIds": self.marketplace_id, "includedData": list(_LISTING_DATA)},
        )

    def get_price(self, sku: str) -> Decimal | None:
        """The listing's current price, if it has one."""
        return wire.listing_price(self.get_listing(sku), self.marketplace_id)

    def get_quantity(self, sku: str) -> int | None:
        """The listing's current merchant-fulfilled quantity, if it has one."""
        return wire.listing_quantity(self.get_listing(sku))

    def update_price(
        self,
        sku: str,
        price: Decimal,
        *,
        currency: str | None = None,
        product_type: str = "PRODUCT",
    ) -> ListingChange:
        """Set the price; the returned change carries the price it replaced.

        ``currency`` defaults to the listing's own (else the marketplace's), so a
        price in amazon.de stays in EUR.
        """
        if not isinstance(price, Decimal) or not price.is_finite() or price <= 0:
            msg = f"update_price: price must be a positive, finite Decimal, not {price!r}"
            raise InvalidArgumentError(msg)
        item = self.get_listing(sku)
        old = wire.listing_price(item, self.marketplace_id)
        currency = (
            currency
            or wire.listing_currency(item, self.marketplace_id)
            or CURRENCY.get(self.marketplace_id, "USD")
        )
        old_currency = wire.listing_currency(item, self.marketplace_id) or currency
        return self._patch(
            sku,
            product_type,
            "/attributes/purchasable_offer",
            _price_value(self.marketplace_id, currency, price),
            field="price",
            old=old,
            new=price,
            undo=None if old is None else _price_value(self.marketplace_id, old_currency, old),
        )

    def update_quantity(
        self, sku: str, quantity: int, *, product_type: str = "PRODUCT"
    ) -> ListingChange:
        """Set the merchant-fulfilled quantity; the change carries the one it replaced."""
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
            msg = f"update_quantity: quantity must be an int >= 0, not {quantity!r}"
            raise InvalidArgumentError(msg)
        old = self.get_quantity(sku)
        return self._patch(
            sku,
            product_type,
            "/attributes/fulfillment_availability",
            _quantity_value(quantity),
            field="quantity",
            old=old,
            new=quantity,
            undo=None if old is None else _quantity_value(old),
        )

    def _patch(
        self,
        sku: str,
        product_type: str,
        path: str,
        value: Any,
        *,
        field: str,
        old: Decimal | int | None,
        new: Decimal | int,
        undo: Any,
    ) -> ListingChange:
        where = {
            "path_params": {"sellerId": self.seller_id, "sku": sku},
            "params": {"marketplaceIds": self.marketplace_id},
        }
        inverse = (
            None
            if undo is None
            else Inverse(
                operation="patchListingsItem",
                **where,
                description=f"amazon {field} of {sku}",
                json={
                    "productType": product_type,
                    "patches": [{"op": "replace", "path": path, "value": undo}],
                },
            )
        )
        body = {
            "productType": product_type,
            "patches": [{"op": "replace", "path": path, "value": value}],
        }
        result = self._json("patchListingsItem", **where, json=body, inverse=inverse)
        status = result.get("status")
        if status != "ACCEPTED":
            issues = wire.field_list(result, "issues", "", "patchListingsItem")
            text = "; ".join(_issue_text(i) for i in issues)[:300]
            shown = status if isinstance(status, str) else f"not accepted (status {status!r:.40})"
            msg = f"amazon patchListingsItem for {sku} was {shown}: {text}"
            raise MarketplaceHTTPError(
                msg,
                marketplace="amazon",
                operation="patchListingsItem",
                status=200,
                code=str(shown)[:60],
            )
        submission = result.get("submissionId")
        return ListingChange(
            sku=sku,
            marketplace_id=self.marketplace_id,
            field=field,
            old=old,
            new=new,
            status=status,
            submission_id=submission if isinstance(submission, str) else "",
        )

    # -- inventory and inbound --------------------------------------------------------------

    def get_inventory_summaries(self, seller_skus: Sequence[str] = ()) -> list[dict[str, Any]]:
        """FBA inventory summaries in the adapter's marketplace (all pages)."""
        base = {
            "granularityType": "Marketplace",
            "granularityId": self.marketplace_id,
            "marketplaceIds": self.marketplace_id,
            "details": "true",
            "sellerSkus": list(seller_skus) or None,
        }
        params, out = dict(base), []
        while True:
            body = self._json("getInventorySummaries", params=params)
            payload = wire.field_object(body, "payload", "", "getInventorySummaries")
            out.extend(self._records("getInventorySummaries", payload, "inventorySummaries"))
            pagination = wire.field_object(body, "pagination", "", "getInventorySummaries")
            token = _next_token(
                "getInventorySummaries",
                pagination,
                "pagination.nextToken",
                params.get("nextToken"),
            )
            if not token:
                return out
            params = {**base, "nextToken": token}

    def create_inbound_plan(self, plan: Mapping[str, Any]) -> InboundPlanRef:
        """Create an FBA inbound plan (not idempotent: a timeout is never resent)."""
        body = self._json("createInboundPlan", json=dict(plan))
        return InboundPlanRef(
            inbound_plan_id=_identifier("createInboundPlan", body, "inboundPlanId"),
            operation_id=_identifier("createInboundPlan", body, "operationId"),
        )

    def get_inbound_operation_status(self, operation_id: str) -> dict[str, Any]:
        """The status of an inbound operation (SUCCESS, FAILED, IN_PROGRESS)."""
        return self._json("getInboundOperationStatus", path_params={"operationId": operation_id})

    def cancel_inbound_plan(self, inbound_plan_id: str) -> str:
        """Cancel an inbound plan; returns the operation id to poll."""
        body = self._json("cancelInboundPlan", path_params={"inboundPlanId": inbound_plan_id})
        return _identifier("cancelInboundPlan", body, "operationId")

    # -- health --------------------------------------------------------------------------------

    def reconcile(self, op: Operation, request: httpx.Request) -> httpx.Response | bool | None:
        """Did a lost price or quantity patch apply? Read the listing back and compare."""
        if op.name != "patchListingsItem":
            return None
        try:
            body = json.loads(request.content)
            patch = body["patches"][0]
            # the raw (still percent-encoded) path: a SKU may itself contain '/'
            sku = request.url.raw_path.decode("ascii").split("?", 1)[0].rsplit("/", 1)[-1]
            item = self.get_listing(unquote(sku))
            wanted = wire.patched_value(patch, self.marketplace_id)
            if wanted is None:
                return None
            field, value = wanted
            current = (
                wire.listing_price(item, self.marketplace_id)
                if field == "price"
                else wire.listing_quantity(item)
            )
        except (ValueError, KeyError, IndexError, TypeError, AttributeError, MarketplaceError):
            return None  # unknown: the write stays ambiguous
        if current != value:
            return False  # it did not land: safe to send again
        body = {
            "sku": unquote(sku),
            "status": "ACCEPTED",
            "submissionId": "reconciled",
            "issues": [],
        }
        return httpx.Response(200, json=body, request=request, headers={RECONCILED_HEADER: "1"})

    def health(self) -> Health:
        """Credentials still work and a cheap read works.

        The auth probe is a real LWA refresh, so a revoked app (invalid_grant) or a
        rotated client secret (invalid_client) shows at once, not an hour later.
        """
        try:
            self._refresh_grant()  # a real LWA round trip; the live token stays in use
            self.tokens.token()
        except MarketplaceError as exc:
            return Health(ok=False, auth_ok=False, read_ok=False, detail=str(exc))
        try:
            self.call("getMarketplaceParticipations")
        except MarketplaceError as exc:
            return Health(ok=False, auth_ok=True, read_ok=False, detail=str(exc))
        return Health(ok=True, auth_ok=True, read_ok=True, detail="ok")

    def close(self) -> None:
        """Close the HTTP clients."""
        super().close()
        self._auth_client.close()

    async def aclose(self) -> None:
        """Close the HTTP clients (async and sync)."""
        await super().aclose()
        self._auth_client.close()

    def _json(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        """The answer's JSON object (a body of another shape: `MarketplaceResponseError`)."""
        response = self.call(operation, **kwargs)
        body = response_json("amazon", self.operation(operation), response)
        return wire.as_object(body, "the body", operation)

    def _payload(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        return wire.field_object(self._json(operation, **kwargs), "payload", "", operation)

    @staticmethod
    def _records(operation: str, parent: dict[str, Any], name: str) -> list[dict[str, Any]]:
        """The list ``parent[name]`` of objects (orders, items, summaries)."""
        records = wire.field_list(parent, name, "payload", operation)
        for index, record in enumerate(records):
            wire.as_object(record, f"payload.{name}[{index}]", operation)
        return records


def _price_value(marketplace_id: str, currency: str, price: Decimal) -> list[dict[str, Any]]:
    return [
        {
            "marketplace_id": marketplace_id,
            "currency": currency,
            "our_price": [{"schedule": [{"value_with_tax": float(price)}]}],
        }
    ]


def _quantity_value(quantity: int) -> list[dict[str, Any]]:
    return [{"fulfillment_channel_code": "DEFAULT", "quantity": quantity}]


def _next_token(
    operation: str, parent: dict[str, Any], where: str, previous: object = None
) -> str | None:
    """A pagination token: a string, or none (missing, null or empty); never ``previous``."""
    token = parent.get(where.rsplit(".", 1)[-1])
    return wire.next_token(token, previous, operation, where, "a string")


def _identifier(operation: str, body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise wire.wrong_shape(operation, name, value, "a non-empty string")
    return value


def _issue_text(issue: object) -> str:
    if isinstance(issue, dict) and isinstance(issue.get("message"), str):
        return str(issue["message"])
    return issue if isinstance(issue, str) else f"({type(issue).__name__})"

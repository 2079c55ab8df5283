"""The Walmart Marketplace (US) adapter.

    from safe_release.adapters.walmart import WalmartAdapter

    walmart = WalmartAdapter(client_id="…", client_secret=os.environ["WALMART_SECRET"])
    change = walmart.update_price("SKU-1", Decimal("17.50"))  # change.old: the price replaced

Tokens come from the client-credentials grant (15 minutes), are fetched once and
shared by every thread and task, and go only into the ``WM_SEC.ACCESS_TOKEN``
header: never into logs, messages or reprs. Every attempt carries a fresh
``WM_QOS.CORRELATION_ID``, ``WM_SVC.NAME`` and ``Accept: application/json``.

Every price and quantity write reads the value it replaces first (``GET
/v3/items/{sku}``, ``GET /v3/inventory``), so inside a release it is journaled
with the call that puts that value back. Feeds are in `_walmart_feeds`, orders
in `_walmart_orders`; this module is the adapter, its hooks, prices and stock.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict

from safe_release._effects import Inverse
from safe_release.adapters import _walmart_wire as wire
from safe_release.adapters._auth import TokenProvider, atoken_for, token_for
from safe_release.adapters._base import MarketplaceAdapter
from safe_release.adapters._batch import BatchItem, ItemResult
from safe_release.adapters._core import RECONCILED_HEADER, clean_params
from safe_release.adapters._grants import auth_client, credential
from safe_release.adapters._walmart_feeds import FEED_WAIT_S, FeedRun, check_wait
from safe_release.adapters._walmart_ops import (
    ENDPOINTS,
    FEED_OPERATIONS,
    INVENTORY_FEED,
    PRICE_FEED,
    WALMART_OPERATIONS,
)
from safe_release.adapters._walmart_orders import order_params, pages, reconcile_order, shipment
from safe_release.exceptions import (
    InvalidArgumentError,
    MarketplaceError,
    MarketplaceHTTPError,
    PayloadTooLargeError,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from safe_release._secrets import Secret
    from safe_release.adapters._core import Verdict
    from safe_release.adapters._operation import Operation

__all__ = ["ENDPOINTS", "Health", "InventoryChange", "PriceChange", "WalmartAdapter"]

CURRENCIES = wire.CURRENCIES
_CREDENTIALS = "client_secret= must be a non-empty string (or Secret)"
_MAX_SKU = 50  # Walmart's SKU is at most 50 characters [O]
_BY_SKU = {"productIdType": "SKU"}
_NOT_FOUND = 404


class PriceChange(BaseModel):
    """A price update, with the price it replaced.

    ``old`` was read from Walmart just before (or is the caller's ``old=``); None
    when the item had no price yet, so there was nothing to put back.
    """

    model_config = ConfigDict(frozen=True)

    sku: str
    currency: str
    old: Decimal | None
    new: Decimal
    message: str = ""


class InventoryChange(BaseModel):
    """A quantity update, with the quantity it replaced (read just before)."""

    model_config = ConfigDict(frozen=True)

    sku: str
    old: int
    new: int


class Health(BaseModel):
    """What ``/v3/token/detail`` says of the adapter's token, and whether it can act."""

    model_config = ConfigDict(frozen=True)

    ok: bool
    is_valid: bool
    expire_at: datetime | None
    scopes: dict[str, str]
    detail: str


class WalmartAdapter(MarketplaceAdapter):
    """Paced, retried Walmart Marketplace calls for one seller account (client credentials)."""

    marketplace = "walmart"
    operations = WALMART_OPERATIONS

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str | Secret,
        seller_id: str | None = None,
        environment: str = "production",
        base_url: str | None = None,
        token_url: str | None = None,
        **options: Any,
    ) -> None:
        if environment not in ENDPOINTS:
            msg = f"environment= must be one of {sorted(ENDPOINTS)}, not {environment!r}"
            raise InvalidArgumentError(msg)
        if not isinstance(client_id, str) or not client_id:
            msg = "client_id= must be the Walmart client id of the seller (a non-empty string)"
            raise InvalidArgumentError(msg)
        digest = hashlib.sha256(client_id.encode()).hexdigest()[:12]
        base = base_url or ENDPOINTS[environment]
        super().__init__(
            base_url=base,
            seller=seller_id if seller_id is not None else f"client-{digest}",
            app=f"app-{digest}",
            region=environment,
            **options,
        )
        self.environment = environment
        self._auth_client = auth_client(options)
        secret = credential(client_secret, _CREDENTIALS)
        url = token_url or base.rstrip("/") + "/v3/token"

        def grant() -> Any:
            return wire.client_credentials(
                self._auth_client,
                url,
                client_id=client_id,
                client_secret=secret,
                seconds=self.attempt_seconds(),
            )

        self.tokens = TokenProvider(grant, clock=self.clock, marketplace="walmart")

    # -- hooks -----------------------------------------------------------------------------

    def authorize(self, request: httpx.Request, *, stale: object | None = None) -> object:
        """Put a valid token and the per-attempt headers on ``request``."""
        token = token_for(self.tokens, stale)
        wire.stamp(request)
        request.headers[wire.TOKEN_HEADER] = token.reveal()
        return token

    async def aauthorize(self, request: httpx.Request, *, stale: object | None = None) -> object:
        """`authorize`, awaiting a shared refresh instead of blocking the loop."""
        token = await atoken_for(self.tokens, stale)
        wire.stamp(request)
        request.headers[wire.TOKEN_HEADER] = token.reveal()
        return token

    def classify(self, response: httpx.Response) -> Verdict:
        """Walmart semantics (401 refresh once, 423 and 5xx retry later, 429 throttled)."""
        return wire.classify(response)

    def error_for(self, op: Operation, response: httpx.Response) -> MarketplaceError:
        """Typed errors from both Walmart error-body shapes."""
        return wire.walmart_error(op, response)

    def build_request(
        self,
        op: Operation,
        *,
        path_params: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
    ) -> httpx.Request:
        """The request; feeds go as ``multipart/form-data``, query values as ``%20`` escapes."""
        if op.name not in FEED_OPERATIONS:
            request = super().build_request(op, path_params=path_params, json=json)
            query = _query(params)
            if query:
                request.url = request.url.copy_with(query=query.encode("ascii"))
            return request
        try:
            content, content_type = wire.multipart(json)
        except (TypeError, ValueError) as exc:
            msg = f"walmart {op.name}: the feed is not JSON ({exc}); nothing was sent"
            raise InvalidArgumentError(msg) from exc
        if len(content) > op.max_body_bytes:
            msg = (
                f"walmart {op.name}: the feed is {len(content):,} bytes, over the limit of "
                f"{op.max_body_bytes:,}; split it"
            )
            raise PayloadTooLargeError(msg, marketplace="walmart", operation=op.name)
        query = _query({"feedType": FEED_OPERATIONS[op.name]})
        return self._client.build_request(
            op.method,
            f"{op.path}?{query}",
            content=content,
            headers={"accept": "application/json", "content-type": content_type},
        )

    def ledger_target(self, op: Operation, request: httpx.Request) -> str:
        """One SKU's price and quantity are targets of their own (the path names neither)."""
        if op.name == "updatePrice":
            return _target(_body_sku(request), "price")
        if op.name == "updateInventory":
            return _target(request.url.params.get("sku", ""), "quantity")
        return super().ledger_target(op, request)

    def reconcile(self, op: Operation, request: httpx.Request) -> httpx.Response | bool | None:
        """Did a lost write apply? Read it back: the price, the quantity, the order's lines.

        A price is compared exactly (as a Decimal, and its currency). None: unknown.
        """
        try:
            if op.name == "updatePrice":
                return self._reconcile_price(request)
            if op.name == "updateInventory":
                wanted = json.loads(request.content)["quantity"]["amount"]
                query = request.url.params
                current = self.get_inventory(query["sku"], ship_node=query.get("shipNode"))
                if current != wanted:
                    return False
                return _reconciled(request, json.loads(request.content))
            if op.name in ("acknowledgeOrder", "shipOrder"):
                return reconcile_order(op, request, self.get_order)
        except (ValueError, KeyError, TypeError, IndexError, MarketplaceError):
            return None  # unknown: the write stays ambiguous
        return None

    def _reconcile_price(self, request: httpx.Request) -> httpx.Response | bool:
        sku, wanted, currency = wire.sent_price(request.content)
        if self._read_price(sku) != (wanted, currency):
            return False
        answer = {"ItemPriceResponse": {"mart": "WALMART_US", "sku": sku, "message": ""}}
        return _reconciled(request, answer)

    # -- items and prices --------------------------------------------------------------------

    def get_item(self, sku: str) -> dict[str, Any]:
        """One item as Walmart lists it (``GET /v3/items/{sku}``): its ``ItemResponse`` entry.

        The entry holds ``sku``, ``wpid``, ``gtin``, ``productName``, ``price``
        (``{"currency", "amount"}``, the amount a JSON number) and the item's
        ``publishedStatus`` and ``lifecycleStatus``. An unknown SKU raises
        `MarketplaceHTTPError` with status 404 (``CONTENT_NOT_FOUND``).
        """
        _check_sku("get_item", sku)
        body = self._json("getItem", path_params={"sku": sku}, params=_BY_SKU)
        return wire.item_entry(body, sku)

    async def aget_item(self, sku: str) -> dict[str, Any]:
        """`get_item` for asyncio code."""
        _check_sku("get_item", sku)
        response = await self.acall("getItem", path_params={"sku": sku}, params=_BY_SKU)
        return wire.item_entry(self._object("getItem", response), sku)

    def get_price(self, sku: str) -> Decimal | None:
        """The item's price as Walmart reports it, exactly; None if it has none yet.

        Walmart may take up to five minutes to show a price it has just accepted.
        """
        found = wire.item_price(self.get_item(sku))
        return None if found is None else found[0]

    async def aget_price(self, sku: str) -> Decimal | None:
        """`get_price` for asyncio code."""
        found = wire.item_price(await self.aget_item(sku))
        return None if found is None else found[0]

    def update_price(
        self,
        sku: str,
        price: Decimal,
        currency: str = "USD",
        *,
        old: Decimal | None = None,
    ) -> PriceChange:
        """Set one item's base price (``PUT /v3/price``); the change carries the one replaced.

        The price it replaces is read first (``GET /v3/items/{sku}``): inside a
        release it is the inverse a rollback sends. An item without a price has
        nothing to put back: the write is journaled with no inverse, and a
        rollback keeps it. ``old=`` overrides the read (one call fewer): it is
        trusted as the price replaced, in ``currency``.
        """
        body = _price_body(sku, price, currency, old)
        before = self._read_price(sku) if old is None else (old, currency)
        result = self._json("updatePrice", json=body, inverse=_price_inverse(sku, before))
        return _price_change(result, _change(sku, price, currency, before))

    async def aupdate_price(
        self,
        sku: str,
        price: Decimal,
        currency: str = "USD",
        *,
        old: Decimal | None = None,
    ) -> PriceChange:
        """`update_price` for asyncio code."""
        body = _price_body(sku, price, currency, old)
        before = await self._aread_price(sku) if old is None else (old, currency)
        response = await self.acall("updatePrice", json=body, inverse=_price_inverse(sku, before))
        change = _change(sku, price, currency, before)
        return _price_change(self._object("updatePrice", response), change)

    def _read_price(self, sku: str) -> tuple[Decimal, str] | None:
        return wire.item_price(self.get_item(sku))

    async def _aread_price(self, sku: str) -> tuple[Decimal, str] | None:
        return wire.item_price(await self.aget_item(sku))

    # -- inventory ---------------------------------------------------------------------------

    def get_inventory(self, sku: str, *, ship_node: str | None = None) -> int:
        """The item's quantity (``GET /v3/inventory``), at ``ship_node`` if given."""
        _check_sku("get_inventory", sku)
        body = self._json("getInventory", params={"sku": sku, "shipNode": ship_node})
        return _quantity(body)

    async def aget_inventory(self, sku: str, *, ship_node: str | None = None) -> int:
        """`get_inventory` for asyncio code."""
        _check_sku("get_inventory", sku)
        params = {"sku": sku, "shipNode": ship_node}
        return _quantity(
            self._object("getInventory", await self.acall("getInventory", params=params))
        )

    def update_inventory(
        self, sku: str, quantity: int, *, ship_node: str | None = None
    ) -> InventoryChange:
        """Set the item's quantity; the change carries the one it replaced (read first)."""
        _check_quantity("update_inventory", quantity)
        old = self.get_inventory(sku, ship_node=ship_node)
        kwargs = _inventory_call(sku, quantity, old, ship_node)
        self._json("updateInventory", **kwargs)
        return InventoryChange(sku=sku, old=old, new=quantity)

    async def aupdate_inventory(
        self, sku: str, quantity: int, *, ship_node: str | None = None
    ) -> InventoryChange:
        """`update_inventory` for asyncio code."""
        _check_quantity("update_inventory", quantity)
        old = await self.aget_inventory(sku, ship_node=ship_node)
        response = await self.acall(
            "updateInventory", **_inventory_call(sku, quantity, old, ship_node)
        )
        self._object("updateInventory", response)
        return InventoryChange(sku=sku, old=old, new=quantity)

    # -- feeds of prices and quantities ------------------------------------------------------

    def submit_price_feed(
        self,
        prices: Mapping[str, Decimal],
        *,
        currency: str = "USD",
        old: Mapping[str, Decimal] | None = None,
        wait: float = FEED_WAIT_S,
    ) -> list[ItemResult]:
        """Set many prices in one price feed; one `ItemResult` per SKU, in order.

        Waits (on the adapter's clock, at most ``wait`` seconds) for Walmart to
        process the feed: a ``PROCESSED`` feed can still hold failed items. Each
        SKU's price is read first (``GET /v3/items/{sku}``), unless ``old`` gives
        it: inside a release each SKU is its own ledger entry, whose inverse is a
        ``PUT /v3/price`` of that price. A SKU Walmart does not know (404) or
        without a price gets no inverse; the feed reports its own result for it.
        """
        check_wait(wait)
        wanted = _price_feed(prices, currency, old)
        before = {sku: self._feed_price(sku, old, currency) for sku, _ in wanted}
        items = _price_items(wanted, currency, before)
        return self.call_items(PRICE_FEED, items, **FeedRun(self, PRICE_FEED, wait).hooks())

    async def asubmit_price_feed(
        self,
        prices: Mapping[str, Decimal],
        *,
        currency: str = "USD",
        old: Mapping[str, Decimal] | None = None,
        wait: float = FEED_WAIT_S,
    ) -> list[ItemResult]:
        """`submit_price_feed` for asyncio code (the polling runs in a worker thread)."""
        check_wait(wait)
        wanted = _price_feed(prices, currency, old)
        before = {sku: await self._afeed_price(sku, old, currency) for sku, _ in wanted}
        items = _price_items(wanted, currency, before)
        hooks = FeedRun(self, PRICE_FEED, wait).hooks()
        return await self.acall_items(PRICE_FEED, items, **hooks)

    def submit_inventory_feed(
        self, quantities: Mapping[str, int], *, wait: float = FEED_WAIT_S
    ) -> list[ItemResult]:
        """Set many quantities in one inventory feed; one `ItemResult` per SKU, in order.

        Each SKU's quantity is read first, for its inverse (a ``PUT /v3/inventory``).
        """
        check_wait(wait)
        pairs = _quantities(quantities)
        items = [_quantity_item(sku, quantity, self.get_inventory(sku)) for sku, quantity in pairs]
        hooks = FeedRun(self, INVENTORY_FEED, wait).hooks()
        return self.call_items(INVENTORY_FEED, items, **hooks)

    async def asubmit_inventory_feed(
        self, quantities: Mapping[str, int], *, wait: float = FEED_WAIT_S
    ) -> list[ItemResult]:
        """`submit_inventory_feed` for asyncio code (the polling runs in a worker thread)."""
        check_wait(wait)
        pairs = _quantities(quantities)
        items = [_quantity_item(sku, qty, await self.aget_inventory(sku)) for sku, qty in pairs]
        hooks = FeedRun(self, INVENTORY_FEED, wait).hooks()
        return await self.acall_items(INVENTORY_FEED, items, **hooks)

    def _feed_price(
        self, sku: str, old: Mapping[str, Decimal] | None, currency: str
    ) -> tuple[Decimal, str] | None:
        if old is not None and sku in old:
            return old[sku], currency
        try:
            return self._read_price(sku)
        except MarketplaceHTTPError as exc:
            if exc.status == _NOT_FOUND:
                return None  # not in the catalog: the feed reports the item's own error
            raise

    async def _afeed_price(
        self, sku: str, old: Mapping[str, Decimal] | None, currency: str
    ) -> tuple[Decimal, str] | None:
        if old is not None and sku in old:
            return old[sku], currency
        try:
            return await self._aread_price(sku)
        except MarketplaceHTTPError as exc:
            if exc.status == _NOT_FOUND:
                return None
            raise

    def get_feed_status(
        self,
        feed_id: str,
        *,
        include_details: bool = False,
        offset: int = 0,
        limit: int = wire.FEED_PAGE,
    ) -> dict[str, Any]:
        """A feed's status (``GET /v3/feeds/{feedId}``), with a page of items if asked."""
        if not isinstance(feed_id, str) or not feed_id:
            msg = "get_feed_status: feed_id must be the feedId a submission returned"
            raise InvalidArgumentError(msg)
        wire.check_page("get_feed_status", offset, limit, wire.FEED_PAGE)
        params = (
            {"includeDetails": "true", "offset": offset, "limit": limit} if include_details else {}
        )
        return self._json("getFeedStatus", path_params={"feedId": feed_id}, params=params)

    def list_feeds(
        self, *, feed_id: str | None = None, offset: int = 0, limit: int = 50
    ) -> dict[str, Any]:
        """Recent feeds (``GET /v3/feeds``)."""
        wire.check_page("list_feeds", offset, limit, wire.FEED_PAGE)
        return self._json(
            "listFeeds", params={"feedId": feed_id, "offset": offset, "limit": limit}
        )

    # -- orders ------------------------------------------------------------------------------

    def iter_orders(
        self,
        *,
        status: str | None = None,
        created_start: datetime | str | None = None,
        created_end: datetime | str | None = None,
        sku: str | None = None,
        purchase_order_id: str | None = None,
        customer_order_id: str | None = None,
        limit: int = 100,
        max_pages: int | None = None,
        filters: Mapping[str, str] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Orders matching the filters, following ``nextCursor`` pages.

        ``filters`` passes any other documented filter as is
        (``shipNodeType``, ``lastModifiedStartDate`` …).
        """
        params = order_params(
            status=status,
            created_start=created_start,
            created_end=created_end,
            sku=sku,
            purchase_order_id=purchase_order_id,
            customer_order_id=customer_order_id,
            limit=limit,
            filters=filters,
        )
        return pages(self._read_page, "getOrders", params, max_pages)

    def get_orders(self, **kwargs: Any) -> list[dict[str, Any]]:
        """`iter_orders` as a list."""
        return list(self.iter_orders(**kwargs))

    def get_released_orders(
        self,
        *,
        created_start: datetime | str | None = None,
        limit: int = 100,
        max_pages: int | None = None,
        filters: Mapping[str, str] | None = None,
    ) -> list[dict[str, Any]]:
        """Orders whose lines are ``Created``: released to the seller, ready to acknowledge."""
        params = order_params(created_start=created_start, limit=limit, filters=filters)
        return list(pages(self._read_page, "getReleasedOrders", params, max_pages))

    def _read_page(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        return self._json(operation, params=params)

    def get_order(self, purchase_order_id: str) -> dict[str, Any]:
        """One order (``GET /v3/orders/{purchaseOrderId}``)."""
        body = self._json("getOrder", path_params={"purchaseOrderId": purchase_order_id})
        return wire.field_object(body, "order", "", "getOrder")

    def acknowledge_order(self, purchase_order_id: str) -> dict[str, Any]:
        """Acknowledge every line of an order (irreversible); the order as it is now.

        A lost answer or a 5xx is reconciled by reading the order: its lines past
        ``Created`` mean it applied, so it is not sent twice.
        """
        body = self._json("acknowledgeOrder", path_params={"purchaseOrderId": purchase_order_id})
        return wire.field_object(body, "order", "", "acknowledgeOrder")

    def ship_order_lines(
        self,
        purchase_order_id: str,
        lines: Mapping[str, int],
        *,
        tracking_number: str,
        ship_date: datetime,
        carrier: str | None = None,
        other_carrier: str | None = None,
        tracking_url: str | None = None,
        method_code: str = "Standard",
        seller_order_id: str | None = None,
    ) -> dict[str, Any]:
        """Mark order lines shipped (``lines``: line number -> quantity); IRREVERSIBLE.

        It charges the customer and is not idempotent: a lost answer or a 5xx is
        reconciled by reading the lines' status, never resent blindly. Give
        ``carrier`` (Walmart's list: UPS, USPS, FedEx …) or ``other_carrier`` with
        ``tracking_url``.
        """
        body = shipment(
            lines,
            tracking_number=tracking_number,
            ship_date=ship_date,
            carrier=carrier,
            other_carrier=other_carrier,
            tracking_url=tracking_url,
            method_code=method_code,
            seller_order_id=seller_order_id,
        )
        answer = self._json(
            "shipOrder", path_params={"purchaseOrderId": purchase_order_id}, json=body
        )
        return wire.field_object(answer, "order", "", "shipOrder")

    # -- health ------------------------------------------------------------------------------

    def token_detail(self) -> dict[str, Any]:
        """``GET /v3/token/detail``: the token's validity, expiry and scopes."""
        return self._json("tokenDetail")

    def health(self) -> Health:
        """Whether the token is valid, when it expires and what it may do (a cheap probe)."""
        try:
            detail = self.token_detail()
            scopes = wire.field_object(detail, "scopes", "", "tokenDetail")
        except MarketplaceError as exc:
            return Health(ok=False, is_valid=False, expire_at=None, scopes={}, detail=str(exc))
        valid = detail.get("is_valid") is True
        expire_at = wire.from_epoch_ms(detail.get("expire_at"))
        granted = {k[:40]: v[:40] for k, v in scopes.items() if isinstance(v, str)}
        until = f" until {expire_at:%Y-%m-%dT%H:%M:%SZ}" if expire_at is not None else ""
        shown = ", ".join(f"{k} {v}" for k, v in sorted(granted.items())) or "none"
        return Health(
            ok=valid,
            is_valid=valid,
            expire_at=expire_at,
            scopes=granted,
            detail=(
                f"token valid{until}; scopes: {shown}"
                if valid
                else "Walmart says the access token is not valid: check the app's credentials"
            ),
        )

    def close(self) -> None:
        """Close the HTTP clients."""
        super().close()
        self._auth_client.close()

    async def aclose(self) -> None:
        """Close the HTTP clients (async and sync)."""
        await super().aclose()
        self._auth_client.close()

    def _json(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        """The answer's JSON object (HTML, XML or another shape: `MarketplaceResponseError`)."""
        return self._object(operation, self.call(operation, **kwargs))

    def _object(self, operation: str, response: httpx.Response) -> dict[str, Any]:
        return wire.answer(self.operation(operation), response)


# -- helpers -------------------------------------------------------------------------------


def _query(params: Mapping[str, Any] | None) -> str:
    """A query string with every reserved character escaped (a space as ``%20``)."""
    pairs = (clean_params(params) or {}).items()  # None dropped, lists comma-joined
    return "&".join(f"{quote(str(k), safe='')}={quote(str(v), safe='')}" for k, v in pairs)


def _target(sku: str, what: str) -> str:
    return f"sku {sku} {what}"


def _body_sku(request: httpx.Request) -> str:
    try:
        sku = json.loads(request.content).get("sku")
    except (ValueError, AttributeError):
        return ""
    return sku if isinstance(sku, str) else ""


def _reconciled(request: httpx.Request, body: Any) -> httpx.Response:
    return httpx.Response(200, json=body, request=request, headers={RECONCILED_HEADER: "1"})


def _price_change(result: dict[str, Any], change: PriceChange) -> PriceChange:
    """``change`` with Walmart's message; errors inside a 200 answer raise."""
    answer = wire.field_object(result, "ItemPriceResponse", "", "updatePrice")
    errors = wire.error_entries(answer)
    if errors:
        code = errors[0].get("code")
        msg = f"walmart updatePrice for {change.sku} was refused: {str(code)[:80]}"
        raise MarketplaceHTTPError(
            msg,
            marketplace="walmart",
            operation="updatePrice",
            status=200,
            code=wire.code_prefix(code),
        )
    message = answer.get("message")
    return change.model_copy(update={"message": message if isinstance(message, str) else ""})


def _price_body(sku: str, price: Decimal, currency: str, old: Decimal | None) -> dict[str, Any]:
    """The ``PUT /v3/price`` body; every argument is checked before anything is read or sent."""
    _check_sku("update_price", sku)
    _check_price("update_price", "price", price)
    if old is not None:
        _check_price("update_price", "old", old)
    _check_currency("update_price", currency)
    return wire.price_payload(sku, price, currency)


def _price_inverse(sku: str, before: tuple[Decimal, str] | None) -> Inverse | None:
    """The ``PUT /v3/price`` that puts ``before`` back (None: the item had no price)."""
    if before is None:
        return None
    old, currency = before
    return Inverse(
        operation="updatePrice",
        json=wire.price_payload(sku, old, currency),
        description=f"walmart price of {sku}",
    )


def _change(
    sku: str, price: Decimal, currency: str, before: tuple[Decimal, str] | None
) -> PriceChange:
    return PriceChange(
        sku=sku, currency=currency, old=None if before is None else before[0], new=price
    )


def _price_feed(
    prices: Mapping[str, Decimal], currency: str, old: Mapping[str, Decimal] | None
) -> list[tuple[str, Decimal]]:
    """The feed's (sku, price) pairs, every price, ``old`` and the currency checked."""
    where = "submit_price_feed"
    pairs = _pairs(where, prices)
    _check_currency(where, currency)
    if old is not None and not isinstance(old, Mapping):
        msg = f"{where}: old= must map SKUs to the prices they replace, not {type(old).__name__}"
        raise InvalidArgumentError(msg)
    for _, price in pairs:
        _check_price(where, "price", price)
    for sku, value in (old or {}).items():
        _check_price(where, f"old[{sku!r:.60}]", value)
    return pairs


def _price_items(
    pairs: list[tuple[str, Decimal]],
    currency: str,
    before: Mapping[str, tuple[Decimal, str] | None],
) -> list[BatchItem]:
    """One feed item per SKU, each with the ``PUT /v3/price`` that undoes it alone."""
    return [
        BatchItem(
            _target(sku, "price"),
            wire.price_payload(sku, price, currency),
            _price_inverse(sku, before[sku]),
        )
        for sku, price in pairs
    ]


def _inventory_call(sku: str, quantity: int, old: int, ship_node: str | None) -> dict[str, Any]:
    params: dict[str, Any] = {"sku": sku}
    if ship_node is not None:
        params["shipNode"] = ship_node
    inverse = Inverse(
        operation="updateInventory",
        params=params,
        json=wire.quantity_payload(sku, old),
        description=f"walmart quantity of {sku}",
    )
    return {"params": params, "json": wire.quantity_payload(sku, quantity), "inverse": inverse}


def _quantities(quantities: Mapping[str, int]) -> list[tuple[str, int]]:
    pairs = _pairs("submit_inventory_feed", quantities)
    for _, quantity in pairs:
        _check_quantity("submit_inventory_feed", quantity)
    return pairs


def _quantity_item(sku: str, quantity: int, old: int) -> BatchItem:
    kwargs = _inventory_call(sku, quantity, old, None)
    return BatchItem(_target(sku, "quantity"), kwargs["json"], kwargs["inverse"])


def _quantity(body: dict[str, Any]) -> int:
    quantity = wire.field_object(body, "quantity", "", "getInventory")
    value = quantity.get("amount")
    if isinstance(value, bool) or not isinstance(value, int):
        raise wire.wrong_shape("getInventory", "quantity.amount", value, "a whole number")
    return value


# -- checking input (every bad value raises InvalidArgumentError before anything is sent) --


def _check_sku(where: str, sku: object) -> None:
    if not isinstance(sku, str) or not sku.strip() or len(sku) > _MAX_SKU:
        msg = (
            f"{where}: sku must be a non-empty string of <= {_MAX_SKU} characters, not {sku!r:.60}"
        )
        raise InvalidArgumentError(msg)


def _check_price(where: str, name: str, price: object) -> None:
    """A positive, finite Decimal of whole cents that a JSON number carries exactly."""
    if (
        not isinstance(price, Decimal)
        or not price.is_finite()
        or price <= 0
        or price != price.quantize(Decimal("0.01"))
    ):
        msg = f"{where}: {name} must be a positive Decimal in whole cents, not {price!r:.60}"
        raise InvalidArgumentError(msg)
    try:
        wire.money(price)
    except ValueError as exc:
        msg_0 = f"{where}: {name}: {exc}"
        raise InvalidArgumentError(msg_0) from None


def _check_currency(where: str, currency: object) -> None:
    if currency not in CURRENCIES:
        msg = f"{where}: currency must be one of {sorted(CURRENCIES)}, not {currency!r:.20}"
        raise InvalidArgumentError(msg)


def _check_quantity(where: str, quantity: object) -> None:
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
        msg = f"{where}: quantity must be an int >= 0, not {quantity!r:.60}"
        raise InvalidArgumentError(msg)


def _pairs(where: str, values: object) -> list[tuple[str, Any]]:
    if not isinstance(values, Mapping) or not values:
        msg = f"{where}: give a non-empty mapping of SKU to value, not {type(values).__name__}"
        raise InvalidArgumentError(msg)
    for sku in values:
        _check_sku(where, sku)
    return list(values.items())

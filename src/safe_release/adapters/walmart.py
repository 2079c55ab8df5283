"""The Walmart Marketplace (US) adapter.

    from safe_release.adapters.walmart import WalmartAdapter

    walmart = WalmartAdapter(client_id="…", client_secret=os.environ["WALMART_SECRET"])
    change = walmart.update_inventory("SKU-1", 40)      # change.old is the quantity replaced

Tokens come from the client-credentials grant (15 minutes), are fetched once and
shared by every thread and task, and go only into the ``WM_SEC.ACCESS_TOKEN``
header: never into logs, messages or reprs. Every attempt carries a fresh
``WM_QOS.CORRELATION_ID``, ``WM_SVC.NAME`` and ``Accept: application/json``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, unquote

import httpx
from pydantic import BaseModel, ConfigDict

from safe_release._effects import Inverse
from safe_release._secrets import Secret
from safe_release.adapters import _walmart_wire as wire
from safe_release.adapters._auth import TokenProvider
from safe_release.adapters._base import MarketplaceAdapter, response_json
from safe_release.adapters._batch import BatchItem, ItemResult
from safe_release.adapters._core import RECONCILED_HEADER, clean_params
from safe_release.adapters._walmart_ops import (
    ENDPOINTS,
    FEED_OPERATIONS,
    INVENTORY_FEED,
    PRICE_FEED,
    WALMART_OPERATIONS,
)
from safe_release.exceptions import (
    AmbiguousWriteError,
    InvalidArgumentError,
    MarketplaceError,
    MarketplaceHTTPError,
    PayloadTooLargeError,
)

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from safe_release.adapters._core import Verdict
    from safe_release.adapters._operation import Operation

__all__ = ["ENDPOINTS", "Health", "InventoryChange", "PriceChange", "WalmartAdapter"]

CURRENCIES = frozenset({"USD", "CAD"})
FEED_WAIT_S = 3600.0
"""How long a feed submission waits for Walmart to process the feed, by default."""
_POLL_FIRST, _POLL_MAX = 5.0, 60.0
_MAX_SKU = 50  # Walmart's SKU is at most 50 characters [O]


class PriceChange(BaseModel):
    """A price update, with the price it replaced when the caller knew it."""

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
        self._auth_client = httpx.Client(
            transport=options.get("transport"), timeout=options.get("timeout", 30.0)
        )
        secret = _secret(client_secret)
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
        if isinstance(stale, Secret):
            self.tokens.invalidate(stale)
        token = self.tokens.token()
        wire.stamp(request)
        request.headers[wire.TOKEN_HEADER] = token.reveal()
        return token

    async def aauthorize(self, request: httpx.Request, *, stale: object | None = None) -> object:
        """`authorize`, awaiting a shared refresh instead of blocking the loop."""
        if isinstance(stale, Secret):
            self.tokens.invalidate(stale)
        token = await self.tokens.atoken()
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
        """Did a lost write apply? Read it back: the quantity, the order's lines.

        A price cannot be read back (no price read is in scope): unknown.
        """
        try:
            if op.name == "updateInventory":
                wanted = json.loads(request.content)["quantity"]["amount"]
                query = request.url.params
                current = self.get_inventory(query["sku"], ship_node=query.get("shipNode"))
                if current != wanted:
                    return False
                return _reconciled(request, json.loads(request.content))
            if op.name in ("acknowledgeOrder", "shipOrder"):
                return self._reconcile_order(op, request)
        except (ValueError, KeyError, TypeError, MarketplaceError):
            return None  # unknown: the write stays ambiguous
        return None

    def _reconcile_order(
        self, op: Operation, request: httpx.Request
    ) -> httpx.Response | bool | None:
        # the raw (still percent-encoded) path, split before decoding
        raw = request.url.raw_path.decode("ascii").split("?", 1)[0]
        order = self.get_order(unquote(raw.rstrip("/").split("/")[-2]))
        if op.name == "acknowledgeOrder":
            done = wire.acknowledged(order, op.name)
        else:
            body = json.loads(request.content)
            wanted = {}
            for line in body["orderShipment"]["orderLines"]["orderLine"]:
                status = line["orderLineStatuses"]["orderLineStatus"][0]
                wanted[line["lineNumber"]] = (
                    int(status["statusQuantity"]["amount"]),
                    status["trackingInfo"]["trackingNumber"],
                )
            done = wire.shipped(order, wanted, op.name)
        if done is None or done is False:
            return done
        return _reconciled(request, {"order": order})

    # -- price and inventory ----------------------------------------------------------------

    def update_price(
        self,
        sku: str,
        price: Decimal,
        currency: str = "USD",
        *,
        old: Decimal | None = None,
    ) -> PriceChange:
        """Set one item's base price (``PUT /v3/price``).

        Walmart offers no price read in this adapter's scope, so the price this one
        replaces is the caller's ``old=``: inside a release it becomes the inverse
        that a rollback sends; without it the change is journaled with no inverse
        and a rollback keeps the new price.
        """
        body, inverse = self._price_call(sku, price, currency, old)
        result = self._json("updatePrice", json=body, inverse=inverse)
        return _price_change(result, PriceChange(sku=sku, currency=currency, old=old, new=price))

    async def aupdate_price(
        self,
        sku: str,
        price: Decimal,
        currency: str = "USD",
        *,
        old: Decimal | None = None,
    ) -> PriceChange:
        """`update_price` for asyncio code."""
        body, inverse = self._price_call(sku, price, currency, old)
        response = await self.acall("updatePrice", json=body, inverse=inverse)
        change = PriceChange(sku=sku, currency=currency, old=old, new=price)
        return _price_change(self._object("updatePrice", response), change)

    def _price_call(
        self, sku: str, price: Decimal, currency: str, old: Decimal | None
    ) -> tuple[dict[str, Any], Inverse | None]:
        _check_sku("update_price", sku)
        _check_price("update_price", "price", price)
        if old is not None:
            _check_price("update_price", "old", old)
        if currency not in CURRENCIES:
            msg = f"update_price: currency must be one of {sorted(CURRENCIES)}, not {currency!r}"
            raise InvalidArgumentError(msg)
        body = wire.price_payload(sku, price, currency)
        inverse = None if old is None else _price_inverse(sku, old, currency)
        return body, inverse

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

    # -- feeds -------------------------------------------------------------------------------

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
        process the feed: a ``PROCESSED`` feed can still hold failed items. Inside a
        release each SKU is its own ledger entry; its inverse (a ``PUT /v3/price``
        of ``old[sku]``) exists only for the SKUs in ``old``.
        """
        _check_wait(wait)
        items = self._price_items(prices, currency, old)
        return self.call_items(PRICE_FEED, items, **self._feed_hooks(PRICE_FEED, wait))

    def submit_inventory_feed(
        self, quantities: Mapping[str, int], *, wait: float = FEED_WAIT_S
    ) -> list[ItemResult]:
        """Set many quantities in one inventory feed; one `ItemResult` per SKU, in order.

        Each SKU's quantity is read first, for its inverse (a ``PUT /v3/inventory``).
        """
        _check_wait(wait)
        pairs = _quantities(quantities)
        items = [_quantity_item(sku, quantity, self.get_inventory(sku)) for sku, quantity in pairs]
        return self.call_items(INVENTORY_FEED, items, **self._feed_hooks(INVENTORY_FEED, wait))

    async def asubmit_price_feed(
        self,
        prices: Mapping[str, Decimal],
        *,
        currency: str = "USD",
        old: Mapping[str, Decimal] | None = None,
        wait: float = FEED_WAIT_S,
    ) -> list[ItemResult]:
        """`submit_price_feed` for asyncio code (the polling runs in a worker thread)."""
        _check_wait(wait)
        items = self._price_items(prices, currency, old)
        return await self.acall_items(PRICE_FEED, items, **self._feed_hooks(PRICE_FEED, wait))

    async def asubmit_inventory_feed(
        self, quantities: Mapping[str, int], *, wait: float = FEED_WAIT_S
    ) -> list[ItemResult]:
        """`submit_inventory_feed` for asyncio code (the polling runs in a worker thread)."""
        _check_wait(wait)
        pairs = _quantities(quantities)
        items = [_quantity_item(sku, qty, await self.aget_inventory(sku)) for sku, qty in pairs]
        hooks = self._feed_hooks(INVENTORY_FEED, wait)
        return await self.acall_items(INVENTORY_FEED, items, **hooks)

    def _price_items(
        self, prices: Mapping[str, Decimal], currency: str, old: Mapping[str, Decimal] | None
    ) -> list[BatchItem]:
        before = {} if old is None else old
        items = []
        for sku, price in _pairs("submit_price_feed", prices):
            body, inverse = self._price_call(sku, price, currency, before.get(sku))
            items.append(BatchItem(_target(sku, "price"), body, inverse))
        return items

    def _feed_hooks(self, operation: str, wait: float) -> dict[str, Any]:
        """``body`` and ``results`` for `call_items`: the feed file, then its polled outcome."""
        feed_type = FEED_OPERATIONS[operation]
        return {
            "body": lambda sent: wire.feed_document(feed_type, [i.payload for i in sent]),
            "results": lambda response, sent: self._feed_results(operation, response, sent, wait),
        }

    def _feed_results(
        self, operation: str, response: httpx.Response, sent: Sequence[BatchItem], wait: float
    ) -> list[ItemResult]:
        feed_id = self._object(operation, response).get("feedId")
        if not isinstance(feed_id, str) or not feed_id:
            raise wire.wrong_shape(operation, "feedId", feed_id, "a non-empty string")
        status = self._await_feed(feed_id, wait)
        if status.get("feedStatus") == "ERROR":
            code, text = _feed_error(status)
            return [
                ItemResult(key=i.key, ok=False, code=code, message=text, raw=status) for i in sent
            ]
        by_sku = {e.get("sku"): e for e in self._feed_details(feed_id)}
        out = []
        for item in sent:
            entry = by_sku.get(item.payload["sku"])
            if entry is None:
                msg = f"feed {feed_id} is PROCESSED but does not report SKU {item.payload['sku']}"
                raise wire.wrong_shape("getFeedStatus", "itemDetails", None, msg)
            out.append(_item_result(item.key, entry))
        return out

    def _await_feed(self, feed_id: str, wait: float) -> dict[str, Any]:
        """The feed's status once it is ``PROCESSED`` or ``ERROR``, polled on the clock."""
        deadline, pause = self.clock.monotonic() + wait, _POLL_FIRST
        while True:
            status = self.get_feed_status(feed_id)
            if status.get("feedStatus") in wire.FEED_DONE:
                return status
            if self.clock.monotonic() + pause > deadline:
                msg = (
                    f"walmart feed {feed_id} was submitted but is still "
                    f"{str(status.get('feedStatus'))[:20]} after {wait:g} s: which items "
                    f"applied is unknown; poll get_feed_status({feed_id!r}) before resending"
                )
                raise AmbiguousWriteError(msg, marketplace="walmart", operation="getFeedStatus")
            self.clock.sleep(pause)
            pause = min(pause * 2, _POLL_MAX)

    def _feed_details(self, feed_id: str) -> list[dict[str, Any]]:
        """Every item's ingestion status, page by page (at most 50 a page)."""
        out: list[dict[str, Any]] = []
        while True:
            page = self.get_feed_status(
                feed_id, include_details=True, offset=len(out), limit=wire.FEED_PAGE
            )
            entries = wire.feed_items(page, "getFeedStatus")
            out.extend(entries)
            received = page.get("itemsReceived")
            total = received if isinstance(received, int) and not isinstance(received, bool) else 0
            if not entries or len(out) >= total:
                return out

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
        _check_page("get_feed_status", offset, limit, wire.FEED_PAGE)
        params = (
            {"includeDetails": "true", "offset": offset, "limit": limit} if include_details else {}
        )
        return self._json("getFeedStatus", path_params={"feedId": feed_id}, params=params)

    def list_feeds(
        self, *, feed_id: str | None = None, offset: int = 0, limit: int = 50
    ) -> dict[str, Any]:
        """Recent feeds (``GET /v3/feeds``)."""
        _check_page("list_feeds", offset, limit, wire.FEED_PAGE)
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
        params = _order_params(
            status=status,
            created_start=created_start,
            created_end=created_end,
            sku=sku,
            purchase_order_id=purchase_order_id,
            customer_order_id=customer_order_id,
            limit=limit,
            filters=filters,
        )
        return self._pages("getOrders", params, max_pages)

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
        params = _order_params(created_start=created_start, limit=limit, filters=filters)
        return list(self._pages("getReleasedOrders", params, max_pages))

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
        tracking = _tracking(
            tracking_number=tracking_number,
            ship_date=ship_date,
            carrier=carrier,
            other_carrier=other_carrier,
            tracking_url=tracking_url,
            method_code=method_code,
        )
        body = wire.ship_body(_ship_lines(lines), tracking, seller_order_id)
        answer = self._json(
            "shipOrder", path_params={"purchaseOrderId": purchase_order_id}, json=body
        )
        return wire.field_object(answer, "order", "", "shipOrder")

    def _pages(
        self, operation: str, params: dict[str, Any], max_pages: int | None
    ) -> Iterator[dict[str, Any]]:
        if max_pages is not None and (
            isinstance(max_pages, bool) or not isinstance(max_pages, int) or max_pages < 1
        ):
            msg = f"max_pages must be a whole number >= 1 or None, not {max_pages!r}"
            raise InvalidArgumentError(msg)
        pages, cursor = 0, None
        while True:
            body = self._json(operation, params=params)
            listing = wire.field_object(body, "list", "", operation)
            elements = wire.field_object(listing, "elements", "list", operation)
            for index, order in enumerate(
                wire.field_list(elements, "order", "list.elements", operation)
            ):
                yield wire.as_object(order, f"list.elements.order[{index}]", operation)
            pages += 1
            meta = wire.field_object(listing, "meta", "list", operation)
            cursor = wire.next_cursor(meta, cursor, operation)
            if cursor is None or (max_pages is not None and pages >= max_pages):
                return
            params = dict(parse_qsl(cursor.lstrip("?"), keep_blank_values=True))

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
        body = response_json("walmart", self.operation(operation), response)
        return wire.as_object(body, "the body", operation)


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


def _price_inverse(sku: str, old: Decimal, currency: str) -> Inverse:
    return Inverse(
        operation="updatePrice",
        json=wire.price_payload(sku, old, currency),
        description=f"walmart price of {sku}",
    )


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


def _item_result(key: str, entry: dict[str, Any]) -> ItemResult:
    status = entry.get("ingestionStatus")
    if status == "SUCCESS":
        return ItemResult(key=key, ok=True, raw=entry)
    code, text = wire.first_ingestion_error(entry, "getFeedStatus")
    shown = status if isinstance(status, str) else "UNKNOWN"
    return ItemResult(key=key, ok=False, code=code or shown[:40], message=text or shown, raw=entry)


def _feed_error(status: dict[str, Any]) -> tuple[str, str]:
    code, text = wire.first_ingestion_error(
        {"ingestionErrors": status.get("ingestionErrors")}, "getFeedStatus"
    )
    return code or "FEED_ERROR", text or "Walmart could not process the feed"


def _secret(value: str | Secret) -> Secret:
    if isinstance(value, Secret):
        return value
    if not isinstance(value, str) or not value:
        msg = "client_secret= must be a non-empty string (or Secret)"
        raise InvalidArgumentError(msg)
    return Secret(value)


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


def _check_quantity(where: str, quantity: object) -> None:
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
        msg = f"{where}: quantity must be an int >= 0, not {quantity!r:.60}"
        raise InvalidArgumentError(msg)


def _check_wait(wait: object) -> None:
    if isinstance(wait, bool) or not isinstance(wait, (int, float)) or not 0 < wait < float("inf"):
        msg = f"wait= must be a positive number of seconds, not {wait!r:.60}"
        raise InvalidArgumentError(msg)


def _check_page(where: str, offset: object, limit: object, most: int) -> None:
    for name, value, low in (("offset", offset, 0), ("limit", limit, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            msg = f"{where}: {name} must be a whole number >= {low}, not {value!r:.40}"
            raise InvalidArgumentError(msg)
    if isinstance(limit, int) and limit > most:
        msg = f"{where}: limit must be at most {most}, not {limit}"
        raise InvalidArgumentError(msg)


def _pairs(where: str, values: object) -> list[tuple[str, Any]]:
    if not isinstance(values, Mapping) or not values:
        msg = f"{where}: give a non-empty mapping of SKU to value, not {type(values).__name__}"
        raise InvalidArgumentError(msg)
    for sku in values:
        _check_sku(where, sku)
    return list(values.items())


def _date(name: str, value: datetime | str | None) -> str | None:
    if value is None or (isinstance(value, str) and value):
        return value
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    msg = f"{name} must be an aware datetime or an ISO 8601 string, not {value!r:.60}"
    raise InvalidArgumentError(msg)


def _order_params(
    *,
    status: str | None = None,
    created_start: datetime | str | None = None,
    created_end: datetime | str | None = None,
    sku: str | None = None,
    purchase_order_id: str | None = None,
    customer_order_id: str | None = None,
    limit: int,
    filters: Mapping[str, str] | None,
) -> dict[str, Any]:
    if status is not None and status not in wire.ORDER_STATUSES:
        msg = f"status must be one of {sorted(wire.ORDER_STATUSES)}, not {status!r:.40}"
        raise InvalidArgumentError(msg)
    _check_page("orders", 0, limit, wire.MAX_ORDERS_PAGE)
    extra = dict(filters or {})
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in extra.items()):
        msg = "filters= must map filter names to string values"
        raise InvalidArgumentError(msg)
    return {
        **extra,
        "status": status,
        "createdStartDate": _date("created_start", created_start),
        "createdEndDate": _date("created_end", created_end),
        "sku": sku,
        "purchaseOrderId": purchase_order_id,
        "customerOrderId": customer_order_id,
        "limit": limit,
    }


def _ship_lines(lines: object) -> dict[str, int]:
    if not isinstance(lines, Mapping) or not lines:
        msg = "ship_order_lines: lines must map line numbers to quantities, e.g. {'1': 1}"
        raise InvalidArgumentError(msg)
    out = {}
    for number, quantity in lines.items():
        if not isinstance(number, str) or not number.strip():
            msg = f"ship_order_lines: a line number must be a non-empty string, not {number!r:.40}"
            raise InvalidArgumentError(msg)
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            msg = f"ship_order_lines: line {number}'s quantity must be an int >= 1"
            raise InvalidArgumentError(msg)
        out[number] = quantity
    return out


def _tracking(
    *,
    tracking_number: str,
    ship_date: datetime,
    carrier: str | None,
    other_carrier: str | None,
    tracking_url: str | None,
    method_code: str,
) -> dict[str, Any]:
    """The ``trackingInfo`` object; a missing or contradictory field is refused here."""
    where = "ship_order_lines"
    if not isinstance(tracking_number, str) or not tracking_number.strip():
        msg = f"{where}: tracking_number must be a non-empty string"
        raise InvalidArgumentError(msg)
    if not isinstance(ship_date, datetime) or ship_date.tzinfo is None:
        msg = f"{where}: ship_date must be an aware datetime (it is sent as epoch milliseconds)"
        raise InvalidArgumentError(msg)
    if (carrier is None) == (other_carrier is None):
        msg = f"{where}: give exactly one of carrier= (Walmart's list) or other_carrier="
        raise InvalidArgumentError(msg)
    name = carrier if carrier is not None else other_carrier
    if not isinstance(name, str) or not name.strip():
        msg_0 = f"{where}: the carrier must be a non-empty string"
        raise InvalidArgumentError(msg_0)
    if other_carrier is not None and not (
        isinstance(tracking_url, str) and tracking_url.startswith(("https://", "http://"))
    ):
        msg = f"{where}: other_carrier= needs tracking_url= (an http(s) URL), as Walmart requires"
        raise InvalidArgumentError(msg)
    if method_code not in wire.METHOD_CODES:
        codes = sorted(wire.METHOD_CODES)
        msg = f"{where}: method_code must be one of {codes}, not {method_code!r:.40}"
        raise InvalidArgumentError(msg)
    info: dict[str, Any] = {
        "shipDateTime": wire.epoch_ms(ship_date),
        "carrierName": {"carrier": carrier} if carrier is not None else {"otherCarrier": name},
        "methodCode": method_code,
        "trackingNumber": tracking_number,
    }
    if tracking_url is not None:
        info["trackingURL"] = tracking_url
    return info

"""eBay orders and shipping fulfillments: getOrders paging and filters, createShippingFulfillment.

`OrderCalls` is the part of `safe_release.adapters.ebay.EbayAdapter` that reads
orders (record-offset paging, eBay's ``filter`` criteria) and creates shipping
fulfillments. A fulfillment is irreversible and has no idempotency key: when
its answer is lost it is reconciled by reading the order's fulfillments back,
never resent blindly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import httpx
from pydantic import BaseModel, ConfigDict

from safe_release.adapters import _ebay_wire as wire
from safe_release.adapters._base import MarketplaceAdapter
from safe_release.adapters._core import RECONCILED_HEADER
from safe_release.exceptions import (
    InvalidArgumentError,
    MarketplaceError,
    MarketplaceResponseError,
)

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence

    from safe_release.adapters._operation import Operation

__all__ = ["OrderCalls", "ShippingFulfillmentRef"]

MAX_ORDER_IDS = 50
MAX_ORDER_LIMIT = 200
_STATUS_SETS = ({"NOT_STARTED", "IN_PROGRESS"}, {"FULFILLED", "IN_PROGRESS"})
_SHIP = "createShippingFulfillment"


class ShippingFulfillmentRef(BaseModel):
    """A created shipping fulfillment (eBay gives its id only in ``Location``)."""

    model_config = ConfigDict(frozen=True)

    order_id: str
    fulfillment_id: str


class OrderCalls(MarketplaceAdapter):
    """Order reads and shipping fulfillments of `EbayAdapter` (a base of it, not used alone)."""

    # -- orders --------------------------------------------------------------------------

    def iter_orders(
        self,
        *,
        created_from: datetime | None = None,
        created_to: datetime | None = None,
        modified_from: datetime | None = None,
        modified_to: datetime | None = None,
        fulfillment_statuses: Sequence[str] = (),
        order_ids: Sequence[str] = (),
        limit: int = 50,
        max_pages: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Orders matching the filters (record-offset paging), or exactly ``order_ids``."""
        params = _first_page(
            created_from=created_from,
            created_to=created_to,
            modified_from=modified_from,
            modified_to=modified_to,
            fulfillment_statuses=fulfillment_statuses,
            order_ids=order_ids,
            limit=limit,
        )
        paging = _OrderPages(params, max_pages)
        while paging.params is not None:
            yield from paging.take(wire.read(self, "getOrders", params=paging.params))

    def get_orders(self, **kwargs: Any) -> list[dict[str, Any]]:
        """`iter_orders` as a list."""
        return list(self.iter_orders(**kwargs))

    async def aget_orders(
        self,
        *,
        created_from: datetime | None = None,
        created_to: datetime | None = None,
        modified_from: datetime | None = None,
        modified_to: datetime | None = None,
        fulfillment_statuses: Sequence[str] = (),
        order_ids: Sequence[str] = (),
        limit: int = 50,
        max_pages: int | None = None,
    ) -> list[dict[str, Any]]:
        """`get_orders`, awaited (the same filters and paging as `iter_orders`)."""
        params = _first_page(
            created_from=created_from,
            created_to=created_to,
            modified_from=modified_from,
            modified_to=modified_to,
            fulfillment_statuses=fulfillment_statuses,
            order_ids=order_ids,
            limit=limit,
        )
        paging = _OrderPages(params, max_pages)
        out: list[dict[str, Any]] = []
        while paging.params is not None:
            out += paging.take(await wire.aread(self, "getOrders", params=paging.params))
        return out

    def get_order(self, order_id: str) -> dict[str, Any]:
        """One order, with its cancel requests (getOrders leaves them empty)."""
        return wire.read(self, "getOrder", path_params={"orderId": order_id})

    async def aget_order(self, order_id: str) -> dict[str, Any]:
        """`get_order`, awaited."""
        return await wire.aread(self, "getOrder", path_params={"orderId": order_id})

    # -- shipping fulfillments -------------------------------------------------------------

    def get_shipping_fulfillments(self, order_id: str) -> list[dict[str, Any]]:
        """The order's shipping fulfillments (``shipmentTrackingNumber``, ``lineItems`` …)."""
        body = wire.read(self, "getShippingFulfillments", path_params={"orderId": order_id})
        return wire.records("getShippingFulfillments", body, "fulfillments")

    async def aget_shipping_fulfillments(self, order_id: str) -> list[dict[str, Any]]:
        """`get_shipping_fulfillments`, awaited."""
        path = {"orderId": order_id}
        body = await wire.aread(self, "getShippingFulfillments", path_params=path)
        return wire.records("getShippingFulfillments", body, "fulfillments")

    def create_shipping_fulfillment(
        self,
        order_id: str,
        *,
        line_items: Mapping[str, int],
        tracking_number: str,
        carrier: str,
        shipped_date: datetime | None = None,
    ) -> ShippingFulfillmentRef:
        """Mark line items shipped with tracking (irreversible; never resent blindly).

        After a lost answer the order's fulfillments are read: one with this
        tracking number and these line items means it was created.
        """
        body = _fulfillment(line_items, tracking_number, carrier, shipped_date)
        response = self.call(_SHIP, path_params={"orderId": order_id}, json=body)
        return _created(order_id, response)

    async def acreate_shipping_fulfillment(
        self,
        order_id: str,
        *,
        line_items: Mapping[str, int],
        tracking_number: str,
        carrier: str,
        shipped_date: datetime | None = None,
    ) -> ShippingFulfillmentRef:
        """`create_shipping_fulfillment`, awaited (a lost answer is read back the same way)."""
        body = _fulfillment(line_items, tracking_number, carrier, shipped_date)
        response = await self.acall(_SHIP, path_params={"orderId": order_id}, json=body)
        return _created(order_id, response)

    def reconcile(self, op: Operation, request: httpx.Request) -> httpx.Response | bool | None:
        """A lost fulfillment was created if the order now has one like it (read back)."""
        if op.name != _SHIP:
            return super().reconcile(op, request)
        try:
            return _found(request, self.get_shipping_fulfillments(_order_of(request)))
        except (ValueError, KeyError, TypeError, MarketplaceError):
            return None  # unknown: the write stays ambiguous

    async def areconcile(
        self, op: Operation, request: httpx.Request
    ) -> httpx.Response | bool | None:
        """`reconcile`, reading the order's fulfillments with an awaited call."""
        if op.name != _SHIP:
            return await super().areconcile(op, request)
        try:
            return _found(request, await self.aget_shipping_fulfillments(_order_of(request)))
        except (ValueError, KeyError, TypeError, MarketplaceError):
            return None


def _first_page(
    *,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    modified_from: datetime | None = None,
    modified_to: datetime | None = None,
    fulfillment_statuses: Sequence[str] = (),
    order_ids: Sequence[str] = (),
    limit: int = 50,
) -> dict[str, Any]:
    """The query of the first getOrders page: exactly ``order_ids``, or the filters."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_ORDER_LIMIT:
        msg = f"iter_orders: limit must be a whole number from 1 to 200, not {limit!r}"
        raise InvalidArgumentError(msg)
    if order_ids:
        ids = [order_ids] if isinstance(order_ids, str) else list(order_ids)
        if len(ids) > MAX_ORDER_IDS or not all(isinstance(i, str) and i for i in ids):
            msg = f"iter_orders: order_ids takes 1 to {MAX_ORDER_IDS} order ids (strings)"
            raise InvalidArgumentError(msg)
        return {"orderIds": ",".join(ids)}
    criteria = [
        _range("creationdate", created_from, created_to),
        _range("lastmodifieddate", modified_from, modified_to),
        _statuses(fulfillment_statuses),
    ]
    return {"filter": ",".join(c for c in criteria if c) or None, "limit": limit, "offset": 0}


@dataclass
class _OrderPages:
    """getOrders paging: the query of the next page to read (None: there is none)."""

    params: dict[str, Any] | None
    max_pages: int | None
    pages: int = 0

    def take(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        """The orders of the page just read (``body``); moves on to the next page's query."""
        orders = wire.records("getOrders", body, "orders")
        self.pages += 1
        if self.params is not None:
            self.params = _next_page(self.params, body, len(orders), self.pages, self.max_pages)
        return orders


def _next_page(
    params: dict[str, Any],
    body: dict[str, Any],
    count: int,
    pages: int,
    max_pages: int | None,
) -> dict[str, Any] | None:
    """The query of the page after one of ``count`` orders, or None: that was the last."""
    if "offset" not in params:
        return None  # orders by id come in one answer
    offset, total = params["offset"] + count, body.get("total")
    if not count or body.get("next") is None or (max_pages and pages >= max_pages):
        return None
    if isinstance(total, int) and offset >= total:
        return None
    return {**params, "offset": offset}


def _range(name: str, start: datetime | None, end: datetime | None) -> str:
    if start is None and end is None:
        return ""
    left = "" if start is None else _timestamp(start)
    right = "" if end is None else _timestamp(end)
    return f"{name}:[{left}..{right}]"


def _statuses(statuses: Sequence[str]) -> str:
    if not statuses:
        return ""
    wanted = {statuses} if isinstance(statuses, str) else set(statuses)
    if wanted not in _STATUS_SETS:
        msg = (
            "fulfillment_statuses must be {NOT_STARTED, IN_PROGRESS} or "
            f"{{FULFILLED, IN_PROGRESS}} (eBay supports only these), not {sorted(wanted)}"
        )
        raise InvalidArgumentError(msg)
    order = ("NOT_STARTED", "FULFILLED", "IN_PROGRESS")
    return "orderfulfillmentstatus:{" + "|".join(s for s in order if s in wanted) + "}"


def _timestamp(when: datetime) -> str:
    if not isinstance(when, datetime) or when.tzinfo is None:
        msg = f"dates must be timezone-aware datetimes, not {when!r}"
        raise InvalidArgumentError(msg)
    utc = when.astimezone(timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _fulfillment(
    line_items: Mapping[str, int],
    tracking_number: str,
    carrier: str,
    shipped_date: datetime | None,
) -> dict[str, Any]:
    """The createShippingFulfillment body (`InvalidArgumentError` for a bad argument)."""
    body: dict[str, Any] = {
        "lineItems": _line_items(line_items),
        "shippingCarrierCode": _text_arg("carrier", carrier),
        "trackingNumber": _text_arg("tracking_number", tracking_number),
    }
    if shipped_date is not None:
        body["shippedDate"] = _timestamp(shipped_date)
    return body


def _created(order_id: str, response: httpx.Response) -> ShippingFulfillmentRef:
    """The fulfillment a 201 answer names in ``Location``."""
    found = wire.fulfillment_id(response.headers.get("location"), order_id)
    if found is None:
        msg = (
            f"ebay {_SHIP} answered HTTP {response.status_code} without a usable Location "
            "header: the fulfillment WAS created but its id is unknown; do not send it "
            "again, find it with get_shipping_fulfillments"
        )
        raise MarketplaceResponseError(msg, marketplace="ebay", operation=_SHIP)
    return ShippingFulfillmentRef(order_id=order_id, fulfillment_id=found)


def _order_of(request: httpx.Request) -> str:
    """The order id of a createShippingFulfillment request."""
    # the raw (still percent-encoded) path: an order id may itself hold a '/'
    return unquote(request.url.raw_path.decode("ascii").split("?", 1)[0].split("/")[-2])


def _found(request: httpx.Request, records: list[dict[str, Any]]) -> httpx.Response | bool:
    """A reconciled 201 if a fulfillment has the request's tracking number and lines."""
    body = json.loads(request.content)
    lines = {(str(i["lineItemId"]), int(i["quantity"])) for i in body["lineItems"]}
    for record in records:
        got = {
            (str(i.get("lineItemId")), int(i.get("quantity", 0)))
            for i in record.get("lineItems") or []
        }
        if record.get("shipmentTrackingNumber") == body["trackingNumber"] and got == lines:
            location = f"{request.url.path}/{record['fulfillmentId']}"
            return httpx.Response(
                201, request=request, headers={"location": location, RECONCILED_HEADER: "1"}
            )
    return False


def _line_items(line_items: Mapping[str, int]) -> list[dict[str, Any]]:
    if not hasattr(line_items, "items") or not line_items:
        msg = "line_items must map each lineItemId to the quantity shipped (at least one)"
        raise InvalidArgumentError(msg)
    out = []
    for line, quantity in line_items.items():
        if (
            not isinstance(line, str)
            or not line
            or isinstance(quantity, bool)
            or not isinstance(quantity, int)
            or quantity < 1
        ):
            msg = f"line_items: {line!r} -> {quantity!r} is not a lineItemId -> quantity >= 1"
            raise InvalidArgumentError(msg)
        out.append({"lineItemId": line, "quantity": quantity})
    return out


def _text_arg(name: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        msg = f"{name}= must be a non-empty string"
        raise InvalidArgumentError(msg)
    return value

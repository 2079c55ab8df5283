"""Lazada orders and the current fulfilment flow: ``/orders/get``, pack, ready-to-ship.

`OrderCalls` is the part of `safe_release.adapters.lazada.LazadaAdapter` that
reads orders (offset paging, ``created_after`` or ``update_after`` mandatory)
and their items, packs items (``/order/fulfill/pack``) and marks packages ready
to ship (``/order/package/rts``), at most 20 orders or packages a call. Both
writes are irreversible and answer per element: ``result.success`` is true while
elements carry their own ``item_err_code``, so each item gets its own
`ItemResult`. A pack whose answer was lost is read back from the order items
(packed, with a package id: done), never resent blindly.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import httpx
from pydantic import BaseModel, ConfigDict

from safe_release.adapters import _lazada_wire as wire
from safe_release.adapters._base import MarketplaceAdapter
from safe_release.adapters._batch import BatchItem, ItemResult
from safe_release.adapters._core import RECONCILED_HEADER
from safe_release.adapters._lazada_ops import MAX_ORDERS_LIMIT, MAX_PACK, MAX_RTS, PACK, RTS
from safe_release.adapters._shapes import text as _text
from safe_release.exceptions import (
    InvalidArgumentError,
    MarketplaceError,
    MarketplaceResponseError,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from safe_release.adapters._operation import Operation

__all__ = ["Order", "OrderCalls"]

_ORDERS = "orders_get"
_ITEMS = "order_items_get"
_DELIVERY = frozenset({"dropship", "pickup", "send_to_warehouse"})
_PACKED = frozenset({"packed", "ready_to_ship", "shipped", "delivered"})
_STATUSES = frozenset(
    {"unpaid", "pending", "canceled", "ready_to_ship", "delivered", "returned", "shipped",
     "failed", "topack", "toship", "shipping", "lost"}
)  # fmt: skip


class Order(BaseModel):
    """An order of ``/orders/get``: ids, times (aware), item statuses, price; ``raw`` all of it."""

    model_config = ConfigDict(frozen=True)

    order_id: str
    order_number: str
    created_at: datetime
    updated_at: datetime
    statuses: tuple[str, ...]
    price: Decimal | None
    items_count: int | None
    raw: dict[str, Any]


def _order(entry: dict[str, Any], where: str) -> Order:
    ids = {}
    for name in ("order_id", "order_number"):
        value = entry.get(name)
        if isinstance(value, bool) or not isinstance(value, (int, str)) or str(value) == "":
            raise wire.SHAPES.wrong_shape(_ORDERS, f"{where}.{name}", value, "an id")
        ids[name] = str(value)
    statuses = entry.get("statuses") or []
    if not isinstance(statuses, list) or not all(isinstance(s, str) for s in statuses):
        raise wire.SHAPES.wrong_shape(_ORDERS, f"{where}.statuses", statuses, "a list of text")
    count = entry.get("items_count")
    if isinstance(count, str) and count.isdigit():
        count = int(count)
    try:
        price = Decimal(entry["price"]) if isinstance(entry.get("price"), str) else None
    except InvalidOperation:
        price = None
    return Order(
        order_id=ids["order_id"],
        order_number=ids["order_number"],
        created_at=wire.parse_time(entry.get("created_at"), f"{where}.created_at", _ORDERS),
        updated_at=wire.parse_time(entry.get("updated_at"), f"{where}.updated_at", _ORDERS),
        statuses=tuple(statuses),
        price=price,
        items_count=count if isinstance(count, int) and not isinstance(count, bool) else None,
        raw=entry,
    )


@dataclass
class _Pages:
    """``/orders/get`` offset paging: the next page's query (None: no more)."""

    params: dict[str, Any] | None
    max_pages: int | None
    pages: int = 0

    def take(self, body: dict[str, Any]) -> list[Order]:
        data = wire.SHAPES.field_object(body, "data", "", _ORDERS)
        orders = [_order(o, w) for w, o in wire.SHAPES.objects(data, "orders", "data", _ORDERS)]
        self.pages += 1
        params = self.params
        assert params is not None  # noqa: S101 - only called while there is a page
        offset = params["offset"] + len(orders)
        total = data.get("countTotal")
        total = int(total) if isinstance(total, str) and total.isdigit() else total
        if (
            len(orders) < params["limit"]
            or (isinstance(total, int) and offset >= total)
            or (self.max_pages is not None and self.pages >= self.max_pages)
        ):
            self.params = None
        else:
            self.params = {**params, "offset": offset}
        return orders


def _first_page(
    created_after: datetime | None,
    update_after: datetime | None,
    options: Mapping[str, Any],
) -> dict[str, Any]:
    if created_after is None and update_after is None:
        msg = "iter_orders: give created_after= or update_after= (Lazada requires one)"
        raise InvalidArgumentError(msg)
    limit = options.get("limit", MAX_ORDERS_LIMIT)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_ORDERS_LIMIT:
        msg = f"iter_orders: limit must be a whole number from 1 to 100, not {limit!r}"
        raise InvalidArgumentError(msg)
    params: dict[str, Any] = {"limit": limit, "offset": 0}
    times = {"created_after": created_after, "update_after": update_after}
    times |= {k: options.get(k) for k in ("created_before", "update_before")}
    for name, when in times.items():
        if when is not None:
            params[name] = wire.format_time(name, when)
    status = options.get("status")
    if status is not None and status not in _STATUSES:
        msg = f"iter_orders: status must be one of {sorted(_STATUSES)}, not {status!r}"
        raise InvalidArgumentError(msg)
    sort_by, direction = options.get("sort_by"), options.get("sort_direction")
    if sort_by not in (None, "created_at", "updated_at"):
        msg = f"iter_orders: sort_by must be 'created_at' or 'updated_at', not {sort_by!r}"
        raise InvalidArgumentError(msg)
    if direction not in (None, "ASC", "DESC"):
        msg = f"iter_orders: sort_direction must be 'ASC' or 'DESC', not {direction!r}"
        raise InvalidArgumentError(msg)
    chosen = {"status": status, "sort_by": sort_by, "sort_direction": direction}
    return params | {name: value for name, value in chosen.items() if value is not None}


def _items_of(body: dict[str, Any]) -> list[dict[str, Any]]:
    data = body.get("data")
    if data is None:
        return []
    if not isinstance(data, list):
        raise wire.SHAPES.wrong_shape(_ITEMS, "data", data, "a list")
    return [wire.SHAPES.as_object(e, f"data[{i}]", _ITEMS) for i, e in enumerate(data)]


def _digits(value: object, what: str) -> str:
    text = str(value)
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not text.isdigit():
        msg = f"{what} must be a Lazada id (digits), not {value!r}"
        raise InvalidArgumentError(msg)
    return text


# -- pack ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _PackOptions:
    delivery_type: str
    shipping_allocate_type: str
    shipment_provider_code: str | None

    def __post_init__(self) -> None:
        if self.delivery_type not in _DELIVERY:
            msg = f"delivery_type must be one of {sorted(_DELIVERY)}, not {self.delivery_type!r}"
            raise InvalidArgumentError(msg)
        if self.shipping_allocate_type not in ("TFS", "NTFS"):
            msg = "shipping_allocate_type must be 'TFS' (local) or 'NTFS' (cross-border)"
            raise InvalidArgumentError(msg)
        if (self.shipping_allocate_type == "NTFS") != bool(self.shipment_provider_code):
            msg = "shipment_provider_code= is required for NTFS, and must not be sent for TFS"
            raise InvalidArgumentError(msg)

    def body(self, items: Sequence[BatchItem]) -> dict[str, str]:
        by_order: dict[str, list[int]] = {}
        for item in items:
            order_id, item_id = item.payload
            by_order.setdefault(order_id, []).append(int(item_id))
        request: dict[str, Any] = {
            "pack_order_list": [
                {"order_id": int(o), "order_item_list": ids} for o, ids in by_order.items()
            ],
            "delivery_type": self.delivery_type,
            "shipping_allocate_type": self.shipping_allocate_type,
        }
        if self.shipment_provider_code:
            request["shipment_provider_code"] = self.shipment_provider_code
        return {"packReq": json.dumps(request, separators=(",", ":"))}


def _pack_items(orders: object) -> list[BatchItem]:
    if not isinstance(orders, Mapping) or not orders:
        msg = "pack: orders= must map each order id to its order item ids (at least one)"
        raise InvalidArgumentError(msg)
    items = []
    for order_id, item_ids in orders.items():
        order = _digits(order_id, "an order id")
        if (
            isinstance(item_ids, (str, bytes))
            or not isinstance(item_ids, Sequence)
            or not item_ids
        ):
            msg = f"pack: order {order} needs a sequence of order item ids"
            raise InvalidArgumentError(msg)
        for item_id in item_ids:
            ident = _digits(item_id, "an order item id")
            items.append(BatchItem(key=f"order_item {ident} pack", payload=(order, ident)))
    return items


def _chunks_by_order(items: list[BatchItem]) -> Iterator[list[BatchItem]]:
    chunk: list[BatchItem] = []
    orders: set[str] = set()
    for item in items:
        order = item.payload[0]
        if order not in orders and len(orders) == MAX_PACK:
            yield chunk
            chunk, orders = [], set()
        orders.add(order)
        chunk.append(item)
    if chunk:
        yield chunk


def _result(op: Operation, response: httpx.Response) -> tuple[dict[str, Any], bool]:
    body = wire.body_of(op, response)
    result = wire.SHAPES.field_object(body, "result", "", op.name)
    success = result.get("success")
    ok = success is True or (isinstance(success, str) and success.lower() == "true")
    return result, ok


def _element_result(key: str, entry: dict[str, Any]) -> ItemResult:
    code = entry.get("item_err_code")
    code = str(code) if isinstance(code, (int, str)) and not isinstance(code, bool) else None
    ok = code == "0"
    return ItemResult(
        key=key,
        ok=ok,
        status=200,
        code=None if ok else code,
        message=_text(entry.get("msg"))[:300],
        raw=entry,
    )


def _batch_failed(
    op: Operation, sent: Sequence[BatchItem], result: dict[str, Any]
) -> list[ItemResult]:
    code = _text(result.get("error_code")) or "FAILED"
    message = f"lazada {op.name} refused the batch: {_text(result.get('error_msg'))[:300]}"
    return [ItemResult(key=i.key, ok=False, status=200, code=code, message=message) for i in sent]


def pack_results(
    op: Operation, response: httpx.Response, sent: Sequence[BatchItem]
) -> list[ItemResult]:
    """One result per order item sent, from its ``item_err_code``."""
    result, ok = _result(op, response)
    if not ok:
        return _batch_failed(op, sent, result)
    data = wire.SHAPES.field_object(result, "data", "result", op.name)
    found: dict[str, dict[str, Any]] = {}
    for where, order in wire.SHAPES.objects(data, "pack_order_list", "result.data", op.name):
        for _, entry in wire.SHAPES.objects(order, "order_item_list", where, op.name):
            found[str(entry.get("order_item_id"))] = entry
    return [_element_result(i.key, _need(op, found, i.payload[1])) for i in sent]


def rts_results(
    op: Operation, response: httpx.Response, sent: Sequence[BatchItem]
) -> list[ItemResult]:
    """One result per package sent, from its ``item_err_code``."""
    result, ok = _result(op, response)
    if not ok:
        return _batch_failed(op, sent, result)
    data = wire.SHAPES.field_object(result, "data", "result", op.name)
    found = {
        str(entry.get("package_id")): entry
        for _, entry in wire.SHAPES.objects(data, "packages", "result.data", op.name)
    }
    return [_element_result(i.key, _need(op, found, i.payload)) for i in sent]


def _need(op: Operation, found: dict[str, dict[str, Any]], ident: str) -> dict[str, Any]:
    if ident not in found:
        msg = (
            f"lazada {op.name} answered without a result for {ident}; which elements "
            "applied is unknown, so none is resent: read the order items first"
        )
        raise MarketplaceResponseError(msg, marketplace="lazada", operation=op.name)
    return found[ident]


def _sent_pack(request: httpx.Request) -> dict[str, list[str]]:
    """Order id -> order item ids of a pack request."""
    form = dict(parse_qsl(request.content.decode("utf-8", "replace")))
    body = json.loads(form["packReq"])
    return {
        str(entry["order_id"]): [str(i) for i in entry["order_item_list"]]
        for entry in body["pack_order_list"]
    }


def _packed(request: httpx.Request, items: dict[str, dict[str, Any]]) -> httpx.Response | bool:
    """A reconciled pack answer from the order items read back (False: nothing was packed)."""
    orders, done = [], 0
    for order_id, item_ids in _sent_pack(request).items():
        elements = []
        for item_id in item_ids:
            item = items.get(item_id, {})
            package = _text(item.get("package_id"))
            if item.get("status") in _PACKED and package:
                done += 1
                elements.append({"order_item_id": item_id, "item_err_code": "0", "msg": "success",
                                 "package_id": package, "retry": False})  # fmt: skip
            else:
                elements.append({"order_item_id": item_id, "item_err_code": "NOT_PACKED",
                                 "msg": "not packed (read back after a lost answer)",
                                 "retry": True})  # fmt: skip
        orders.append({"order_id": order_id, "order_item_list": elements})
    if not done:
        return False
    body = {"code": "0", "result": {"success": True, "data": {"pack_order_list": orders}}}
    return httpx.Response(200, json=body, request=request, headers={RECONCILED_HEADER: "1"})


class OrderCalls(MarketplaceAdapter):
    """Order reads, pack and ready-to-ship of `LazadaAdapter` (a base of it, not used alone)."""

    def iter_orders(
        self,
        *,
        created_after: datetime | None = None,
        update_after: datetime | None = None,
        max_pages: int | None = None,
        **options: Any,
    ) -> Iterator[Order]:
        """Orders created (or updated) after a time, every page (``offset`` paging).

        ``options``: ``created_before``, ``update_before`` (aware datetimes),
        ``status``, ``sort_by``, ``sort_direction``, ``limit`` (at most 100).
        """
        paging = _Pages(_first_page(created_after, update_after, options), max_pages)
        while paging.params is not None:
            yield from paging.take(wire.read(self, _ORDERS, paging.params))

    def get_orders(self, **kwargs: Any) -> list[Order]:
        """`iter_orders` as a list."""
        return list(self.iter_orders(**kwargs))

    async def aget_orders(
        self,
        *,
        created_after: datetime | None = None,
        update_after: datetime | None = None,
        max_pages: int | None = None,
        **options: Any,
    ) -> list[Order]:
        """`get_orders`, awaited."""
        paging = _Pages(_first_page(created_after, update_after, options), max_pages)
        out: list[Order] = []
        while paging.params is not None:
            out += paging.take(await wire.aread(self, _ORDERS, paging.params))
        return out

    def get_order_items(self, order_id: int | str) -> list[dict[str, Any]]:
        """The order's items (``status``, ``package_id``, ``tracking_code`` …)."""
        params = {"order_id": _digits(order_id, "order_id")}
        return _items_of(wire.read(self, _ITEMS, params))

    async def aget_order_items(self, order_id: int | str) -> list[dict[str, Any]]:
        """`get_order_items`, awaited."""
        params = {"order_id": _digits(order_id, "order_id")}
        return _items_of(await wire.aread(self, _ITEMS, params))

    def pack(
        self,
        orders: Mapping[int | str, Sequence[int | str]],
        *,
        delivery_type: str = "dropship",
        shipping_allocate_type: str = "TFS",
        shipment_provider_code: str | None = None,
    ) -> list[ItemResult]:
        """Pack order items (irreversible); one `ItemResult` per order item, in order.

        ``orders`` maps each order id to the ids of its items to pack (``pending``
        or ``repacked`` ones); at most 20 orders go in one call. An item's result
        ``raw`` holds its ``package_id`` and ``tracking_number``.
        """
        options = _PackOptions(delivery_type, shipping_allocate_type, shipment_provider_code)
        out: list[ItemResult] = []
        for chunk in _chunks_by_order(_pack_items(orders)):
            out += self.call_items(PACK, chunk, body=options.body, results=self._pack_results)
        return out

    async def apack(
        self,
        orders: Mapping[int | str, Sequence[int | str]],
        *,
        delivery_type: str = "dropship",
        shipping_allocate_type: str = "TFS",
        shipment_provider_code: str | None = None,
    ) -> list[ItemResult]:
        """`pack`, awaited."""
        options = _PackOptions(delivery_type, shipping_allocate_type, shipment_provider_code)
        out: list[ItemResult] = []
        for chunk in _chunks_by_order(_pack_items(orders)):
            out += await self.acall_items(
                PACK, chunk, body=options.body, results=self._pack_results
            )
        return out

    def ready_to_ship(self, package_ids: Sequence[str]) -> list[ItemResult]:
        """Mark packed packages ready to ship (irreversible); one `ItemResult` per package.

        At most 20 packages go in one call. A call whose answer was lost raises
        `AmbiguousWriteError`: read the order items before sending it again.
        """
        out: list[ItemResult] = []
        items = _rts_items(package_ids)
        for start in range(0, len(items), MAX_RTS):
            chunk = items[start : start + MAX_RTS]
            out += self.call_items(RTS, chunk, body=_rts_body, results=self._rts_results)
        return out

    async def aready_to_ship(self, package_ids: Sequence[str]) -> list[ItemResult]:
        """`ready_to_ship`, awaited."""
        out: list[ItemResult] = []
        items = _rts_items(package_ids)
        for start in range(0, len(items), MAX_RTS):
            chunk = items[start : start + MAX_RTS]
            out += await self.acall_items(RTS, chunk, body=_rts_body, results=self._rts_results)
        return out

    def _pack_results(
        self, response: httpx.Response, sent: Sequence[BatchItem]
    ) -> list[ItemResult]:
        return pack_results(self.operation(PACK), response, sent)

    def _rts_results(
        self, response: httpx.Response, sent: Sequence[BatchItem]
    ) -> list[ItemResult]:
        return rts_results(self.operation(RTS), response, sent)

    def reconcile(self, op: Operation, request: httpx.Request) -> httpx.Response | bool | None:
        """A pack whose answer was lost: done for the items now packed with a package id."""
        if op.name != PACK:
            return super().reconcile(op, request)
        try:
            items = {
                str(i.get("order_item_id")): i
                for order_id in _sent_pack(request)
                for i in self.get_order_items(order_id)
            }
        except (ValueError, KeyError, TypeError, MarketplaceError):
            return None  # unknown: the write stays ambiguous
        return _packed(request, items)

    async def areconcile(
        self, op: Operation, request: httpx.Request
    ) -> httpx.Response | bool | None:
        """`reconcile`, reading the order items with awaited calls."""
        if op.name != PACK:
            return await super().areconcile(op, request)
        try:
            items = {}
            for order_id in _sent_pack(request):
                for i in await self.aget_order_items(order_id):
                    items[str(i.get("order_item_id"))] = i
        except (ValueError, KeyError, TypeError, MarketplaceError):
            return None
        return _packed(request, items)


def _rts_items(package_ids: object) -> list[BatchItem]:
    if isinstance(package_ids, (str, bytes)) or not isinstance(package_ids, Sequence):
        msg = "ready_to_ship: package_ids must be a sequence of package ids (strings)"
        raise InvalidArgumentError(msg)
    items = []
    for package in package_ids:
        if not isinstance(package, str) or not package.strip():
            msg = f"ready_to_ship: {package!r} is not a package id (a non-empty string)"
            raise InvalidArgumentError(msg)
        items.append(BatchItem(key=f"package {package} rts", payload=package))
    if not items:
        msg = "ready_to_ship needs at least one package id; nothing was sent"
        raise InvalidArgumentError(msg)
    return items


def _rts_body(items: Sequence[BatchItem]) -> dict[str, str]:
    request = {"packages": [{"package_id": item.payload} for item in items]}
    return {"readyToShipReq": json.dumps(request, separators=(",", ":"))}

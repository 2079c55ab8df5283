"""Shopee orders and shipping: get_order_list paging, order detail, ship_order.

`OrderCalls` is the part of `safe_release.adapters.shopee.ShopeeAdapter` that
reads orders (a window of at most 15 days, cursor paging, at most 100 a page;
details of at most 50 orders a call) and arranges shipment. ``ship_order`` is
irreversible and not idempotent: when its answer is lost it is reconciled by
reading the order back (``PROCESSED`` or later: done; ``READY_TO_SHIP``: not
done, sent again), and Shopee's ``logistics.package_already_shipped`` answer
to a second call is read as done.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from safe_release.adapters import _shopee_wire as wire
from safe_release.adapters._base import MarketplaceAdapter
from safe_release.adapters._core import RECONCILED_HEADER
from safe_release.adapters._shapes import json_or_none
from safe_release.adapters._shopee_ops import MAX_DETAIL, MAX_PAGE, MAX_WINDOW_S
from safe_release.exceptions import (
    InvalidArgumentError,
    MarketplaceError,
    MarketplaceResponseError,
)

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence

    import httpx

    from safe_release.adapters._operation import Operation

__all__ = ["DEFAULT_DETAIL_FIELDS", "OrderCalls", "Shipment"]

SHIP = "ship_order"
ORDER_STATUSES = frozenset(
    {
        "UNPAID",
        "READY_TO_SHIP",
        "PROCESSED",
        "SHIPPED",
        "COMPLETED",
        "IN_CANCEL",
        "CANCELLED",
        "INVOICE_PENDING",
    }
)
SHIPPED_STATUSES = frozenset(
    {"PROCESSED", "RETRY_SHIP", "SHIPPED", "TO_CONFIRM_RECEIVE", "COMPLETED"}
)
"""Statuses that show a shipment was arranged."""
DEFAULT_DETAIL_FIELDS = ("item_list", "package_list", "total_amount", "pay_time")
_SHIP_MODES = ("pickup", "dropoff", "non_integrated")
_SN_MAX = 64


class Shipment(BaseModel):
    """What ``ship_order`` did for one order.

    ``already_shipped``: Shopee answered ``package_already_shipped`` (an
    earlier call, perhaps one whose answer was lost, arranged it).
    ``reconciled``: the answer was lost and reading the order showed it done.
    """

    model_config = ConfigDict(frozen=True)

    order_sn: str
    already_shipped: bool = False
    reconciled: bool = False
    request_id: str | None = None


def _sn(value: object, what: str = "order_sn") -> str:
    if (
        not isinstance(value, str)
        or not value
        or len(value) > _SN_MAX
        or not value.isalnum()
        or not value.isascii()
    ):
        msg = f"shopee: {what} must be a Shopee order number (letters and digits), not {value!r}"
        raise InvalidArgumentError(msg)
    return value


def _epoch(value: object, what: str) -> int:
    if not isinstance(value, datetime) or value.tzinfo is None:
        msg = f"shopee get_order_list: {what} must be a timezone-aware datetime, not {value!r}"
        raise InvalidArgumentError(msg)
    return int(value.timestamp())


def list_params(
    time_from: datetime,
    time_to: datetime,
    *,
    time_range_field: str,
    order_status: str | None,
    page_size: int,
) -> dict[str, Any]:
    """get_order_list's first-page query, checked (a window over 15 days is refused here)."""
    start, end = _epoch(time_from, "time_from"), _epoch(time_to, "time_to")
    if not 0 < end - start <= MAX_WINDOW_S:
        msg = (
            "shopee get_order_list: time_to must be after time_from and at most 15 days "
            f"later (got {end - start:,} s); split the range into windows of 15 days"
        )
        raise InvalidArgumentError(msg)
    if time_range_field not in {"create_time", "update_time"}:
        msg = "shopee get_order_list: time_range_field must be 'create_time' or 'update_time'"
        raise InvalidArgumentError(msg)
    if order_status is not None and order_status not in ORDER_STATUSES:
        msg = f"shopee get_order_list: order_status must be one of {sorted(ORDER_STATUSES)}"
        raise InvalidArgumentError(msg)
    if (
        isinstance(page_size, bool)
        or not isinstance(page_size, int)
        or not 1 <= page_size <= MAX_PAGE
    ):
        msg = f"shopee get_order_list: page_size must be a whole number from 1 to {MAX_PAGE}"
        raise InvalidArgumentError(msg)
    return {
        "time_range_field": time_range_field,
        "time_from": start,
        "time_to": end,
        "page_size": page_size,
        "cursor": "",
        "order_status": order_status,
        "response_optional_fields": "order_status",
    }


class _Pages:
    """Cursor paging: the next page's query, None at the end; a cursor seen twice refused."""

    def __init__(self, params: dict[str, Any]) -> None:
        self.params: dict[str, Any] | None = params
        self._seen: set[str] = set()

    def page(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        assert self.params is not None  # noqa: S101 - only called while paging
        op = "get_order_list"
        orders = [entry for _, entry in wire.objects(body, "order_list", "response", op)]
        more = body.get("more")
        if not isinstance(more, bool):
            raise wire.wrong_shape(op, "response.more", more, "true/false")
        if not more:
            self.params = None
            return orders
        cursor = body.get("next_cursor")
        if not isinstance(cursor, str) or not cursor:
            raise wire.wrong_shape(op, "response.next_cursor", cursor, "a cursor (more is true)")
        if cursor in self._seen or cursor == self.params["cursor"]:
            msg = (
                "shopee get_order_list answered a cursor it had answered before; paging "
                "stopped so that it cannot loop for ever: retry later"
            )
            raise MarketplaceResponseError(msg, marketplace="shopee", operation=op)
        self._seen.add(cursor)
        self.params = {**self.params, "cursor": cursor}
        return orders


def detail_params(order_sns: Sequence[str], fields: Sequence[str]) -> dict[str, Any]:
    """get_order_detail's query, checked: 1 to 50 order numbers."""
    if isinstance(order_sns, str) or not hasattr(order_sns, "__iter__"):
        msg = "shopee get_order_detail: order_sns must be a sequence of order numbers"
        raise InvalidArgumentError(msg)
    sns = [_sn(sn) for sn in order_sns]
    if not 1 <= len(sns) <= MAX_DETAIL:
        msg = f"shopee get_order_detail: give 1 to {MAX_DETAIL} order numbers, not {len(sns)}"
        raise InvalidArgumentError(msg)
    if isinstance(fields, str) or not all(isinstance(f, str) and f.isidentifier() for f in fields):
        msg = "shopee get_order_detail: fields must be a sequence of field names"
        raise InvalidArgumentError(msg)
    params: dict[str, Any] = {"order_sn_list": ",".join(sns)}
    if fields:
        params["response_optional_fields"] = ",".join(fields)
    return params


def ship_body(
    order_sn: str,
    package_number: str | None,
    modes: Mapping[str, Mapping[str, Any] | None],
) -> dict[str, Any]:
    """ship_order's body: the order and exactly one of pickup, dropoff, non_integrated."""
    chosen = [(name, value) for name, value in modes.items() if value is not None]
    if len(chosen) != 1:
        msg = (
            "shopee ship_order: give exactly one of pickup=, dropoff= or non_integrated= "
            "(as get_shipping_parameter's info_needed says; {} when it needs nothing)"
        )
        raise InvalidArgumentError(msg)
    name, value = chosen[0]
    if not isinstance(value, dict):
        msg = f"shopee ship_order: {name}= must be a dict of its fields, not {value!r:.40}"
        raise InvalidArgumentError(msg)
    body: dict[str, Any] = {"order_sn": _sn(order_sn), name: dict(value)}
    if package_number is not None:
        body["package_number"] = _sn(package_number, "package_number")
    return body


def is_already_shipped(response: httpx.Response) -> bool:
    """Whether ``response`` is ``logistics.package_already_shipped``."""
    body = json_or_none(response)
    error = body.get("error") if isinstance(body, dict) else None
    return isinstance(error, str) and wire.code_of(error) == wire.ALREADY_SHIPPED


class OrderCalls(MarketplaceAdapter):
    """Order reads and shipping of `ShopeeAdapter` (a base of it, not used alone)."""

    def _payload_of(self, operation: str, response: httpx.Response) -> dict[str, Any]:
        return wire.payload(self.operation(operation), response)

    # -- orders ------------------------------------------------------------------------

    def iter_orders(
        self,
        time_from: datetime,
        time_to: datetime,
        *,
        time_range_field: str = "create_time",
        order_status: str | None = None,
        page_size: int = MAX_PAGE,
    ) -> Iterator[dict[str, Any]]:
        """``{order_sn, order_status}`` of each order in the window (<= 15 days), all pages."""
        paging = _Pages(
            list_params(
                time_from,
                time_to,
                time_range_field=time_range_field,
                order_status=order_status,
                page_size=page_size,
            )
        )
        while paging.params is not None:
            response = self.call("get_order_list", params=paging.params)
            yield from paging.page(self._payload_of("get_order_list", response))

    def get_order_list(
        self,
        time_from: datetime,
        time_to: datetime,
        *,
        time_range_field: str = "create_time",
        order_status: str | None = None,
        page_size: int = MAX_PAGE,
    ) -> list[dict[str, Any]]:
        """`iter_orders` as a list."""
        return list(
            self.iter_orders(
                time_from,
                time_to,
                time_range_field=time_range_field,
                order_status=order_status,
                page_size=page_size,
            )
        )

    async def aget_order_list(
        self,
        time_from: datetime,
        time_to: datetime,
        *,
        time_range_field: str = "create_time",
        order_status: str | None = None,
        page_size: int = MAX_PAGE,
    ) -> list[dict[str, Any]]:
        """`get_order_list`, awaited."""
        paging = _Pages(
            list_params(
                time_from,
                time_to,
                time_range_field=time_range_field,
                order_status=order_status,
                page_size=page_size,
            )
        )
        out: list[dict[str, Any]] = []
        while paging.params is not None:
            response = await self.acall("get_order_list", params=paging.params)
            out.extend(paging.page(self._payload_of("get_order_list", response)))
        return out

    def get_order_detail(
        self, order_sns: Sequence[str], *, fields: Sequence[str] = DEFAULT_DETAIL_FIELDS
    ) -> list[dict[str, Any]]:
        """The orders' details (``response.order_list``), 1 to 50 order numbers a call."""
        response = self.call("get_order_detail", params=detail_params(order_sns, fields))
        return _orders(self._payload_of("get_order_detail", response))

    async def aget_order_detail(
        self, order_sns: Sequence[str], *, fields: Sequence[str] = DEFAULT_DETAIL_FIELDS
    ) -> list[dict[str, Any]]:
        """`get_order_detail`, awaited."""
        response = await self.acall("get_order_detail", params=detail_params(order_sns, fields))
        return _orders(self._payload_of("get_order_detail", response))

    # -- shipping ----------------------------------------------------------------------

    def get_shipping_parameter(
        self, order_sn: str, *, package_number: str | None = None
    ) -> dict[str, Any]:
        """What ship_order needs for the order (``info_needed``, pickup addresses, branches)."""
        response = self.call("get_shipping_parameter", params=_package(order_sn, package_number))
        return self._payload_of("get_shipping_parameter", response)

    def get_tracking_number(
        self, order_sn: str, *, package_number: str | None = None
    ) -> str | None:
        """The order's tracking number; None while Shopee has none yet (poll again later)."""
        response = self.call("get_tracking_number", params=_package(order_sn, package_number))
        body = self._payload_of("get_tracking_number", response)
        number = body.get("tracking_number")
        if number is not None and not isinstance(number, str):
            raise wire.wrong_shape(
                "get_tracking_number", "response.tracking_number", number, "a string"
            )
        return number or None

    def ship_order(
        self,
        order_sn: str,
        *,
        pickup: Mapping[str, Any] | None = None,
        dropoff: Mapping[str, Any] | None = None,
        non_integrated: Mapping[str, Any] | None = None,
        package_number: str | None = None,
    ) -> Shipment:
        """Arrange shipment of the order (irreversible): exactly one of the three modes.

        Never resent blindly: a lost answer is reconciled by reading the order.
        """
        modes = {"pickup": pickup, "dropoff": dropoff, "non_integrated": non_integrated}
        body = ship_body(order_sn, package_number, modes)
        return _shipment(body["order_sn"], self.call(SHIP, json=body))

    async def aship_order(
        self,
        order_sn: str,
        *,
        pickup: Mapping[str, Any] | None = None,
        dropoff: Mapping[str, Any] | None = None,
        non_integrated: Mapping[str, Any] | None = None,
        package_number: str | None = None,
    ) -> Shipment:
        """`ship_order`, awaited."""
        modes = {"pickup": pickup, "dropoff": dropoff, "non_integrated": non_integrated}
        body = ship_body(order_sn, package_number, modes)
        return _shipment(body["order_sn"], await self.acall(SHIP, json=body))

    # -- reconciling -------------------------------------------------------------------

    def shipped(self, request: httpx.Request) -> bool | None:
        """Whether the order of a lost ship_order request now shows a shipment (None: unknown)."""
        try:
            order_sn = json.loads(request.content)["order_sn"]
            (order,) = self.get_order_detail([order_sn], fields=())
        except (ValueError, KeyError, TypeError, MarketplaceError):
            return None
        return _status_shipped(order)

    async def ashipped(self, request: httpx.Request) -> bool | None:
        """`shipped`, awaited."""
        try:
            order_sn = json.loads(request.content)["order_sn"]
            (order,) = await self.aget_order_detail([order_sn], fields=())
        except (ValueError, KeyError, TypeError, MarketplaceError):
            return None
        return _status_shipped(order)

    def reconcile(self, op: Operation, request: httpx.Request) -> httpx.Response | bool | None:
        """A lost ship_order: done if the order is PROCESSED or later; READY_TO_SHIP: not done."""
        if op.name != SHIP:
            return super().reconcile(op, request)
        return self.shipped(request)

    async def areconcile(
        self, op: Operation, request: httpx.Request
    ) -> httpx.Response | bool | None:
        """`reconcile`, reading the order with awaited calls."""
        if op.name != SHIP:
            return await super().areconcile(op, request)
        return await self.ashipped(request)


def _status_shipped(order: dict[str, Any]) -> bool | None:
    status = order.get("order_status")
    if status in SHIPPED_STATUSES:
        return True
    if status == "READY_TO_SHIP":
        return False
    return None  # cancelled, unpaid, unknown: the write stays ambiguous


def _orders(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [entry for _, entry in wire.objects(body, "order_list", "response", "get_order_detail")]


def _package(order_sn: str, package_number: str | None) -> dict[str, Any]:
    params: dict[str, Any] = {"order_sn": _sn(order_sn)}
    if package_number is not None:
        params["package_number"] = _sn(package_number, "package_number")
    return params


def _shipment(order_sn: str, response: httpx.Response) -> Shipment:
    reconciled = response.headers.get(RECONCILED_HEADER) == "1"
    already = not reconciled and is_already_shipped(response)
    body = None if reconciled else json_or_none(response)
    request_id = body.get("request_id") if isinstance(body, dict) else None
    return Shipment(
        order_sn=order_sn,
        already_shipped=already,
        reconciled=reconciled,
        request_id=request_id if isinstance(request_id, str) else None,
    )

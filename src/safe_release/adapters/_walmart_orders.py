"""Walmart orders: list filters, cursor paging, shipment bodies, and reading writes back.

Acknowledging and shipping are irreversible and not idempotent, so a lost answer
is settled by reading the order (`reconcile_order`): never resent blindly. Every
bad value raises `InvalidArgumentError` before anything is sent.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote

import httpx

from safe_release.adapters import _walmart_wire as wire
from safe_release.adapters._core import RECONCILED_HEADER
from safe_release.exceptions import InvalidArgumentError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from safe_release.adapters._operation import Operation

__all__ = ["order_params", "pages", "reconcile_order", "shipment"]


def order_params(
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
    """The query of an orders list; ``filters`` pass Walmart's other filters as they are."""
    if status is not None and status not in wire.ORDER_STATUSES:
        msg = f"status must be one of {sorted(wire.ORDER_STATUSES)}, not {status!r:.40}"
        raise InvalidArgumentError(msg)
    wire.check_page("orders", 0, limit, wire.MAX_ORDERS_PAGE)
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


def pages(
    read: Callable[[str, dict[str, Any]], dict[str, Any]],
    operation: str,
    params: dict[str, Any],
    max_pages: int | None,
) -> Iterator[dict[str, Any]]:
    """The orders of ``operation``, page after page (``read(operation, params)`` reads one).

    The next page's query is the answer's ``list.meta.nextCursor`` as it is.
    """
    if max_pages is not None and (
        isinstance(max_pages, bool) or not isinstance(max_pages, int) or max_pages < 1
    ):
        msg = f"max_pages must be a whole number >= 1 or None, not {max_pages!r}"
        raise InvalidArgumentError(msg)
    count, cursor = 0, None
    while True:
        body = read(operation, params)
        listing = wire.field_object(body, "list", "", operation)
        elements = wire.field_object(listing, "elements", "list", operation)
        for index, order in enumerate(
            wire.field_list(elements, "order", "list.elements", operation)
        ):
            yield wire.as_object(order, f"list.elements.order[{index}]", operation)
        count += 1
        meta = wire.field_object(listing, "meta", "list", operation)
        cursor = wire.next_cursor(meta, cursor, operation)
        if cursor is None or (max_pages is not None and count >= max_pages):
            return
        params = dict(parse_qsl(cursor.lstrip("?"), keep_blank_values=True))


def shipment(
    lines: object,
    *,
    tracking_number: str,
    ship_date: datetime,
    carrier: str | None,
    other_carrier: str | None,
    tracking_url: str | None,
    method_code: str,
    seller_order_id: str | None,
) -> dict[str, Any]:
    """The ``orderShipment`` body for ``lines`` (number -> quantity), one tracking for all."""
    tracking = _tracking(
        tracking_number=tracking_number,
        ship_date=ship_date,
        carrier=carrier,
        other_carrier=other_carrier,
        tracking_url=tracking_url,
        method_code=method_code,
    )
    return wire.ship_body(_ship_lines(lines), tracking, seller_order_id)


def reconcile_order(
    op: Operation, request: httpx.Request, get_order: Callable[[str], dict[str, Any]]
) -> httpx.Response | bool | None:
    """Did a lost acknowledgement or shipment apply? The order (``get_order``) says.

    True-ish (a response holding the order): it applied; False: it did not; None:
    the order cannot tell (some lines shipped, or it does not name them).
    """
    # the raw (still percent-encoded) path, split before decoding
    raw = request.url.raw_path.decode("ascii").split("?", 1)[0]
    order = get_order(unquote(raw.rstrip("/").split("/")[-2]))
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
    return httpx.Response(
        200, json={"order": order}, request=request, headers={RECONCILED_HEADER: "1"}
    )


def _date(name: str, value: datetime | str | None) -> str | None:
    if value is None or (isinstance(value, str) and value):
        return value
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    msg = f"{name} must be an aware datetime or an ISO 8601 string, not {value!r:.60}"
    raise InvalidArgumentError(msg)


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

"""Duplicate-write detection over the fake's call log."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from safe_release.testing._walmart._wm_handlers import route

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from safe_release.testing._amazon import Call

__all__ = ["FEED_WINDOW", "duplicate_report"]

FEED_WINDOW = 60.0
"""Seconds within which a second feed of identical type and content is a duplicate."""
_PREVIEW = 160


def _canonical(body: object) -> str:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)


def _shipped(call: Call) -> Iterator[tuple[str, str]]:
    """(line number, tracking number) of each status a shipOrder call sent."""
    body: Any = call.json
    try:
        shipment = body["orderShipment"]
        if shipment.get("processMode") == "PARTIAL_UPDATE":
            return
        for line in shipment["orderLines"]["orderLine"]:
            for status in line["orderLineStatuses"]["orderLineStatus"]:
                yield line["lineNumber"], status["trackingInfo"]["trackingNumber"]
    except (KeyError, TypeError, AttributeError):
        return


def _keys(call: Call) -> Iterator[str]:
    """What an applied write did, one key per effect a repeat would duplicate."""
    _, params, _ = route(call.method, call.path)
    po = params.get("purchaseOrderId", "")
    if call.operation == "shipOrder":
        for line, tracking in _shipped(call):
            yield f"shipOrder {po} line {line} tracking {tracking}: line shipped twice"
    elif call.operation in {"updatePrice", "updateInventory"}:
        sku = call.query.get("sku") or (call.json or {}).get("sku", "")
        yield f"{call.operation} sku={sku} body {_preview(_canonical(call.json))}"


def _preview(body: str) -> str:
    return body if len(body) <= _PREVIEW else body[:_PREVIEW] + "..."


def duplicate_report(calls: Sequence[Call]) -> str | None:
    """A description of every write applied more than once, or ``None``.

    Duplicates: the same price or inventory body for the same SKU applied twice; a
    line shipped twice with the same tracking number (a PARTIAL_UPDATE tracking edit
    is not a shipment); a feed of identical type and content submitted again within
    `FEED_WINDOW` seconds.
    """
    seen: dict[tuple[str | None, str], list[int]] = defaultdict(list)
    last_feed: dict[tuple[str | None, str], tuple[float, int]] = {}
    lines = []
    for index, call in enumerate(calls):
        if not call.applied:
            continue
        for key in _keys(call):
            seen[call.seller_id, key].append(index)
        if call.operation == "submitFeed":
            feed = (call.seller_id, _canonical(call.json))
            before = last_feed.get(feed)
            if before is not None and call.at - before[0] < FEED_WINDOW:
                feed_type = (call.json or {}).get("feedType")
                lines.append(
                    f"  submitFeed {feed_type}: identical content again after "
                    f"{call.at - before[0]:g} s (calls #{before[1]}, #{index})"
                )
            last_feed[feed] = (call.at, index)
    for (_, key), indexes in seen.items():
        if len(indexes) > 1:
            numbers = ", ".join(f"#{i}" for i in indexes)
            lines.append(f"  {key}: applied {len(indexes)} times (calls {numbers})")
    if not lines:
        return None
    return "FakeWalmart applied the same write more than once:\n" + "\n".join(lines)

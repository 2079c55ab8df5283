"""Duplicate-write detection over `FakeLazada`'s call log.

A write's call record holds what the client sent and what the fake applied:
``{"payload": [...]}`` for price/quantity updates, ``{"packReq": ..., "packed":
[order item ids]}`` for packs and ``{"readyToShipReq": ..., "shipped": [package
ids]}`` for RTS.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from safe_release.testing._amazon import Call

__all__ = ["duplicate_report"]


def _requested(call: Call) -> Iterator[str]:
    """The order items a pack named, or the packages an RTS named."""
    body: Any = call.json or {}
    if call.operation == "fulfill_pack":
        for entry in (body.get("packReq") or {}).get("pack_order_list") or []:
            if isinstance(entry, dict):
                yield from (str(i) for i in entry.get("order_item_list") or [])
    elif call.operation == "package_rts":
        for entry in (body.get("readyToShipReq") or {}).get("packages") or []:
            if isinstance(entry, dict):
                yield str(entry.get("package_id"))


def _applied(call: Call) -> list[str]:
    body: Any = call.json or {}
    return [str(x) for x in body.get("packed") or body.get("shipped") or []]


def _resent(calls: Sequence[Call], found: dict[str, list[int]]) -> None:
    """Packs naming an order item, and RTS naming a package, that an earlier call applied."""
    done: dict[tuple[str, str], int] = {}
    for index, call in enumerate(calls):
        if call.operation not in {"fulfill_pack", "package_rts"}:
            continue
        kind = "order item" if call.operation == "fulfill_pack" else "package"
        for key in _requested(call):
            first = done.get((call.operation, key))
            if first is not None:
                label = f"{call.operation} {kind} {key}"
                found[label] = found[label] or [first]
                found[label].append(index)
        if call.applied:
            for key in _applied(call):
                done.setdefault((call.operation, key), index)


def _same_values(calls: Sequence[Call], found: dict[str, list[int]]) -> None:
    """SKUs an applied update set to the values the previous update of the SKU set."""
    last: dict[str, tuple[str, int]] = {}
    for index, call in enumerate(calls):
        if call.operation != "price_quantity_update" or not call.applied:
            continue
        for sku in (call.json or {}).get("payload") or []:
            values = repr(sorted(sku.items()))
            before = last.get(sku["SellerSku"])
            if before is not None and before[0] == values:
                label = f"price_quantity_update {sku['SellerSku']} {values}"
                found[label] = found[label] or [before[1]]
                found[label].append(index)
            last[sku["SellerSku"]] = (values, index)


def duplicate_report(calls: Sequence[Call]) -> str | None:
    """A description of every write that repeated an applied one, or ``None``.

    Duplicates: an order item packed by one call and named in a later pack (the
    fake refuses it per item, but the client sent a non-idempotent write again);
    the same for a package made ready to ship; a SKU set by an update to the same
    values it already had from the previous update of that SKU (a resend).
    """
    found: dict[str, list[int]] = defaultdict(list)
    _resent(calls, found)
    _same_values(calls, found)
    if not found:
        return None
    lines = [
        f"  {label}: sent {len(indexes)} times (calls {', '.join(f'#{i}' for i in indexes)})"
        for label, indexes in found.items()
    ]
    return "FakeLazada received the same write more than once:\n" + "\n".join(lines)

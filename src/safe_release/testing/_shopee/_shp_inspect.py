"""Duplicate-write detection over `FakeShopee`'s call log."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Sequence

    from safe_release.testing._amazon import Call

__all__ = ["duplicate_report"]

_PREVIEW = 160
_MODEL_WRITES = frozenset({"update_price", "update_stock"})


def _canonical(body: object) -> str:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)


def _preview(body: str) -> str:
    return body if len(body) <= _PREVIEW else body[:_PREVIEW] + "..."


def _field(call: Call, name: str) -> Any:
    return call.json.get(name) if isinstance(call.json, dict) else None


def duplicate_report(calls: Sequence[Call]) -> str | None:
    """A description of every write applied more than once, or ``None``.

    Duplicates: ``ship_order`` applied twice for one order (the fake refuses a
    second one, so this shows a state reset between them); an ``update_price`` or
    ``update_stock`` body applied again to an item whose previous applied write of
    that operation was the same body (A, B, A is a change back, not a duplicate).
    """
    shipped: dict[tuple[str | None, object], list[int]] = defaultdict(list)
    last: dict[tuple[str | None, str, object], tuple[str, int]] = {}
    lines = []
    for index, call in enumerate(calls):
        if not call.applied:
            continue
        if call.operation == "ship_order":
            shipped[call.seller_id, _field(call, "order_sn")].append(index)
        elif call.operation in _MODEL_WRITES:
            key = (call.seller_id, call.operation, _field(call, "item_id"))
            body = _canonical(call.json)
            before = last.get(key)
            if before is not None and before[0] == body:
                lines.append(
                    f"  {call.operation} item {key[2]}: the same body again "
                    f"(calls #{before[1]}, #{index}): {_preview(body)}"
                )
            last[key] = (body, index)
    for (_, order_sn), indexes in shipped.items():
        if len(indexes) > 1:
            numbers = ", ".join(f"#{i}" for i in indexes)
            lines.append(
                f"  ship_order {order_sn}: applied {len(indexes)} times (calls {numbers})"
            )
    if not lines:
        return None
    return "FakeShopee applied the same write more than once:\n" + "\n".join(lines)

"""Duplicate-write detection over the fake's call log."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import TYPE_CHECKING

from safe_release.testing._amazon._handlers import route

if TYPE_CHECKING:
    from collections.abc import Sequence

    from safe_release.testing._amazon._values import Call

__all__ = ["duplicate_report"]

_BODY_PREVIEW = 160


def _target(call: Call) -> str:
    _, params, _ = route(call.method, call.path)
    return " ".join(f"{name}={value}" for name, value in params.items() if name != "sellerId")


def _canonical(body: object) -> str:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)


def duplicate_report(calls: Sequence[Call]) -> str | None:
    """A description of every write applied more than once, or ``None``.

    A duplicate is the same operation on the same target (SKU, order id, plan id;
    none for createInboundPlan) with the same body, applied more than once.
    """
    seen: dict[tuple[str, str, str, str | None], list[int]] = defaultdict(list)
    for index, call in enumerate(calls):
        if call.applied:
            key = (call.operation, _target(call), _canonical(call.json), call.seller_id)
            seen[key].append(index)
    lines = []
    for (operation, target, body, _), indexes in seen.items():
        if len(indexes) > 1:
            preview = body if len(body) <= _BODY_PREVIEW else body[:_BODY_PREVIEW] + "..."
            where = f" {target}" if target else ""
            numbers = ", ".join(f"#{i}" for i in indexes)
            lines.append(
                f"  {operation}{where}: applied {len(indexes)} times (calls {numbers}) "
                f"with body {preview}"
            )
    if not lines:
        return None
    return "FakeAmazon applied the same write more than once:\n" + "\n".join(lines)

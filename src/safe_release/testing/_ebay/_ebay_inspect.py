"""Duplicate-write detection over the fake's call log.

Only non-idempotent writes can be duplicated: ``bulkUpdatePriceQuantity`` sets
absolute values, so a replay converges (WIRE.md 6) and is not reported.
``createShippingFulfillment`` is: the same tracking number twice on one order
(or, without tracking, the same body twice) is a duplicate.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import TYPE_CHECKING

from safe_release.testing._ebay._ebay_routes import match

if TYPE_CHECKING:
    from collections.abc import Sequence

    from safe_release.testing._amazon import Call

__all__ = ["duplicate_report"]

NON_IDEMPOTENT = frozenset({"createShippingFulfillment"})


def _key(call: Call) -> str:
    body = call.json if isinstance(call.json, dict) else {}
    tracking = body.get("trackingNumber")
    if isinstance(tracking, str):
        return f"trackingNumber={tracking}"
    return "body=" + json.dumps(call.json, sort_keys=True, separators=(",", ":"), default=str)


def duplicate_report(calls: Sequence[Call]) -> str | None:
    """A description of every non-idempotent write applied more than once, or ``None``."""
    seen: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    for index, call in enumerate(calls):
        if call.applied and call.operation in NON_IDEMPOTENT:
            _, params, _ = match(call.method, call.path)
            seen[(call.operation, params.get("orderId", ""), _key(call))].append(index)
    lines = [
        f"  {operation} order {order_id} {key}: applied {len(indexes)} times "
        f"(calls {', '.join(f'#{i}' for i in indexes)})"
        for (operation, order_id, key), indexes in seen.items()
        if len(indexes) > 1
    ]
    if not lines:
        return None
    return "FakeEbay applied the same write more than once:\n" + "\n".join(lines)

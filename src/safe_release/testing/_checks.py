"""The argument checks every fake marketplace makes: amounts, counts, seconds, probabilities."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from safe_release.exceptions import InvalidArgumentError

__all__ = [
    "epoch",
    "in_range",
    "non_negative_seconds",
    "order_line",
    "probability",
    "seconds",
    "to_price",
    "whole",
]


def to_price(value: object, *, what: str) -> Decimal:
    """A non-negative, finite Decimal from a Decimal, int or string (not a float)."""
    if isinstance(value, (bool, float)) or not isinstance(value, (Decimal, int, str)):
        msg = f"{what} must be a Decimal (e.g. Decimal('19.99')), not {value!r}"
        raise InvalidArgumentError(msg)
    try:
        price = Decimal(value)
    except InvalidOperation:
        price = Decimal("NaN")
    if not price.is_finite() or price < 0:
        msg = f"{what} must be a finite amount >= 0, not {value!r}"
        raise InvalidArgumentError(msg)
    return price


def whole(value: object, *, what: str, minimum: int = 0) -> int:
    """``value`` if it is an int (not a bool) of at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        msg = f"{what} must be a whole number >= {minimum}, not {value!r}"
        raise InvalidArgumentError(msg)
    return value


def in_range(raw: str, low: int, high: int | None) -> int | None:
    """``raw`` as an int in ``[low, high]`` (no upper bound if ``high`` is None), or None."""
    try:
        value = int(raw)
    except ValueError:
        return None
    return value if low <= value and (high is None or value <= high) else None


def order_line(spec: object, *, kind: str) -> tuple[Any, int, Decimal | None]:
    """(sku, quantity, unit price or None) of a seeded ``(sku, quantity[, unit_price])``.

    ``kind`` names the part in messages: "an order item is ...", "item quantity".
    """
    if not isinstance(spec, tuple) or len(spec) not in {2, 3}:
        msg = f"an order {kind} is (sku, quantity) or (sku, quantity, unit_price), not {spec!r}"
        raise InvalidArgumentError(msg)
    quantity = whole(spec[1], what=f"{kind} quantity", minimum=1)
    price = to_price(spec[2], what="unit_price") if len(spec) == 3 else None  # noqa: PLR2004
    return spec[0], quantity, price


def non_negative_seconds(value: object) -> float | None:
    """Seconds >= 0 from a number or a timedelta, or ``None`` when ``value`` is neither."""
    seconds = value.total_seconds() if isinstance(value, timedelta) else value
    if (
        isinstance(seconds, bool)
        or not isinstance(seconds, (int, float))
        or not (math.isfinite(seconds) and seconds >= 0)
    ):
        return None
    return float(seconds)


def seconds(value: float | timedelta, *, what: str) -> float:
    """`non_negative_seconds` of ``value``, or InvalidArgumentError naming ``what``."""
    found = non_negative_seconds(value)
    if found is None:
        msg = f"{what} must be a non-negative number of seconds or a timedelta, not {value!r}"
        raise InvalidArgumentError(msg)
    return found


def probability(value: float, *, what: str) -> float:
    """``value`` as a float if it is a number from 0 to 1."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        msg = f"{what} must be a probability between 0 and 1, not {value!r}"
        raise InvalidArgumentError(msg)
    return float(value)


def epoch(value: float | datetime, *, what: str) -> float:
    """Epoch seconds from a datetime, or from `seconds` of a number."""
    return value.timestamp() if isinstance(value, datetime) else seconds(value, what=what)

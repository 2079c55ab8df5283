"""What a handler gets and returns, and the parameter checks handlers share."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from safe_release.testing._checks import in_range
from safe_release.testing._shopee._shp_wire import Reject

__all__ = ["Reply", "ShpRequest", "body_int", "query_int", "query_list"]


@dataclass(frozen=True)
class ShpRequest:
    """A signed, authorised, unthrottled request for one shop."""

    operation: str
    shop_id: int
    query: dict[str, str]
    body: Any
    now: float


@dataclass(frozen=True)
class Reply:
    """A handler's success: the ``response`` payload (``None``: no ``response`` key).

    ``top`` holds fields that sit beside ``request_id`` (``get_shop_info``'s, the
    tokens'); ``applied`` whether a write changed state; ``redirect`` a 302's
    ``Location`` (the consent page's answer) instead of a JSON body.
    """

    response: Any = None
    applied: bool = False
    warning: Any = None
    top: dict[str, Any] | None = None
    redirect: str | None = None


def query_int(
    request: ShpRequest,
    name: str,
    *,
    low: int,
    high: int | None = None,
    default: int | None = None,
    error: str = "error_param",
) -> int:
    """An integer query parameter in ``[low, high]``, or an ``error`` answer."""
    raw = request.query.get(name, "")
    if raw == "" and default is not None:
        return default
    value = in_range(raw, low, high) if raw.lstrip("-").isdigit() else None
    if value is None:
        bound = f" from {low} to {high}" if high is not None else f" >= {low}"
        msg = f"Wrong parameters, detail: {name} must be an integer{bound}."
        raise Reject(error, msg)
    return value


def query_list(request: ShpRequest, name: str, *, most: int, error: str) -> list[str]:
    """A comma-joined query parameter of 1 to ``most`` non-empty values."""
    values = [v for v in request.query.get(name, "").split(",") if v]
    if not 1 <= len(values) <= most:
        msg = f"Wrong parameters, detail: {name} must hold 1 to {most} values."
        raise Reject(error, msg)
    return values


def body_int(body: Any, name: str, *, error: str) -> int:
    """A whole-number field of a JSON object body, or an ``error`` answer."""
    value = body.get(name) if isinstance(body, dict) else None
    if isinstance(value, Decimal) and value == value.to_integral_value():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        msg = f"invalid field {name}: value must  Not Null"
        raise Reject(error, msg)
    return value

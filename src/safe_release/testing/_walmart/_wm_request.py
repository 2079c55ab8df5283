"""What a handler gets and returns, and the checks every handler shares."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from safe_release.testing._checks import in_range
from safe_release.testing._walmart._wm_wire import Reject

__all__ = ["Reply", "WmRequest", "integer", "invalid_content", "not_found"]


@dataclass(frozen=True)
class WmRequest:
    """An authorized request that got a token from its bucket."""

    operation: str
    params: dict[str, str]
    query: dict[str, str]
    body: Any
    content: bytes
    content_type: str
    seller_id: str
    now: float


@dataclass(frozen=True)
class Reply:
    """A handler's answer: status, document, whether it wrote, and its XML root and namespace."""

    status: int
    body: Any
    root: str
    namespace: str | None
    applied: bool = False
    xml_body: Any = None  # the XML form's tree when its names differ from the JSON's


def invalid_content(service: str, message: str, *, field: str | None = None) -> Reject:
    """A 400 INVALID_REQUEST_CONTENT with the service suffix."""
    return Reject(400, "INVALID_REQUEST_CONTENT" + service, message, field=field)


def not_found(service: str, message: str) -> Reject:
    """A 404 CONTENT_NOT_FOUND with the service suffix."""
    return Reject(404, "CONTENT_NOT_FOUND" + service, message)


def integer(
    request: WmRequest, name: str, *, default: int, low: int, high: int, service: str
) -> int:
    """An integer query parameter in ``[low, high]``, or 400 INVALID_REQUEST_PARAM."""
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    value = in_range(raw, low, high)
    if value is None:
        msg = f"{name} must be an integer from {low} to {high}, not {raw!r}."
        raise Reject(400, "INVALID_REQUEST_PARAM" + service, msg, field=name)
    return value

"""eBay's wire format: error bodies, OAuth bodies, money, timestamps, HTML pages.

Everything follows ../shared/reference/ebay/WIRE.md. Where eBay documents no
exact body, the choice is marked [U] (an assumption) here and in docs.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

__all__ = [
    "GARBAGE_HTML",
    "OUTAGE_HTML",
    "Reject",
    "amount",
    "error",
    "iso",
    "oauth_body",
    "parse_iso",
    "system_error",
    "too_many_requests",
]

INVENTORY, FULFILLMENT, ANALYTICS = "API_INVENTORY", "API_FULFILLMENT", "API_ANALYTICS"
GARBAGE_HTML = (
    b"<html><head><title>502 Bad Gateway</title></head>"
    b"<body><h1>502 Bad Gateway</h1><p>The server returned an invalid response.</p></body></html>"
)
# [U] the page eBay's edge shows during an outage is not documented.
OUTAGE_HTML = (
    b"<html><head><title>503 Service Unavailable</title></head>"
    b"<body><h1>Service Unavailable</h1><p>Please try again later.</p></body></html>"
)
_SYSTEM = {INVENTORY: 25001, FULFILLMENT: 30500, ANALYTICS: 105000}


def error(
    error_id: int,
    domain: str,
    message: str,
    *,
    category: str = "REQUEST",
    long_message: str | None = None,
    parameters: dict[str, str] | None = None,
) -> dict[str, Any]:
    """One error object of eBay's common error container."""
    found: dict[str, Any] = {
        "errorId": error_id,
        "domain": domain,
        "category": category,
        "message": message,
    }
    if long_message is not None:
        found["longMessage"] = long_message
    if parameters:
        found["parameters"] = [{"name": k, "value": v} for k, v in parameters.items()]
    return found


class Reject(Exception):  # noqa: N818 - an outcome, not an error of the fake
    """A handler's way to answer ``{"errors": [...]}`` with a status."""

    def __init__(self, status: int, *errors: dict[str, Any]) -> None:
        super().__init__(errors[0]["message"] if errors else "")
        self.status = status
        self.errors = list(errors)

    def body(self) -> dict[str, Any]:
        """The ``{"errors": [...]}`` document."""
        return {"errors": self.errors}


def bad(
    error_id: int, domain: str, message: str, *, long_message: str | None = None, **params: str
) -> Reject:
    """A 400 with one REQUEST error."""
    return Reject(
        400, error(error_id, domain, message, long_message=long_message, parameters=params)
    )


def invalid_value(field: str, *, long_message: str | None = None) -> Reject:
    """Inventory's 400 25709 "Invalid value for {fieldName}"."""
    return bad(
        25709, INVENTORY, f"Invalid value for {field}.", long_message=long_message, fieldName=field
    )


def too_many_requests() -> Reject:
    """The 429 for a spent daily quota (and for a throttle storm)."""
    return Reject(
        429,
        error(
            2001,
            "ACCESS",
            "Too many requests",
            long_message="The request limit has been reached for the resource.",
        ),
    )


def invalid_token() -> Reject:
    """The 401 for a missing, unknown, revoked or expired token outside the Inventory API."""
    return Reject(
        401,
        error(
            1001,
            "OAuth",
            "Invalid access token",
            long_message=(
                "Invalid access token. Check the value of the Authorization HTTP request header."
            ),
        ),
    )


def access_denied() -> Reject:
    """The 403 1100: no such scope, or (Inventory API) a bad or expired token."""
    return Reject(
        403,
        error(
            1100,
            "ACCESS",
            "Access denied",
            long_message="Insufficient permissions to fulfill the request.",
        ),
    )


def system_error(domain: str) -> Reject:
    """The API's own 500 "system error" (25001, 30500 or 105000)."""
    return Reject(
        500,
        error(
            _SYSTEM[domain],
            domain,
            "A system error has occurred.",
            category="APPLICATION",
        ),
    )


def concurrent_access() -> Reject:
    """Inventory's retryable 500 25025."""
    return Reject(
        500,
        error(
            25025,
            INVENTORY,
            "Concurrent access of the same Inventory or Inventory Item Group object is not"
            " allowed. Please try again later.",
            category="APPLICATION",
        ),
    )


def not_found_route() -> Reject:
    """[U] eBay's answer for a path it does not serve."""
    return Reject(404, error(2002, "ACCESS", "Resource not found"))


def method_not_allowed() -> Reject:
    """[U] eBay's answer for a known path with another method."""
    return Reject(405, error(2002, "ACCESS", "Method not allowed"))


def unsupported_media(domain: str) -> Reject:
    """[U] A write without ``Content-Type: application/json``: 415 with a user error."""
    error_id = 25002 if domain == INVENTORY else 32600
    return Reject(
        415,
        error(
            error_id,
            domain,
            "Unsupported media type",
            long_message="The Content-Type header must be application/json.",
        ),
    )


def oauth_body(code: str, description: str) -> bytes:
    """An RFC 6749 token-endpoint error: ``{"error", "error_description"}``."""
    return json.dumps({"error": code, "error_description": description}).encode()


def amount(value: Decimal, currency: str) -> dict[str, str]:
    """eBay's Amount: the value is a string (at least two decimals), never a number."""
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent > -2:  # noqa: PLR2004 - cents
        value = value.quantize(Decimal("0.01"))
    return {"value": f"{value:f}", "currency": currency}


def iso(epoch: float) -> str:
    """ISO 8601 UTC with milliseconds and a ``Z``, as eBay writes dates."""
    moment = datetime.fromtimestamp(epoch, tz=timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(value: str) -> float | None:
    """An eBay UTC timestamp (``2025-03-01T00:00:00.000Z``) as epoch seconds, or ``None``."""
    if not value.endswith("Z"):
        return None
    try:
        moment = datetime.fromisoformat(value[:-1] + "+00:00")
    except ValueError:
        return None
    return moment.timestamp()

"""Amazon's wire format: error bodies, LWA bodies, timestamps, the gateway's HTML page.

The strings are Amazon's own where they are known (see marketplaces.md 0 and 1.3);
the rest are marked as assumptions.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

__all__ = [
    "DETAILS_EXPIRED",
    "DETAILS_INVALID",
    "GARBAGE_HTML",
    "Reject",
    "error_body",
    "from_iso",
    "iso",
    "lwa_body",
]

QUOTA_MESSAGE = "You exceeded your quota for the requested resource."
DENIED_MESSAGE = "Access to requested resource is denied."
DETAILS_EXPIRED = "The access token you provided has expired."
DETAILS_INVALID = "The access token you provided is revoked, malformed or invalid."
INVALID_GRANT = (
    "The request has an invalid grant parameter : refresh_token. "
    "User may have revoked or didn't grant the permission."
)
INVALID_CLIENT = "Client authentication failed"
# Assumptions [U]: the bodies Amazon sends for these are not documented verbatim.
INTERNAL_MESSAGE = "We encountered an internal error. Please try again."
UNAVAILABLE_MESSAGE = "Service temporarily unavailable. Please try again later."
LWA_THROTTLED = "The request was throttled. Please try again later."
GARBAGE_HTML = (
    b"<html><head><title>502 Bad Gateway</title></head>"
    b"<body><center><h1>502 Bad Gateway</h1></center></body></html>"
)


class Reject(Exception):  # noqa: N818 - an outcome, not an error of the fake
    """A handler's way to answer with an SP-API error document."""

    def __init__(self, status: int, code: str, message: str, details: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details

    def body(self) -> dict[str, Any]:
        """The ``{"errors": [...]}`` document."""
        return error_body(self.code, self.message, self.details)


def error_body(code: str, message: str, details: str = "") -> dict[str, Any]:
    """An SP-API error document: ``{"errors": [{"code", "message", "details"}]}``."""
    return {"errors": [{"code": code, "message": message, "details": details}]}


def quota_exceeded() -> Reject:
    """The 429 Amazon sends when the bucket is empty."""
    return Reject(429, "QuotaExceeded", QUOTA_MESSAGE)


def unauthorized(details: str) -> Reject:
    """A 403 for an expired, revoked, malformed or unknown access token."""
    return Reject(403, "Unauthorized", DENIED_MESSAGE, details)


def missing_token() -> Reject:
    """The 403 for a request without ``x-amz-access-token``."""
    return Reject(403, "MissingAuthenticationToken", DENIED_MESSAGE)


def internal_failure() -> Reject:
    """A 500 from the error-rate fault."""
    return Reject(500, "InternalFailure", INTERNAL_MESSAGE)


def unavailable() -> Reject:
    """A 503 from an outage window."""
    return Reject(503, "ServiceUnavailable", UNAVAILABLE_MESSAGE)


def invalid_input(message: str) -> Reject:
    """A 400 for a bad parameter or body."""
    return Reject(400, "InvalidInput", message)


def not_found(message: str) -> Reject:
    """A 404 for an unknown order, SKU, plan or operation."""
    return Reject(404, "NotFound", message)


def lwa_body(error: str, description: str) -> bytes:
    """An LWA token-endpoint error: ``{"error", "error_description"}``."""
    return json.dumps({"error": error, "error_description": description}).encode()


def iso(epoch: float) -> str:
    """ISO 8601 in UTC with a ``Z``, as SP-API writes dates."""
    moment = datetime.fromtimestamp(epoch, tz=timezone.utc)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def from_iso(value: str, *, name: str) -> float:
    """Parse an ISO 8601 date-time parameter; a bad one is a 400 InvalidInput."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        msg = f"{name} must be an ISO 8601 date-time, not {value!r}."
        raise invalid_input(msg) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()

"""LazOP request signatures and timestamps, as the fake checks them (WIRE.md section 3).

An implementation of its own, never the adapter's: a bug on one side then shows
up as a rejected request instead of being agreed with.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timezone

__all__ = ["TIMESTAMP_WINDOW", "parse_timestamp", "signature", "string_to_sign"]

TIMESTAMP_WINDOW = 7200.0
"""How far (seconds) a request's timestamp may be from the server's clock."""

_MS_DIGITS = 13


def string_to_sign(api_path: str, params: dict[str, str]) -> str:
    """The API path, then ``name`` + ``value`` of each parameter sorted by name.

    ``sign`` is left out, and so are parameters whose value is empty (what the
    official Java and C# SDKs do). Names sort by their bytes (ASCII order).
    """
    names = sorted(
        (name for name, value in params.items() if name != "sign" and value != ""),
        key=lambda name: name.encode("utf-8"),
    )
    return api_path + "".join(name + params[name] for name in names)


def signature(secret: str, api_path: str, params: dict[str, str]) -> str:
    """The upper-case hex HMAC-SHA256 of `string_to_sign` keyed with the app secret."""
    message = string_to_sign(api_path, params).encode("utf-8")
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest().upper()


def parse_timestamp(raw: str) -> float | None:
    """Epoch seconds of a ``timestamp``: epoch milliseconds or ISO 8601; None if neither.

    An ISO 8601 time without an offset is read as UTC.
    """
    if raw.isdigit():
        return int(raw) / 1000 if len(raw) == _MS_DIGITS else None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()

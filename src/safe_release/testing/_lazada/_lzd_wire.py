"""Lazada's answers: the envelopes (always HTTP 200), errors, request ids, dates.

Success is ``{"code": "0", "data": ..., "request_id": ...}`` (token calls put
their fields at the top level); failure is ``{"type", "code", "message",
"request_id"}`` with no ``data`` (WIRE.md section 5).
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from typing import Any

__all__ = [
    "COUNTRY_OFFSETS",
    "GARBAGE_HTML",
    "LzdError",
    "ban_message",
    "local_time",
    "missing",
    "parse_order_time",
    "render",
]

GARBAGE_HTML = b"<html><body><h1>502 Bad Gateway</h1><p>Tengine</p></body></html>"
COUNTRY_OFFSETS = {"sg": 8, "my": 8, "ph": 8, "th": 7, "vn": 7, "id": 7, "cb": 8}
"""Hours east of UTC in which each country's order times are written."""
_SPACED = re.compile(r"^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d(?:\.\d+)?) ?([+-]\d\d):?(\d\d)$")


class LzdError(Exception):
    """A failure envelope: ``type`` (ISV, ISP or SYSTEM), ``code`` and ``message``."""

    def __init__(self, code: str, message: str, *, kind: str = "ISV") -> None:
        super().__init__(message)
        self.code, self.message, self.kind = code, message, kind

    def document(self, request_id: str) -> dict[str, object]:
        """The failure envelope."""
        return {
            "type": self.kind,
            "code": self.code,
            "message": self.message,
            "request_id": request_id,
        }


def missing(name: str) -> LzdError:
    """``MissingParameter`` for a mandatory parameter that was not sent."""
    message = (
        f"the input parameter \u201c{name}\u201d that is mandatory for processing this "
        "request is not supplied"
    )
    return LzdError("MissingParameter", message)


def ban_message(seconds: int | str) -> str:
    """The ``ApiCallLimit`` message naming the ban length."""
    return f"Api access frequency exceeds the limit. this ban will last {seconds} seconds."


def render(document: Any) -> bytes:
    """JSON bytes of an answer (Decimals as numbers are never sent: amounts are strings)."""
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def local_time(epoch: float, country: str) -> str:
    """``2025-03-01 10:15:02 +0800``: an order time in the country's offset."""
    zone = timezone(timedelta(hours=COUNTRY_OFFSETS.get(country, 8)))
    return datetime.fromtimestamp(epoch, zone).strftime("%Y-%m-%d %H:%M:%S %z")


def parse_order_time(raw: str) -> float | None:
    """Epoch seconds of an ``/orders/get`` date: ISO 8601 with an offset, or the space form.

    ``2025-03-01T00:00:00+08:00`` and ``2025-03-01 00:00:00 +0800`` both parse; a
    time without an offset does not.
    """
    text = _SPACED.sub(r"\1T\2\3:\4", raw.strip())
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return None if moment.tzinfo is None else moment.timestamp()

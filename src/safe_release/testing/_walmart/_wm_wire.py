"""Walmart's wire format: error bodies (both shapes), XML, epoch milliseconds, the HTML page.

Codes and field names are WIRE.md 6's. Where Walmart's exact strings are not
documented the fake's own are marked as assumptions [U].
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

__all__ = [
    "FEED_NS",
    "GARBAGE_HTML",
    "ORDERS_NS",
    "Reject",
    "epoch_ms",
    "error_document",
    "from_date",
    "render",
]

ORDERS_NS = "http://walmart.com/mp/v3/orders"
FEED_NS = "http://walmart.com/"
GATEWAY, ORDER, PRICE, INVENTORY, RECEIVER, ITEM = (
    ".GMP_GATEWAY_API",
    ".GMP_ORDER_API",
    ".GMP_PRICE_API",  # [U] the price API's suffix is not documented
    ".GMP_INVENTORY_API",  # [U]
    ".GMP_RECEIVER_API",
    ".GMP_ITEM_QUERY_API",
)
GARBAGE_HTML = (
    b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>"
    b"<body><h1>Bad Gateway</h1><p>The server returned an invalid response.</p></body></html>"
)
# Keys of the JSON form that the 2015-2018 XSDs lack: dropped from XML answers.
_JSON_ONLY = frozenset({"shipNode", "pickUpDateTime", "feedSubmissionDate", "orderType"})
# Keys the XSDs type as xsd:dateTime, which JSON carries as epoch milliseconds.
_DATES = frozenset(
    {"orderDate", "estimatedDeliveryDate", "estimatedShipDate", "statusDate", "shipDateTime"}
)
_CATEGORIES = {400: "DATA", 401: "DATA", 403: "DATA", 404: "DATA", 429: "REQUEST"}


class Reject(Exception):  # noqa: N818 - an outcome, not an error of the fake
    """A handler's way to answer with a Walmart error document.

    ``bare`` answers carry no body at all (a 503 from a gateway that was not reached).
    """

    def __init__(
        self,
        status: int,
        code: str,
        description: str,
        *,
        field: str | None = None,
        info: str | None = None,
        bare: bool = False,
    ) -> None:
        super().__init__(description)
        self.status, self.code, self.description = status, code, description
        self.field, self.info, self.bare = field, info, bare

    def error(self) -> dict[str, Any]:
        """The ``error`` entry, its members in the order of Errors.xsd."""
        entry: dict[str, Any] = {"code": self.code}
        if self.field is not None:
            entry["field"] = self.field
        entry["description"] = self.description
        entry["info"] = self.info or _INFO.get(self.status, "Request failed.")
        entry["severity"] = "ERROR"
        entry["category"] = _CATEGORIES.get(self.status, _category(self.status))
        entry["causes"] = []
        entry["errorIdentifiers"] = {"entry": []}
        return entry


def _category(status: int) -> str:
    return "SYSTEM" if status >= 500 else "APPLICATION"  # noqa: PLR2004 - 5xx


_INFO = {
    400: "Request content is invalid.",
    401: "Unauthorized token or incorrect authorization header.",
    403: "Forbidden: the token lacks the scope for this API.",
    404: "Requested content could not be found.",
    413: "The request payload is too large.",
    429: "Too many requests for this API; wait for the bucket to replenish.",
    500: "System encountered some internal error.",
    504: "The downstream system timed out.",
}


def error_document(reject: Reject, *, single: bool) -> dict[str, Any]:
    """``{"errors": {"error": [...]}}``, or with ``error`` a single object if ``single``."""
    entry = reject.error()
    return {"errors": {"error": entry if single else [entry]}}


def epoch_ms(seconds: float) -> int:
    """Seconds since the epoch as Walmart's epoch milliseconds."""
    return round(seconds * 1000)


def iso_ms(milliseconds: int) -> str:
    """Epoch milliseconds as an xsd:dateTime in UTC (``2026-01-01T00:00:00.000Z``)."""
    moment = datetime.fromtimestamp(milliseconds / 1000, tz=timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def from_date(value: str, *, name: str, service: str) -> float:
    """A ``yyyy-MM-dd`` or ISO 8601 date parameter (UTC), or a 400 INVALID_REQUEST_PARAM."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        msg = f"{name} must be yyyy-MM-dd or an ISO 8601 date-time, not {value!r}."
        raise Reject(400, "INVALID_REQUEST_PARAM" + service, msg, field=name) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def render(document: Any, *, root: str, xml: bool, namespace: str | None) -> tuple[bytes, str]:
    """(content, content type): the JSON form, or the XML form of ``{root: ...}``.

    The XML form is the JSON tree with lists as repeated elements, epoch-ms dates
    as xsd:dateTime and the JSON-only keys left out, in ``namespace``.
    """
    if not xml:
        return json.dumps(document, default=_number).encode(), "application/json"
    tag = f"{{{namespace}}}{root}" if namespace else root
    element = ET.Element(tag)
    _fill(element, document.get(root, document), namespace)
    content = ET.tostring(
        element, encoding="utf-8", xml_declaration=True, default_namespace=namespace
    )
    return content, "application/xml"


def _number(value: object) -> float:
    if isinstance(value, Decimal):
        return float(value)
    msg = f"not JSON: {type(value).__name__}"
    raise TypeError(msg)


def _fill(element: ET.Element, value: Any, namespace: str | None) -> None:
    if isinstance(value, dict):
        for key, child in value.items():
            if key in _JSON_ONLY or child is None:
                continue
            for item in child if isinstance(child, list) else [child]:
                sub = ET.SubElement(element, f"{{{namespace}}}{key}" if namespace else key)
                if key in _DATES and isinstance(item, int):
                    sub.text = iso_ms(item)
                else:
                    _fill(sub, item, namespace)
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif value is not None:
        element.text = str(value)

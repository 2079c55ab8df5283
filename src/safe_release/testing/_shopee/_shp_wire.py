"""Shopee's wire for the fake: the signature, the envelope, the error a handler raises.

The signature is written here from WIRE.md 3 on its own (never the adapter's
code): lowercase hex HMAC-SHA256, keyed with the partner key, of
``partner_id + path + timestamp`` and, for a Shop API, ``+ access_token + shop_id``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from decimal import Decimal
from email.utils import formatdate
from typing import Any

import httpx

__all__ = [
    "GARBAGE_HTML",
    "Reject",
    "base_string",
    "envelope",
    "json_response",
    "signature",
]

GARBAGE_HTML = b"<html><body><h1>502 Bad Gateway</h1><p>openresty</p></body></html>"


class Reject(Exception):  # noqa: N818 - a rejected request, raised to its answer
    """An error answer: the envelope's ``error`` and ``message``, and the HTTP status.

    Shopee answers failures with 200 or a 4xx (WIRE.md 5); which one each error
    gets is the fake's choice [U]: gateway errors 4xx, business errors 200.
    """

    def __init__(self, error: str, message: str, *, status: int = 200) -> None:
        super().__init__(f"{error}: {message}")
        self.error, self.message, self.status = error, message, status


def base_string(
    partner_id: str, path: str, timestamp: str, access_token: str = "", shop_id: str = ""
) -> str:
    """What is signed: the parts concatenated with no separator (public APIs: the first three)."""
    return f"{partner_id}{path}{timestamp}{access_token}{shop_id}"


def signature(partner_key: str, base: str) -> str:
    """The 64 lowercase hex digits of HMAC-SHA256(partner_key, base)."""
    return hmac.new(partner_key.encode(), base.encode(), hashlib.sha256).hexdigest()


def envelope(
    request_id: str,
    *,
    error: str = "",
    message: str = "",
    response: Any = None,
    warning: Any = None,
    top: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The answer's JSON object: ``request_id``, ``error``, ``message``, then the rest."""
    document: dict[str, Any] = {"request_id": request_id, "error": error, "message": message}
    if warning is not None:
        document["warning"] = warning
    if response is not None:
        document["response"] = response
    if top:
        document.update(top)
    return document


def _number(value: object) -> object:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    msg = f"{type(value).__name__} is not JSON serializable"
    raise TypeError(msg)


def json_response(
    request: httpx.Request, status: int, document: dict[str, Any], now: float
) -> httpx.Response:
    """The HTTP answer: the JSON body and a ``Date`` header on the fake clock."""
    content = json.dumps(document, default=_number, separators=(",", ":")).encode()
    headers = {"content-type": "application/json", "date": formatdate(now, usegmt=True)}
    return httpx.Response(status, headers=headers, content=content, request=request)

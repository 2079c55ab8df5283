"""Lazada Open Platform (LazOP) wire details: signatures, the envelope, verdicts, errors.

Lazada answers HTTP 200 to everything: success is ``{"code": "0", "data": …}``,
failure ``{"type", "code", "message"}``, so an answer is judged by its body.
Bodies are read defensively: an HTML page, a body that is not JSON, or a 200
with neither ``code`` nor ``data`` raises `MarketplaceResponseError`, never
``KeyError``. The app secret and tokens are `Secret` until a request is signed,
and no message here carries one.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
from datetime import datetime, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

from safe_release.adapters._shapes import Shapes, json_or_none
from safe_release.adapters._shapes import text as _text
from safe_release.exceptions import (
    InvalidArgumentError,
    MarketplaceAuthError,
    MarketplaceError,
    MarketplaceHTTPError,
    MarketplaceResponseError,
    RateLimitedError,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    import httpx

    from safe_release.adapters._base import MarketplaceAdapter
    from safe_release.adapters._operation import Operation

__all__ = [
    "AUTHORIZE_URL",
    "AUTH_URL",
    "HOSTS",
    "MAX_BAN_S",
    "Kind",
    "aread",
    "ban_seconds",
    "body_of",
    "envelope_kind",
    "error_code",
    "format_time",
    "lazada_error",
    "parse_time",
    "read",
    "sign",
    "string_to_sign",
    "timestamp_ms",
]

HOSTS = {
    "sg": "https://api.lazada.sg/rest",
    "my": "https://api.lazada.com.my/rest",
    "th": "https://api.lazada.co.th/rest",
    "vn": "https://api.lazada.vn/rest",
    "ph": "https://api.lazada.com.ph/rest",
    "id": "https://api.lazada.co.id/rest",
}
"""The regional REST host of each country (it must match the seller's)."""
AUTH_URL = "https://auth.lazada.com/rest"
"""Token create and refresh go here, whatever the seller's country."""
AUTHORIZE_URL = "https://auth.lazada.com/oauth/authorize"
"""The seller consent page."""
MAX_BAN_S = 60.0
"""An ``ApiCallLimit`` ban is waited at most this long, whatever its text says."""
_MAX_TEXT = 300
_BAN = re.compile(r"ban will last (\d{1,6}) seconds?", re.IGNORECASE)
_SPACED = re.compile(r"^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d(?:\.\d+)?) ?([+-]\d\d):?(\d\d)$")

SHAPES = Shapes("lazada")


# -- signing -------------------------------------------------------------------------------


def string_to_sign(api_path: str, params: Mapping[str, str]) -> str:
    """The API path, then ``name`` + ``value`` of every parameter but ``sign``, by name.

    Names sort in byte (ASCII) order; parameters with an empty value are left
    out (and must never be sent: Lazada's SDKs disagree on signing them).
    """
    names = sorted((n for n, v in params.items() if n != "sign" and v != ""), key=str.encode)
    return api_path + "".join(name + params[name] for name in names)


def sign(secret: str, api_path: str, params: Mapping[str, str]) -> str:
    """The ``sign`` parameter: upper-case hex HMAC-SHA256 of `string_to_sign`."""
    message = string_to_sign(api_path, params).encode("utf-8")
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest().upper()


def timestamp_ms(now: float) -> str:
    """The ``timestamp`` parameter: epoch milliseconds (within 7200 s of Lazada's clock)."""
    return str(int(now * 1000))


# -- the envelope --------------------------------------------------------------------------


class Kind:
    """How an answer reads (the adapter maps these to the core's verdicts)."""

    OK = "ok"
    THROTTLED = "throttled"
    AUTH_EXPIRED = "auth_expired"
    OUTAGE = "outage"
    SKEWED = "skewed"
    SERVER = "server"
    FAILED = "failed"


_CODE_KINDS = {
    "IllegalAccessToken": Kind.AUTH_EXPIRED,
    "ApiCallLimit": Kind.THROTTLED,
    "901": Kind.THROTTLED,
    "998": Kind.OUTAGE,
    "InvalidTimestamp": Kind.SKEWED,
    "ServiceTimeout": Kind.SERVER,
    "6": Kind.SERVER,
    "1000": Kind.SERVER,
}


def error_code(body: object) -> str | None:
    """The ``code`` of a failure envelope (None: a success, or not an envelope)."""
    if not isinstance(body, dict):
        return None
    code = body.get("code")
    if isinstance(code, int) and not isinstance(code, bool):
        code = str(code)
    if not isinstance(code, str) or code == "0":
        return None
    return code


def envelope_kind(response: httpx.Response) -> str:
    """The `Kind` of an answer, from its body first (Lazada says everything with a 200).

    ``IllegalAccessToken``: refresh once. ``ApiCallLimit`` and ``901``: throttled.
    ``998`` (a campaign shutdown): an outage. ``ServiceTimeout``, ``6``, ``1000``
    or type ``SYSTEM``: a server error (ambiguous for writes). A timestamp
    refusal: a skewed clock. A 5xx or a body that is not JSON: a server error.
    """
    status = response.status_code
    if status == 429 or status >= 500:  # noqa: PLR2004 - not Lazada's way, read as usual
        return Kind.THROTTLED if status == 429 else Kind.SERVER  # noqa: PLR2004
    body = json_or_none(response)
    if not isinstance(body, dict):
        return Kind.SERVER if status < 300 else Kind.FAILED  # noqa: PLR2004 - a 200 page
    code = error_code(body)
    if code is None:
        known = body.get("code") in ("0", 0) or "data" in body
        return Kind.OK if status < 300 and known else Kind.FAILED  # noqa: PLR2004
    message = _text(body.get("message")).lower()
    if code in _CODE_KINDS:
        return _CODE_KINDS[code]
    if code == "IncompleteSignature" and "timestamp" in message:
        return Kind.SKEWED
    return Kind.SERVER if body.get("type") == "SYSTEM" else Kind.FAILED


def ban_seconds(response: httpx.Response, interval: float) -> float:
    """How long an ``ApiCallLimit`` ban lasts: N of "this ban will last N seconds".

    Garbage (no number, an absurd one) is read as ``interval``, the operation's
    declared gap; the result is never more than `MAX_BAN_S`.
    """
    body = json_or_none(response)
    found = _BAN.search(_text(body.get("message")) if isinstance(body, dict) else "")
    seconds = float(found.group(1)) if found else interval
    if not math.isfinite(seconds) or seconds <= 0:
        seconds = interval
    return min(seconds, MAX_BAN_S)


def body_of(op: Operation, response: httpx.Response) -> dict[str, Any]:
    """A successful answer's whole body (``data`` is inside it), checked.

    Not JSON, not an object, or neither ``code`` nor ``data``:
    `MarketplaceResponseError`. A failure envelope raises `lazada_error`.
    """
    body = json_or_none(response)
    if body is None:
        msg = (
            f"lazada {op.name} answered HTTP {response.status_code} with a body that is not "
            f"JSON ({_kind(response)}); Lazada may be degraded, retry later"
        )
        raise MarketplaceResponseError(msg, marketplace="lazada", operation=op.name)
    body = SHAPES.as_object(body, "the body", op.name)
    if error_code(body) is not None:
        raise lazada_error(op, response)
    if body.get("code") not in ("0", 0) and "data" not in body:
        msg = (
            f"lazada {op.name} answered HTTP {response.status_code} with neither code nor "
            "data; whether it applied is unknown: check before sending it again"
        )
        raise MarketplaceResponseError(msg, marketplace="lazada", operation=op.name)
    return body


def _kind(response: httpx.Response) -> str:
    kind = str(response.headers.get("content-type", "no content type")).split(";")[0].strip()
    head = response.content[:64].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")):
        return f"an HTML page, {kind}"
    return kind


_AUTH_CODES = frozenset(
    {"IllegalAccessToken", "IncompleteSignature", "InvalidAppKey", "IllegalRefreshToken"}
)
_ADVICE = {
    "IllegalAccessToken": "; the access token is invalid or expired and one refresh did not "
    "help: the seller may need to authorise the app again",
    "IncompleteSignature": "; Lazada refused the signature: check app_key and app_secret "
    "(a correctly signed request is sometimes refused too: retry later)",
    "InvalidAppKey": "; check app_key",
    "ApiCallLimit": "; Lazada kept throttling through every retry",
    "998": "; Lazada has disabled this API for a campaign: try after the campaign",
}


def lazada_error(op: Operation, response: httpx.Response) -> MarketplaceError:
    """The typed error for a failure answer: ``code`` is Lazada's code (a string)."""
    body = json_or_none(response)
    status = response.status_code
    if not isinstance(body, dict):
        msg = (
            f"lazada {op.name} answered HTTP {status} with a body that is not a Lazada "
            f"envelope ({_kind(response)}); retry later"
        )
        if status >= 500:  # noqa: PLR2004
            return MarketplaceHTTPError(
                msg, marketplace="lazada", operation=op.name, status=status
            )
        return MarketplaceResponseError(msg, marketplace="lazada", operation=op.name)
    code = error_code(body)
    request_id = body.get("request_id")
    fields: dict[str, Any] = {
        "marketplace": "lazada",
        "operation": op.name,
        "status": status,
        "code": code,
        "request_id": request_id if isinstance(request_id, str) else None,
    }
    text = _text(body.get("message"))[:_MAX_TEXT]
    kind = _text(body.get("type"))
    msg = f"lazada {op.name} failed: {kind or 'error'} {code}: {text}".rstrip(": ")
    msg += _ADVICE.get(code or "", "")
    if code in ("ApiCallLimit", "901"):
        return RateLimitedError(msg, retry_after=ban_seconds(response, 1.0), **fields)
    if code in _AUTH_CODES:
        return MarketplaceAuthError(msg, **fields)
    if code is None:
        msg = f"lazada {op.name} answered HTTP {status} with neither code nor data"
        return MarketplaceResponseError(msg, marketplace="lazada", operation=op.name)
    return MarketplaceHTTPError(msg, **fields)


# -- values --------------------------------------------------------------------------------


def parse_time(raw: object, where: str, operation: str) -> datetime:
    """An aware datetime from ``2025-03-01T10:15:02+08:00`` or ``2025-03-01 10:15:02 +0800``."""
    if isinstance(raw, str):
        text = _SPACED.sub(r"\1T\2\3:\4", raw.strip())
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            moment = None
        if moment is not None and moment.tzinfo is not None:
            return moment
    raise SHAPES.wrong_shape(operation, where, raw, "a time with an offset")


def format_time(name: str, when: datetime) -> str:
    """``when`` as Lazada takes it: ISO 8601 with its offset (an aware datetime only)."""
    if not isinstance(when, datetime) or when.tzinfo is None:
        msg = f"{name}= must be a timezone-aware datetime, not {when!r}"
        raise InvalidArgumentError(msg)
    return when.replace(microsecond=0).isoformat()


def utc(epoch: float) -> datetime:
    """An epoch time as an aware UTC datetime."""
    return datetime.fromtimestamp(epoch, timezone.utc)


def decimal_text(value: Decimal, what: str) -> str:
    """A price for the XML payload: a positive finite Decimal, never a float."""
    if not isinstance(value, Decimal) or not value.is_finite() or value <= 0:
        msg = f"{what} must be a positive, finite Decimal (never a float), not {value!r}"
        raise InvalidArgumentError(msg)
    return format(value, "f")


def xml_text(value: str) -> str:
    """``value`` escaped for an XML element's text (``&``, ``<``, ``>``)."""
    return escape(value)


# -- reading through an adapter ------------------------------------------------------------


def read(adapter: MarketplaceAdapter, operation: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """Call ``operation`` through ``adapter``; its checked success body (`body_of`)."""
    return body_of(adapter.operation(operation), adapter.call(operation, params=params))


async def aread(
    adapter: MarketplaceAdapter, operation: str, params: Mapping[str, Any]
) -> dict[str, Any]:
    """`read`, awaited."""
    return body_of(adapter.operation(operation), await adapter.acall(operation, params=params))

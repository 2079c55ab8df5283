"""Shopee Open Platform v2 wire details: signing, the envelope, verdicts, errors, prices.

Every answer is ``{request_id, error, message, warning?, response?}``; a failure
may come with HTTP 200 or a 4xx, so verdicts are read from ``error``, never
from the status alone. Codes come bare (``error_param``) or module-prefixed
(``product.error_param``) and are matched on the part after the last dot.
Bodies are read defensively: anything that is not such an envelope raises
`MarketplaceResponseError`, never ``KeyError``.
"""

from __future__ import annotations

import hashlib
import hmac
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from safe_release.adapters._core import Verdict
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
    import httpx

    from safe_release._secrets import Secret
    from safe_release.adapters._operation import Operation

__all__ = [
    "ALREADY_SHIPPED",
    "TWO_DECIMAL_REGIONS",
    "Envelope",
    "base_string",
    "classify",
    "code_of",
    "envelope",
    "price_number",
    "shopee_error",
    "sign_hex",
    "wire_price",
]

MARKETPLACE = "shopee"
TWO_DECIMAL_REGIONS = frozenset({"SG", "MY", "BR", "MX", "PL", "ES", "AR"})
"""Regions whose prices may carry two decimal places; every other region: whole numbers."""
ALREADY_SHIPPED = "package_already_shipped"
_MAX_TEXT = 300

_EXPIRED_CODES = frozenset({"invalid_acceess_token", "invalid_access_token"})
"""The expired-token codes seen in production (Shopee's own misspelling first)."""
_THROTTLE_CODES = frozenset(
    {
        "error_system_busy",
        "error_too_many_request",
        "error_rate_limit",
        "exceed_api",
        "exceed_shop_api",
        "exceed_partner_api",
    }
)
_AUTH_CODES = frozenset(
    {
        "error_auth",
        "error_permission",
        "error_sign",
        "invalid_partner_id",
        "invalid_shop_id",
        "invalid_code",
        "refresh_token_expired",
        "shop_access_expired",
        "merchant_access_expired",
        "shop_no_linked",
        "merchant_no_linked",
        "error_shop_refresh_token",
        "error_merchant_refresh_token",
        "shop_banned",
        *_EXPIRED_CODES,
    }
)
_SERVER_CODES = frozenset({"error_server", "error_inner", "error_network"})
_REFUSED = (
    "; the credentials were refused: check partner_id, partner_key and shop_id, "
    "and have the seller authorise the app again if the shop's consent lapsed"
)

_SHAPES = Shapes(MARKETPLACE)
wrong_shape = _SHAPES.wrong_shape
as_object = _SHAPES.as_object
field_list = _SHAPES.field_list
field_object = _SHAPES.field_object
objects = _SHAPES.objects


# -- signing -----------------------------------------------------------------------------


def base_string(
    partner_id: int, path: str, timestamp: int, access_token: str = "", shop_id: int | None = None
) -> str:
    """What Shopee signs: ``partner_id + path + timestamp`` (+ ``access_token + shop_id``).

    Public APIs (the auth calls) sign the first three only; Shop APIs add the
    access token and the shop id. The body and the query are never signed.
    """
    tail = "" if shop_id is None else f"{access_token}{shop_id}"
    return f"{partner_id}{path}{timestamp}{tail}"


def sign_hex(partner_key: Secret, base: str) -> str:
    """The lowercase hex HMAC-SHA256 of ``base`` under the partner key (64 characters)."""
    key = partner_key.reveal().encode()
    return hmac.new(key, base.encode(), hashlib.sha256).hexdigest()


# -- the envelope --------------------------------------------------------------------------


class Envelope:
    """One answer's envelope: ``error`` ("" on success), ``message``, ``warning``, ``response``."""

    __slots__ = ("error", "message", "request_id", "response", "warning")

    def __init__(self, body: dict[str, Any]) -> None:
        self.error = _text(body.get("error"))
        self.message = _text(body.get("message"))
        self.request_id = _text(body.get("request_id")) or None
        warning = body.get("warning")
        if isinstance(warning, list):
            warning = "; ".join(str(w) for w in warning if w)
        self.warning = warning if isinstance(warning, str) else ""
        self.response = body.get("response")

    @property
    def code(self) -> str:
        """The error code after any module prefix (``product.error_param`` -> ``error_param``)."""
        return code_of(self.error)


def code_of(error: str) -> str:
    """``error`` without its module prefix; Shopee's list spells some with a leading space."""
    return error.strip().rsplit(".", 1)[-1]


def _body(response: httpx.Response) -> dict[str, Any] | None:
    """The answer as an envelope object, None when it is not one.

    An envelope has ``error`` (a string, possibly empty) or a ``response`` object.
    """
    body = json_or_none(response)
    if not isinstance(body, dict):
        return None
    error = body.get("error")
    if error is None and "response" not in body:
        return None
    if error is not None and not isinstance(error, str):
        return None
    return body


def envelope(op: Operation, response: httpx.Response) -> Envelope:
    """The envelope of a successful answer; anything else: `MarketplaceResponseError`."""
    body = _body(response)
    if body is None:
        raise _not_envelope(op.name, response)
    return Envelope(body)


def payload(op: Operation, response: httpx.Response) -> dict[str, Any]:
    """The ``response`` object of a successful answer; missing (a hollow answer): refused."""
    found = envelope(op, response).response
    if found is None:
        raise wrong_shape(op.name, "response", found, "the answer's payload (an object)")
    return as_object(found, "response", op.name)


def _not_envelope(operation: str, response: httpx.Response) -> MarketplaceResponseError:
    kind = response.headers.get("content-type", "no content type").split(";")[0].strip()
    msg = (
        f"shopee {operation} answered HTTP {response.status_code} with a body that is not a "
        f"Shopee answer ({kind}: no 'error' and no 'response'); the platform may be "
        "degraded: retry later, and report it if it persists"
    )
    return MarketplaceResponseError(msg, marketplace=MARKETPLACE, operation=operation)


# -- verdicts ------------------------------------------------------------------------------


def is_expired_token(env: Envelope) -> bool:
    """``invalid_acceess_token`` [sic], or ``error_auth`` "Invalid access_token."."""
    if env.code in _EXPIRED_CODES:
        return True
    return env.code == "error_auth" and "invalid access_token" in env.message.lower()


def is_skewed(env: Envelope) -> bool:
    """``error_param`` "Invalid timestamp": our clock is more than 5 minutes off Shopee's."""
    return env.code == "error_param" and "invalid timestamp" in env.message.lower()


def is_throttled(env: Envelope) -> bool:
    """``error_system_busy``, the ads limits, or any code saying "Too many requests"."""
    return env.code in _THROTTLE_CODES or "too many request" in env.message.lower()


def classify(response: httpx.Response, skewed: Verdict) -> Verdict:
    """Shopee semantics, from the body first.

    A non-envelope body is a server failure when it is a 5xx or a 2xx (a proxy's
    page in place of the answer: whether a write happened is unknown), else a
    failure. In an envelope: ``error`` "" is OK (a 5xx still a server failure);
    an expired token is AUTH_EXPIRED (refresh once); "Invalid timestamp" is
    ``skewed``; throttling (``error_system_busy``, "Too many requests", HTTP 429)
    is THROTTLED; ``error_server``, ``error_inner``, ``error_network`` and 5xx
    are SERVER; anything else FAILED.
    """
    status = response.status_code
    body = _body(response)
    if body is None:
        if status == 429:  # noqa: PLR2004
            return Verdict.THROTTLED
        return Verdict.SERVER if status >= 500 or status < 300 else Verdict.FAILED  # noqa: PLR2004
    return _envelope_verdict(Envelope(body), status, skewed)


def _envelope_verdict(env: Envelope, status: int, skewed: Verdict) -> Verdict:
    if not env.error:
        return Verdict.SERVER if status >= 500 else Verdict.OK  # noqa: PLR2004
    checks = (
        (is_expired_token(env), Verdict.AUTH_EXPIRED),
        (is_skewed(env), skewed),
        (is_throttled(env) or status == 429, Verdict.THROTTLED),  # noqa: PLR2004
        (env.code in _SERVER_CODES or status >= 500, Verdict.SERVER),  # noqa: PLR2004
    )
    return next((verdict for hit, verdict in checks if hit), Verdict.FAILED)


def shopee_error(op: Operation, response: httpx.Response) -> MarketplaceError:
    """The typed error for a failed answer; ``code`` is Shopee's ``error`` as sent."""
    body = _body(response)
    if body is None:
        return _not_envelope(op.name, response)
    env = Envelope(body)
    status = response.status_code
    detail = f"{env.error}: {env.message}" if env.message else env.error or "no error code"
    msg = f"shopee {op.name} failed (HTTP {status}, {detail[:_MAX_TEXT]})"
    fields: dict[str, Any] = {
        "marketplace": MARKETPLACE,
        "operation": op.name,
        "status": status,
        "code": env.error.strip() or None,
        "request_id": env.request_id,
    }
    if (env.error and is_throttled(env)) or status == 429:  # noqa: PLR2004
        return RateLimitedError(msg + "; Shopee kept throttling through every retry", **fields)
    if is_skewed(env):
        return MarketplaceHTTPError(
            msg + "; this machine's clock is off Shopee's by more than 5 minutes "
            "even after correcting from the answer's Date header: fix the clock (NTP)",
            **fields,
        )
    if env.code in _AUTH_CODES:
        return MarketplaceAuthError(msg + _REFUSED, **fields)
    return MarketplaceHTTPError(msg, **fields)


# -- prices --------------------------------------------------------------------------------


def wire_price(price: object, region: str, *, what: str = "price") -> int | float:
    """``price`` (a positive Decimal) as the JSON number Shopee takes for ``region``.

    Regions in `TWO_DECIMAL_REGIONS` take at most two decimal places, the others
    whole numbers; anything finer is refused before it is sent, never rounded.
    """
    if not isinstance(price, Decimal) or not price.is_finite() or price <= 0:
        msg = f"shopee: {what} must be a positive, finite Decimal (never a float), not {price!r}"
        raise InvalidArgumentError(msg)
    places = 2 if region in TWO_DECIMAL_REGIONS else 0
    if price != price.quantize(Decimal(1).scaleb(-places)):
        allowed = "two decimal places" if places else "whole numbers only"
        msg = (
            f"shopee: {what} {price} is too precise for region {region} ({allowed}); "
            "nothing was sent"
        )
        raise InvalidArgumentError(msg)
    if price == price.to_integral_value():
        return int(price)
    return float(price)  # two decimals: the shortest repr is the same digits


def price_number(value: object, where: str, operation: str) -> Decimal:
    """A price Shopee answered (a JSON number) as a Decimal; anything else refused."""
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise wrong_shape(operation, where, value, "a number")
    number = Decimal(str(value))
    if not number.is_finite() or number < 0:
        raise wrong_shape(operation, where, value, "a price")
    return number


def stock_number(value: object, where: str, operation: str) -> int:
    """A stock count Shopee answered: a whole number >= 0."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise wrong_shape(operation, where, value, "a whole number >= 0")
    return value

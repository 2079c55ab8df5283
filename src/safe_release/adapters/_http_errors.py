"""The typed error for a marketplace's HTTP error answer, the same way for every marketplace.

Each wire module reads its own error bodies into a message, a ``code`` and a
request id; `http_error` picks the class: `RateLimitedError` for a 429 (out of
retries), `MarketplaceAuthError` for a refused credential, `MarketplaceHTTPError`
for anything else, each with the marketplace's advice appended.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from safe_release.exceptions import (
    MarketplaceAuthError,
    MarketplaceError,
    MarketplaceHTTPError,
    RateLimitedError,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from safe_release.adapters._operation import Operation

__all__ = ["http_error"]


def http_error(
    marketplace: str,
    op: Operation,
    status: int,
    message: str,
    *,
    code: str | None,
    request_id: str | None,
    throttled: str,
    refused: Mapping[int, str],
) -> MarketplaceError:
    """The error for an answer with HTTP ``status``.

    ``throttled`` is appended to the message of a 429; ``refused`` maps each
    status that means the credentials were refused to the advice appended.
    """
    fields: dict[str, Any] = {
        "marketplace": marketplace,
        "operation": op.name,
        "status": status,
        "code": code,
        "request_id": request_id,
    }
    if status == 429:  # noqa: PLR2004
        return RateLimitedError(message + throttled, **fields)
    if status in refused:
        return MarketplaceAuthError(message + refused[status], **fields)
    return MarketplaceHTTPError(message, **fields)

"""What a handler gets and returns, and the parameter checks handlers share."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from safe_release.testing._checks import in_range

if TYPE_CHECKING:
    from safe_release.testing._ebay import _ebay_errors as e
    from safe_release.testing._ebay._ebay_quotas import DailyQuotas

__all__ = ["EbayRequest", "Reply", "whole"]


@dataclass(frozen=True)
class EbayRequest:
    """An authorized request that was counted against its daily quota."""

    operation: str
    params: dict[str, str]
    query: dict[str, str]
    raw_query: str
    body: Any
    user_id: str | None
    client_id: str
    now: float
    base: str
    quotas: DailyQuotas = field(repr=False)

    def url(self, path: str) -> str:
        """An absolute URL on the host the request came to."""
        return self.base + path


@dataclass(frozen=True)
class Reply:
    """A handler's answer: status, JSON document (``None``: no body), headers, whether it wrote."""

    status: int
    body: Any = None
    applied: bool = False
    headers: dict[str, str] = field(default_factory=dict)


def whole(raw: str | None, *, default: int, low: int, high: int | None, reject: e.Reject) -> int:
    """An integer parameter in ``[low, high]``, or ``reject``."""
    if raw is None:
        return default
    value = in_range(raw, low, high)
    if value is None:
        raise reject
    return value

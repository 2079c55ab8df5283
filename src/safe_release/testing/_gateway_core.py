"""The steps every fake's gateway shares: reading the JSON body, drafting the `Call`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import Any
from urllib.parse import parse_qs

from safe_release.testing._amazon._values import Call

__all__ = ["CallDraft", "SellerToken", "form_fields", "parse_json"]


def parse_json(content: bytes, *, decimals: bool = False) -> tuple[Any, bool]:
    """(parsed body or None, whether it parsed); an empty body parses as None.

    With ``decimals`` numbers with a fraction parse as Decimal.
    """
    if not content:
        return None, True
    try:
        if decimals:
            return json.loads(content, parse_float=Decimal), True
        return json.loads(content), True
    except (ValueError, UnicodeDecodeError):
        return None, False


def form_fields(body: bytes) -> dict[str, str]:
    """A form-encoded body's fields; the last value of a repeated one wins."""
    return {key: values[-1] for key, values in parse_qs(body.decode("utf-8", "replace")).items()}


@dataclass(frozen=True)
class SellerToken:
    """Who an access token speaks for, and since when."""

    seller_id: str
    client_id: str
    issued: float
    generation: int


@dataclass
class CallDraft:
    """A call being answered; frozen into a `Call` at the end."""

    operation: str
    method: str
    path: str
    query: dict[str, str]
    json: Any
    at: float
    status: int = 0
    applied: bool = False
    lost: bool = False
    seller_id: str | None = None
    client_id: str | None = None

    def freeze(self) -> Call:
        """The `Call` the fake logs."""
        return Call(
            operation=self.operation,
            method=self.method,
            path=self.path,
            query=MappingProxyType(self.query),
            json=self.json,
            status=self.status,
            at=self.at,
            applied=self.applied,
            lost=self.lost,
            seller_id=self.seller_id,
            client_id=self.client_id,
        )

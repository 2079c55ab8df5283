"""What a handler gets and returns, and the parameter checks every handler shares."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from safe_release.testing._amazon import _bodies as b
from safe_release.testing._checks import in_range

__all__ = ["Reply", "SpRequest", "csv", "fields", "flag", "integer", "required"]


@dataclass(frozen=True)
class SpRequest:
    """An authorized SP-API request that got a token from its bucket."""

    operation: str
    params: dict[str, str]
    query: dict[str, str]
    body: Any
    seller_id: str
    client_id: str
    now: float


@dataclass(frozen=True)
class Reply:
    """A handler's answer: status, JSON document (``None`` for 204), whether it wrote."""

    status: int
    body: Any = None
    applied: bool = False


def required(request: SpRequest, name: str) -> str:
    """A required query parameter, or 400 InvalidInput."""
    value = request.query.get(name, "")
    if not value:
        msg = f"Missing required parameter '{name}'."
        raise b.invalid_input(msg)
    return value


def csv(value: str | None) -> list[str]:
    """A comma-separated list parameter."""
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def integer(request: SpRequest, name: str, *, default: int, low: int, high: int) -> int:
    """An integer parameter in ``[low, high]``, or 400 InvalidInput."""
    raw = request.query.get(name)
    if raw is None:
        return default
    value = in_range(raw, low, high)
    if value is None:
        msg = f"{name} must be an integer from {low} to {high}, not {raw!r}."
        raise b.invalid_input(msg)
    return value


def flag(request: SpRequest, name: str) -> bool:
    """A boolean parameter (``true``/``false``), or 400 InvalidInput."""
    raw = request.query.get(name, "false").lower()
    if raw not in {"true", "false"}:
        msg = f"{name} must be true or false, not {raw!r}."
        raise b.invalid_input(msg)
    return raw == "true"


def fields(document: object, where: str, **kinds: type | tuple[type, ...]) -> dict[str, Any]:
    """Check that ``document`` is an object whose required fields have the right types."""
    if not isinstance(document, dict):
        msg = f"{where} must be a JSON object."
        raise b.invalid_input(msg)
    for name, kind in kinds.items():
        value = document.get(name)
        if value is None:
            msg = f"{where} is missing the required field '{name}'."
            raise b.invalid_input(msg)
        if (isinstance(value, bool) and kind is int) or not isinstance(value, kind):
            msg = f"{where}.{name} has the wrong type."
            raise b.invalid_input(msg)
        if isinstance(value, (str, list)) and not value:
            msg = f"{where}.{name} must not be empty."
            raise b.invalid_input(msg)
    return document

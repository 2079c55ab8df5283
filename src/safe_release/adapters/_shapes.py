"""Reading marketplace JSON defensively, the same way for every marketplace.

A body of the wrong shape (a list where an object is expected, a string for a
number, nesting deeper than Python can parse) raises `MarketplaceResponseError`
naming the marketplace, the operation and where the body was wrong, never
``AttributeError``, ``KeyError`` or ``RecursionError``. `Shapes` binds the
marketplace's name once: ``shapes = Shapes("ebay")``, then
``shapes.field_list(body, "offers", "", "getOffers")``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from safe_release.exceptions import MarketplaceResponseError

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["Shapes", "at", "json_or_none", "kind", "parse_json", "text"]

_KINDS = {
    dict: "an object",
    list: "a list",
    str: "a string",
    bool: "true/false",
    type(None): "null",
    int: "a number",
    float: "a number",
}


def parse_json(content: bytes) -> Any:
    """``content`` as JSON; anything that is not (nested too deeply included): ValueError."""
    try:
        return json.loads(content)
    except RecursionError:
        msg = "JSON nested too deeply"
        raise ValueError(msg) from None


def json_or_none(response: httpx.Response) -> Any:
    """The answer's body as JSON; None when it is not JSON or was never read."""
    try:
        return parse_json(response.content)
    except (ValueError, httpx.ResponseNotRead):
        return None


def kind(value: object) -> str:
    """What a JSON value is, in words (``"a list"``)."""
    return _KINDS.get(type(value), type(value).__name__)


def at(where: str, name: str) -> str:
    """The path of ``name`` under ``where`` (``payload.Orders``)."""
    return f"{where}.{name}" if where else name


def text(value: object) -> str:
    """``value`` if it is a string, else empty."""
    return value if isinstance(value, str) else ""


@dataclass(frozen=True)
class Shapes:
    """Shape checks for one marketplace's bodies."""

    marketplace: str

    def wrong_shape(
        self, operation: str, where: str, value: object, wanted: str
    ) -> MarketplaceResponseError:
        """The error for a body whose ``where`` is not ``wanted``."""
        msg = (
            f"{self.marketplace} {operation} answered JSON of the wrong shape: {where} is "
            f"{kind(value)}, not {wanted}; the marketplace may be degraded or its API "
            "changed: retry later, and report it if it persists"
        )
        return MarketplaceResponseError(msg, marketplace=self.marketplace, operation=operation)

    def as_object(self, value: object, where: str, operation: str) -> dict[str, Any]:
        """``value`` if it is a JSON object, else `MarketplaceResponseError`."""
        if not isinstance(value, dict):
            raise self.wrong_shape(operation, where, value, "an object")
        return value

    def field_object(
        self, parent: dict[str, Any], name: str, where: str, operation: str
    ) -> dict[str, Any]:
        """``parent[name]`` as an object (missing or null: empty)."""
        value = parent.get(name)
        return {} if value is None else self.as_object(value, at(where, name), operation)

    def field_list(
        self, parent: dict[str, Any], name: str, where: str, operation: str
    ) -> list[Any]:
        """``parent[name]`` as a list (missing or null: empty)."""
        value = parent.get(name)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.wrong_shape(operation, at(where, name), value, "a list")
        return value

    def objects(
        self, parent: dict[str, Any], name: str, where: str, operation: str
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        """``(path, entry)`` per entry of the list ``parent[name]``; each must be an object."""
        for index, entry in enumerate(self.field_list(parent, name, where, operation)):
            path = f"{at(where, name)}[{index}]"
            yield path, self.as_object(entry, path, operation)

    def next_token(
        self, value: object, previous: object, operation: str, where: str, wanted: str
    ) -> str | None:
        """A next-page token (``value``, found at ``where``): a string, or None at the end.

        Missing, null or empty is the end; a value that is not a string is
        refused, and so is the page's own token (``previous``) handed back again,
        which would page for ever.
        """
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise self.wrong_shape(operation, where, value, wanted)
        if value == previous:
            name = where.rsplit(".", 1)[-1]
            msg = (
                f"{self.marketplace} {operation} answered the same {name} as the page before; "
                "paging stopped so that it cannot loop for ever: retry later"
            )
            raise MarketplaceResponseError(msg, marketplace=self.marketplace, operation=operation)
        return value

"""Which operation a request names, for every fake marketplace's table of routes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol
from urllib.parse import unquote

from safe_release.exceptions import UnknownOperationError

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = ["Router", "check_known"]


class RouteLike(Protocol):
    """A route as each fake's table holds it: name, HTTP method, path template."""

    @property
    def name(self) -> str:
        """The operation name."""
        ...  # pragma: no cover - a protocol

    @property
    def method(self) -> str:
        """The HTTP method."""
        ...  # pragma: no cover - a protocol

    @property
    def path(self) -> str:
        """The path, ``{name}`` for a parameter."""
        ...  # pragma: no cover - a protocol


def check_known(
    operation: str, routes: Mapping[str, object], *, fake: str, marketplace: str
) -> str:
    """``operation`` if ``routes`` has it, else `UnknownOperationError` naming ``fake``."""
    if operation not in routes:
        msg = f"{fake} has no operation {operation!r}; use one of {sorted(routes)}"
        raise UnknownOperationError(msg, marketplace=marketplace, operation=operation)
    return operation


def _match(template: list[str], segments: list[str]) -> dict[str, str] | None:
    if len(template) != len(segments):
        return None
    params: dict[str, str] = {}
    for pattern, segment in zip(template, segments, strict=True):
        if pattern.startswith("{") and pattern.endswith("}"):
            if not segment:
                return None
            params[pattern[1:-1]] = unquote(segment)
        elif pattern != segment:
            return None
    return params


class Router:
    """Call it with a method and raw path: ``(operation, path parameters, path known)``.

    ``path known`` with no operation means the path exists but not for ``method``.
    Leading and trailing slashes are ignored and the query is dropped. With
    ``fixed_paths_win`` a path that a template without parameters matches is never
    read as another template's parameter (``/v3/orders/released`` is no order id).
    """

    def __init__(self, routes: Iterable[RouteLike], *, fixed_paths_win: bool = False) -> None:
        self._templates = [(r.name, r.method, r.path.strip("/").split("/")) for r in routes]
        self._fixed_paths_win = fixed_paths_win

    def __call__(self, method: str, raw_path: str) -> tuple[str | None, dict[str, str], bool]:
        """(operation, path parameters, path known) for a request line."""
        segments = raw_path.split("?", 1)[0].strip("/").split("/")
        known = False
        for name, op_method, template in self._templates:
            params = _match(template, segments)
            if params is None or (params and self._fixed(name, segments)):
                continue
            known = True
            if op_method == method:
                return name, params, True
        return None, {}, known

    def _fixed(self, name: str, segments: list[str]) -> bool:
        return self._fixed_paths_win and any(
            _match(t, segments) == {} for n, _, t in self._templates if n != name
        )

"""Nested, per-key differences between two JSON documents."""

from __future__ import annotations

from typing import TYPE_CHECKING

from safe_release._config._models import Change

if TYPE_CHECKING:
    from pydantic import JsonValue

__all__ = ["diff_json"]


def diff_json(old: JsonValue, new: JsonValue) -> tuple[Change, ...]:
    """Changes from ``old`` to ``new``: objects by key, lists by index."""
    out: list[Change] = []
    _walk((), old, new, out)
    return tuple(out)


def _walk(path: tuple[str | int, ...], old: JsonValue, new: JsonValue, out: list[Change]) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(old.keys() | new.keys()):
            if key not in new:
                out.append(Change(path=(*path, key), kind="removed", old=old[key]))
            elif key not in old:
                out.append(Change(path=(*path, key), kind="added", new=new[key]))
            else:
                _walk((*path, key), old[key], new[key], out)
    elif isinstance(old, list) and isinstance(new, list):
        for i in range(max(len(old), len(new))):
            if i >= len(new):
                out.append(Change(path=(*path, i), kind="removed", old=old[i]))
            elif i >= len(old):
                out.append(Change(path=(*path, i), kind="added", new=new[i]))
            else:
                _walk((*path, i), old[i], new[i], out)
    elif type(old) is not type(new) or old != new:
        out.append(Change(path=path, kind="changed", old=old, new=new))

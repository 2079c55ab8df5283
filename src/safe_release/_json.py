"""Canonical JSON: the one encoding used for stored content and its hash."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from typing import Any, TypeAlias

from safe_release.exceptions import ConfigContentError, ContentTooLargeError

__all__ = ["JSONValue", "canonical_dumps", "check_json", "content_hash", "encode_content"]

JSONValue: TypeAlias = (
    dict[str, "JSONValue"] | list["JSONValue"] | str | int | float | bool | None
)

_MAX_DEPTH = 64


def canonical_dumps(value: object) -> str:
    """Encode ``value`` with sorted keys and no insignificant whitespace."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def content_hash(canonical: str) -> str:
    """SHA-256 of the canonical encoding, as 64 hex digits."""
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def check_json(value: object, path: str = "$", depth: int = 0) -> JSONValue:
    """Return ``value`` as plain JSON data, or raise naming the first bad spot.

    Tuples become lists; everything else must already be a dict with string
    keys, a list, a string, a finite number, a bool or None.
    """
    if depth > _MAX_DEPTH:
        msg = f"config content nests deeper than {_MAX_DEPTH} levels at {path}; flatten it"
        raise ConfigContentError(msg)
    if isinstance(value, str):
        return _check_text(value, path)
    if value is None or isinstance(value, (bool, int)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            msg = (
                f"config content is not JSON-compatible at {path}: {value!r} is not a "
                "finite number; store a finite number, null or a string instead"
            )
            raise ConfigContentError(msg)
        return value
    if isinstance(value, Mapping):
        return _check_mapping(value, path, depth)
    if isinstance(value, (list, tuple)):
        return [check_json(v, f"{path}[{i}]", depth + 1) for i, v in enumerate(value)]
    msg = (
        f"config content is not JSON-compatible at {path}: values of type "
        f"{type(value).__name__} cannot be stored; convert it to a string, number, "
        "bool, null, list or object first"
    )
    raise ConfigContentError(msg)


def _check_text(value: str, path: str) -> str:
    if value.isascii():
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        msg = (
            f"config content is not JSON-compatible at {path}: the text holds a lone "
            f"surrogate ({value[exc.start]!r}) that UTF-8 cannot encode; decode the "
            "source text properly (e.g. errors='replace') before publishing"
        )
        raise ConfigContentError(msg) from exc
    return value


def _check_mapping(value: Mapping[Any, Any], path: str, depth: int) -> JSONValue:
    out: dict[str, JSONValue] = {}
    for key, item in value.items():
        if not isinstance(key, str):
            msg = (
                f"config content is not JSON-compatible at {path}: key {key!r} is a "
                f"{type(key).__name__}; JSON object keys must be strings"
            )
            raise ConfigContentError(msg)
        _check_text(key, f"{path} (a key)")
        out[key] = check_json(item, f"{path}.{key}", depth + 1)
    return out


def encode_content(value: object, *, max_bytes: int, what: str) -> tuple[JSONValue, str]:
    """Check ``value`` and return it with its canonical encoding.

    Raises `ContentTooLargeError` when the encoding exceeds ``max_bytes``.
    """
    data = check_json(value)
    text = canonical_dumps(data)
    size = len(text.encode("utf-8"))
    if size > max_bytes:
        msg = (
            f"{what} content is {size:,} bytes, over the limit of {max_bytes:,} bytes; "
            "split it into several configs or raise max_bytes= when opening the config"
        )
        raise ContentTooLargeError(msg)
    return data, text

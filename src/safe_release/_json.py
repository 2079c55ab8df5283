"""Canonical JSON: the encoding used for stored content, and content hashes.

`canonical_dumps` is the encoding the SDK stores and seals (sorted keys, no
insignificant whitespace). A config version's content hash is taken over its RFC 8785
(JCS) encoding instead (`content_hash_of`, kind ``"jcs"``), so that content a reader
sees as equal hashes alike (``{"x": 1}`` and ``{"x": 1.0}``); versions stored before
have the ``"legacy"`` kind, SHA-256 of `canonical_dumps`, and stay verifiable
(`verify_content_hash`).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from typing import Any, Literal, NoReturn, TypeAlias, cast

import rfc8785

from safe_release.exceptions import ConfigContentError, ContentTooLargeError

__all__ = [
    "FrozenDict",
    "FrozenList",
    "HashKind",
    "JSONValue",
    "canonical_dumps",
    "check_json",
    "content_hash",
    "content_hash_of",
    "encode_content",
    "freeze",
    "verify_content_hash",
]

JSONValue: TypeAlias = dict[str, "JSONValue"] | list["JSONValue"] | str | int | float | bool | None

HashKind = Literal["jcs", "legacy"]
_MAX_DEPTH = 64
_MAX_INT_BITS = 13_000  # about 4,000 decimal digits


def canonical_dumps(value: object) -> str:
    """Encode ``value`` with sorted keys and no insignificant whitespace."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def content_hash(canonical: str) -> str:
    """SHA-256 of the canonical encoding, as 64 hex digits (the ``"legacy"`` kind)."""
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def content_hash_of(value: object) -> tuple[str, HashKind]:
    """The content hash of ``value`` (checked content) and its kind, as 64 hex digits.

    ``"jcs"``: SHA-256 of the RFC 8785 encoding (numbers as ECMAScript writes them:
    ``1.0`` is ``1``; keys sorted by UTF-16 code units). RFC 8785 has no encoding for
    an integer beyond ±(2**53 - 1) (I-JSON's range); content holding one is hashed
    the ``"legacy"`` way (SHA-256 of `canonical_dumps`, which keeps every digit).
    """
    try:
        encoded = rfc8785.dumps(cast("Any", value))  # checked content: JSON values
    except rfc8785.IntegerDomainError:
        return content_hash(canonical_dumps(value)), "legacy"
    return hashlib.sha256(encoded).hexdigest(), "jcs"


def verify_content_hash(value: object, digest: str, kind: HashKind) -> bool:
    """Whether ``digest``, a content hash of ``kind``, is the hash of ``value``."""
    if kind == "legacy":
        return content_hash(canonical_dumps(value)) == digest
    found, found_kind = content_hash_of(value)
    return found_kind == kind and found == digest


class _Walk:
    """One content check: the node budget keeps shared references from exploding."""

    __slots__ = ("budget",)

    def __init__(self, budget: int) -> None:
        self.budget = budget

    def spend(self, path: str) -> None:
        self.budget -= 1
        if self.budget < 0:
            msg = (
                f"config content at {path} has more values than its size limit allows "
                "(repeated references or aliases expand it); store less, or raise max_bytes="
            )
            raise ContentTooLargeError(msg)

    def value(self, value: object, path: str, depth: int) -> JSONValue:  # noqa: PLR0911
        self.spend(path)
        if depth > _MAX_DEPTH:
            _bad(path, f"nesting deeper than {_MAX_DEPTH} levels", "flatten it")
        if isinstance(value, str):
            return _check_text(value, path)
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, int):
            if value.bit_length() > _MAX_INT_BITS:
                _bad(path, "an integer with thousands of digits", "store it as a string")
            return value
        if isinstance(value, float):
            if not math.isfinite(value):
                _bad(
                    path,
                    f"{value!r} is not a finite number",
                    "store a finite number, null or a string instead",
                )
            return value
        if isinstance(value, Mapping):
            return self.mapping(value, path, depth)
        if isinstance(value, (list, tuple)):
            return [self.value(v, f"{path}[{i}]", depth + 1) for i, v in enumerate(value)]
        _bad(
            path,
            f"values of type {type(value).__name__} cannot be stored",
            "convert it to a string, number, bool, null, list or object first",
        )
        return None  # pragma: no cover - _bad raises

    def mapping(self, value: Mapping[Any, Any], path: str, depth: int) -> JSONValue:
        out: dict[str, JSONValue] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                _bad(
                    path,
                    f"key {key!r} is a {type(key).__name__}",
                    "JSON object keys must be strings",
                )
            _check_text(key, f"{path} (a key)")
            out[key] = self.value(item, f"{path}.{key}", depth + 1)
        return out


def _bad(path: str, what: str, advice: str) -> NoReturn:
    msg = f"config content is not JSON-compatible at {path}: {what}; {advice}"
    raise ConfigContentError(msg)


def _check_text(value: str, path: str) -> str:
    if value.isascii():
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        _bad(
            path,
            f"the text holds a lone surrogate ({value[exc.start]!r}) that UTF-8 cannot encode",
            "decode the source text properly (e.g. errors='replace')",
        )
    return value


def check_json(value: object, *, budget: int = 10**9) -> JSONValue:
    """Return ``value`` as plain JSON data, or raise naming the first bad spot.

    Tuples become lists; everything else must already be a dict with string
    keys, a list, a string, a finite number, a bool or None. At most ``budget``
    values are visited, so shared references cannot blow up memory.
    """
    return _Walk(budget).value(value, "$", 0)


def encode_content(value: object, *, max_bytes: int, what: str) -> tuple[JSONValue, str]:
    """Check ``value`` and return it with its canonical encoding.

    Raises `ContentTooLargeError` when the encoding exceeds ``max_bytes``.
    """
    data = check_json(value, budget=max_bytes)  # every value costs at least one byte
    text = canonical_dumps(data)
    size = len(text.encode("utf-8"))
    if size > max_bytes:
        msg = (
            f"{what} content is {size:,} bytes, over the limit of {max_bytes:,} bytes; "
            "split it into several configs or raise max_bytes= when opening the config"
        )
        raise ContentTooLargeError(msg)
    return data, text


def _read_only(*_args: object, **_kwargs: object) -> NoReturn:
    msg = (
        "stored config content is read-only (it is shared by every reader in the "
        "process); copy it first: copy.deepcopy(value) or json.loads(json.dumps(value))"
    )
    raise TypeError(msg)


class FrozenDict(dict[str, Any]):
    """A JSON object that refuses mutation; equal to, and encoded like, a dict."""

    __slots__ = ()
    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _read_only
    __ior__ = _read_only

    def __copy__(self) -> dict[str, Any]:
        return dict(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[str, Any]:
        return json.loads(canonical_dumps(self))  # type: ignore[no-any-return]

    def __reduce__(self) -> tuple[type[dict[str, Any]], tuple[dict[str, Any]]]:
        return (dict, (dict(self),))


class FrozenList(list[Any]):
    """A JSON array that refuses mutation; equal to, and encoded like, a list."""

    __slots__ = ()
    __setitem__ = __delitem__ = append = extend = insert = pop = remove = _read_only
    clear = reverse = sort = _read_only
    __iadd__ = __imul__ = _read_only

    def __copy__(self) -> list[Any]:
        return list(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> list[Any]:
        return json.loads(canonical_dumps(self))  # type: ignore[no-any-return]

    def __reduce__(self) -> tuple[type[list[Any]], tuple[list[Any]]]:
        return (list, (list(self),))


def freeze(value: Any) -> Any:
    """A read-only deep view of decoded JSON (dicts and lists made immutable)."""
    if isinstance(value, dict):
        return FrozenDict({k: freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return FrozenList(freeze(v) for v in value)
    return value

"""Argument checks shared by the config store: each raises a typed error."""

from __future__ import annotations

import math
import re
from datetime import timedelta
from typing import TYPE_CHECKING

from pydantic import ValidationError

from safe_release._store import NAME_LENGTH
from safe_release.exceptions import (
    ConfigValidationError,
    InvalidArgumentError,
    InvalidConfigNameError,
)

if TYPE_CHECKING:
    from pydantic import BaseModel

__all__ = [
    "MAX_MESSAGE_LENGTH",
    "MAX_VERSION",
    "check_author",
    "check_message",
    "check_name",
    "seconds",
    "validation_error",
    "version_number",
]

_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:/-]*")


def check_name(name: object) -> str:
    """Return ``name`` if it is a valid config name, else raise."""
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name) or len(name) > NAME_LENGTH:
        msg = (
            f"{name!r} is not a valid config name; use 1 to {NAME_LENGTH} letters, digits "
            "and '_ . : / -', starting with a letter or digit (e.g. 'pricing' or "
            "'pricing/us')"
        )
        raise InvalidConfigNameError(msg)
    return name


def seconds(value: object, what: str) -> float:
    """A finite, non-negative duration from seconds or a timedelta."""
    if isinstance(value, timedelta):
        result = value.total_seconds()
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        result = float(value)
    else:
        msg = f"{what} must be a number of seconds or a timedelta, not {value!r}"
        raise InvalidArgumentError(msg)
    if not math.isfinite(result) or result < 0:
        msg = f"{what} must be a finite, non-negative number of seconds (got {result})"
        raise InvalidArgumentError(msg)
    return result


def validation_error(head: str, advice: str, exc: ValidationError) -> ConfigValidationError:
    errors = [(".".join(str(p) for p in err["loc"]) or "$", err["msg"]) for err in exc.errors()]
    listed = "; ".join(f"{loc}: {msg}" for loc, msg in errors)
    return ConfigValidationError(f"{head}: {listed}; {advice}", errors=errors)


MAX_VERSION = 2**31 - 1


def version_number(value: object, what: str, *, zero: bool = False) -> int:
    """A version number argument (``zero``: 0 allowed, meaning "no version yet")."""
    low = 0 if zero else 1
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= MAX_VERSION:
        msg = (
            f"{what}= must be a version number (an int from {low} to {MAX_VERSION}), not {value!r}"
        )
        raise InvalidArgumentError(msg)
    return value


def _printable(text: str, what: str) -> str:
    if "\x00" in text:
        msg = f"{what}= must not contain NUL characters"
        raise InvalidArgumentError(msg)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        msg = f"{what}= holds a lone surrogate that UTF-8 cannot encode; decode it properly"
        raise InvalidArgumentError(msg) from None
    return text


MAX_MESSAGE_LENGTH = 10_000


def check_author(author: object) -> str:
    """Who makes a change: a non-empty string of at most `NAME_LENGTH` characters."""
    if not isinstance(author, str) or len(author) > NAME_LENGTH or not author.strip():
        msg = (
            f"author= must be a non-empty string of at most {NAME_LENGTH} characters "
            "(who is making this change: a person or a job name)"
        )
        raise InvalidArgumentError(msg)
    return _printable(author, "author")


def check_message(message: object) -> str:
    """Why a change is made: a string of at most `MAX_MESSAGE_LENGTH` characters."""
    if not isinstance(message, str):
        msg = f"message= must be a string, not {type(message).__name__}"
        raise InvalidArgumentError(msg)
    if len(message) > MAX_MESSAGE_LENGTH:
        msg = (
            f"message= is {len(message):,} characters long, over the limit of "
            f"{MAX_MESSAGE_LENGTH:,}; say why in a few lines and link to the details"
        )
        raise InvalidArgumentError(msg)
    _printable(message, "message")
    return message


def round_trips(schema: type[BaseModel], model: BaseModel, dumped: object, name: str) -> None:
    """Refuse content that would not read back as the same model (secrets, aliases …)."""
    try:
        again = schema.model_validate(dumped)
    except ValidationError as exc:
        msg = (
            f"config {name!r}: {schema.__name__} does not read back what it writes "
            "(computed fields with extra='forbid', custom serializers …)"
        )
        raise validation_error(msg, "fix the schema; nothing was stored", exc) from exc
    lost = [f for f in type(model).model_fields if getattr(again, f) != getattr(model, f)]
    if lost:
        msg = (
            f"config {name!r}: fields {', '.join(lost)} of {schema.__name__} do not survive "
            "storage (secret types are written masked, lossy serializers drop data); keep "
            "secrets out of config and give those fields JSON-faithful types; nothing was "
            "stored"
        )
        raise ConfigValidationError(msg, errors=[(f, "does not survive storage") for f in lost])

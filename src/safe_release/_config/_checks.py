"""Argument checks shared by the config store: each raises a typed error."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import TYPE_CHECKING

from safe_release._store._tables import NAME_LENGTH
from safe_release.exceptions import (
    ConfigValidationError,
    InvalidArgumentError,
    InvalidConfigNameError,
)

if TYPE_CHECKING:
    from pydantic import ValidationError

__all__ = [
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


def seconds(value: float | timedelta, what: str) -> float:
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    if seconds < 0:
        msg = f"{what} must not be negative (got {seconds} s)"
        raise InvalidArgumentError(msg)
    return seconds


def validation_error(head: str, advice: str, exc: ValidationError) -> ConfigValidationError:
    errors = [
        (".".join(str(p) for p in err["loc"]) or "$", err["msg"]) for err in exc.errors()
    ]
    listed = "; ".join(f"{loc}: {msg}" for loc, msg in errors)
    return ConfigValidationError(f"{head}: {listed}; {advice}", errors=errors)


def version_number(value: object, what: str, *, zero: bool = False) -> int:
    low = 0 if zero else 1
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        msg = f"{what}= must be a version number (an int >= {low}), not {value!r}"
        raise InvalidArgumentError(msg)
    return value


def check_author(author: object) -> str:
    if not isinstance(author, str) or not author.strip() or len(author) > NAME_LENGTH:
        msg = (
            f"author= must be a non-empty string of at most {NAME_LENGTH} characters "
            "(who is making this change: a person or a job name)"
        )
        raise InvalidArgumentError(msg)
    return author


def check_message(message: object) -> str:
    if not isinstance(message, str):
        msg = f"message= must be a string, not {type(message).__name__}"
        raise InvalidArgumentError(msg)
    return message

"""Exact JSON encoding of column values kept in the migration archive.

JSON scalars (``None``, ``bool``, ``int``, finite ``float``, ``str``) are stored
as themselves; every other value is a two-item list ``[tag, payload]`` so it
comes back as the same Python object (``Decimal`` with its scale, timestamps
with their offset, bytes, UUIDs, JSON documents). On SQLite the archive reads
raw storage values, so only scalars and bytes occur there.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import math
import uuid
from decimal import Decimal
from typing import Any

from safe_release.exceptions import MigrationError

_SCALARS = (str, int, bool, type(None))


def _encode_other(value: Any) -> list[Any]:
    encoders: list[tuple[Any, str, Any]] = [
        (Decimal, "dec", str),
        (dt.datetime, "dt", dt.datetime.isoformat),
        (dt.date, "d", dt.date.isoformat),
        (dt.time, "t", dt.time.isoformat),
        (dt.timedelta, "td", lambda v: [v.days, v.seconds, v.microseconds]),
        (bytes, "b", lambda v: base64.b64encode(v).decode("ascii")),
        (memoryview, "b", lambda v: base64.b64encode(bytes(v)).decode("ascii")),
        (uuid.UUID, "uuid", str),
        (float, "f", repr),
        ((dict, list), "json", lambda v: v),
    ]
    for kind, tag, encode in encoders:
        if isinstance(value, kind):
            return [tag, encode(value)]
    msg = (
        f"cannot archive a value of type {type(value).__name__}: the archive keeps "
        "numbers, strings, bytes, dates/times, UUIDs and JSON documents; convert the "
        "column with a plain Alembic operation and write the downgrade by hand"
    )
    raise MigrationError(msg)


def encode_value(value: Any) -> Any:
    """One value as JSON-ready data that :func:`decode_value` turns back exactly."""
    if isinstance(value, _SCALARS) or (isinstance(value, float) and math.isfinite(value)):
        return value
    return _encode_other(value)


_DECODERS: dict[str, Any] = {
    "dec": Decimal,
    "dt": dt.datetime.fromisoformat,
    "d": dt.date.fromisoformat,
    "t": dt.time.fromisoformat,
    "td": lambda v: dt.timedelta(days=v[0], seconds=v[1], microseconds=v[2]),
    "b": base64.b64decode,
    "uuid": uuid.UUID,
    "f": float,
    "json": lambda v: v,
}


def decode_value(data: Any) -> Any:
    """The value :func:`encode_value` encoded."""
    if isinstance(data, list):
        tag, payload = data
        return _DECODERS[tag](payload)
    return data


def dumps_rows(rows: list[list[Any]]) -> str:
    """Rows of values as compact JSON text (a list of lists)."""
    try:
        return json.dumps([[encode_value(v) for v in row] for row in rows], separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        msg = (
            f"cannot archive a value ({exc}): JSON documents and arrays must hold JSON "
            "values; use plain Alembic operations and a hand-written downgrade here"
        )
        raise MigrationError(msg) from exc


def loads_rows(text: str) -> list[list[Any]]:
    """Rows written by :func:`dumps_rows`."""
    return [[decode_value(v) for v in row] for row in json.loads(text)]

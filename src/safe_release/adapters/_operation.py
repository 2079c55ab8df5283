"""Operation declarations: what an adapter can call, how fast, and what it changes."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import NamedTuple

from safe_release._effects import SideEffect
from safe_release.adapters._quota import Daily, check_daily
from safe_release.exceptions import InvalidArgumentError

__all__ = ["Daily", "Limit", "Operation"]

_PARAM = re.compile(r"{([A-Za-z_][A-Za-z0-9_]*)}")
_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})


class Limit(NamedTuple):
    """A token bucket: ``rate`` tokens per second, at most ``burst`` saved up."""

    rate: float
    burst: int

    @classmethod
    def checked(cls, rate: float, burst: int, *, what: str = "limit") -> Limit:
        """A validated limit; bad numbers raise `InvalidArgumentError`."""
        if (
            isinstance(rate, bool)
            or not isinstance(rate, (int, float))
            or not (math.isfinite(rate) and rate > 0)
        ):
            msg = f"{what}: rate must be a positive number of requests per second, not {rate!r}"
            raise InvalidArgumentError(msg)
        if isinstance(burst, bool) or not isinstance(burst, int) or burst < 1:
            msg = f"{what}: burst must be a whole number of requests >= 1, not {burst!r}"
            raise InvalidArgumentError(msg)
        return cls(float(rate), burst)


class Operation(NamedTuple):
    """One marketplace operation, declared once per adapter class."""

    name: str
    method: str
    path: str
    limit: Limit
    side_effect: SideEffect = SideEffect.IDEMPOTENT
    idempotent: bool = True
    max_body_bytes: int = 5 * 1024 * 1024
    daily: tuple[Daily, ...] = ()
    signing: str | None = None
    """The signing scheme the adapter's `sign` hook applies to every attempt (None: none)."""

    @classmethod
    def declare(
        cls,
        name: str,
        method: str,
        path: str,
        *,
        rate: float,
        burst: int,
        side_effect: SideEffect = SideEffect.IDEMPOTENT,
        idempotent: bool | None = None,
        max_body_bytes: int = 5 * 1024 * 1024,
        daily: Daily | Sequence[Daily] = (),
        signing: str | None = None,
    ) -> Operation:
        """Declare an operation; bad declarations raise `InvalidArgumentError`.

        ``idempotent`` says whether sending the same request twice has the effect
        of sending it once (default: only for GET). A non-idempotent write whose
        outcome is unknown (a timeout after sending) is reconciled, never resent.
        ``daily``: the daily budgets every call spends from (each attempt is a call).
        ``signing``: the name of a signing scheme the adapter's ``sign`` hook knows;
        every attempt is then signed afresh (a new timestamp) after it is authorized.
        """
        if method.upper() not in _METHODS:
            msg = f"operation {name!r}: method must be one of {sorted(_METHODS)}, not {method!r}"
            raise InvalidArgumentError(msg)
        if not path.startswith("/"):
            msg = f"operation {name!r}: path must start with '/', not {path!r}"
            raise InvalidArgumentError(msg)
        limit = Limit.checked(rate, burst, what=f"operation {name!r}")
        if signing is not None and (not isinstance(signing, str) or not signing):
            msg = f"operation {name!r}: signing= must be a scheme name or None, not {signing!r}"
            raise InvalidArgumentError(msg)
        if idempotent is None:
            idempotent = method.upper() == "GET"
        return cls(
            name,
            method.upper(),
            path,
            limit,
            SideEffect(side_effect),
            idempotent,
            max_body_bytes,
            _budgets(name, daily),
            signing,
        )

    @property
    def path_params(self) -> tuple[str, ...]:
        """The ``{placeholders}`` of the path template."""
        return tuple(_PARAM.findall(self.path))

    @property
    def is_write(self) -> bool:
        """Whether the call changes state at the marketplace."""
        return self.side_effect is not SideEffect.IDEMPOTENT or self.method != "GET"

    @property
    def resend_is_safe(self) -> bool:
        """Whether a request that may have been delivered can simply be sent again."""
        return self.idempotent


def _budgets(name: str, daily: object) -> tuple[Daily, ...]:
    """``daily=`` as a tuple of valid budgets, each resource once."""
    items = (daily,) if isinstance(daily, Daily) else daily
    if isinstance(items, (str, bytes)) or not isinstance(items, Sequence):
        msg = f"operation {name!r}: daily= must be a Daily or a sequence of them"
        raise InvalidArgumentError(msg)
    budgets = tuple(check_daily(d) for d in items)
    seen = [(d.resource, d.per) for d in budgets]
    if len(set(seen)) != len(seen):
        msg = f"operation {name!r}: daily= names a budget twice ({seen})"
        raise InvalidArgumentError(msg)
    return budgets

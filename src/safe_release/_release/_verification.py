"""Verification checks: the user's ``verify=`` callables and adapter health."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, Union

from safe_release._release._release_rows import describe_error
from safe_release._report import StepResult, Verification
from safe_release.exceptions import InvalidArgumentError

__all__ = ["Check", "CheckFn", "guarded_steps", "normalize_checks", "run_checks", "verdict"]

_log = logging.getLogger("safe_release.release")

CheckFn = Callable[[], "bool | None"]
Check = Union[CheckFn, tuple[str, CheckFn]]  # noqa: UP007 - a runtime alias on 3.10
"""A check: a callable named by its ``__name__``, or a ``(name, callable)`` pair."""


def normalize_checks(verify: Sequence[Check]) -> list[tuple[str, CheckFn]]:
    """``(name, callable)`` for each check; `InvalidArgumentError` for anything else."""
    checks: list[tuple[str, CheckFn]] = []
    for item in verify:
        if isinstance(item, tuple) and len(item) == 2 and callable(item[1]):  # noqa: PLR2004
            checks.append((str(item[0]), item[1]))
        elif callable(item):
            checks.append((str(getattr(item, "__name__", None) or repr(item)), item))
        else:
            msg = (
                f"verify= takes callables returning bool (or None) and (name, callable) "
                f"pairs, not {type(item).__name__}"
            )
            raise InvalidArgumentError(msg)
    return checks


def _run_one(name: str, check: CheckFn) -> StepResult:
    try:
        result = check()
    except Exception as exc:  # noqa: BLE001 - a failing check is a failed step, not a crash
        return StepResult(kind="check", name=name, ok=False, detail=describe_error(exc))
    ok = result is None or bool(result)
    return StepResult(kind="check", name=name, ok=ok, detail="" if ok else "returned False")


def _health(adapter: Any) -> StepResult:
    name = f"health {getattr(adapter, 'identity', None) or type(adapter).__name__}"
    try:
        result = adapter.health()
    except Exception as exc:  # noqa: BLE001 - an unhealthy adapter is a failed check
        return StepResult(kind="check", name=name, ok=False, detail=describe_error(exc))
    ok = bool(getattr(result, "ok", result))
    return StepResult(
        kind="check", name=name, ok=ok, detail=str(getattr(result, "detail", "") or "")
    )


def run_checks(checks: Sequence[tuple[str, CheckFn]], adapters: Sequence[Any]) -> list[StepResult]:
    """The user's checks, then a health check of every adapter that has ``health()``."""
    results = [_run_one(name, fn) for name, fn in checks]
    results += [_health(a) for a in adapters if callable(getattr(a, "health", None))]
    return results


def guarded_steps(what: str, produce: Callable[[], list[StepResult]]) -> list[StepResult]:
    """``produce()``, or one failed check naming the error if it raised."""
    try:
        return produce()
    except Exception as exc:  # noqa: BLE001 - verification must not mask the rollback
        _log.warning("verification of %s failed: %s", what, describe_error(exc))
        return [StepResult(kind="check", name=what, ok=False, detail=describe_error(exc))]


def verdict(checks: Sequence[StepResult]) -> Verification | None:
    """Verified when every check passed, unverified when one failed, ``None`` with none."""
    if not checks:
        return None
    return Verification.VERIFIED if all(c.ok for c in checks) else Verification.UNVERIFIED

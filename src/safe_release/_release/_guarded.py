"""``@guarded``: every call of a job function runs inside a release of its own."""

from __future__ import annotations

import functools
import inspect
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, cast, overload

from safe_release._release._release import OnFailure, Release

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine, Sequence
    from datetime import timedelta

    from safe_release._checkpoints import Checkpointable
    from safe_release._release._verification import Check
    from safe_release._report import RollbackReport
    from safe_release._store import StoreCore
    from safe_release._triggers import Trigger
    from safe_release.adapters import MarketplaceAdapter

__all__ = ["guarded"]

P = ParamSpec("P")
R = TypeVar("R")


class _Guard:
    """The decorator `guarded` returns; keeps the release options."""

    def __init__(self, name: str, options: dict[str, Any]) -> None:
        Release(name, **options)  # validate the options now, not at the first call
        self._name = name
        self._options = options

    @overload
    def __call__(
        self, fn: Callable[P, Coroutine[Any, Any, R]]
    ) -> Callable[P, Coroutine[Any, Any, R]]: ...
    @overload
    def __call__(self, fn: Callable[P, R]) -> Callable[P, R]: ...
    def __call__(self, fn: Callable[P, Any]) -> Callable[P, Any]:
        name, options = self._name, self._options
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def run_async(*args: P.args, **kwargs: P.kwargs) -> Any:
                async with Release(name, **options):
                    return await fn(*args, **kwargs)

            return run_async

        @functools.wraps(fn)
        def run(*args: P.args, **kwargs: P.kwargs) -> Any:
            with Release(name, **options):
                return fn(*args, **kwargs)

        return cast("Callable[P, Any]", run)


def guarded(
    name: str,
    *,
    store: StoreCore,
    checkpoint: Sequence[Checkpointable] = (),
    adapters: Sequence[MarketplaceAdapter] = (),
    trigger: Trigger | None = None,
    verify: Sequence[Check] = (),
    notify: Sequence[Callable[[RollbackReport], object]] = (),
    scope: str | None = None,
    on_failure: OnFailure = "rollback",
    wait: float | timedelta = 0.0,
    lease: float | timedelta = 30.0,
    sessions: Sequence[Any] = (),
) -> _Guard:
    """Decorate a sync or async job function: each call runs in a new `release`.

    Takes the options of `release`; the function keeps its name, docstring,
    signature and type hints. Inside, `current_release()` gives the release
    (for ``observe``).
    """
    return _Guard(
        name,
        {
            "store": store,
            "checkpoint": checkpoint,
            "adapters": adapters,
            "trigger": trigger,
            "verify": verify,
            "notify": notify,
            "scope": scope,
            "on_failure": on_failure,
            "wait": wait,
            "lease": lease,
            "sessions": sessions,
        },
    )

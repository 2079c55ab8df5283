"""``@guarded``: every call of a job function runs inside a release of its own.

The resources a release needs — ``store``, ``checkpoint``, ``adapters``,
``sessions`` — may be bound late: given as a function that returns them (called at
each call of the job, so a job module can be imported before the application has
opened its store), or overridden for a block of code with `override` (a test binds
its fixtures' store and fake adapters to the job it tests).
"""

from __future__ import annotations

import contextlib
import functools
import inspect
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, cast, overload

from safe_release._release._release import OnFailure, Release
from safe_release.exceptions import InvalidArgumentError

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine, Iterator, Mapping, Sequence
    from datetime import timedelta

    from safe_release._checkpoints import Checkpointable
    from safe_release._release._verification import Check
    from safe_release._report import RollbackReport
    from safe_release._store import StoreCore
    from safe_release._triggers import Trigger
    from safe_release.adapters import MarketplaceAdapter

__all__ = ["guarded", "override"]

P = ParamSpec("P")
R = TypeVar("R")

_LATE = ("store", "checkpoint", "adapters", "sessions")
_GUARD = "__safe_release_guard__"
# the options `override` binds, per decorated function, in this thread or task
_OVERRIDES: ContextVar[Mapping[Callable[..., Any], Mapping[str, Any]] | None] = ContextVar(
    "safe_release_guard_overrides", default=None
)


class _Guard:
    """The decorator `guarded` returns; keeps the release options."""

    def __init__(self, name: str, options: dict[str, Any]) -> None:
        if all(not callable(options[k]) for k in _LATE) and options["store"] is not None:
            Release(name, **options)  # validate the options now, not at the first call
        self._name = name
        self._options = options

    def options(self, job: Callable[..., Any]) -> dict[str, Any]:
        """The options of one call of ``job``: overrides applied, late ones resolved."""
        overrides = (_OVERRIDES.get() or {}).get(job, {})
        options = {**self._options, **overrides}
        for key in _LATE:  # an overridden one is used as it is, never called
            if key not in overrides and callable(options[key]):
                options[key] = options[key]()
        if options["store"] is None:
            msg = (
                f"the guarded job {self._name!r} has no store: pass store= to guarded() (a "
                "Store, or a function returning one) or bind one with "
                "sr.override(job, store=...)"
            )
            raise InvalidArgumentError(msg)
        return options

    @overload
    def __call__(
        self, fn: Callable[P, Coroutine[Any, Any, R]]
    ) -> Callable[P, Coroutine[Any, Any, R]]: ...
    @overload
    def __call__(self, fn: Callable[P, R]) -> Callable[P, R]: ...
    def __call__(self, fn: Callable[P, Any]) -> Callable[P, Any]:
        name = self._name
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def run_async(*args: P.args, **kwargs: P.kwargs) -> Any:
                async with Release(name, **self.options(run_async)):
                    return await fn(*args, **kwargs)

            setattr(run_async, _GUARD, self)
            return run_async

        @functools.wraps(fn)
        def run(*args: P.args, **kwargs: P.kwargs) -> Any:
            with Release(name, **self.options(run)):
                return fn(*args, **kwargs)

        setattr(run, _GUARD, self)
        return cast("Callable[P, Any]", run)


def guarded(
    name: str,
    *,
    store: StoreCore | Callable[[], StoreCore] | None = None,
    checkpoint: Sequence[Checkpointable] | Callable[[], Sequence[Checkpointable]] = (),
    adapters: Sequence[MarketplaceAdapter] | Callable[[], Sequence[MarketplaceAdapter]] = (),
    trigger: Trigger | None = None,
    verify: Sequence[Check] = (),
    notify: Sequence[Callable[[RollbackReport], object]] = (),
    scope: str | None = None,
    on_failure: OnFailure = "rollback",
    wait: float | timedelta = 0.0,
    lease: float | timedelta = 30.0,
    sessions: Sequence[Any] | Callable[[], Sequence[Any]] = (),
) -> _Guard:
    """Decorate a sync or async job function: each call runs in a new `release`.

    Takes the options of `release`; the function keeps its name, docstring,
    signature and type hints. Inside, `current_release()` gives the release
    (for ``observe``). ``store``, ``checkpoint``, ``adapters`` and ``sessions`` may
    be functions returning them, called at each call of the job; ``store`` may be
    left out and bound with `override` (a call without one raises
    `InvalidArgumentError`). With all of them given as values, the options are
    checked here; otherwise at each call.
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


@contextlib.contextmanager
def override(
    job: Callable[..., Any],
    *,
    store: StoreCore | None = None,
    checkpoint: Sequence[Checkpointable] | None = None,
    adapters: Sequence[MarketplaceAdapter] | None = None,
    sessions: Sequence[Any] | None = None,
) -> Iterator[None]:
    """Run ``job``'s releases with these resources inside the block (tests, mostly).

    ``job`` is a function decorated with `guarded`. The options given replace the
    decorator's for calls made in this thread or task while the block runs (other
    threads and tasks are not affected); those left None keep theirs.
    """
    if not isinstance(getattr(job, _GUARD, None), _Guard):
        msg = f"override() takes a function decorated with @sr.guarded, not {job!r}"
        raise InvalidArgumentError(msg)
    given = {"store": store, "checkpoint": checkpoint, "adapters": adapters, "sessions": sessions}
    current = _OVERRIDES.get() or {}
    mine = {**current.get(job, {}), **{k: v for k, v in given.items() if v is not None}}
    token = _OVERRIDES.set({**current, job: mine})
    try:
        yield
    finally:
        _OVERRIDES.reset(token)

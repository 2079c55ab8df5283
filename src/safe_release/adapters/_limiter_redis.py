"""`RedisLimiter`: token buckets and daily budgets in Redis, for fleets of workers.

Needs the extra ``redis``. The bucket and budget math is the same pure code as
every other backend (`_bucket`, `_quota`); Redis only stores the state. Each
operation reads the value and writes the new one with a compare-and-set Lua
script, retrying when another worker got there first, so updates are atomic
without copying the math into Lua.
"""

from __future__ import annotations

import importlib
import json
import math
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from safe_release.adapters._limiter import Bucket, BucketLimiterBase, Initial, Window
from safe_release.exceptions import InvalidArgumentError, StoreConfigurationError, StoreError

if TYPE_CHECKING:
    from collections.abc import Callable

    from safe_release.adapters._operation import Limit

__all__ = ["RedisLimiter"]

T = TypeVar("T")
_MAX_ATTEMPTS = 500
_DAILY = "daily:"  # bucket keys (marketplace|operation|…) never start with this
# KEYS[1]: bucket; ARGV: expected value ('' = absent), new value, TTL in milliseconds.
_CAS = """
local current = redis.call('GET', KEYS[1])
if current == false then current = '' end
if current ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
"""


def _redis() -> Any:
    try:
        return importlib.import_module("redis")
    except ImportError as exc:
        msg = "RedisLimiter needs the redis client: pip install 'safe-release[redis]'"
        raise StoreConfigurationError(msg) from exc


class RedisLimiter(BucketLimiterBase):
    """Token buckets and daily budgets in Redis, shared by every worker on the server.

    ``client`` is a ``redis.Redis`` or a ``redis://`` URL. Buckets are stored
    under ``prefix + key`` and expire after ``ttl`` without use (a bucket idle
    that long is full again anyway); a daily budget's window under ``prefix +
    "daily:" + key``, kept until ``ttl`` after its window ends. ``initial``
    applies to buckets never seen.
    """

    def __init__(
        self,
        client: Any,
        *,
        prefix: str = "safe_release:rate:",
        initial: Initial = "full",
        ttl: float | timedelta = 86_400.0,
    ) -> None:
        redis = _redis()
        super().__init__(initial=initial)
        if isinstance(client, str):
            try:
                client = redis.Redis.from_url(client)
            except ValueError as exc:
                msg = "the Redis URL could not be parsed; give one like 'redis://host:6379/0'"
                raise StoreConfigurationError(msg) from exc
        seconds = ttl.total_seconds() if isinstance(ttl, timedelta) else ttl
        if (
            isinstance(seconds, bool)
            or not isinstance(seconds, (int, float))
            or not (math.isfinite(seconds) and seconds >= 1)
        ):
            msg = f"ttl must be at least 1 second, not {ttl!r}"
            raise InvalidArgumentError(msg)
        self._client = client
        self._prefix = prefix
        self._ttl_ms = int(seconds * 1000)
        self._errors: tuple[type[BaseException], ...] = (redis.exceptions.RedisError,)
        self._cas = client.register_script(_CAS)

    def _transact(
        self, key: str, limit: Limit, now: float, step: Callable[[Bucket], tuple[Bucket, T]]
    ) -> T:
        def attempt(raw: str) -> tuple[list[Any] | None, T]:
            old = _decode(raw) if raw else None
            new, out = step(old or self._fresh(limit, now))
            return (None if new == old else [_encode(new), self._ttl_ms]), out

        return self._swap(self._prefix + key, f"the Redis bucket for {key!r}", attempt)

    def _transact_window(
        self,
        key: str,
        fresh: Window | None,
        now: float,
        step: Callable[[Window | None], tuple[Window | None, T]],
    ) -> T:
        def attempt(raw: str) -> tuple[list[Any] | None, T]:
            old = _decode_window(raw) if raw else None
            # an unreadable value counts as a window never seen
            new, out = step(old if raw else fresh)
            if new is None or new == old:
                return None, out
            ttl = self._ttl_ms + max(math.ceil((new.reset_at - now) * 1000), 0)
            return [_encode_window(new), ttl], out

        return self._swap(self._prefix + _DAILY + key, f"the Redis daily budget {key!r}", attempt)

    def _swap(
        self, name: str, what: str, attempt: Callable[[str], tuple[list[Any] | None, T]]
    ) -> T:
        """Read ``name``, and compare-and-set what ``attempt`` makes of it, until one sticks.

        ``attempt(raw)`` answers ``(None, out)`` when there is nothing to write, or
        ``([value, ttl_ms], out)``.
        """
        try:
            for _ in range(_MAX_ATTEMPTS):
                raw = _text(self._client.get(name))
                write, out = attempt(raw)
                if write is None or self._cas(keys=[name], args=[raw, *write]):
                    return out
        except self._errors as exc:
            raise _error(exc) from exc
        msg = (
            f"{what} changed {_MAX_ATTEMPTS} times while being updated; "
            "too many workers share it, retry"
        )
        raise StoreError(msg)

    def _load_window(self, key: str) -> Window | None:
        try:
            raw = _text(self._client.get(self._prefix + _DAILY + key))
        except self._errors as exc:
            raise _error(exc) from exc
        return _decode_window(raw) if raw else None

    def _load(self, key: str) -> Bucket | None:
        try:
            raw = _text(self._client.get(self._prefix + key))
        except self._errors as exc:
            raise _error(exc) from exc
        return _decode(raw) if raw else None

    def __repr__(self) -> str:
        return f"<RedisLimiter prefix={self._prefix!r} initial={self._initial!r}>"


def _text(raw: object) -> str:
    if raw is None:
        return ""
    return raw.decode() if isinstance(raw, bytes) else str(raw)


def _encode(b: Bucket) -> str:
    return json.dumps([b.tat, b.rate, b.ceiling, b.epoch, b.paused_until])


def _decode(raw: str) -> Bucket | None:
    """The stored bucket; an unreadable value counts as a bucket never seen."""
    try:
        tat, rate, ceiling, epoch, paused_until = json.loads(raw)
        return Bucket(
            tat=float(tat),
            rate=float(rate),
            ceiling=None if ceiling is None else float(ceiling),
            epoch=int(epoch),
            paused_until=float(paused_until),
        )
    except (ValueError, TypeError, OverflowError):
        return None


def _encode_window(w: Window) -> str:
    return json.dumps([w.used, w.reset_at, w.limit])


def _decode_window(raw: str) -> Window:
    """The stored window; an unreadable one has NaN numbers (it is then replaced)."""
    try:
        used, reset_at, limit = json.loads(raw)
        # a NaN (not an int) marks an unreadable number: the window is then replaced
        return Window(
            used=_count(used),  # type: ignore[arg-type]
            reset_at=float(reset_at),
            limit=None if limit is None else _count(limit),  # type: ignore[arg-type]
        )
    except (ValueError, TypeError, OverflowError):
        return Window(used=math.nan, reset_at=math.nan)  # type: ignore[arg-type]


def _count(value: object) -> int | float:
    """A stored count: an int if whole, else the float (repaired or refused later)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return math.nan
    return int(value) if math.isfinite(value) and value == int(value) else float(value)


def _error(exc: BaseException) -> StoreError:
    msg = (
        f"the Redis rate limiter failed ({type(exc).__name__}); check that Redis is "
        "reachable and the URL and credentials are right, then retry"
    )
    return StoreError(msg)

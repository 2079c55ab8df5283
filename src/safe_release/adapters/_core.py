"""The sans-IO core of every marketplace call, shared by the sync and async surfaces.

A call is a generator that *yields actions* (sleep, authorize, send, reconcile)
and receives their results; `_base.MarketplaceAdapter` runs it with blocking
I/O, ``MarketplaceAdapter.acall`` with ``await``. Pacing, daily budgets, retries,
the retry budget, the circuit breaker, token refresh and ambiguous-write
handling are written once, here.
"""

from __future__ import annotations

import itertools
import logging
import math
import threading
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import quote

import httpx

from safe_release._backoff import RetryBudget, RetryPolicy, retry_delay, unround_retry_after
from safe_release.adapters._quota import Daily, Spend, next_reset
from safe_release.adapters._replenish import RefillRates
from safe_release.exceptions import (
    AmbiguousWriteError,
    CircuitOpenError,
    InvalidArgumentError,
    MarketplaceError,
    MarketplaceTimeoutError,
    MarketplaceTransportError,
    QuotaExhaustedError,
    RateLimitedError,
)

if TYPE_CHECKING:
    from safe_release._clock import Clock
    from safe_release.adapters._breaker import CircuitBreaker
    from safe_release.adapters._limiter import LimiterBackend
    from safe_release.adapters._operation import Operation

__all__ = [
    "RECONCILED_HEADER",
    "Authorize",
    "Caller",
    "Reconcile",
    "Send",
    "Sent",
    "Sign",
    "Sleep",
    "Verdict",
    "advance",
    "clean_params",
    "fill_path",
    "short_text",
]

log = logging.getLogger("safe_release.adapters")
RECONCILED_HEADER = "x-safe-release-reconciled"
_MAX_ERROR_TEXT = 300
PACE_SLACK = 1.0
"""A call that waited for its slot goes late by the slowest answer seen (or the age of
the oldest request still in flight), at most this share of the operation's interval...

...so that requests after a burst reach the server behind its own refill, which
started when the burst's first (often slowest: new connections) request arrived,
not when it was sent. It shifts the schedule once; it does not slow the rate."""
PACE_SLACK_MAX = 0.25
"""...and at most this many seconds."""
QUEUE_POLL = 0.05
"""Calls queued behind an open breaker (``ride_out``) look again this often."""
OUTAGE_PAUSE = 300.0
"""How long the breaker stays open after an outage answer, unless the adapter says."""
OUTAGE_PAUSE_MAX = 86_400.0
"""The longest pause an outage answer can impose (a garbage figure is capped here)."""


@dataclass(frozen=True)
class Sleep:
    """Wait ``seconds`` (on the adapter's clock)."""

    seconds: float


@dataclass(frozen=True)
class Authorize:
    """Put credentials on ``request``; ``stale`` is the token a 403 said expired."""

    request: httpx.Request
    stale: object | None = None


@dataclass(frozen=True)
class Sign:
    """Sign ``request`` in place with ``scheme`` (after `Authorize`, on every attempt).

    ``token`` is what authorizing returned (the access token, or None).
    """

    request: httpx.Request
    scheme: str
    token: object = None


@dataclass(frozen=True)
class Send:
    """Send ``request``; the result is a `Sent`.

    ``deadline`` is when the whole call must be over (the adapter clock's
    ``monotonic``, per `RetryPolicy.deadline`): one attempt never runs past it.
    """

    request: httpx.Request
    deadline: float | None = None


@dataclass(frozen=True)
class Reconcile:
    """Ask the marketplace whether an ambiguous write happened."""

    operation: Operation
    request: httpx.Request


@dataclass(frozen=True)
class Sent:
    """What sending produced: a response, or the transport error instead."""

    response: httpx.Response | None
    error: httpx.TransportError | None = None

    @property
    def maybe_delivered(self) -> bool:
        """Whether a failed send may still have reached the marketplace."""
        return self.error is not None and not isinstance(
            self.error, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
        )


Action = Sleep | Authorize | Sign | Send | Reconcile
Plan = Generator[Action, Any, httpx.Response]
Taken = list[tuple[str, Daily, Spend]]
"""The daily budgets one attempt spent from: (key, budget, what was granted)."""


class Verdict(Enum):
    """How the adapter reads a response."""

    OK = "ok"
    THROTTLED = "throttled"
    AUTH_EXPIRED = "auth_expired"
    SERVER = "server"
    FAILED = "failed"
    EXHAUSTED = "exhausted"
    """A daily budget is spent (eBay: 429 errorId 2001): no retry until it resets."""
    SKEWED = "skewed"
    """The server says the request's timestamp is off: correct the clock, resend once."""
    OUTAGE = "outage"
    """The service is shut down for a while (Lazada 998): the breaker opens at once."""


@dataclass
class Caller:
    """Everything one adapter's calls share: quotas, retries, breaker, hooks."""

    marketplace: str
    clock: Clock
    limiter: LimiterBackend
    policy: RetryPolicy
    budget: RetryBudget
    breaker: CircuitBreaker
    classify: Callable[[httpx.Response], Verdict]
    rate_hint: Callable[[httpx.Response], float | None]
    replenish_hint: Callable[[httpx.Response], tuple[float, float] | None]
    retry_after: Callable[[httpx.Response], float | None]
    error_for: Callable[[Operation, httpx.Response], MarketplaceError]
    overrides: Mapping[str, object] = field(default_factory=dict)
    daily_key: Callable[[Operation, Daily], str] | None = None
    daily_reset: Callable[[Daily, float], float] = next_reset
    correct_skew: Callable[[httpx.Response], bool] = field(default=lambda _: False)
    outage_pause: Callable[[httpx.Response], float] = field(default=lambda _: OUTAGE_PAUSE)
    _slowest: float = field(default=0.0, init=False, repr=False)
    _in_flight: dict[int, float] = field(default_factory=dict, init=False, repr=False)
    _tickets: itertools.count[int] = field(default_factory=itertools.count, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _refills: RefillRates = field(default_factory=RefillRates, init=False, repr=False)

    def plan(self, op: Operation, request: httpx.Request, key: str) -> Plan:
        """The whole call: pace, authorize, send, classify, retry or raise."""
        deadline = self.clock.monotonic() + self.policy.deadline
        attempt, refreshed, skewed, stale = 0, False, False, None
        last: Sent | None = None
        while True:
            attempt += 1
            tried = yield from self._attempt(op, request, key, (last, stale), deadline)
            if tried is None:
                attempt -= 1  # the circuit opened while we waited for our slot: queue
                continue
            sent, token, taken = tried
            verdict = self._verdict(op, key, sent)
            if not _counted(verdict, sent):
                self._give_back(taken)
            if verdict is Verdict.OK and sent.response is not None:
                return sent.response
            if verdict is Verdict.AUTH_EXPIRED and not refreshed:
                refreshed, stale, attempt = True, token, attempt - 1
                continue
            again = self._uncounted(op, verdict, sent, skewed=skewed)
            if again is not None:
                skewed, attempt, last = again, attempt - 1, sent
                continue
            delay = self._after_failure(op, sent, verdict, attempt, deadline)
            if delay is None:
                reconciled = yield from self._reconcile(op, request, sent)
                if reconciled is not None:
                    return reconciled
                delay = self._retry_after_not_applied(op, sent, attempt, deadline)
            last = sent
            if delay:
                yield Sleep(delay)

    def _attempt(
        self,
        op: Operation,
        request: httpx.Request,
        key: str,
        before: tuple[Sent | None, object | None],
        deadline: float,
    ) -> Generator[Action, Any, tuple[Sent, object, Taken] | None]:
        """Admit, pace, authorize, spend and send once, or None.

        Returns what was sent, the token, and the daily budgets spent. None:
        riding out, the circuit opened while this call waited for its slot, so
        nothing was sent. A daily budget that cannot pay for the call raises
        `QuotaExhaustedError` before anything is sent.
        """
        last, stale = before
        probe = yield from self._admit(op, last, deadline)
        yield from self._pace(op, key, deadline)
        if not probe and self.breaker.rides_out and self.breaker.blocked():
            return None
        token = yield Authorize(request, stale)
        if op.signing is not None:
            yield Sign(request, op.signing, token)
        taken = self._spend(op)
        self.budget.record_request()
        ticket = self._sending()
        try:
            sent: Sent = yield Send(request, deadline)
        finally:
            self._answered(ticket)
        return sent, token, taken

    def _sending(self) -> int:
        with self._lock:
            ticket = next(self._tickets)
            self._in_flight[ticket] = self.clock.monotonic()
            return ticket

    def _answered(self, ticket: int) -> None:
        with self._lock:
            took = self.clock.monotonic() - self._in_flight.pop(ticket)
            self._slowest = max(self._slowest, took)

    def _slack(self, op: Operation) -> float:
        """How late a call that waited for its slot goes (see `PACE_SLACK`)."""
        with self._lock:
            now = self.clock.monotonic()
            oldest = min(self._in_flight.values(), default=now)
            latency = max(self._slowest, now - oldest)
        return min(latency, PACE_SLACK / op.limit.rate, PACE_SLACK_MAX)

    def _verdict(self, op: Operation, key: str, sent: Sent) -> Verdict:
        """How the attempt went (a transport error counts as a server failure)."""
        if sent.response is None:
            self.breaker.record_failure()
            return Verdict.SERVER
        return self._judge(op, key, sent.response)

    def _after_failure(
        self, op: Operation, sent: Sent, verdict: Verdict, attempt: int, deadline: float
    ) -> float | None:
        """Seconds before the next attempt; None: reconcile an ambiguous write."""
        if sent.response is None:
            return self._after_transport_error(op, sent, attempt, deadline)
        return self._after_error(op, sent.response, verdict, attempt, deadline)

    def _held(self, op: Operation, sent: Sent) -> bool:
        """Riding out an outage: a failed call that may be resent waits for the probe.

        It is not retried on its own (no backoff, no budget, no attempt counted):
        it queues behind the open circuit until a probe finds the marketplace back,
        within the call's deadline. A write that may have happened is reconciled.
        """
        if not (self.breaker.rides_out and self.breaker.blocked()):
            return False
        return op.resend_is_safe or not sent.maybe_delivered

    def _admit(
        self, op: Operation, last: Sent | None, deadline: float
    ) -> Generator[Action, Any, bool]:
        """Ask the breaker (True: this call is its probe).

        An open breaker raises (on a retry: the last real error), or, riding out,
        holds the call until it closes or the call's deadline is near.
        """
        while True:
            try:
                return self.breaker.before_call(marketplace=self.marketplace, operation=op.name)
            except CircuitOpenError as exc:
                wait = min(max(exc.retry_at - self.clock.monotonic(), 0.0), QUEUE_POLL)
                if not self.breaker.rides_out or self.clock.monotonic() + wait > deadline:
                    self._raise_open(op, last, exc)
            yield Sleep(max(wait, QUEUE_POLL / 10))

    def _uncounted(
        self, op: Operation, verdict: Verdict, sent: Sent, *, skewed: bool
    ) -> bool | None:
        """Whether to resend without counting an attempt (then: whether a skew was corrected).

        None: the attempt counts, go on as usual. SKEWED is resent once, after
        `correct_skew` set the adapter's clock offset; a second one (or an
        offset it cannot tell) raises the marketplace's error. OUTAGE opens the
        breaker (see `_outage`); riding out, the resend waits behind it. A
        server failure while riding out an open circuit waits for its probe.
        """
        if verdict is Verdict.SERVER:
            return skewed if self._held(op, sent) else None
        if verdict not in (Verdict.SKEWED, Verdict.OUTAGE):
            return None
        response = sent.response
        assert response is not None  # noqa: S101 - a transport error is SERVER
        if verdict is Verdict.SKEWED:
            if skewed or not self.correct_skew(response):
                raise self.error_for(op, response)
            return True
        self._outage(op, response)
        return skewed

    def _outage(self, op: Operation, response: httpx.Response) -> None:
        """The service says it is shut down: open the breaker at once for its pause.

        Failing fast, raise `CircuitOpenError` chained to the marketplace's error;
        riding out, return (the call then waits behind the open circuit, within
        its deadline, and raises the marketplace's error if that runs out).
        """
        pause = self.outage_pause(response)
        if (
            isinstance(pause, bool)
            or not isinstance(pause, (int, float))
            or not (math.isfinite(pause) and pause > 0)
        ):
            pause = OUTAGE_PAUSE
        pause = min(float(pause), OUTAGE_PAUSE_MAX)
        retry_at = self.breaker.trip(pause)
        if self.breaker.rides_out:
            return
        error = self.error_for(op, response)
        msg = (
            f"{self.marketplace} {op.name}: the marketplace says the service is shut down "
            f"for now; the circuit breaker is open for {pause:,.0f} s and no request is "
            "sent until then. Check the marketplace's announcements, then retry"
        )
        raise CircuitOpenError(
            msg, marketplace=self.marketplace, operation=op.name, retry_at=retry_at
        ) from error

    def _raise_open(self, op: Operation, last: Sent | None, exc: CircuitOpenError) -> NoReturn:
        """What an open breaker raises: itself, or the last real error of a retried call."""
        if last is None:
            raise exc
        if last.response is not None:
            raise self.error_for(op, last.response) from exc
        msg = (
            f"{self.marketplace} {op.name} could not be delivered "
            f"({type(last.error).__name__}) and the circuit breaker then opened; check "
            "the marketplace's status before retrying"
        )
        raise MarketplaceTransportError(
            msg, marketplace=self.marketplace, operation=op.name
        ) from last.error

    # -- pacing ------------------------------------------------------------------

    def _pace(self, op: Operation, key: str, deadline: float) -> Generator[Action, Any, None]:
        """Wait for the next slot of the quota, a little late (`PACE_SLACK`)."""
        while True:
            reservation = self.limiter.reserve(key, op.limit, self.clock.time())
            if reservation.delay <= 0:
                return
            if self.clock.monotonic() + reservation.delay > deadline:
                self.limiter.refund(key, op.limit, reservation, self.clock.time())
                msg = (
                    f"{self.marketplace} {op.name}: the quota ({op.limit.rate:g}/s, burst "
                    f"{op.limit.burst}) cannot serve this call within its "
                    f"{self.policy.deadline:g} s deadline; send fewer calls or raise "
                    "RetryPolicy(deadline=…)"
                )
                raise RateLimitedError(
                    msg,
                    marketplace=self.marketplace,
                    operation=op.name,
                    retry_after=reservation.delay,
                )
            yield Sleep(reservation.delay)
            slack = self._slack(op)  # measured now: the burst's answers may be in by now
            if slack > 0:
                yield Sleep(slack)
            if self.limiter.epoch(key) == reservation.epoch:
                return
            # the bucket was paused by a 429 while we waited: queue again behind it

    # -- daily budgets -----------------------------------------------------------

    def _daily(self, op: Operation, daily: Daily) -> str:
        if self.daily_key is None:
            return f"{self.marketplace}|daily|{daily.resource}"
        return self.daily_key(op, daily)

    def _spend(self, op: Operation) -> Taken:
        """One call from each of ``op``'s daily budgets: all of them, or none and raise."""
        taken: Taken = []
        for daily in op.daily:
            key, now = self._daily(op, daily), self.clock.time()
            spend = self.limiter.spend(key, daily, self.daily_reset(daily, now), now)
            if not spend.granted:
                self._give_back(taken)
                raise self._quota_error(op, key, spend.limit, spend.reset_at, None)
            taken.append((key, daily, spend))
        return taken

    def _give_back(self, taken: Taken) -> None:
        now = self.clock.time()
        for key, daily, spend in taken:
            self.limiter.give_back(key, daily, 1, now, reset_at=spend.reset_at)

    def _exhausted(self, op: Operation, response: httpx.Response) -> QuotaExhaustedError:
        """The marketplace says a budget is spent: mark ``op``'s budgets so, build the error.

        The answer does not say which of several budgets is spent: each is marked.
        """
        now = self.clock.time()
        found: tuple[str, int, float] | None = None
        for daily in op.daily or (Daily(1, op.name),):
            key, reset_at = self._daily(op, daily), self.daily_reset(daily, now)
            if op.daily:
                self.limiter.exhausted(key, daily, reset_at, now)
                state = self.limiter.budget(key, daily, reset_at, now)
                limit, reset_at = state.limit, state.reset_at
            else:
                limit = 0
            if found is None:
                found = (key, limit, reset_at)
        assert found is not None  # noqa: S101 - at least one budget above
        return self._quota_error(op, *found, response)

    def _quota_error(
        self,
        op: Operation,
        key: str,
        limit: int,
        reset_at: float,
        response: httpx.Response | None,
    ) -> QuotaExhaustedError:
        wait = max(reset_at - self.clock.time(), 0.0)
        when = datetime.fromtimestamp(reset_at, tz=timezone.utc)
        shown = when.isoformat(timespec="seconds").replace("+00:00", "Z")
        size = f" of {limit:,} calls" if limit else ""
        if response is None:
            why, status = "this call would overrun it, so nothing was sent", 429
        else:
            why = f"the marketplace says so (HTTP {response.status_code}); not retried"
            status = response.status_code
        msg = (
            f"{self.marketplace} {op.name}: the daily budget {key}{size} is spent ({why}); "
            f"it resets at {shown} (in {wait:,.0f} s): send the rest after that, or ask "
            "the marketplace for a higher limit"
        )
        return QuotaExhaustedError(
            msg,
            marketplace=self.marketplace,
            operation=op.name,
            status=status,
            retry_after=wait,
            quota=key,
            reset_at=when,
        )

    # -- responses ---------------------------------------------------------------

    def _judge(self, op: Operation, key: str, response: httpx.Response) -> Verdict:
        verdict = self.classify(response)
        hint = self.rate_hint(response)
        now = self.clock.time()
        if hint is not None and op.name in self.overrides:
            hint = min(hint, op.limit.rate)  # the account's own lower limit is a cap
        if hint is not None:
            self.limiter.hint(key, op.limit, hint, now)
        replenish = self.replenish_hint(response)
        if replenish is not None:
            # a refill rate learned from the headers first: the replenish time then
            # still holds back every slot before the server's next token
            learned = self._refills.observe(key, replenish[0], replenish[1], op.limit.rate)
            if learned is not None:
                self.limiter.hint(key, op.limit, learned, now)
            self.limiter.replenish(key, op.limit, replenish[0], replenish[1], now)
        if verdict is Verdict.SERVER:
            self.breaker.record_failure()
        elif verdict is Verdict.OUTAGE:
            pass  # the caller opens the breaker for the outage's pause
        else:  # any non-5xx answer shows the service is up (a 429 or 404 included)
            self.breaker.record_success()
        if verdict is Verdict.OK:
            self.limiter.reward(key, op.limit, now)
        elif verdict is Verdict.THROTTLED:
            # an integer Retry-After is rounded up: "1" may mean 25 ms
            wait = unround_retry_after(
                response.headers.get("retry-after"),
                self.retry_after(response),
                gap=1.0 / op.limit.rate,
            )
            self.limiter.penalize(key, op.limit, now, retry_after=wait)
        log.debug(
            "%s %s -> %s (%s)", self.marketplace, op.name, response.status_code, verdict.value
        )
        return verdict

    def _after_error(
        self,
        op: Operation,
        response: httpx.Response,
        verdict: Verdict,
        attempt: int,
        deadline: float,
    ) -> float | None:
        """Seconds to wait before retrying (0: at once); None: reconcile an ambiguous write.

        Raises the marketplace's error when the call cannot succeed by retrying.
        """
        if verdict is Verdict.EXHAUSTED:
            raise self._exhausted(op, response)
        if verdict is Verdict.THROTTLED:
            # a 429 means "not executed": safe to resend, after the paused bucket
            if self._may_retry(attempt, 0.0, deadline, budgeted=False):
                return 0.0
            raise self.error_for(op, response)
        if verdict is not Verdict.SERVER:
            raise self.error_for(op, response)
        if not op.resend_is_safe:
            return None
        hint = self.retry_after(response)
        delay = retry_delay(attempt, base=self.policy.base, cap=self.policy.cap, hint=hint)
        if self._may_retry(attempt, delay, deadline, budgeted=True):
            return delay
        raise self.error_for(op, response)

    def _after_transport_error(
        self, op: Operation, sent: Sent, attempt: int, deadline: float
    ) -> float | None:
        """Seconds to wait before resending, or None when the write is ambiguous."""
        if not op.resend_is_safe and sent.maybe_delivered:
            return None
        delay = retry_delay(attempt, base=self.policy.base, cap=self.policy.cap, hint=None)
        if self._may_retry(attempt, delay, deadline, budgeted=True):
            return delay
        if isinstance(sent.error, httpx.TimeoutException):
            msg = (
                f"{self.marketplace} {op.name} did not complete within its deadline after "
                f"{attempt} attempt(s) ({type(sent.error).__name__}); the marketplace is slow "
                "or degraded: check its status, then retry"
            )
            raise MarketplaceTimeoutError(
                msg, marketplace=self.marketplace, operation=op.name
            ) from sent.error
        msg = (
            f"{self.marketplace} {op.name} could not be delivered after {attempt} "
            f"attempt(s): {type(sent.error).__name__}; check the network and the "
            "marketplace's status, then retry"
        )
        raise MarketplaceTransportError(
            msg, marketplace=self.marketplace, operation=op.name
        ) from sent.error

    def _may_retry(self, attempt: int, delay: float, deadline: float, *, budgeted: bool) -> bool:
        if attempt >= self.policy.max_attempts:
            return False
        if self.clock.monotonic() + delay > deadline:
            return False
        return not budgeted or self.budget.try_spend()

    # -- ambiguous writes ----------------------------------------------------------

    def _reconcile(
        self, op: Operation, request: httpx.Request, sent: Sent
    ) -> Generator[Action, Any, httpx.Response | None]:
        """The write's outcome per the marketplace: a response, None (not applied), or raise."""
        outcome = yield Reconcile(op, request)
        if isinstance(outcome, httpx.Response):
            return outcome
        if outcome is True:  # it happened; the marketplace gave no body to return
            return httpx.Response(200, request=request, headers={RECONCILED_HEADER: "1"})
        if outcome is False:
            return None
        msg = (
            f"{self.marketplace} {op.name} may or may not have happened ({_what(sent)} after "
            "the request was sent) and the marketplace could not confirm either way; it was "
            "NOT retried (that could apply it twice): check the marketplace before sending "
            "it again"
        )
        raise AmbiguousWriteError(msg, marketplace=self.marketplace, operation=op.name)

    def _retry_after_not_applied(
        self, op: Operation, sent: Sent, attempt: int, deadline: float
    ) -> float:
        """Reconciling showed the write did not happen: resend if retries allow."""
        delay = retry_delay(attempt, base=self.policy.base, cap=self.policy.cap, hint=None)
        if self._may_retry(attempt, delay, deadline, budgeted=True):
            return delay
        msg = (
            f"{self.marketplace} {op.name} failed ({_what(sent)}); the marketplace confirms "
            "it did not happen and the retries are used up: send it again later"
        )
        raise MarketplaceTransportError(msg, marketplace=self.marketplace, operation=op.name)


def _counted(verdict: Verdict, sent: Sent) -> bool:
    """Whether the marketplace counts the attempt against a daily budget."""
    if verdict in (Verdict.AUTH_EXPIRED, Verdict.SKEWED, Verdict.OUTAGE):
        return False  # refused before doing anything
    return sent.response is not None or sent.maybe_delivered


def _what(sent: Sent) -> str:
    if sent.error is not None:
        return type(sent.error).__name__
    return f"HTTP {sent.response.status_code}" if sent.response is not None else "no answer"


# -- driving a plan and building requests (shared by the sync and async surfaces) --


def advance(plan: Plan, result: Any) -> tuple[Action | None, httpx.Response | None]:
    """Feed ``result`` to the core: its next action, or (None, the final response)."""
    try:
        return plan.send(result), None
    except StopIteration as stop:
        return None, stop.value


def fill_path(marketplace: str, op: Operation, values: Mapping[str, str]) -> str:
    wanted, given = set(op.path_params), set(values)
    if wanted != given:
        msg = (
            f"{marketplace} {op.name} needs path parameters {sorted(wanted)}, got {sorted(given)}"
        )
        raise InvalidArgumentError(msg)
    path = op.path
    for name, value in values.items():
        if not isinstance(value, str) or not value:
            msg = f"{marketplace} {op.name}: path parameter {name} must be a non-empty string"
            raise InvalidArgumentError(msg)
        path = path.replace("{" + name + "}", quote(value, safe=""))
    return path


def clean_params(params: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not params:
        return None
    out: dict[str, Any] = {}
    for key, value in params.items():
        if value is None:
            continue
        out[key] = ",".join(map(str, value)) if isinstance(value, (list, tuple)) else value
    return out


def short_text(response: httpx.Response) -> str:
    try:
        text = response.text
    except (UnicodeDecodeError, httpx.ResponseNotRead):
        return "(unreadable body)"
    text = " ".join(text.split())
    return text[:_MAX_ERROR_TEXT] + ("…" if len(text) > _MAX_ERROR_TEXT else "")

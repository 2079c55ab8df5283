"""``MarketplaceAdapter``: the base every marketplace adapter builds on."""

from __future__ import annotations

import asyncio
import json as _json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, ClassVar

import httpx

from safe_release._backoff import RetryBudget, RetryPolicy, parse_retry_after
from safe_release._clock import Clock, SystemClock
from safe_release.adapters._batch import (
    BatchItem,
    BatchTicket,
    ItemResult,
    check_items,
    check_results,
)
from safe_release.adapters._breaker import CircuitBreaker
from safe_release.adapters._core import (
    OUTAGE_PAUSE,
    Authorize,
    Caller,
    Reconcile,
    Send,
    Sent,
    Sign,
    Sleep,
    Verdict,
    advance,
    clean_params,
    fill_path,
    short_text,
)
from safe_release.adapters._deadline import asend_within, send_within
from safe_release.adapters._journaling import WriteJournal, active_journal
from safe_release.adapters._limiter import LimiterBackend, MemoryLimiter
from safe_release.adapters._operation import Limit, Operation
from safe_release.adapters._quota import Daily, next_reset
from safe_release.adapters._redaction import redact_http_logs
from safe_release.exceptions import (
    InvalidArgumentError,
    MarketplaceError,
    MarketplaceHTTPError,
    MarketplaceResponseError,
    PayloadTooLargeError,
    RateLimitedError,
    UnknownOperationError,
)

if TYPE_CHECKING:
    from types import TracebackType

    from typing_extensions import Self

    from safe_release._effects import Inverse

__all__ = ["MarketplaceAdapter", "response_json"]


class MarketplaceAdapter:
    """Paced, retried, breaker-guarded calls to one marketplace account.

    Subclasses declare ``marketplace`` and ``operations`` and override the hooks
    (`authorize`, `classify`, `rate_hint`, `error_for`, `reconcile`). Every call
    goes through one sans-IO core shared by `call` and `acall`: a token bucket
    per quota key (operation x seller x app x region), full-jitter retries under
    a retry budget, a circuit breaker, one token refresh on an expired-token
    answer, and reconciliation instead of blind retries for ambiguous writes.
    """

    marketplace: ClassVar[str] = "marketplace"
    operations: ClassVar[Mapping[str, Operation]] = {}

    def __init__(
        self,
        *,
        base_url: str,
        seller: str,
        app: str,
        region: str = "default",
        transport: httpx.BaseTransport | None = None,
        async_transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock | None = None,
        limiter: LimiterBackend | None = None,
        retry: RetryPolicy | None = None,
        breaker: CircuitBreaker | None = None,
        limits: Mapping[str, Limit] | None = None,
        timeout: float = 30.0,
    ) -> None:
        for what, value in (("seller", seller), ("app", app), ("region", region)):
            if not isinstance(value, str) or not value or "|" in value:
                msg = f"{what}= must be a non-empty string without '|', not {value!r}"
                raise InvalidArgumentError(msg)
        self.seller, self.app, self.region = seller, app, region
        redact_http_logs()  # tokens and signatures can travel in the query (Shopee, Lazada)
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.time_offset = 0.0
        """Seconds to add to ``clock.time()`` for the server's clock (see `correct_skew`)."""
        self.timeout = _check_timeout(timeout)
        self._limits = self._check_limits({} if limits is None else limits)
        policy = retry if retry is not None else RetryPolicy()
        self._caller = Caller(
            marketplace=self.marketplace,
            clock=self.clock,
            limiter=limiter if limiter is not None else MemoryLimiter(),
            policy=policy,
            budget=RetryBudget(policy, self.clock),
            breaker=breaker if breaker is not None else CircuitBreaker(clock=self.clock),
            classify=self.classify,
            rate_hint=self.rate_hint,
            replenish_hint=self.replenish_hint,
            retry_after=self.retry_after,
            error_for=self.error_for,
            overrides=self._limits,
            daily_key=self.daily_key,
            daily_reset=self.daily_reset,
            correct_skew=self.correct_skew,
            outage_pause=self.outage_pause,
        )
        self._client = httpx.Client(base_url=base_url, transport=transport, timeout=timeout)
        if async_transport is None and isinstance(transport, httpx.AsyncBaseTransport):
            async_transport = transport
        self._async_args: dict[str, Any] = {
            "base_url": base_url,
            "transport": async_transport,
            "timeout": timeout,
        }
        # built now, not inside the first acall: its set-up must not delay a burst
        self._aclient: httpx.AsyncClient | None = httpx.AsyncClient(**self._async_args)
        self._journal: WriteJournal | None = None

    def _check_limits(self, limits: object) -> dict[str, Limit]:
        if not isinstance(limits, Mapping):
            msg = "limits= must map operation names to Limit(rate, burst) pairs"
            raise InvalidArgumentError(msg)
        out = {}
        for name, limit in limits.items():
            self.operation(name)
            if not isinstance(limit, tuple) or len(limit) != 2:  # noqa: PLR2004 - a pair
                msg = f"limits[{name!r}] must be a Limit(rate, burst) pair, not {limit!r}"
                raise InvalidArgumentError(msg)
            out[name] = Limit.checked(limit[0], limit[1], what=f"limits[{name!r}]")
        return out

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} {self.marketplace} seller={self.seller!r} "
            f"region={self.region!r} breaker={self._caller.breaker.state}>"
        )

    # -- declarations ------------------------------------------------------------

    def operation(self, name: str) -> Operation:
        """The declared operation ``name``, or `UnknownOperationError`."""
        try:
            return self.operations[name]
        except (KeyError, TypeError):
            known = ", ".join(sorted(self.operations)) or "none"
            msg = (
                f"{self.marketplace} adapter has no operation {name!r}; declared "
                f"operations: {known}"
            )
            raise UnknownOperationError(
                msg, marketplace=self.marketplace, operation=str(name)
            ) from None

    def limit(self, op: Operation) -> Limit:
        """The limit this account paces ``op`` at (an override, else the documented one)."""
        return self._limits.get(op.name, op.limit)

    def quota_key(self, op: Operation) -> str:
        """The token bucket ``op`` draws from: operation x seller x app x region."""
        return f"{self.marketplace}|{op.name}|{self.seller}|{self.app}|{self.region}"

    def daily_key(self, op: Operation, daily: Daily) -> str:
        """The key of ``daily``'s budget: one per resource x app x region (x seller).

        ``marketplace|daily|resource|app|region``, with ``|seller`` when
        ``daily.per`` is ``"user"``. ``op`` is there for overrides.
        """
        del op
        key = f"{self.marketplace}|daily|{daily.resource}|{self.app}|{self.region}"
        return f"{key}|{self.seller}" if daily.per == "user" else key

    def daily_reset(self, daily: Daily, now: float) -> float:
        """When the window current at ``now`` (wall-clock seconds) ends.

        Default: the next whole ``daily.window`` since the epoch; for a day, the
        next midnight UTC. Override for a marketplace whose day ends elsewhere.
        """
        return next_reset(daily, now)

    @property
    def limiter(self) -> LimiterBackend:
        """The limiter backend pacing this adapter's calls."""
        return self._caller.limiter

    @property
    def breaker(self) -> CircuitBreaker:
        """The circuit breaker guarding this adapter's calls."""
        return self._caller.breaker

    # -- calling -------------------------------------------------------------------

    def build_request(
        self,
        op: Operation,
        *,
        path_params: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
    ) -> httpx.Request:
        """The HTTP request for ``op``; bad arguments raise before anything is sent."""
        path = fill_path(self.marketplace, op, path_params or {})
        content, headers = None, {"accept": "application/json"}
        if json is not None:
            try:
                content = _json.dumps(json, separators=(",", ":"), allow_nan=False).encode()
            except (TypeError, ValueError) as exc:
                msg = (
                    f"{self.marketplace} {op.name}: the request body is not JSON ({exc}); "
                    "convert Decimals, dates and sets to strings or numbers first; nothing "
                    "was sent"
                )
                raise InvalidArgumentError(msg) from exc
            if len(content) > op.max_body_bytes:
                msg = (
                    f"{self.marketplace} {op.name}: the request body is {len(content):,} "
                    f"bytes, over the operation's limit of {op.max_body_bytes:,}; split it"
                )
                raise PayloadTooLargeError(msg, marketplace=self.marketplace, operation=op.name)
            headers["content-type"] = "application/json"
        return self._client.build_request(
            op.method, path, params=clean_params(params), content=content, headers=headers
        )

    def _prepare(
        self,
        operation: str,
        path_params: Mapping[str, str] | None,
        params: Mapping[str, Any] | None,
        json: Any,
    ) -> tuple[Operation, httpx.Request]:
        op = self.operation(operation)
        request = self.build_request(op, path_params=path_params, params=params, json=json)
        if op.name in self._limits:
            op = op._replace(limit=self._limits[op.name])
        return op, request

    def call(
        self,
        operation: str,
        *,
        path_params: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        idempotency_key: str | None = None,
        inverse: Inverse | None = None,
    ) -> httpx.Response:
        """Call ``operation`` and return its successful response (or raise).

        Inside a release (a bound journal, or `active_journal`) a write is journaled
        before it is sent and after, with ``inverse`` (the call that undoes it) and
        ``idempotency_key`` (default: a hash of the request); a write already in
        place under the same key is not sent again: its recorded answer comes back.
        """
        op, request = self._prepare(operation, path_params, params, json)
        journal = self.journal
        if journal is None:
            return self._drive(op, request, [0.0])
        ticket = journal.begin(
            self,
            op,
            request,
            path_params=path_params or {},
            idempotency_key=idempotency_key,
            inverse=inverse,
        )
        return journal.run(ticket, lambda timing: self._drive(op, request, timing))

    async def acall(
        self,
        operation: str,
        *,
        path_params: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        idempotency_key: str | None = None,
        inverse: Inverse | None = None,
    ) -> httpx.Response:
        """`call`, for asyncio code: the same core and journal, awaited."""
        op, request = self._prepare(operation, path_params, params, json)
        journal = self.journal
        if journal is None:
            return await self._adrive(op, request, [0.0])
        ticket = journal.begin(
            self,
            op,
            request,
            path_params=path_params or {},
            idempotency_key=idempotency_key,
            inverse=inverse,
        )
        return await journal.arun(ticket, lambda timing: self._adrive(op, request, timing))

    def call_items(
        self,
        operation: str,
        items: Sequence[BatchItem],
        *,
        body: Callable[[Sequence[BatchItem]], Any],
        results: Callable[[httpx.Response, Sequence[BatchItem]], Sequence[ItemResult]],
        path_params: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> list[ItemResult]:
        """Send a batch of independent changes in one call; one `ItemResult` per item.

        ``body(items)`` builds the request body for the items to send;
        ``results(response, items)`` reads the answer into one result per item, in
        order (it may make read calls, such as polling a feed). Inside a release
        each item is its own ledger entry with its own inverse: a rollback undoes
        only the items that applied, and items already in place from an earlier run
        of the release are not sent again. A failed item is never resent by
        resending the batch: the request is retried only as any call is (a 429; a
        5xx on an idempotent operation). An answer that does not say which items
        applied raises `MarketplaceResponseError`, and leaves them ambiguous.
        """
        run = self._items(operation, items, body, path_params, params)
        if run.sent:
            timing = [0.0]
            try:
                response = self._drive(run.op, run.request, timing)
                run.check(results(response, run.sent))
            except BaseException as exc:
                run.fail(exc, timing[0])
                raise
            run.record(timing[0])
        return run.merged()

    async def acall_items(
        self,
        operation: str,
        items: Sequence[BatchItem],
        *,
        body: Callable[[Sequence[BatchItem]], Any],
        results: Callable[[httpx.Response, Sequence[BatchItem]], Sequence[ItemResult]],
        path_params: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> list[ItemResult]:
        """`call_items` for asyncio code (``results`` runs in a worker thread)."""
        run = self._items(operation, items, body, path_params, params)
        if run.sent:
            timing = [0.0]
            try:
                response = await self._adrive(run.op, run.request, timing)
                run.check(await asyncio.to_thread(results, response, run.sent))
            except BaseException as exc:
                run.fail(exc, timing[0])
                raise
            run.record(timing[0])
        return run.merged()

    def _items(
        self,
        operation: str,
        items: Sequence[BatchItem],
        body: Callable[[Sequence[BatchItem]], Any],
        path_params: Mapping[str, str] | None,
        params: Mapping[str, Any] | None,
    ) -> _ItemsRun:
        """The checked batch, journaled if a release runs, with the request for what to send."""
        todo = check_items(self.marketplace, operation, items)
        op, request = self._prepare(operation, path_params, params, body(todo))
        run = _ItemsRun(self.marketplace, todo, op, request, self.journal)
        if run.journal is not None:
            run.ticket = run.journal.begin_items(
                self, op, request, todo, path_params=path_params or {}
            )
            if run.sent and len(run.sent) < len(todo):
                run.op, run.request = self._prepare(operation, path_params, params, body(run.sent))
        return run

    def _drive(self, op: Operation, request: httpx.Request, timing: list[float]) -> httpx.Response:
        plan = self._caller.plan(op, request, self.quota_key(op))
        action, response = advance(plan, None)
        while action is not None:
            action, response = advance(plan, self._do(action, timing))
        assert response is not None  # noqa: S101 - a finished plan returns its response
        return response

    async def _adrive(
        self, op: Operation, request: httpx.Request, timing: list[float]
    ) -> httpx.Response:
        plan = self._caller.plan(op, request, self.quota_key(op))
        action, response = advance(plan, None)
        while action is not None:
            action, response = advance(plan, await self._ado(action, timing))
        assert response is not None  # noqa: S101 - a finished plan returns its response
        return response

    def _do(self, action: Sleep | Authorize | Sign | Send | Reconcile, timing: list[float]) -> Any:
        if isinstance(action, Sleep):
            self.clock.sleep(action.seconds)
            return None
        if isinstance(action, Sign):
            self.sign(action.request, action.scheme, action.token)
            return None
        if isinstance(action, Authorize):
            return self.authorize(action.request, stale=action.stale)
        if isinstance(action, Send):
            started = self.clock.monotonic()
            try:
                return Sent(
                    send_within(
                        self._client, action.request, self.attempt_seconds(action.deadline)
                    )
                )
            except httpx.TransportError as exc:
                return Sent(None, exc)
            finally:
                timing[0] += self.clock.monotonic() - started
        return self.reconcile(action.operation, action.request)

    async def _ado(
        self, action: Sleep | Authorize | Sign | Send | Reconcile, timing: list[float]
    ) -> Any:
        if isinstance(action, Sleep):
            await self._asleep(action.seconds)
            return None
        if isinstance(action, Sign):
            self.sign(action.request, action.scheme, action.token)
            return None
        if isinstance(action, Authorize):
            return await self.aauthorize(action.request, stale=action.stale)
        if isinstance(action, Send):
            started = self.clock.monotonic()
            try:
                return Sent(
                    await asend_within(
                        self._async_client(), action.request, self.attempt_seconds(action.deadline)
                    )
                )
            except httpx.TransportError as exc:
                return Sent(None, exc)
            finally:
                timing[0] += self.clock.monotonic() - started
        return await self.areconcile(action.operation, action.request)

    def attempt_seconds(self, deadline: float | None = None) -> float:
        """How long one attempt may take: ``timeout=``, never past the call's ``deadline``.

        ``deadline`` is on the adapter clock's ``monotonic``; without one, the
        attempt is also capped by `RetryPolicy.deadline` (a token refresh).
        """
        if deadline is None:
            return min(self.timeout, self._caller.policy.deadline)
        return min(self.timeout, deadline - self.clock.monotonic())

    # -- the side-effect ledger ------------------------------------------------------

    @property
    def identity(self) -> str:
        """``marketplace|seller|app|region``: matches ledger rows to this account."""
        return f"{self.marketplace}|{self.seller}|{self.app}|{self.region}"

    @property
    def journal(self) -> WriteJournal | None:
        """The journal this adapter's writes go to: the bound one, else the active one."""
        return self._journal if self._journal is not None else active_journal()

    def bind_journal(self, journal: WriteJournal | None) -> None:
        """Journal this adapter's writes in ``journal`` (None: follow `active_journal`)."""
        self._journal = journal

    def ledger_target(self, op: Operation, request: httpx.Request) -> str:
        """What a write changes, for the ledger (default: method and path).

        Writes to one target supersede each other: a rollback inverts only the
        earliest. Override when one path holds several independent values.
        """
        return f"{op.method} {request.url.path}"

    def inverse_request(self, inverse: Inverse) -> tuple[Operation, httpx.Request]:
        """The operation and request of ``inverse`` (unauthorized, not sent)."""
        return self._prepare(inverse.operation, inverse.path_params, inverse.params, inverse.body)

    def compensating_call(self, inverse: Inverse) -> httpx.Response:
        """Send ``inverse`` through this adapter's pacing and retries, unjournaled.

        For the ledger's compensation, which journals it itself.
        """
        op, request = self.inverse_request(inverse)
        return self._drive(op, request, [0.0])

    async def _asleep(self, seconds: float) -> None:
        if isinstance(self.clock, SystemClock):
            await asyncio.sleep(seconds)
            return
        # A fake clock: let every runnable task take its turn first, then move time only
        # to this task's wake-up (others may have moved it already), never past it.
        target = self.clock.monotonic() + seconds
        await asyncio.sleep(0)
        remaining = target - self.clock.monotonic()
        if remaining > 0:
            self.clock.sleep(remaining)

    def _async_client(self) -> httpx.AsyncClient:
        if self._aclient is None:
            self._aclient = httpx.AsyncClient(**self._async_args)
        return self._aclient

    # -- hooks for subclasses ------------------------------------------------------

    def authorize(self, request: httpx.Request, *, stale: object | None = None) -> object:
        """Put credentials on ``request``; return the token used (None: no auth).

        ``stale`` is the token an expired-token answer came back for: refresh it.
        """
        del request, stale
        return None

    async def aauthorize(self, request: httpx.Request, *, stale: object | None = None) -> object:
        """`authorize` for the async surface (default: the sync one)."""
        return self.authorize(request, stale=stale)

    def sign(self, request: httpx.Request, scheme: str, token: object) -> None:
        """Sign ``request`` in place for an operation declared with ``signing=scheme``.

        Called after `authorize` on every attempt (each gets a fresh timestamp:
        use ``self.clock.time() + self.time_offset``); ``token`` is what
        `authorize` returned. Default: nothing.
        """
        del request, scheme, token

    def correct_skew(self, response: httpx.Response) -> bool:
        """A `Verdict.SKEWED` answer: set `time_offset` from it; False if it cannot tell.

        Default: the offset of the answer's ``Date`` header from ``clock.time()``.
        The call is then resent once, with the corrected timestamp.
        """
        when = response.headers.get("date")
        if not when:
            return False
        try:
            server = parsedate_to_datetime(when)
        except (TypeError, ValueError, IndexError):
            return False
        if server.tzinfo is None:
            return False
        self.time_offset = server.timestamp() - self.clock.time()
        return True

    def outage_pause(self, response: httpx.Response) -> float:
        """Seconds the breaker stays open after a `Verdict.OUTAGE` answer (default 300)."""
        del response
        return OUTAGE_PAUSE

    def classify(self, response: httpx.Response) -> Verdict:
        """How to read a response: ok, throttled, expired auth, server error, failed."""
        status = response.status_code
        if status < 300:  # noqa: PLR2004 - HTTP classes
            return Verdict.OK
        if status == 429:  # noqa: PLR2004
            return Verdict.THROTTLED
        if status >= 500:  # noqa: PLR2004
            return Verdict.SERVER
        return Verdict.FAILED

    def rate_hint(self, response: httpx.Response) -> float | None:
        """The operation's real rate per the server, if the response says (default: no)."""
        del response
        return None

    def replenish_hint(self, response: httpx.Response) -> tuple[float, float] | None:
        """``(tokens left, next refill as epoch seconds)`` if the server reports them.

        Reads Walmart's ``x-current-token-count`` with ``x-next-replenish-time`` (or
        ``x-next-replenishment-time``), in epoch milliseconds; garbage is ignored.
        """
        count = response.headers.get("x-current-token-count")
        when = response.headers.get("x-next-replenish-time") or response.headers.get(
            "x-next-replenishment-time"
        )
        if count is None or when is None:
            return None
        try:
            tokens, next_at = float(count), float(when) / 1000.0
        except ValueError:
            return None
        if not (math.isfinite(tokens) and math.isfinite(next_at)) or tokens < 0:
            return None
        return tokens, next_at

    def retry_after(self, response: httpx.Response) -> float | None:
        """Seconds the server asks us to wait (``Retry-After``), garbage ignored."""
        return parse_retry_after(response.headers.get("retry-after"), self.clock.time())

    def error_for(self, op: Operation, response: httpx.Response) -> MarketplaceError:
        """The typed error for a failed response (override to read platform bodies)."""
        status = response.status_code
        text = short_text(response)
        msg = f"{self.marketplace} {op.name} failed with HTTP {status}: {text}"
        if status == 429:  # noqa: PLR2004
            return RateLimitedError(
                msg,
                marketplace=self.marketplace,
                operation=op.name,
                retry_after=self.retry_after(response),
            )
        return MarketplaceHTTPError(
            msg, marketplace=self.marketplace, operation=op.name, status=status
        )

    def reconcile(self, op: Operation, request: httpx.Request) -> httpx.Response | bool | None:
        """Did an ambiguous write happen?

        Return the marketplace's record of it as a response, or ``True`` (the call
        then returns an empty 200 marked ``x-safe-release-reconciled: 1``): it
        happened. ``False``: it did not (the core resends it if retries allow).
        ``None``: unknown (the call raises `AmbiguousWriteError`).
        """
        del op, request
        return None

    async def areconcile(
        self, op: Operation, request: httpx.Request
    ) -> httpx.Response | bool | None:
        """`reconcile` for the async surface (default: the sync one in a thread)."""
        return await asyncio.to_thread(self.reconcile, op, request)

    # -- lifecycle -----------------------------------------------------------------

    def close(self) -> None:
        """Close the HTTP client (the async one needs `aclose`)."""
        self._client.close()

    async def aclose(self) -> None:
        """Close both HTTP clients."""
        self._client.close()
        if self._aclient is not None:
            await self._aclient.aclose()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


def _check_timeout(timeout: object) -> float:
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, (int, float))
        or not (math.isfinite(timeout) and timeout > 0)
    ):
        msg = (
            f"timeout= must be a positive number of seconds for one attempt, not {timeout!r}; "
            "the whole call is bounded by RetryPolicy(deadline=…)"
        )
        raise InvalidArgumentError(msg)
    return float(timeout)


def response_json(adapter: str, op: Operation, response: httpx.Response) -> Any:
    """The response's JSON body, or `MarketplaceResponseError` if it is not JSON.

    JSON nested deeper than Python can parse counts as not JSON.
    """
    cause: BaseException | None = None
    try:
        return response.json()
    except RecursionError:  # the parser gave up: nothing more to chain
        what = "nested too deeply to parse"
    except (ValueError, UnicodeDecodeError) as exc:
        what, cause = "not JSON", exc
    kind = response.headers.get("content-type", "no content type")
    msg = (
        f"{adapter} {op.name} answered HTTP {response.status_code} with a body that is "
        f"{what} ({kind}); the marketplace may be degraded, retry later"
    )
    raise MarketplaceResponseError(msg, marketplace=adapter, operation=op.name) from cause


@dataclass
class _ItemsRun:
    """One batch call in progress: the items, the request, and the journal's ticket."""

    marketplace: str
    todo: list[BatchItem]
    op: Operation
    request: httpx.Request
    journal: WriteJournal | None
    ticket: BatchTicket = field(default_factory=BatchTicket)
    got: list[ItemResult] = field(default_factory=list)

    @property
    def pending(self) -> list[int]:
        """The positions of the items to send (every one but those already in place)."""
        return [i for i in range(len(self.todo)) if i not in self.ticket.replayed]

    @property
    def sent(self) -> list[BatchItem]:
        """The items to send."""
        return [self.todo[i] for i in self.pending]

    def check(self, results: object) -> None:
        """Keep ``results`` as the items' results, checked against the items sent."""
        self.got = check_results(self.marketplace, self.op.name, self.sent, results)

    def record(self, latency: float) -> None:
        """Journal the results of the items sent (nothing outside a release)."""
        if self.journal is not None:
            self.journal.finish_items(self.ticket, self.got, latency=latency)

    def fail(self, error: BaseException, latency: float) -> None:
        """Journal the items sent as failed with ``error`` (nothing outside a release)."""
        if self.journal is not None:
            self.journal.finish_items(self.ticket, None, error=error, latency=latency)

    def merged(self) -> list[ItemResult]:
        """Results in the batch's order: replayed ones where they were, sent ones between."""
        by_index = dict(self.ticket.replayed)
        by_index.update(zip(self.pending, self.got, strict=True))
        return [by_index[i] for i in range(len(self.todo))]

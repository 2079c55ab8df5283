"""Benchmark pacing against a real rate-limited HTTP server: safe_release and its peers.

Usage::

    python benchmarks/bench_throttle.py [--pg-url URL] [--quick] [--write-docs]

A loopback HTTP server (``ThreadingHTTPServer``, in its own process so that the
clients' GIL does not bend its clock) keeps a token-bucket quota of 40 requests/s
with a burst of 10. A request that finds the bucket empty gets 429 with
``Retry-After`` (seconds, to the millisecond); every request's arrival time,
status and call id are logged. Side by side, on the same server and quota:

- ``naive``: resend at once until 200;
- ``tenacity-exp``: tenacity, exponential backoff without jitter;
- ``tenacity-jitter``: tenacity full jitter (``wait_random_exponential``);
- ``botocore-adaptive``: botocore's adaptive retry mode, built from its own
  classes (``ClientRateLimiter``, ``RateClocker``, ``TokenBucket``,
  ``CubicCalculator``, the standard ``RetryHandler`` and retry quota) around httpx;
- ``sp-api-throttle_retry``: python-amazon-sp-api's ``throttle_retry`` policy
  (10 tries, 5 s x 1.3^n, no jitter, headers ignored), reimplemented from its
  description, with the delays scaled down (see ``SPAPI_SCALE``);
- ``safe_release``: a `MarketplaceAdapter` with the operation declared at 40/s,
  burst 10, on the real clock.

Scenarios 5-8 also use ``ideal-bucket``: a client bucket pacing at exactly the
quota, applying a new rate to every slot not yet sent and waiting the server's
exact wait after a 429 (a header only it reads): what perfect information buys.

Scenarios (safe_release must meet the targets; peers are reported only):

1. 16 threads, 600 calls: <= 1.03x ideal, <= 0.5 % of calls answered 429,
   <= 1.01 requests per call;
2. 4 processes x 4 threads on one quota, safe_release with `StoreLimiter` (SQLite
   file, and PostgreSQL when available): <= 1.05x ideal, <= 1 % 429;
3. restart after a rollback: 16 fresh workers start while the server's bucket is
   drained by the previous run (killed at that moment), and the store-backed
   limiter remembers it: <= 1 % 429, no second burst (peak 1 s window from 1 s before
   the restart on <= rate + burst / 2: a second burst would add up to ``burst``);
4. the async surface, 200 concurrent tasks, scenario 1's quota: scenario 1's targets
   (peer: naive; ``--all-async-peers`` adds tenacity and the sp-api policy);
5. an outage: 16 threads, 600 calls, the server answers 503 to everything from
   3 s to 8 s (peers: tenacity full jitter retrying 429 and 5xx, botocore
   adaptive; safe_release failing fast and riding out): riding out, every call
   succeeds, <= 20 requests reach the server while it is down, and the full pace
   (a 1 s window with >= 90 % of the rate in 200s) is back within 2 s;
6. a fresh bucket against integer ``Retry-After`` (16 threads, 600 calls, and 10
   short fresh runs counted for a 429 in their first second): no start-up 429,
   within 0.01 of the ideal bucket's ratio;
7. the rate header drops 40/s -> 10/s after 3 s (300 calls, integer
   ``Retry-After``): within 0.02 of the ideal bucket's ratio;
8. Walmart's throttle dialect, 16 threads, 600 calls: the server's bucket
   refills one token every 1/rate s and puts ``x-current-token-count`` (whole
   tokens left after this request) and ``x-next-replenish-time`` (epoch ms of
   the next token) on every answer; a 429 carries Walmart's
   ``REQUEST_THRESHOLD_VIOLATED.GMP_GATEWAY_API`` body and no ``Retry-After``.
   safe_release reads the headers through `MarketplaceAdapter.replenish_hint`
   (the base's default); no peer can. Scenario 1's targets. The quota is
   scenario 1's (40/s, burst 10), not Walmart's per-minute ones (60/min would
   make one run last ten minutes); the model and the headers are Walmart's.

Ideal completion time is ``(calls - burst) / rate`` (``calls / rate`` in scenario 3,
whose bucket starts empty). Every run is bounded by a wall-clock budget (a peer
over it is reported as ``timeout``). PostgreSQL comes from ``--pg-url``, else
``$SAFE_RELEASE_BENCH_PG_URL``, else ``$SAFE_RELEASE_TEST_PG_URL``, else a
throw-away server (``safe_release.testing.TemporaryPostgres``); without any, it
is skipped. The exit code is 1 when a target fails.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import itertools
import json
import math
import multiprocessing as mp
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple
from urllib.parse import parse_qs, urlsplit

import httpx
import sqlalchemy as sa
import tenacity
from _common import DOCS, postgres_url, write_docs
from _common import parser as common_parser

import safe_release as sr
from safe_release.adapters import CircuitBreaker, MarketplaceAdapter, Operation, StoreLimiter
from safe_release.exceptions import MarketplaceError

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Iterable, Iterator, Mapping
    from multiprocessing.connection import Connection
    from multiprocessing.process import BaseProcess
    from multiprocessing.queues import Queue
    from multiprocessing.synchronize import Event as MpEvent


RATE, BURST = 40.0, 10
TIMEOUT = 30.0  # HTTP timeout of every client
ATTEMPTS = 10  # tries per call for the peers that give up (tenacity, botocore, sp-api)
BACKOFF_BASE, BACKOFF_CAP = 0.25, 30.0  # tenacity's multiplier and max (safe_release's defaults)
SPAPI_DELAY, SPAPI_RATE, SPAPI_SCALE = 5.0, 1.3, 0.1
PEER_BUDGET = 1.3  # a peer's wall-clock budget, in multiples of the ideal time
OURS_BUDGET = 2.0  # safe_release's (only a broken build would need it)
BUDGET_FLOOR = 1.0  # seconds added to every budget
PEAK_SLACK = BURST // 2  # scenario 3: peak 1 s window <= rate + this (a 2nd burst adds BURST)
ASYNC_PEERS = ("naive",)  # scenario 4's peers unless --all-async-peers (keeps the run short)
OURS = "safe_release"
OK_BODY = b'{"payload":{"ok":true}}'
UNAVAILABLE_BODY = b'{"errors":[{"code":"ServiceUnavailable","message":"Down."}]}'
RATE_HEADER = "x-amzn-RateLimit-Limit"
EXACT_WAIT = "x-bench-exact-wait"
THROTTLED_BODY = (
    b'{"errors":[{"code":"QuotaExceeded","message":"You exceeded your quota for the '
    b'requested resource.","details":""}]}'
)
COUNT_HEADER = "x-current-token-count"  # Walmart: whole tokens left after this request
REPLENISH_HEADER = "x-next-replenish-time"  # Walmart: the next token, epoch milliseconds
WALMART_THROTTLED_BODY = (
    b'{"errors":{"error":[{"code":"REQUEST_THRESHOLD_VIOLATED.GMP_GATEWAY_API",'
    b'"field":"REQUEST_THRESHOLD_VIOLATED","description":"Request threshold violated",'
    b'"info":"Too many requests for this API and seller; wait for the next token.",'
    b'"severity":"ERROR","category":"REQUEST","errorIdentifiers":{"entry":[]}}]}}'
)


@dataclass(frozen=True)
class Sizes:
    """How much work each scenario does."""

    calls1: int  # scenario 1 (and 4)
    calls2: int  # scenario 2
    calls3: int  # scenario 3, after the restart
    drain3: float  # scenario 3: seconds the previous run runs before it is killed (>= 2 s,
    # so that its own first burst is out of the 1 s windows counted for the peak)
    threads: int = 16
    procs: int = 4
    tasks: int = 200
    calls5: int = 600  # scenario 5 (outage)
    calls6: int = 600  # scenario 6 (start-up, integer Retry-After)
    runs6: int = 10  # scenario 6: short fresh-bucket runs counted for a start-up 429
    calls7: int = 300  # scenario 7 (rate drop)
    calls8: int = 600  # scenario 8 (Walmart's headers)


FULL = Sizes(600, 280, 120, 2.0)
QUICK = Sizes(120, 120, 80, 2.0, calls5=400, calls6=200, runs6=4, calls7=200, calls8=120)
OUTAGE_AT, OUTAGE_FOR = 3.0, 5.0  # scenario 5: seconds after the start, and how long
OUTAGE_REQUESTS = 20  # scenario 5 targets, riding out: requests while down ...
OUTAGE_PACE = 2.0  # ... and seconds from the recovery to the full pace
FULL_PACE = 0.9  # "full pace": 1 s holding at least this share of the quota's rate in 200s
STARTUP_CALLS = 40  # scenario 6: calls of each short run (one burst and 30 paced calls)
DROP_AT, DROP_TO = 3.0, 10.0  # scenario 7: when the server's rate drops, and to what


# -- the rate-limited server (its own process) ----------------------------------------------


class ServerBucket:
    """The server's quota: a token bucket refilled continuously, 429 when below one token.

    Its whole-token count rises by one every 1/rate s until the bucket is full:
    Walmart's gradual refill (scenario 8 reports that count and the next rise).
    ``drop`` (server clock, new rate) lowers the rate at that moment (scenario 7).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.rate, self.burst, self.tokens, self.at = RATE, BURST, float(BURST), time.monotonic()
        self.drop: tuple[float, float] | None = None

    def reset(
        self, rate: float, burst: int, tokens: float, drop: tuple[float, float] | None = None
    ) -> float:
        """Set the limit, the level (``tokens``) and a later drop; returns the server's clock."""
        with self._lock:
            self.rate, self.burst, self.tokens = rate, burst, tokens
            self.at = time.monotonic()
            self.drop = None if drop is None else (self.at + drop[0], drop[1])
            return self.at

    def take(self) -> Take:
        """Take a token if there is one; what the request found (see `Take`)."""
        with self._lock:
            now = time.monotonic()
            if self.drop is not None and now >= self.drop[0]:
                self._refill(self.drop[0])
                self.rate, self.drop = self.drop[1], None
            self._refill(now)
            if self.tokens >= 1.0:
                self.tokens -= 1.0
                return Take(now, 0.0, self.rate, self.tokens)
            return Take(now, (1.0 - self.tokens) / self.rate, self.rate, self.tokens)

    def _refill(self, now: float) -> None:
        self.tokens = min(float(self.burst), self.tokens + (now - self.at) * self.rate)
        self.at = now


class Take(NamedTuple):
    """What one request found in the server's bucket."""

    arrival: float  # server clock (monotonic s)
    wait: float  # 0.0 when admitted, else seconds until a whole token
    rate: float
    tokens: float  # left after this request (fractional; below 1.0 on a 429)

    def next_token(self) -> float:
        """Seconds from the arrival until the whole-token count next rises."""
        return (math.floor(self.tokens) + 1.0 - self.tokens) / self.rate

    def walmart_headers(self) -> dict[str, str]:
        """``x-current-token-count`` and ``x-next-replenish-time`` (epoch ms, rounded up)."""
        epoch = time.time() - (time.monotonic() - self.arrival) + self.next_token()
        return {
            COUNT_HEADER: str(max(0, math.floor(self.tokens))),
            REPLENISH_HEADER: str(math.ceil(epoch * 1000.0)),
        }


class QuotaServer(ThreadingHTTPServer):
    """A thread per connection (keep-alive), a deep accept queue, one bucket, one log."""

    daemon_threads = True
    request_queue_size = 1024

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), QuotaHandler)
        self.bucket = ServerBucket()
        self.log: list[tuple[float, int, str]] = []
        self.mode = Mode()
        self.outage = (math.inf, math.inf)  # server clock: 503 to everything in [start, end)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients killed mid-connection (scenario 3's rollback) are expected: stay quiet."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@dataclass(frozen=True)
class Mode:
    """How the server answers in one run (set by ``/_reset``)."""

    integer_retry_after: bool = False  # Retry-After rounded up to whole seconds
    rate_header: bool = False  # x-amzn-RateLimit-Limit on every 200
    walmart: bool = False  # Walmart's token headers on every answer, its 429 (scenario 8)

    @classmethod
    def parse(cls, query: Mapping[str, str]) -> Mode:
        """From ``/_reset``'s query."""
        return cls(
            query.get("retry") == "int", query.get("hint") == "1", query.get("walmart") == "1"
        )


class QuotaHandler(BaseHTTPRequestHandler):
    """``GET /item?call=ID`` is rate-limited; ``/_reset`` and ``/_log`` control the run."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: QuotaServer

    def do_GET(self) -> None:
        """Route one request."""
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path == "/item":
            self._item(query.get("call", "?"))
        elif url.path == "/_reset":
            tokens = float(query.get("tokens", BURST))
            self.server.log = []
            self.server.mode = Mode.parse(query)
            drop = None
            if "drop_after" in query:
                drop = (float(query["drop_after"]), float(query["drop_to"]))
            now = self.server.bucket.reset(RATE, BURST, tokens, drop)
            if "outage_after" in query:
                start = now + float(query["outage_after"])
                self.server.outage = (start, start + float(query["outage_for"]))
            else:
                self.server.outage = (math.inf, math.inf)
            self._send(200, json.dumps({"now": now}).encode(), {})
        elif url.path == "/_log":
            self._send(200, json.dumps(self.server.log).encode(), {})
        else:
            self._send(404, b'{"errors":[{"code":"NotFound"}]}', {})

    def _item(self, call: str) -> None:
        start, end = self.server.outage
        if start <= time.monotonic() < end:  # down: the quota is not even looked at
            self.server.log.append((time.monotonic(), 503, call))
            self._send(503, UNAVAILABLE_BODY, {})
            return
        took = self.server.bucket.take()
        arrival, wait, rate = took.arrival, took.wait, took.rate
        status = 200 if wait == 0.0 else 429
        self.server.log.append((arrival, status, call))
        mode = self.server.mode
        if mode.walmart:  # Walmart: the headers on every answer, no Retry-After on a 429
            headers = took.walmart_headers()
            if status == 200:
                self._send(200, OK_BODY, headers)
            else:  # the exact wait is for the ideal bucket only, as below
                self._send(429, WALMART_THROTTLED_BODY, {**headers, EXACT_WAIT: f"{wait:.6f}"})
            return
        if status == 200:
            self._send(200, OK_BODY, {RATE_HEADER: f"{rate:g}"} if mode.rate_header else {})
            return
        if mode.integer_retry_after:
            retry_after = str(max(1, math.ceil(wait)))
        else:
            retry_after = f"{math.ceil(wait * 1000) / 1000:.3f}"
        # the exact wait, for the ideal bucket only (it stands for perfect information)
        self._send(429, THROTTLED_BODY, {"Retry-After": retry_after, EXACT_WAIT: f"{wait:.6f}"})

    def _send(self, status: int, body: bytes, headers: Mapping[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        """Quiet: the run's log is the data."""
        del args


def serve(conn: Connection) -> None:
    """Process entry: start the server, send its port back, serve until terminated."""
    server = QuotaServer()
    conn.send(server.server_address[1])
    conn.close()
    server.serve_forever(poll_interval=0.05)


class Server:
    """The server process, seen from the benchmark."""

    def __init__(self, ctx: mp.context.SpawnContext) -> None:
        ours, theirs = ctx.Pipe()
        self._process = ctx.Process(target=serve, args=(theirs,), daemon=True)
        self._process.start()
        port = ours.recv()
        self.base_url = f"http://127.0.0.1:{port}"
        self._control = httpx.Client(base_url=self.base_url, timeout=60.0)

    def reset(self, tokens: float = BURST, **mode: str | float) -> float:
        """Refill (or drain) the bucket to ``tokens``, set the run's ``mode``, clear the log.

        ``mode``: ``retry="int"``, ``hint=1``, ``drop_after=s, drop_to=rate``,
        ``outage_after=s, outage_for=s``, ``walmart=1``. Returns the server's clock at the reset.
        """
        response = self._control.get("/_reset", params={"tokens": tokens, **mode})
        response.raise_for_status()
        return float(response.json()["now"])

    def log(self) -> list[tuple[float, int, str]]:
        """Every request since the last reset: (arrival monotonic s, status, call id)."""
        response = self._control.get("/_log")
        response.raise_for_status()
        return [(float(t), int(s), str(c)) for t, s, c in response.json()]

    def close(self) -> None:
        """Stop the server process."""
        self._control.close()
        self._process.terminate()
        self._process.join(5)


# -- strategies (clients) --------------------------------------------------------------------


class Aborted(Exception):  # noqa: N818 - not an error: the run's budget ran out
    """The run's wall-clock budget ran out while this call was waiting."""


@dataclass
class Env:
    """What a strategy needs to know about the run it is in."""

    base_url: str
    stop: threading.Event = field(default_factory=threading.Event)
    store_url: str | None = None
    schema: str | None = None


def http_limits() -> httpx.Limits:
    """Connection pools large enough for every worker of a process."""
    return httpx.Limits(max_connections=256, max_keepalive_connections=256)


class Strategy(abc.ABC):
    """One way of making calls against the quota, shared by a process's threads."""

    def __init__(self, env: Env) -> None:
        self.env = env
        self.http = httpx.Client(base_url=env.base_url, timeout=TIMEOUT, limits=http_limits())

    def send(self, cid: str) -> httpx.Response:
        """One request for call ``cid``."""
        return self.http.get("/item", params={"call": cid})

    def pause(self, seconds: float) -> None:
        """Sleep, or raise `Aborted` as soon as the budget runs out."""
        if self.env.stop.wait(seconds):
            raise Aborted

    @abc.abstractmethod
    def call(self, cid: str) -> bool:
        """Make call ``cid``: True once answered 200, False when the strategy gives up."""

    def close(self) -> None:
        """Release the HTTP connections."""
        self.http.close()


class Naive(Strategy):
    """Resend at once, no sleep, until the answer is not 429."""

    def call(self, cid: str) -> bool:
        """Loop until 200 (or the budget runs out)."""
        while not self.env.stop.is_set():
            if self.send(cid).status_code != 429:
                return True
        raise Aborted


def throttled(response: httpx.Response) -> bool:
    """Whether the answer is a 429 (tenacity's retry condition)."""
    return response.status_code == 429


def last_response(state: tenacity.RetryCallState) -> httpx.Response:
    """What tenacity returns after its last attempt: the last 429, not a RetryError."""
    assert state.outcome is not None  # noqa: S101 - tenacity always sets it here
    response: httpx.Response = state.outcome.result()
    return response


class Tenacity(Strategy):
    """tenacity's `Retrying` on 429, with the wait given by the subclass."""

    @abc.abstractmethod
    def wait(self) -> tenacity.wait.wait_base:
        """The wait strategy."""

    def retries(self, response: httpx.Response) -> bool:
        """The retry condition: a 429."""
        return throttled(response)

    def call(self, cid: str) -> bool:
        """Send through a fresh `Retrying` (they keep per-call state)."""
        retrying = tenacity.Retrying(
            wait=self.wait(),
            stop=tenacity.stop_after_attempt(ATTEMPTS),
            retry=tenacity.retry_if_result(self.retries),
            sleep=self.pause,
            retry_error_callback=last_response,
        )
        return retrying(self.send, cid).status_code == 200


class TenacityExp(Tenacity):
    """Exponential backoff without jitter: 0.25, 0.5, 1, 2 … s, capped at 30 s."""

    def wait(self) -> tenacity.wait.wait_base:
        """``wait_exponential(multiplier=0.25, max=30)``."""
        return tenacity.wait_exponential(multiplier=BACKOFF_BASE, max=BACKOFF_CAP)


class TenacityJitter(Tenacity):
    """Full jitter: uniform in [0, 0.25 x 2^n] s, capped at 30 s."""

    def wait(self) -> tenacity.wait.wait_base:
        """``wait_random_exponential(multiplier=0.25, max=30)``."""
        return tenacity.wait_random_exponential(multiplier=BACKOFF_BASE, max=BACKOFF_CAP)


def spapi_delay(retry: int) -> float:
    """throttle_retry's sleep before retry ``retry`` (0-based): 5 s x 1.3^n, scaled."""
    return SPAPI_DELAY * SPAPI_SCALE * SPAPI_RATE**retry


class SpApiThrottleRetry(Strategy):
    """python-amazon-sp-api's ``throttle_retry`` policy: 10 tries, geometric, no jitter.

    Reimplemented from its description (the library's counter is shared by every
    invocation and not thread-safe; here each call counts its own tries).
    """

    def call(self, cid: str) -> bool:
        """Up to 10 tries, sleeping 5 x 1.3^n (scaled) after each 429."""
        for retry in range(ATTEMPTS):
            if not throttled(self.send(cid)):
                return True
            if retry < ATTEMPTS - 1:
                self.pause(spapi_delay(retry))
        return False


def botocore_operation() -> Any:
    """A real botocore `OperationModel` for the benchmark's one operation (no errors modeled)."""
    from botocore.model import ServiceModel  # noqa: PLC0415 - optional, imported when used

    service = ServiceModel(
        {
            "metadata": {
                "serviceId": "Bench",
                "endpointPrefix": "bench",
                "protocol": "rest-json",
                "apiVersion": "2026-01-01",
                "signatureVersion": "v4",
            },
            "operations": {
                "GetItem": {"name": "GetItem", "http": {"method": "GET", "requestUri": "/item"}}
            },
            "shapes": {},
        },
        service_name="bench",
    )
    return service.operation_model("GetItem")


class BotocoreAdaptive(Strategy):
    """botocore's ``retries={'mode': 'adaptive', 'max_attempts': 10}``, from its own classes.

    Wired as ``botocore.retries.adaptive.register_retry_handler`` and
    ``standard.register_retry_handler`` wire them: the client rate limiter's token
    bucket is acquired before every send, and every response goes to the standard
    retry handler (max attempts, retry quota, jittered backoff) and to the limiter
    (CUBIC rate after throttles). One limiter per process, as per botocore client.
    """

    def __init__(self, env: Env) -> None:
        from botocore.retries import (  # noqa: PLC0415 - optional, imported when used
            adaptive,
            bucket,
            quota,
            standard,
            throttling,
        )

        super().__init__(env)
        clock = bucket.Clock()
        events = standard.RetryEventAdapter()
        detector = standard.ThrottlingErrorDetector(events)
        self.limiter = adaptive.ClientRateLimiter(
            rate_adjustor=throttling.CubicCalculator(
                starting_max_rate=0, start_time=clock.current_time()
            ),
            rate_clocker=adaptive.RateClocker(clock),
            token_bucket=bucket.TokenBucket(max_rate=1, clock=clock),
            throttling_detector=standard.ThrottlingErrorDetector(standard.RetryEventAdapter()),
            clock=clock,
        )
        self.quota = standard.RetryQuotaChecker(quota.RetryQuota(), detector)
        policy = standard.RetryPolicy(
            retry_checker=standard.StandardRetryConditions(max_attempts=ATTEMPTS),
            retry_backoff=standard.ExponentialBackoff(throttling_detector=detector),
        )
        self.handler = standard.RetryHandler(
            retry_policy=policy,
            retry_event_adapter=events,
            retry_quota=self.quota,
            service_name="bench",
        )
        self.operation = botocore_operation()

    def call(self, cid: str) -> bool:
        """Attempts as botocore's endpoint makes them (before-send, send, needs-retry)."""
        context: dict[str, Any] = {}
        for attempt in itertools.count(1):
            self.limiter.on_sending_request(request=None)
            response = self.send(cid)
            parsed = {"Error": {"Code": "QuotaExceeded"}} if throttled(response) else {}
            if response.status_code >= 500:  # botocore retries 5xx as transient errors
                parsed = {"Error": {"Code": "ServiceUnavailable"}}
            event = {
                "response": (response, parsed),
                "attempts": attempt,
                "operation": self.operation,
                "caught_exception": None,
                "request_dict": {"context": context},
            }
            delay = self.handler.needs_retry(**event)
            self.limiter.on_receiving_response(**event)
            if delay is None:
                break
            self.pause(delay)
        if response.status_code != 200:
            return False
        self.quota.release_retry_quota(context, response)  # botocore's after-call hook
        return True


class BenchAdapter(MarketplaceAdapter):
    """The benchmark server as a marketplace: one operation, 40/s, burst 10."""

    marketplace: ClassVar[str] = "bench"
    operations: ClassVar[Mapping[str, Operation]] = {
        "getItem": Operation.declare("getItem", "GET", "/item", rate=RATE, burst=BURST),
    }


def open_store(env: Env) -> sr.Store | None:
    """The run's store (for `StoreLimiter`), or None for the in-memory limiter."""
    if env.store_url is None:
        return None
    return sr.connect(env.store_url, schema=env.schema)


def bench_adapter(env: Env, store: sr.Store | None) -> BenchAdapter:
    """The adapter on the real clock and a real httpx client; store-backed when given."""
    limiter = StoreLimiter(store) if store is not None else None
    return BenchAdapter(
        base_url=env.base_url,
        seller="bench-seller",
        app="bench-app",
        limiter=limiter,
        timeout=TIMEOUT,
    )


class SafeRelease(Strategy):
    """`MarketplaceAdapter.call`: paced by its limiter, retries by its core."""

    def __init__(self, env: Env) -> None:
        super().__init__(env)
        self.store = open_store(env)
        self.adapter = bench_adapter(env, self.store)

    def call(self, cid: str) -> bool:
        """One adapter call; a typed marketplace error counts as giving up."""
        try:
            self.adapter.call("getItem", params={"call": cid})
        except MarketplaceError:
            return False
        return True

    def close(self) -> None:
        """Close the adapter, the store and the unused client."""
        self.adapter.close()
        if self.store is not None:
            self.store.close()
        super().close()


class SafeReleaseRideOut(SafeRelease):
    """safe_release with ``CircuitBreaker(outage="ride_out")``: callers queue behind it."""

    def __init__(self, env: Env) -> None:
        super().__init__(env)
        self.adapter.close()
        self.adapter = BenchAdapter(
            base_url=env.base_url,
            seller="bench-seller",
            app="bench-app",
            timeout=TIMEOUT,
            breaker=CircuitBreaker(outage="ride_out"),
        )


class HintedBenchAdapter(BenchAdapter):
    """The bench marketplace with Amazon's rate header read as a hint."""

    def rate_hint(self, response: httpx.Response) -> float | None:
        """``x-amzn-RateLimit-Limit`` on a 200."""
        raw = response.headers.get(RATE_HEADER)
        return float(raw) if raw is not None and response.status_code == 200 else None


class SafeReleaseHinted(SafeRelease):
    """safe_release following the server's rate header."""

    def __init__(self, env: Env) -> None:
        super().__init__(env)
        self.adapter.close()
        self.adapter = HintedBenchAdapter(
            base_url=env.base_url, seller="bench-seller", app="bench-app", timeout=TIMEOUT
        )


class DeafBenchAdapter(BenchAdapter):
    """The bench marketplace with Walmart's token headers ignored (scenario 8's control)."""

    def replenish_hint(self, response: httpx.Response) -> tuple[float, float] | None:
        """Nothing: pace by the declared quota and the 429s alone."""
        del response
        return None


class SafeReleaseDeaf(SafeRelease):
    """safe_release not reading ``x-current-token-count`` / ``x-next-replenish-time``."""

    def __init__(self, env: Env) -> None:
        super().__init__(env)
        self.adapter.close()
        self.adapter = DeafBenchAdapter(
            base_url=env.base_url, seller="bench-seller", app="bench-app", timeout=TIMEOUT
        )


def retryable(response: httpx.Response) -> bool:
    """A 429 or a 5xx (tenacity's retry condition in the outage scenario)."""
    return response.status_code == 429 or response.status_code >= 500


class TenacityJitterOutage(TenacityJitter):
    """tenacity full jitter retrying 429 and 5xx alike (the outage scenario)."""

    def retries(self, response: httpx.Response) -> bool:
        """The retry condition: a 429 or a 5xx."""
        return retryable(response)


class IdealBucket(Strategy):
    """The reference: a client bucket at exactly the quota, with perfect information.

    One shared GCRA schedule at the server's current rate (read from its rate
    header when sent); the next slot is computed only when the previous one is
    sent, so a lower rate applies at once to every slot not yet sent; a 429
    waits exactly the server's own wait (a header only this strategy reads). No
    slack: it is what a bucket that paces at exactly the quota costs.
    """

    def __init__(self, env: Env) -> None:
        super().__init__(env)
        self.lock = threading.Lock()
        self.rate, self.tat, self.paused = RATE, 0.0, 0.0

    def slot(self) -> None:
        """Wait for the next slot (holding the schedule, so no later slot is fixed early)."""
        with self.lock:
            now, interval = time.monotonic(), 1.0 / self.rate
            base = max(self.tat, now)
            at = max(now, base - (BURST - 1) * interval, self.paused)
            if at > now:
                self.pause(at - now)
            self.tat = max(base, at) + interval

    def call(self, cid: str) -> bool:
        """Send in the next slot; after a 429, the exact wait, then again."""
        while True:
            self.slot()
            response = self.send(cid)
            with self.lock:
                if RATE_HEADER in response.headers:
                    self.rate = float(response.headers[RATE_HEADER])
                if response.status_code == 429:
                    wait = float(response.headers[EXACT_WAIT])
                    self.paused = max(self.paused, time.monotonic() + wait)
                    continue
            return response.status_code == 200


SYNC: dict[str, type[Strategy]] = {
    "naive": Naive,
    "tenacity-exp": TenacityExp,
    "tenacity-jitter": TenacityJitter,
    "botocore-adaptive": BotocoreAdaptive,
    "sp-api-throttle_retry": SpApiThrottleRetry,
    OURS: SafeRelease,
}


# -- async strategies (scenario 4) ---------------------------------------------------------


class AsyncStrategy(abc.ABC):
    """The async counterpart of `Strategy`, shared by a run's tasks."""

    def __init__(self, env: Env, stop: asyncio.Event) -> None:
        self.env, self.stop = env, stop
        self.http = httpx.AsyncClient(base_url=env.base_url, timeout=TIMEOUT, limits=http_limits())

    async def send(self, cid: str) -> httpx.Response:
        """One request for call ``cid``."""
        return await self.http.get("/item", params={"call": cid})

    async def pause(self, seconds: float) -> None:
        """Sleep, or raise `Aborted` as soon as the budget runs out."""
        try:
            await asyncio.wait_for(self.stop.wait(), seconds)
        except asyncio.TimeoutError:
            return
        raise Aborted

    @abc.abstractmethod
    async def call(self, cid: str) -> bool:
        """Make call ``cid``: True once answered 200, False when the strategy gives up."""

    async def close(self) -> None:
        """Release the HTTP connections."""
        await self.http.aclose()


class AsyncNaive(AsyncStrategy):
    """Resend at once until the answer is not 429."""

    async def call(self, cid: str) -> bool:
        """Loop until 200 (or the budget runs out)."""
        while not self.stop.is_set():
            if not throttled(await self.send(cid)):
                return True
        raise Aborted


class AsyncTenacity(AsyncStrategy):
    """tenacity's `AsyncRetrying` on 429."""

    wait_class: ClassVar[type[tenacity.wait.wait_exponential]] = tenacity.wait_exponential

    async def call(self, cid: str) -> bool:
        """Send through a fresh `AsyncRetrying`."""
        retrying = tenacity.AsyncRetrying(
            wait=self.wait_class(multiplier=BACKOFF_BASE, max=BACKOFF_CAP),
            stop=tenacity.stop_after_attempt(ATTEMPTS),
            retry=tenacity.retry_if_result(throttled),
            sleep=self.pause,
            retry_error_callback=last_response,
        )
        response = await retrying(self.send, cid)
        return response.status_code == 200


class AsyncTenacityJitter(AsyncTenacity):
    """tenacity's `AsyncRetrying` with full jitter."""

    wait_class = tenacity.wait_random_exponential


class AsyncSpApi(AsyncStrategy):
    """The throttle_retry policy with ``asyncio.sleep``."""

    async def call(self, cid: str) -> bool:
        """Up to 10 tries, sleeping 5 x 1.3^n (scaled) after each 429."""
        for retry in range(ATTEMPTS):
            if not throttled(await self.send(cid)):
                return True
            if retry < ATTEMPTS - 1:
                await self.pause(spapi_delay(retry))
        return False


class AsyncSafeRelease(AsyncStrategy):
    """``await MarketplaceAdapter.acall``."""

    def __init__(self, env: Env, stop: asyncio.Event) -> None:
        super().__init__(env, stop)
        self.adapter = bench_adapter(env, None)

    async def call(self, cid: str) -> bool:
        """One adapter call; a typed marketplace error counts as giving up."""
        try:
            await self.adapter.acall("getItem", params={"call": cid})
        except MarketplaceError:
            return False
        return True

    async def close(self) -> None:
        """Close the adapter's clients and the unused one."""
        await self.adapter.aclose()
        await super().close()


ASYNC: dict[str, type[AsyncStrategy]] = {
    "naive": AsyncNaive,
    "tenacity-exp": AsyncTenacity,
    "tenacity-jitter": AsyncTenacityJitter,
    "sp-api-throttle_retry": AsyncSpApi,
    OURS: AsyncSafeRelease,
}


# -- drivers -----------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What the clients of one run saw."""

    ok: int = 0
    failed: int = 0
    aborted: int = 0
    errors: list[str] = field(default_factory=list)
    released: float = 0.0  # monotonic seconds (one clock for every process on Linux)
    last_end: float = 0.0
    stopped: float = 0.0  # when the run ended (all calls done, or the budget ran out)

    def record(self, result: str, ended: float) -> None:
        """Count one call: ``ok``, ``failed``, ``aborted`` or an error's text."""
        if result == "ok":
            self.ok += 1
        elif result == "failed":
            self.failed += 1
        elif result == "aborted":
            self.aborted += 1
            return
        else:
            self.errors.append(result)
        self.last_end = max(self.last_end, ended)

    def merge(self, other: Outcome) -> None:
        """Add another process's outcome."""
        self.ok, self.failed = self.ok + other.ok, self.failed + other.failed
        self.aborted += other.aborted
        self.errors += other.errors
        self.released = min(self.released or other.released, other.released)
        self.last_end = max(self.last_end, other.last_end)
        self.stopped = max(self.stopped, other.stopped)


def attempt(call: Callable[[str], bool], cid: str) -> str:
    """Run one call and say how it ended."""
    try:
        return "ok" if call(cid) else "failed"
    except Aborted:
        return "aborted"
    except Exception as exc:  # noqa: BLE001 - reported in the results, never hidden
        return f"{type(exc).__name__}: {exc}"[:200]


def drive_threads(
    strategy: Strategy,
    cids: Iterable[str],
    threads: int,
    budget: float,
    release: Callable[[], None],
) -> Outcome:
    """Run the calls on ``threads`` threads, all let go at once after ``release()``."""
    feed, lock, gate, outcome = iter(cids), threading.Lock(), threading.Event(), Outcome()

    def work() -> None:
        gate.wait()
        while not strategy.env.stop.is_set():
            with lock:
                cid = next(feed, None)
            if cid is None:
                return
            result = attempt(strategy.call, cid)
            with lock:
                outcome.record(result, time.monotonic())

    workers = [threading.Thread(target=work, daemon=True) for _ in range(threads)]
    for worker in workers:
        worker.start()
    release()
    timer = threading.Timer(budget, strategy.env.stop.set)
    timer.start()
    outcome.released = time.monotonic()
    gate.set()
    for worker in workers:
        worker.join()
    timer.cancel()
    outcome.stopped = time.monotonic()
    return outcome


async def drive_tasks(
    strategy: AsyncStrategy, cids: Iterable[str], tasks: int, budget: float
) -> Outcome:
    """Run the calls on ``tasks`` asyncio tasks, all started at once."""
    feed, outcome = iter(cids), Outcome()

    async def work() -> None:
        while not strategy.stop.is_set():
            cid = next(feed, None)
            if cid is None:
                return
            try:
                result = "ok" if await strategy.call(cid) else "failed"
            except Aborted:
                result = "aborted"
            except Exception as exc:  # noqa: BLE001 - reported in the results
                result = f"{type(exc).__name__}: {exc}"[:200]
            outcome.record(result, time.monotonic())

    outcome.released = time.monotonic()
    running = [asyncio.create_task(work()) for _ in range(tasks)]
    _, pending = await asyncio.wait(running, timeout=budget)
    strategy.stop.set()
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    outcome.stopped = time.monotonic()
    return outcome


def call_ids(prefix: str, count: int | None) -> Iterator[str]:
    """``prefix0``, ``prefix1`` …, ``count`` of them (None: without end)."""
    numbers = itertools.count() if count is None else iter(range(count))
    return (f"{prefix}{n}" for n in numbers)


@dataclass(frozen=True)
class Spec:
    """One worker process's share of a run (picklable, for spawn)."""

    strategy: str
    base_url: str
    prefix: str
    calls: int | None  # None: until the process is killed
    threads: int
    budget: float
    store_url: str | None = None
    schema: str | None = None


def worker_main(spec: Spec, go: MpEvent, box: Queue[Any]) -> None:
    """Process entry: build the strategy, report ready, wait for ``go``, run, report."""
    env = Env(spec.base_url, store_url=spec.store_url, schema=spec.schema)
    strategy = SYNC[spec.strategy](env)

    def release() -> None:
        box.put(("ready", os.getpid()))
        go.wait()

    try:
        outcome = drive_threads(
            strategy, call_ids(spec.prefix, spec.calls), spec.threads, spec.budget, release
        )
    finally:
        strategy.close()
    box.put(("done", outcome))


# -- measurements ------------------------------------------------------------------------------


@dataclass
class Row:
    """The figures of one strategy in one scenario."""

    name: str
    calls: int
    ideal: float
    outcome: Outcome
    requests: int = 0
    throttled: int = 0  # 429 answers
    calls_429: int = 0  # calls answered 429 at least once
    peak: int = 0  # requests in the busiest 1 s window
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)  # scenario-specific figures

    @property
    def finished(self) -> bool:
        """Whether every call ended (200 or given up) within the budget, without errors."""
        o = self.outcome
        return o.ok + o.failed == self.calls and not o.errors

    @property
    def seconds(self) -> float:
        """From release to the end of the last call (to the budget's end on a timeout)."""
        o = self.outcome
        return (o.last_end if self.finished else o.stopped) - o.released

    @property
    def ratio(self) -> float:
        """Completion time over the ideal."""
        return self.seconds / self.ideal

    @property
    def per_call(self) -> float:
        """Requests sent per call."""
        return self.requests / self.calls

    @property
    def share_429(self) -> float:
        """Share of calls answered 429 at least once."""
        return self.calls_429 / self.calls


def peak_window(times: list[float], window: float = 1.0) -> int:
    """The most arrivals in any ``window`` seconds."""
    times, best, first = sorted(times), 0, 0
    for last, t in enumerate(times):
        while t - times[first] >= window:
            first += 1
        best = max(best, last - first + 1)
    return best


def measure(
    row: Row, log: list[tuple[float, int, str]], prefix: str, peak_from: float | None = None
) -> Row:
    """Fill ``row`` from the server's log (the calls whose id starts with ``prefix``).

    The peak counts every request logged after ``peak_from`` (default: this run's own).
    """
    ours = [entry for entry in log if entry[2].startswith(prefix)]
    row.requests = len(ours)
    row.throttled = sum(1 for _, status, _ in ours if status == 429)
    row.calls_429 = len({cid for _, status, cid in ours if status == 429})
    if peak_from is None:
        row.peak = peak_window([t for t, _, _ in ours])
    else:
        row.peak = peak_window([t for t, _, _ in log if t >= peak_from])
    if row.outcome.errors:
        row.notes.append(f"{len(row.outcome.errors)} errors, first: {row.outcome.errors[0]}")
    return row


def budget_for(name: str, ideal: float) -> float:
    """A run's wall-clock budget."""
    return ideal * (OURS_BUDGET if name == OURS else PEER_BUDGET) + BUDGET_FLOOR


@dataclass
class Bench:
    """Shared state of one benchmark run."""

    server: Server
    sizes: Sizes
    ctx: mp.context.SpawnContext
    tmp: Path
    stores: list[tuple[str, str]]  # (label, URL) of the store-backed limiter's databases
    strategies: tuple[str, ...]
    async_peers: tuple[str, ...] = ASYNC_PEERS
    runs: int = 0

    def fresh_store(self, url: str) -> tuple[str, str | None]:
        """A new, upgraded, empty store on ``url``'s database: (URL, schema)."""
        self.runs += 1
        if url.startswith("sqlite"):
            url, schema = f"sqlite:///{self.tmp}/limiter-{self.runs}.db", None
        else:
            schema = f"sr_bench_throttle_{os.getpid()}_{self.runs}"
        sr.connect(url, schema=schema).close()
        return url, schema


def log_line(text: str) -> None:
    """Progress on stdout."""
    print(f"  {text}", flush=True)


def scenario1(bench: Bench) -> list[Row]:
    """16 threads in one process, the in-memory limiter, a full bucket."""
    calls, threads = bench.sizes.calls1, bench.sizes.threads
    ideal = (calls - BURST) / RATE
    rows = []
    for name in bench.strategies:
        bench.server.reset()
        strategy = SYNC[name](Env(bench.server.base_url))
        try:
            outcome = drive_threads(
                strategy, call_ids("c", calls), threads, budget_for(name, ideal), lambda: None
            )
        finally:
            strategy.close()
        rows.append(measure(Row(name, calls, ideal, outcome), bench.server.log(), "c"))
        log_line(f"scenario 1, {name}: {rows[-1].seconds:.2f} s")
    return rows


def spawn(bench: Bench, spec: Spec, box: Queue[Any]) -> tuple[BaseProcess, MpEvent]:
    """Start one worker process; it waits for its event."""
    go = bench.ctx.Event()
    process = bench.ctx.Process(target=worker_main, args=(spec, go, box), daemon=True)
    process.start()
    return process, go


def wait_ready(box: Queue[Any], count: int) -> None:
    """Wait until ``count`` workers said they are ready."""
    for _ in range(count):
        kind, _ = box.get(timeout=120)
        if kind != "ready":
            msg = f"a worker finished before it was released: {kind}"
            raise RuntimeError(msg)


def collect(box: Queue[Any], processes: list[BaseProcess], budget: float) -> Outcome:
    """The merged outcome of ``processes``."""
    merged = Outcome()
    for _ in processes:
        kind, outcome = box.get(timeout=budget + 60)
        if kind != "done":
            msg = f"unexpected message from a worker: {kind}"
            raise RuntimeError(msg)
        merged.merge(outcome)
    for process in processes:
        process.join(10)
    return merged


def scenario2_run(bench: Bench, name: str, store: str | None, label: str) -> Row:
    """4 processes x 4 threads on one quota; safe_release on ``store`` when given."""
    sizes = bench.sizes
    calls, ideal = sizes.calls2, (sizes.calls2 - BURST) / RATE
    budget = budget_for(name, ideal)
    url, schema = bench.fresh_store(store) if store is not None else (None, None)
    box: Queue[Any] = bench.ctx.Queue()
    shares = [calls // sizes.procs + (i < calls % sizes.procs) for i in range(sizes.procs)]
    started = [
        spawn(
            bench,
            Spec(
                name,
                bench.server.base_url,
                f"p{i}-",
                share,
                sizes.threads // sizes.procs,
                budget,
                url,
                schema,
            ),
            box,
        )
        for i, share in enumerate(shares)
    ]
    wait_ready(box, len(started))
    bench.server.reset()
    for _, go in started:
        go.set()
    outcome = collect(box, [p for p, _ in started], budget)
    row = measure(Row(label, calls, ideal, outcome), bench.server.log(), "p")
    log_line(f"scenario 2, {label}: {row.seconds:.2f} s")
    return row


def scenario2(bench: Bench) -> list[Row]:
    """Every peer once (in-memory state per process), safe_release once per store."""
    rows = [scenario2_run(bench, name, None, name) for name in bench.strategies if name != OURS]
    if OURS in bench.strategies:
        rows += [
            scenario2_run(bench, OURS, url, f"{OURS} ({label})") for label, url in bench.stores
        ]
    return rows


def scenario3_run(bench: Bench, name: str, store: str | None, label: str) -> Row:
    """A previous run drains the bucket; it is killed as 16 fresh workers start."""
    sizes = bench.sizes
    calls, ideal = sizes.calls3, sizes.calls3 / RATE
    budget = budget_for(name, ideal)
    url, schema = bench.fresh_store(store) if store is not None else (None, None)
    box: Queue[Any] = bench.ctx.Queue()
    spec = Spec(name, bench.server.base_url, "a", None, sizes.threads, 600.0, url, schema)
    old, old_go = spawn(bench, spec, box)
    wait_ready(box, 1)
    bench.server.reset()
    old_go.set()
    drained_at = time.monotonic() + sizes.drain3
    new_spec = Spec(name, bench.server.base_url, "b", calls, sizes.threads, budget, url, schema)
    new, new_go = spawn(bench, new_spec, box)
    wait_ready(box, 1)
    time.sleep(max(0.0, drained_at - time.monotonic()))
    old.kill()  # the rollback: the old workers die with their reservations
    old.join(10)
    restart = time.monotonic()
    new_go.set()
    outcome = collect(box, [new], budget)
    row = measure(
        Row(label, calls, ideal, outcome), bench.server.log(), "b", peak_from=restart - 1.0
    )
    log_line(f"scenario 3, {label}: {row.seconds:.2f} s")
    return row


def scenario3(bench: Bench) -> list[Row]:
    """Every peer once, safe_release once per store."""
    rows = [scenario3_run(bench, name, None, name) for name in bench.strategies if name != OURS]
    if OURS in bench.strategies:
        rows += [
            scenario3_run(bench, OURS, url, f"{OURS} ({label})") for label, url in bench.stores
        ]
    return rows


async def scenario4_run(bench: Bench, name: str) -> Outcome:
    """One async run: 200 tasks, the in-memory limiter."""
    calls = bench.sizes.calls1
    ideal = (calls - BURST) / RATE
    strategy = ASYNC[name](Env(bench.server.base_url), asyncio.Event())
    try:
        return await drive_tasks(
            strategy, call_ids("t", calls), bench.sizes.tasks, budget_for(name, ideal)
        )
    finally:
        await strategy.close()


def scenario4(bench: Bench) -> list[Row]:
    """The async surface (botocore has none)."""
    calls = bench.sizes.calls1
    ideal = (calls - BURST) / RATE
    rows = []
    names = [n for n in bench.strategies if n in ASYNC and (n == OURS or n in bench.async_peers)]
    for name in names:
        bench.server.reset()
        outcome = asyncio.run(scenario4_run(bench, name))
        rows.append(measure(Row(name, calls, ideal, outcome), bench.server.log(), "t"))
        log_line(f"scenario 4, {name}: {rows[-1].seconds:.2f} s")
    return rows


# -- scenarios 5-7: outages and the costs of issue 11 -----------------------------------------


def run_threads(
    bench: Bench,
    cls: type[Strategy],
    *,
    label: str,
    calls: int,
    ideal: float,
    prefix: str,
    budget: float,
    **mode: str | float,
) -> tuple[Row, float]:
    """One in-process run of ``cls`` on a server reset to ``mode``: (row, server reset time).

    The server is reset as the workers are let go (after the strategy is built), so
    that its outage or rate drop is timed from the first call.
    """
    began: list[float] = []
    strategy = cls(Env(bench.server.base_url))
    try:
        outcome = drive_threads(
            strategy,
            call_ids(prefix, calls),
            bench.sizes.threads,
            budget,
            lambda: began.append(bench.server.reset(**mode)),
        )
    finally:
        strategy.close()
    return measure(Row(label, calls, ideal, outcome), bench.server.log(), prefix), began[0]


def full_pace_after(log: list[tuple[float, int, str]], since: float) -> float | None:
    """Seconds from ``since`` to the first 1 s window holding the full pace of 200s."""
    oks = sorted(t for t, status, _ in log if status == 200 and t >= since)
    need, last = math.ceil(FULL_PACE * RATE), 0
    for first, t in enumerate(oks):
        last = max(last, first)
        while last + 1 < len(oks) and oks[last + 1] < t + 1.0:
            last += 1
        if last - first + 1 >= need:
            return t - since
    return None


OUTAGE_PEERS: tuple[tuple[str, type[Strategy]], ...] = (
    ("tenacity-jitter", TenacityJitterOutage),
    ("botocore-adaptive", BotocoreAdaptive),
    (f"{OURS} (fail fast)", SafeRelease),
    (f"{OURS} (ride out)", SafeReleaseRideOut),
)


def scenario5(bench: Bench) -> list[Row]:
    """16 threads, 600 calls; the server answers 503 to everything for 5 s after 3 s."""
    calls = bench.sizes.calls5
    ideal = OUTAGE_AT + OUTAGE_FOR + (calls - 2 * BURST - RATE * OUTAGE_AT) / RATE
    rows = []
    for label, cls in OUTAGE_PEERS:
        if not any(label.startswith(name) for name in bench.strategies):
            continue
        row, began = run_threads(
            bench,
            cls,
            label=label,
            calls=calls,
            ideal=ideal,
            prefix="o",
            budget=2 * ideal + BUDGET_FLOOR,
            outage_after=OUTAGE_AT,
            outage_for=OUTAGE_FOR,
        )
        start, end = began + OUTAGE_AT, began + OUTAGE_AT + OUTAGE_FOR
        log = bench.server.log()
        oks = [t for t, status, _ in log if status == 200 and t >= end]
        row.extra = {
            "during": sum(1 for t, _, _ in log if start <= t < end),
            "first": (min(oks) - end) if oks else None,
            "pace": full_pace_after(log, end),
            "finish": row.outcome.last_end - end if row.outcome.last_end > end else None,
        }
        rows.append(row)
        log_line(f"scenario 5, {label}: {row.seconds:.2f} s")
    return rows


def startup_429s(bench: Bench, cls: type[Strategy], runs: int) -> int:
    """Of ``runs`` short runs on a fresh bucket, how many drew a 429 in their first second."""
    drew = 0
    for _ in range(runs):
        _, began = run_threads(
            bench,
            cls,
            label="startup",
            calls=STARTUP_CALLS,
            ideal=1.0,
            prefix="s",
            budget=10.0 + BUDGET_FLOOR,
            retry="int",
        )
        log = bench.server.log()
        drew += any(status == 429 and t < began + 1.0 for t, status, _ in log)
    return drew


def scenario6(bench: Bench) -> list[Row]:
    """A fresh bucket, integer Retry-After: the ideal bucket and safe_release."""
    calls, runs = bench.sizes.calls6, bench.sizes.runs6
    ideal = (calls - BURST) / RATE
    rows = []
    for label, cls in (("ideal-bucket", IdealBucket), (OURS, SafeRelease)):
        row, _ = run_threads(
            bench,
            cls,
            label=label,
            calls=calls,
            ideal=ideal,
            prefix="i",
            budget=budget_for(OURS, ideal),
            retry="int",
        )
        row.extra = {"runs": runs, "drew": startup_429s(bench, cls, runs)}
        rows.append(row)
        log_line(f"scenario 6, {label}: {row.seconds:.2f} s")
    return rows


def scenario7(bench: Bench) -> list[Row]:
    """The server's rate drops 40/s -> 10/s after 3 s (rate header, integer Retry-After)."""
    calls = bench.sizes.calls7
    ideal = DROP_AT + (calls - BURST - RATE * DROP_AT) / DROP_TO
    rows = []
    for label, cls in (("ideal-bucket", IdealBucket), (OURS, SafeReleaseHinted)):
        row, _ = run_threads(
            bench,
            cls,
            label=label,
            calls=calls,
            ideal=ideal,
            prefix="d",
            budget=budget_for(OURS, ideal),
            retry="int",
            hint=1,
            drop_after=DROP_AT,
            drop_to=DROP_TO,
        )
        rows.append(row)
        log_line(f"scenario 7, {label}: {row.seconds:.2f} s")
    return rows


OURS_DEAF = f"{OURS} (headers ignored)"
WALMART_PEERS = ("naive", "tenacity-exp", "tenacity-jitter", "botocore-adaptive")


def scenario8(bench: Bench) -> list[Row]:
    """Walmart's replenishing bucket and headers, 16 threads, scenario 1's quota.

    The peers of scenario 1 (but the sp-api policy, an Amazon client), the ideal
    bucket, safe_release reading the headers (the base adapter's default,
    judged) and, for comparison, safe_release ignoring them.
    """
    calls = bench.sizes.calls8
    ideal = (calls - BURST) / RATE
    runs: list[tuple[str, type[Strategy]]] = [
        (name, SYNC[name]) for name in WALMART_PEERS if name in bench.strategies
    ]
    if OURS in bench.strategies:
        runs += [("ideal-bucket", IdealBucket), (OURS, SafeRelease), (OURS_DEAF, SafeReleaseDeaf)]
    rows = []
    for label, cls in runs:
        row, _ = run_threads(
            bench,
            cls,
            label=label,
            calls=calls,
            ideal=ideal,
            prefix="w",
            budget=budget_for(OURS if label.startswith(OURS) else label, ideal),
            walmart=1,
        )
        rows.append(row)
        log_line(f"scenario 8, {label}: {row.seconds:.2f} s")
    return rows


def seconds_cell(value: float | None) -> str:
    """Seconds, or ``never``."""
    return "never" if value is None else f"{value:.2f}"


def table5(rows: list[Row]) -> str:
    """The outage scenario's table."""
    lines = [
        (
            "| strategy | time, s | time / ideal | requests while down | calls failed "
            "| first 200 after recovery, s | full pace after recovery, s "
            "| done after recovery, s |"
        ),
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        ratio = f"{r.ratio:.3f}x" if r.finished else f">= {r.ratio:.2f}x"
        x = r.extra
        lines.append(
            f"| {r.name} | {time_cell(r)} | {ratio} | {x['during']} | {r.outcome.failed} "
            f"| {seconds_cell(x['first'])} | {seconds_cell(x['pace'])} "
            f"| {seconds_cell(x['finish'])} |"
        )
    return "\n".join(lines)


def table_costs(rows: list[Row], startup: bool) -> str:  # noqa: FBT001 - one table, two forms
    """Scenarios 6 and 7: each row against the quota's ideal and the ideal bucket."""
    base = next((r for r in rows if r.name == "ideal-bucket"), None)
    head = "| strategy | time, s | time / ideal | / ideal bucket | 429 answers | requests / call |"
    lines = [
        head + (" runs with a start-up 429 |" if startup else ""),
        "|---|---|---|---|---|---|" + ("---|" if startup else ""),
    ]
    for r in rows:
        against = f"{r.seconds / base.seconds:.3f}x" if base and base.finished else "n/a"
        line = (
            f"| {r.name} | {time_cell(r)} | {r.ratio:.3f}x | {against} | {r.throttled} "
            f"| {r.per_call:.3f} |"
        )
        if startup:
            line += f" {r.extra['drew']} of {r.extra['runs']} |"
        lines.append(line)
    return "\n".join(lines)


def checks5(row: Row) -> list[tuple[bool, str]]:
    """Riding out: every call succeeds, few requests while down, full pace soon after."""
    x = row.extra
    pace = x["pace"]
    return [
        check(
            row.finished and row.outcome.failed == 0,
            f"scenario 5, {row.name}: every call answered 200 ({row.outcome.ok}/{row.calls})",
        ),
        check(
            x["during"] <= OUTAGE_REQUESTS,
            f"scenario 5, {row.name}: {x['during']} requests during the {OUTAGE_FOR:g} s "
            f"outage (target <= {OUTAGE_REQUESTS})",
        ),
        check(
            pace is not None and pace <= OUTAGE_PACE,
            f"scenario 5, {row.name}: full pace {seconds_cell(pace)} s after the recovery "
            f"(target <= {OUTAGE_PACE:g} s)",
        ),
    ]


def checks_costs(rows: list[Row], scenario: str, slack: float) -> list[tuple[bool, str]]:
    """safe_release within ``slack`` of the ideal bucket; scenario 6: no start-up 429."""
    base = next((r for r in rows if r.name == "ideal-bucket"), None)
    out = []
    for row in (r for r in rows if r.name.startswith(OURS)):
        out.append(
            check(
                row.finished and row.outcome.failed == 0,
                f"{scenario}, {row.name}: every call answered 200 ({row.outcome.ok}/{row.calls})",
            )
        )
        if base is not None and base.finished:
            out.append(
                check(
                    row.ratio <= base.ratio + slack,
                    f"{scenario}, {row.name}: {row.ratio:.3f}x ideal where the ideal "
                    f"bucket takes {base.ratio:.3f}x (target <= +{slack:g})",
                )
            )
        if "drew" in row.extra:
            out.append(
                check(
                    row.extra["drew"] == 0,
                    f"{scenario}, {row.name}: a start-up 429 in {row.extra['drew']} "
                    f"of {row.extra['runs']} fresh runs (target 0)",
                )
            )
    return out


# -- report -------------------------------------------------------------------------------------


def time_cell(row: Row) -> str:
    """Seconds, or ``timeout`` / ``errors`` with how far it got."""
    if row.finished:
        return f"{row.seconds:.2f}"
    o = row.outcome
    what = f"{len(o.errors)} errors" if o.errors else "timeout"
    return f"{what} ({o.ok + o.failed}/{row.calls} done)"


def table(rows: list[Row]) -> str:
    """One scenario as a Markdown table, one row per strategy."""
    lines = [
        (
            "| strategy | time, s | time / ideal | requests / call | 429 answers "
            "| calls answered 429 | peak requests / 1 s | calls given up |"
        ),
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        ratio = f"{r.ratio:.3f}x" if r.finished else f">= {r.ratio:.2f}x"
        lines.append(
            f"| {r.name} | {time_cell(r)} | {ratio} | {r.per_call:.3f} | {r.throttled:,} "
            f"| {r.calls_429} ({r.share_429:.1%}) | {r.peak} | {r.outcome.failed} |"
        )
    return "\n".join(lines)


def check(ok: bool, text: str) -> tuple[bool, str]:  # noqa: FBT001 - a pair, not a flag
    """A verdict line."""
    return ok, f"{'PASS' if ok else 'FAIL'}  {text}"


def checks_fast(
    row: Row, scenario: str, ratio: float, share: float, per_call: float | None
) -> list[tuple[bool, str]]:
    """Completion ratio, share of calls answered 429, and requests per call."""
    out = [
        check(
            row.finished and row.outcome.failed == 0,
            f"{scenario}, {row.name}: every call answered 200 "
            f"({row.outcome.ok}/{row.calls}, {row.outcome.failed} given up)",
        ),
        check(
            row.finished and row.ratio <= ratio,
            f"{scenario}, {row.name}: {row.ratio:.3f}x ideal (target <= {ratio:g}x; "
            f"{row.seconds:.2f} s for an ideal {row.ideal:.2f} s)",
        ),
        check(
            row.share_429 <= share,
            f"{scenario}, {row.name}: {row.share_429:.2%} of calls answered 429 "
            f"({row.calls_429}/{row.calls}; target <= {share:.1%})",
        ),
    ]
    if per_call is not None:
        out.append(
            check(
                row.per_call <= per_call,
                f"{scenario}, {row.name}: {row.per_call:.3f} requests per call "
                f"(target <= {per_call:g})",
            )
        )
    return out


def checks3(row: Row) -> list[tuple[bool, str]]:
    """Scenario 3's targets: few 429s and no second burst."""
    limit = int(RATE) + PEAK_SLACK
    return [
        check(
            row.finished and row.outcome.failed == 0,
            f"scenario 3, {row.name}: every call answered 200 ({row.outcome.ok}/{row.calls})",
        ),
        check(
            row.share_429 <= 0.01,
            f"scenario 3, {row.name}: {row.share_429:.2%} of calls answered 429 "
            f"({row.calls_429}/{row.calls}; target <= 1.0%)",
        ),
        check(
            row.peak <= limit,
            f"scenario 3, {row.name}: peak {row.peak} requests in 1 s around and after "
            f"the restart (target <= {limit}: no second burst)",
        ),
    ]


def verdicts(results: dict[int, list[Row]]) -> tuple[list[str], bool]:
    """PASS/FAIL lines for safe_release's rows, and whether all passed."""
    found: list[tuple[bool, str]] = []
    for number, rows in results.items():
        if number == 5:
            found += [c for r in rows if r.name == f"{OURS} (ride out)" for c in checks5(r)]
            continue
        if number in {6, 7}:
            found += checks_costs(rows, f"scenario {number}", 0.01 if number == 6 else 0.02)
            continue
        if number == 8:
            found += [
                c
                for r in rows
                if r.name == OURS
                for c in checks_fast(r, "scenario 8 (Walmart)", 1.03, 0.005, 1.01)
            ]
            continue
        for row in (r for r in rows if r.name.startswith(OURS)):
            if number in {1, 4}:
                name = "scenario 1" if number == 1 else "scenario 4 (async)"
                found += checks_fast(row, name, 1.03, 0.005, 1.01)
            elif number == 2:
                found += checks_fast(row, "scenario 2", 1.05, 0.01, None)
            else:
                found += checks3(row)
    return [text for _, text in found], all(ok for ok, _ in found)


TITLES = {
    1: "Scenario 1: 16 threads, one process, in-memory limiter",
    2: "Scenario 2: 4 processes x 4 threads on one quota (safe_release: `StoreLimiter`)",
    3: "Scenario 3: restart after a rollback, bucket drained (safe_release: `StoreLimiter`)",
    4: "Scenario 4: async, 200 concurrent tasks, in-memory limiter",
    5: "Scenario 5: a 5 s outage (503 to everything), 16 threads",
    6: "Scenario 6: a fresh bucket against integer Retry-After, 16 threads",
    7: "Scenario 7: the server's rate drops 40/s -> 10/s, 16 threads",
    8: "Scenario 8: Walmart's replenishing bucket and token headers, 16 threads",
}


def scenario_text(number: int, rows: list[Row], sizes: Sizes) -> str:
    """One scenario's heading line, sizes and table."""
    ideal = rows[0].ideal if rows else 0.0
    what = {
        1: f"{sizes.calls1} calls, ideal (calls - burst) / rate = {ideal:.2f} s",
        2: f"{sizes.calls2} calls, ideal {ideal:.2f} s",
        3: (
            f"{sizes.calls3} calls after the restart, ideal calls / rate = {ideal:.2f} s; "
            f"the previous run ran {sizes.drain3:g} s; peak counts every request from 1 s "
            "before the restart"
        ),
        4: (
            f"{sizes.calls1} calls, ideal {ideal:.2f} s; botocore has no async surface, and "
            "by default only the naive peer runs here (`--all-async-peers` runs the others)"
        ),
        5: (
            f"{sizes.calls5} calls; the server answers 503 to everything from {OUTAGE_AT:g} s "
            f"to {OUTAGE_AT + OUTAGE_FOR:g} s after the start (its quota refills meanwhile); "
            f"ideal {ideal:.2f} s (full pace before and after, the burst again at the "
            f"recovery); full pace: a 1 s window with >= {FULL_PACE:.0%} of the rate in 200s; "
            "tenacity retries 429 and 5xx here; safe_release fails fast (the default) or "
            'rides out (`CircuitBreaker(outage="ride_out")`)'
        ),
        6: (
            f"{sizes.calls6} calls, ideal {ideal:.2f} s; the server rounds Retry-After up to "
            f"whole seconds; start-up 429s are counted over {sizes.runs6} more fresh runs of "
            f"{STARTUP_CALLS} calls each (a 429 within the first second). The ideal bucket "
            "paces at exactly the quota and waits the server's exact wait after a 429"
        ),
        7: (
            f"{sizes.calls7} calls, the rate header says 40 until {DROP_AT:g} s, then "
            f"{DROP_TO:g}; integer Retry-After; ideal {ideal:.2f} s. The ideal bucket applies "
            "a new rate to every slot not yet sent; safe_release reads the header as a hint"
        ),
        8: (
            f"{sizes.calls8} calls, ideal (calls - burst) / rate = {ideal:.2f} s. The server "
            "speaks Walmart's throttle dialect: its bucket refills one token every 1/rate s, "
            f"every answer (200 and 429) carries `{COUNT_HEADER}` (whole tokens left after the "
            f"request) and `{REPLENISH_HEADER}` (epoch ms of the next token), and a 429 carries "
            "`REQUEST_THRESHOLD_VIOLATED.GMP_GATEWAY_API` in an `errors.error` body and no "
            f"`Retry-After`. The quota is scenario 1's ({RATE:g}/s, burst {BURST}), not "
            "Walmart's per-minute ones, which would make a run last many minutes; the model "
            "and the signals are Walmart's. safe_release reads the headers through the base "
            "adapter's `replenish_hint` (judged), and once more ignoring them (not judged); "
            "no peer reads them (botocore looks for `x-amz-retry-after`, tenacity for "
            "nothing); the ideal bucket waits the server's exact wait after a 429. The "
            "sp-api policy, an Amazon client, is left out"
        ),
    }[number]
    notes = "".join(f"\n\n- {r.name}: {note}" for r in rows for note in r.notes)
    body = (
        table5(rows)
        if number == 5
        else (table_costs(rows, number == 6) if number in {6, 7} else table(rows))
    )
    return f"### {TITLES[number]}\n\n{what}.\n\n{body}{notes}"


def installed(name: str) -> str:
    """A distribution's version, or ``(not installed)``."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "(not installed)"


def revision() -> str:
    """The git commit measured, and whether ``src/`` had uncommitted changes."""
    git, root = shutil.which("git"), DOCS.parent.parent
    if git is None:
        return "no git"
    head = subprocess.run(
        [git, "rev-parse", "--short", "HEAD"],
        cwd=root,
        check=False,
        capture_output=True,
        text=True,
    ).stdout.strip()
    dirty = subprocess.run(
        [git, "status", "--porcelain", "--", "src"],
        cwd=root,
        check=False,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return f"git {head or '?'}" + (" + uncommitted changes in src/" if dirty else "")


def versions() -> str:
    """The libraries compared."""
    found = [f"{name} {installed(name)}" for name in ("httpx", "tenacity", "botocore")]
    ours = f"safe_release {sr.__version__} ({revision()})"
    return f"Python {platform.python_version()}, {', '.join(found)}, {ours}"


def header(sizes: Sizes, stores: list[tuple[str, str]], db_versions: list[str]) -> list[str]:
    """Who measured what, where."""
    kind = "quick" if sizes is QUICK else "full"
    system = f"{platform.system()} {platform.release()}"
    return [
        versions(),
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, {system}",
        (
            f"Server: ThreadingHTTPServer on 127.0.0.1 in its own process, token bucket "
            f"{RATE:g}/s burst {BURST}, 429 + Retry-After (decimal seconds; whole seconds, "
            "rounded up, in scenarios 6 and 7) when empty; in scenario 8, Walmart's "
            f"`{COUNT_HEADER}` / `{REPLENISH_HEADER}` on every answer and a 429 without "
            "Retry-After"
        ),
        "Store-backed limiter: " + (", ".join(db_versions) or "none"),
        (
            f"Sizes: {kind} ({sizes.calls1} / {sizes.calls2} / {sizes.calls3} calls, "
            f"{sizes.threads} threads, {sizes.procs} processes, {sizes.tasks} tasks)"
        ),
        *([] if stores else ["SKIP store-backed runs: no database"]),
    ]


def peers_text() -> str:
    """How the peers are configured."""
    return (
        f"Peers: tenacity with `stop_after_attempt({ATTEMPTS})`, multiplier "
        f"{BACKOFF_BASE:g} s and max {BACKOFF_CAP:g} s (safe_release's own backoff "
        f"defaults); botocore adaptive mode with `max_attempts={ATTEMPTS}` (it reads "
        "`x-amz-retry-after`, not `Retry-After`); the sp-api `throttle_retry` policy "
        f"({ATTEMPTS} tries, {SPAPI_DELAY:g} s x {SPAPI_RATE:g}^n, no jitter) with its delays "
        f"scaled by {SPAPI_SCALE:g} ({SPAPI_DELAY * SPAPI_SCALE:g} s x {SPAPI_RATE:g}^n) to keep "
        "the run bounded, and a per-call try counter (the library's is shared by all calls). "
        f"A peer's budget is {PEER_BUDGET:g}x the ideal time + {BUDGET_FLOOR:g} s; past it "
        "the run is reported as `timeout`. Only safe_release is judged. A call 'answered "
        "429' got at least one 429; 'given up' calls ran out of tries (or retry quota)."
    )


def docs_section(
    head: list[str], body: str, lines: list[str], command: str, runtime: float
) -> str:
    """The Markdown written between the markers in ``docs/performance.md``."""
    date = datetime.now(tz=timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    info = "\n".join(f"- {line}" for line in head)
    verdict = "\n".join(lines)
    return (
        "## Marketplace throttling\n\n"
        f"Measured {date} with `{command}` ({runtime:.0f} s).\n\n"
        f"{info}\n\n{peers_text()}\n\n{body}\n\n"
        f"```text\n{verdict}\n```\n"
    )


def engine_for(url: str) -> sa.Engine:
    """A plain engine on ``url`` (``postgresql://`` means psycopg 3, as in the SDK)."""
    parsed = sa.make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return sa.create_engine(parsed)


def db_version(label: str, url: str) -> str:
    """The database behind the store-backed limiter."""
    engine = engine_for(url)
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                return f"{label} {conn.exec_driver_sql('select sqlite_version()').scalar_one()}"
            version = conn.exec_driver_sql("SHOW server_version").scalar_one()
            fsync = conn.exec_driver_sql("SHOW fsync").scalar_one()
            return f"{label} {str(version).split()[0]} (fsync={fsync})"
    finally:
        engine.dispose()


def drop_schemas(url: str) -> None:
    """Drop the throw-away schemas this run created on PostgreSQL."""
    engine = engine_for(url)
    try:
        with engine.begin() as conn:
            found = (
                conn.execute(
                    sa.text("SELECT nspname FROM pg_namespace WHERE nspname LIKE :p"),
                    {"p": f"sr_bench_throttle_{os.getpid()}_%"},
                )
                .scalars()
                .all()
            )
            for schema in found:
                conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        engine.dispose()


# -- main ----------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = common_parser(__doc__ or "")
    parser.add_argument(
        "--scenarios", default="1,2,3,4,5,6,7,8", help="which to run (default: all)"
    )
    parser.add_argument(
        "--strategies", default=",".join(SYNC), help="which strategies to run (default: all)"
    )
    parser.add_argument(
        "--all-async-peers",
        action="store_true",
        help="scenario 4: run every async peer, not just the naive one",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 when every target passes, 1 when one fails."""
    args = parse_args(argv)
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="sr-throttle-")))
        stores = [("SQLite", f"sqlite:///{tmp}/probe.db")]
        url = postgres_url(args, stack)
        if url is not None:
            stores.append(("PostgreSQL", url))
            stack.callback(drop_schemas, url)
        return _run(args, tmp, stores)


def _run(args: argparse.Namespace, tmp: Path, stores: list[tuple[str, str]]) -> int:
    """Measure every scenario, print the report, write the docs when asked."""
    began = time.monotonic()
    sizes = QUICK if args.quick else FULL
    wanted = [int(n) for n in args.scenarios.split(",")]
    strategies = tuple(s for s in SYNC if s in args.strategies.split(","))
    ctx = mp.get_context("spawn")
    server = Server(ctx)
    bench = Bench(
        server,
        sizes,
        ctx,
        tmp,
        stores,
        strategies,
        tuple(ASYNC) if args.all_async_peers else ASYNC_PEERS,
    )
    runners = {
        1: scenario1,
        2: scenario2,
        3: scenario3,
        4: scenario4,
        5: scenario5,
        6: scenario6,
        7: scenario7,
        8: scenario8,
    }
    print("bench_throttle: measuring ...", flush=True)
    try:
        results = {n: runners[n](bench) for n in wanted}
    finally:
        server.close()
    head = header(sizes, stores, [db_version(label, u) for label, u in stores])
    body = "\n\n".join(scenario_text(n, rows, sizes) for n, rows in results.items())
    lines, ok = verdicts(results)
    runtime = time.monotonic() - began
    print(
        "\n"
        + "\n".join(head)
        + "\n\n"
        + body
        + "\n\n"
        + "\n".join(lines)
        + f"\n\nruntime {runtime:.0f} s"
    )
    if args.write_docs:
        command = "python benchmarks/bench_throttle.py" + (" --quick" if args.quick else "")
        write_docs("bench_throttle", docs_section(head, body, lines, command, runtime))
        print(f"\nwrote {DOCS}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""One deadline per call attempt: connect, send, headers and the whole body.

httpx's timeouts are per network operation, so a server that answers one byte
at a time never trips them. `send_within` gives each operation only what is left
of the attempt and reads the body chunk by chunk against it; `asend_within`
bounds the whole attempt with asyncio. A sync call whose server drips the status
line and headers themselves is bounded per read only (httpx cannot interrupt a
blocking read from outside): see docs/adapters.md.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from collections.abc import Coroutine, Iterator, Mapping

__all__ = ["asend_within", "send_within"]

_TIMEOUTS = ("connect", "read", "write", "pool")
_SENDING = frozenset({"http11.send_request_headers.started", "http2.send_request_headers.started"})
_MIN_OP_S = 0.001  # a socket timeout of 0 would mean "non-blocking", not "no time left"
_SLACK_S = 0.01  # an operation's timeout this close to the deadline is the deadline


class _Deadline:
    """One attempt's deadline in real time: each network operation gets only what is left."""

    def __init__(self, request: httpx.Request, seconds: float) -> None:
        self.request, self.seconds = request, seconds
        self.end = time.monotonic() + seconds
        self.traced = self.sending = False
        self.raised: httpx.TimeoutException | None = None
        self.arm()

    def left(self) -> float:
        return self.end - time.monotonic()

    def arm(self) -> None:
        """Give the next network operation (httpcore reads these per phase) what is left."""
        self.request.extensions["timeout"] = dict.fromkeys(_TIMEOUTS, max(self.left(), _MIN_OP_S))

    def trace(self, event: str, info: Mapping[str, Any]) -> None:
        """httpcore's ``trace`` extension: note the phase, re-arm at the start of each."""
        del info
        self.traced = True
        self.sending = self.sending or event in _SENDING
        if event.endswith(".started"):
            self.arm()

    async def atrace(self, event: str, info: Mapping[str, Any]) -> None:
        self.trace(event, info)

    def cut(self, kind: type[httpx.TimeoutException] | None = None) -> httpx.TimeoutException:
        """The error for an attempt cut at its deadline (ConnectTimeout: nothing was sent)."""
        if kind is None:  # cut from outside: sent unless httpcore showed it was not
            kind = httpx.ConnectTimeout if self.traced and not self.sending else httpx.ReadTimeout
        msg = (
            f"no complete answer within {self.seconds:.3g} s: one attempt gets the adapter's "
            "timeout= and never more than what is left of RetryPolicy(deadline=…)"
        )
        self.raised = kind(msg, request=self.request)
        return self.raised


class _BoundedStream(httpx.SyncByteStream):
    """A response body read chunk by chunk against the attempt's deadline."""

    def __init__(self, stream: httpx.SyncByteStream, limit: _Deadline) -> None:
        self._stream, self._limit = stream, limit

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._stream:
            if self._limit.left() <= 0:
                raise self._limit.cut(httpx.ReadTimeout)
            yield chunk

    def close(self) -> None:
        self._stream.close()


def send_within(client: httpx.Client, request: httpx.Request, seconds: float) -> httpx.Response:
    """Send ``request`` and read its whole answer within ``seconds`` (real time), or raise.

    Connecting, sending and each read get only the time left (httpx's timeouts
    are per operation), and the body is read chunk by chunk against the deadline,
    so a server that drips its answer is cut. Raises an ``httpx.TimeoutException``
    (``ConnectTimeout`` when nothing was sent).
    """
    limit = _Deadline(request, seconds)
    if limit.left() <= 0:
        raise limit.cut(httpx.ConnectTimeout)
    request.extensions["trace"] = limit.trace
    try:
        response = client.send(request, stream=True)
        try:
            if isinstance(response.stream, httpx.SyncByteStream):
                response.stream = _BoundedStream(response.stream, limit)
            response.read()
        except BaseException:
            response.close()
            raise
    except httpx.TimeoutException as exc:
        if exc is limit.raised or limit.left() > _SLACK_S:
            raise  # httpx's own timeout of one operation, well before the deadline
        raise limit.cut(type(exc)) from exc
    return response


async def asend_within(
    client: httpx.AsyncClient, request: httpx.Request, seconds: float
) -> httpx.Response:
    """`send_within` for asyncio: the whole attempt, headers included, is bounded."""
    limit = _Deadline(request, seconds)
    if limit.left() <= 0:
        raise limit.cut(httpx.ConnectTimeout)
    request.extensions["trace"] = limit.atrace
    try:
        return await _within(_send_and_read(client, request), limit.left())
    except asyncio.TimeoutError:
        raise limit.cut() from None
    except httpx.TimeoutException as exc:
        if limit.left() > _SLACK_S:
            raise  # httpx's own timeout of one operation, well before the deadline
        raise limit.cut(type(exc)) from exc


async def _within(work: Coroutine[Any, Any, httpx.Response], seconds: float) -> httpx.Response:
    if sys.version_info >= (3, 11):  # no extra task: the caller's turn order is kept
        async with asyncio.timeout(seconds):
            return await work
    return await asyncio.wait_for(work, seconds)


async def _send_and_read(client: httpx.AsyncClient, request: httpx.Request) -> httpx.Response:
    response = await client.send(request, stream=True)
    try:
        await response.aread()
    except BaseException:
        await response.aclose()
        raise
    return response

"""The wire and the call log every fake marketplace shares: the base of its ``Fake`` class.

`FakeCore` answers requests through the fake's gateway (after the latency fault,
under the fake's lock), keeps the call log and offers the transports, ``serve()``
and the inspection of writes.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

import httpx

from safe_release.testing._clock import FakeClock
from safe_release.testing._fault_core import FaultsCore
from safe_release.testing._serve import serve

if TYPE_CHECKING:
    import contextlib
    from collections.abc import Callable, Sequence

    from safe_release._clock import Clock
    from safe_release.testing._amazon._values import Call

__all__ = ["FakeCore", "Gateway"]

F = TypeVar("F", bound=FaultsCore)


class Gateway(Protocol):
    """What answers a request at one fake: the response and its call-log entry."""

    def handle(self, request: httpx.Request, now: float) -> tuple[httpx.Response, Call]:
        """Answer ``request`` at ``now`` (the caller holds the fake's lock)."""
        ...  # pragma: no cover - a protocol


class FakeCore(Generic[F]):
    """A fake's clock, faults, lock, call log and wire; the subclass sets ``_gateway``.

    ``name`` is the fake's class name (in messages), ``check_operation`` validates
    the operation `writes` takes, and ``duplicate_report`` describes the duplicate
    writes of a call log (``None`` when there are none).
    """

    _gateway: Gateway

    def __init__(
        self,
        clock: Clock | None,
        faults: F,
        *,
        name: str,
        check_operation: Callable[[str], str],
        duplicate_report: Callable[[Sequence[Call]], str | None],
    ) -> None:
        self.clock: Clock = clock if clock is not None else FakeClock()
        self.faults = faults
        self._lock = threading.RLock()
        self._calls: list[Call] = []
        self._name = name
        self._check_operation = check_operation
        self._duplicate_report = duplicate_report
        self._transport = httpx.MockTransport(self.handler)

    # -- the wire ------------------------------------------------------------------

    def handler(self, request: httpx.Request) -> httpx.Response:
        """Answer one request (the function behind `transport` and `serve`)."""
        self._wait(self.faults.latency)
        with self._lock:
            response, call = self._gateway.handle(request, self.clock.time())
            self._calls.append(call)
        if call.lost:
            msg = f"{self._name}: the write was applied but its answer was lost (ambiguous_next)"
            raise httpx.ReadTimeout(msg, request=request)
        return response

    @property
    def transport(self) -> httpx.MockTransport:
        """An httpx transport for ``httpx.Client(transport=...)``."""
        return self._transport

    @property
    def async_transport(self) -> httpx.MockTransport:
        """The same transport, for ``httpx.AsyncClient(transport=...)``."""
        return self._transport

    def serve(self) -> contextlib.AbstractContextManager[str]:
        """Run this fake as an HTTP server on 127.0.0.1; the context yields the base URL."""
        return serve(self.handler, name=self._name)

    def _wait(self, seconds: float) -> None:
        if seconds <= 0:
            return
        if isinstance(self.clock, FakeClock):
            self.clock.advance(seconds)
        else:
            self.clock.sleep(seconds)

    # -- inspection ----------------------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        """Every request answered so far, oldest first (a copy)."""
        with self._lock:
            return list(self._calls)

    def writes(self, operation: str | None = None) -> list[Call]:
        """Writes that changed state, whatever the client heard (a lost answer, a 504)."""
        if operation is not None:
            self._check_operation(operation)
        return [c for c in self.calls if c.applied and operation in {None, c.operation}]

    def reset_calls(self) -> None:
        """Forget the call log (state, quotas and faults stay)."""
        with self._lock:
            self._calls.clear()

    def assert_no_duplicate_writes(self) -> None:
        """Raise AssertionError listing every write applied more than once.

        What counts as a duplicate is the fake's own: on `FakeEbay` only a
        non-idempotent write can be one.
        """
        report = self._duplicate_report(self.calls)
        if report is not None:
            raise AssertionError(report)

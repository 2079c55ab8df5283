"""The adapter base's signing step, skew correction and outage verdict.

A tiny adapter over ``httpx.MockTransport`` signs with an HMAC of path and
timestamp, as Shopee and Lazada do; the scripted server checks the signature
and a 300 s timestamp window against its own (fake) clock, answers errors
inside 200 bodies, and can declare a campaign-style outage. Fake clock only.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from datetime import datetime, timezone
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

from safe_release._ledger._entries import _redacted_query
from safe_release.adapters import (
    CircuitBreaker,
    MarketplaceAdapter,
    Operation,
    RetryPolicy,
    Verdict,
)
from safe_release.adapters._core import Authorize, Caller, Sign, advance
from safe_release.exceptions import (
    CircuitOpenError,
    InvalidArgumentError,
    MarketplaceHTTPError,
)
from safe_release.testing import FakeClock

KEY = b"partner-key"
WINDOW = 300.0


def sign_of(path: str, timestamp: int) -> str:
    return hmac.new(KEY, f"{path}{timestamp}".encode(), hashlib.sha256).hexdigest()


class Server:
    """A scripted marketplace: checks every signature and timestamp, errors in 200 bodies."""

    def __init__(self, clock: FakeClock, *, offset: float = 0.0) -> None:
        self.clock = clock
        self.offset = offset  # the server's clock minus ours
        self.requests: list[httpx.Request] = []
        self.script: list[dict[str, Any]] = []  # answers to give first, in order
        self.date = True  # send a Date header

    def now(self) -> float:
        return self.clock.time() + self.offset

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        headers = {}
        if self.date:
            when = datetime.fromtimestamp(self.now(), tz=timezone.utc)
            headers["date"] = format_datetime(when, usegmt=True)
        if self.script:
            return httpx.Response(200, json=self.script.pop(0), headers=headers)
        if request.url.path.startswith("/signed"):
            params = request.url.params
            stamp = int(params.get("timestamp", "0"))
            if params.get("sign") != sign_of(request.url.path, stamp):
                return httpx.Response(200, json={"error": "sign"}, headers=headers)
            if abs(stamp - self.now()) > WINDOW:
                return httpx.Response(200, json={"error": "timestamp"}, headers=headers)
        return httpx.Response(200, json={"ok": True}, headers=headers)


class Signed(MarketplaceAdapter):
    """Signs ``/signed*`` operations; reads errors from the 200 body."""

    marketplace = "signed"
    operations = {  # noqa: RUF012 - declarations, read-only by convention
        "read": Operation.declare("read", "GET", "/signed/read", rate=100, burst=100, signing="s"),
        "plain": Operation.declare("plain", "GET", "/plain", rate=100, burst=100),
    }

    def __init__(self, server: Server, **options: Any) -> None:
        super().__init__(
            base_url="https://signed.test",
            seller="s1",
            app="a1",
            transport=httpx.MockTransport(server),
            clock=server.clock,
            **options,
        )
        self.steps: list[str] = []
        self.pause: float = 30.0

    def authorize(self, request: httpx.Request, *, stale: object | None = None) -> object:
        del request, stale
        self.steps.append("authorize")
        return "tok"

    def sign(self, request: httpx.Request, scheme: str, token: object) -> None:
        assert (scheme, token) == ("s", "tok")
        self.steps.append("sign")
        stamp = int(self.clock.time() + self.time_offset)
        request.url = request.url.copy_merge_params(
            {"timestamp": stamp, "sign": sign_of(request.url.path, stamp)}
        )

    def classify(self, response: httpx.Response) -> Verdict:
        error = response.json().get("error")
        return {
            None: Verdict.OK,
            "timestamp": Verdict.SKEWED,
            "ban": Verdict.THROTTLED,
            "998": Verdict.OUTAGE,
            "busy": Verdict.SERVER,
        }.get(error, Verdict.FAILED)

    def retry_after(self, response: httpx.Response) -> float | None:
        ban = response.json().get("ban_seconds")
        return float(ban) if isinstance(ban, (int, float)) else None

    def outage_pause(self, response: httpx.Response) -> float:
        del response
        return self.pause


@pytest.fixture(name="server")
def fixture_server() -> Server:
    return Server(FakeClock())


class TestDeclaration:
    def test_signing_is_declared(self) -> None:
        """signing= names the scheme; the default is None."""
        assert Signed.operations["read"].signing == "s"
        assert Signed.operations["plain"].signing is None

    @pytest.mark.parametrize("bad", ["", 3, b"s"])
    def test_bad_signing_is_refused(self, bad: Any) -> None:
        with pytest.raises(InvalidArgumentError, match="signing="):
            Operation.declare("x", "GET", "/x", rate=1, burst=1, signing=bad)


class TestSigning:
    def test_sign_follows_authorize(self, server: Server) -> None:
        """A signed operation is authorized, then signed; the server accepts it."""
        adapter = Signed(server)
        assert adapter.call("read").json() == {"ok": True}
        assert adapter.steps == ["authorize", "sign"]
        assert server.requests[0].url.params["sign"] == sign_of("/signed/read", int(server.now()))

    def test_unsigned_operation_is_not_signed(self, server: Server) -> None:
        adapter = Signed(server)
        adapter.call("plain")
        assert adapter.steps == ["authorize"]
        assert "sign" not in server.requests[0].url.params

    def test_every_attempt_is_signed_afresh(self, server: Server) -> None:
        """A retry after a server error carries a new timestamp and signature."""
        server.script = [{"error": "busy"}]
        adapter = Signed(server)
        adapter.call("read")
        assert adapter.steps == ["authorize", "sign"] * 2
        first, second = (r.url.params for r in server.requests)
        assert int(second["timestamp"]) >= int(first["timestamp"])
        assert len(second.get_list("sign")) == 1  # replaced, not appended

    def test_core_yields_sign_after_authorize(self) -> None:
        """The sans-IO core's actions: Authorize, then Sign with the token, then Send."""
        clock = FakeClock()
        adapter = Signed(Server(clock))
        op = adapter.operation("read")
        caller: Caller = adapter._caller
        plan = caller.plan(op, adapter.build_request(op), adapter.quota_key(op))
        action, _ = advance(plan, None)
        assert isinstance(action, Authorize)
        action, _ = advance(plan, "tok")
        assert action == Sign(action.request, "s", "tok")
        plan.close()

    def test_signature_never_reaches_the_ledger(self) -> None:
        """The journal's query masks ``sign`` (and tokens)."""
        url = httpx.URL("https://x.test/p?partner_id=1&timestamp=2&sign=abc&access_token=t")
        shown = _redacted_query(url)
        assert "abc" not in shown
        assert "sign=%2A%2A%2A" in shown or "sign=***" in shown
        assert "access_token=t" not in shown
        assert "timestamp=2" in shown


class TestSkew:
    def test_skew_is_corrected_once_from_the_date_header(self, server: Server) -> None:
        """Our clock 10 min behind: one SKEWED answer, offset from Date, one resend."""
        server.offset = 600.0
        adapter = Signed(server)
        assert adapter.call("read").json() == {"ok": True}
        assert len(server.requests) == 2
        assert adapter.time_offset == pytest.approx(600.0, abs=1.0)
        adapter.call("read")  # the correction stays
        assert len(server.requests) == 3

    def test_a_second_skew_raises_without_blind_retries(self, server: Server) -> None:
        """Still skewed after the correction: the marketplace's error, after 2 requests."""
        server.script = [{"error": "timestamp"}] * 5
        adapter = Signed(server)
        with pytest.raises(MarketplaceHTTPError):
            adapter.call("read")
        assert len(server.requests) == 2

    def test_no_date_header_raises_at_once(self, server: Server) -> None:
        """correct_skew cannot tell: the error is raised after one request."""
        server.offset, server.date = 600.0, False
        adapter = Signed(server)
        with pytest.raises(MarketplaceHTTPError):
            adapter.call("read")
        assert len(server.requests) == 1
        assert adapter.time_offset == 0.0

    @pytest.mark.parametrize("date", ["garbage", "Mon, 99 Foo 2026 00:00:00", "0"])
    def test_garbage_date_header_cannot_correct(self, server: Server, date: str) -> None:
        adapter = Signed(server)
        response = httpx.Response(200, headers={"date": date})
        assert adapter.correct_skew(response) is False
        assert adapter.time_offset == 0.0

    def test_skewed_attempts_do_not_count(self, server: Server) -> None:
        """A skew correction does not use one of the call's attempts."""
        server.offset = 600.0
        server.script = [{"error": "busy"}]
        adapter = Signed(server, retry=RetryPolicy(max_attempts=2))
        assert adapter.call("read").json() == {"ok": True}  # busy, skewed, ok
        assert len(server.requests) == 3


class TestOutage:
    def test_outage_opens_the_breaker_at_once(self, server: Server) -> None:
        """998: CircuitOpenError chained to the marketplace error; nothing more is sent."""
        server.script = [{"error": "998"}]
        adapter = Signed(server)
        with pytest.raises(CircuitOpenError) as caught:
            adapter.call("read")
        assert isinstance(caught.value.__cause__, MarketplaceHTTPError)
        assert caught.value.retry_at == pytest.approx(server.clock.monotonic() + 30.0)
        assert adapter.breaker.state == "open"
        with pytest.raises(CircuitOpenError):
            adapter.call("read")
        assert len(server.requests) == 1
        server.clock.advance(30.0)
        assert adapter.call("read").json() == {"ok": True}  # the probe closes it

    @pytest.mark.parametrize("pause", [math.nan, -1.0, 0.0, math.inf, "5"])
    def test_garbage_pause_means_the_default(self, server: Server, pause: Any) -> None:
        server.script = [{"error": "998"}]
        adapter = Signed(server)
        adapter.pause = pause
        with pytest.raises(CircuitOpenError) as caught:
            adapter.call("read")
        assert caught.value.retry_at == pytest.approx(server.clock.monotonic() + 300.0)

    def test_huge_pause_is_capped(self, server: Server) -> None:
        server.script = [{"error": "998"}]
        adapter = Signed(server)
        adapter.pause = 1e9
        with pytest.raises(CircuitOpenError) as caught:
            adapter.call("read")
        assert caught.value.retry_at == pytest.approx(server.clock.monotonic() + 86_400.0)

    def test_riding_out_waits_for_the_service(self, server: Server) -> None:
        """ride_out: the call waits behind the open circuit and succeeds when it is back."""
        server.script = [{"error": "998"}]
        clock = server.clock
        breaker = CircuitBreaker(clock=clock, outage="ride_out")
        adapter = Signed(server, breaker=breaker)
        adapter.pause = 5.0
        start = clock.monotonic()
        assert adapter.call("read").json() == {"ok": True}
        assert clock.monotonic() - start >= 5.0
        assert len(server.requests) == 2

    def test_riding_out_past_the_deadline_raises_the_marketplace_error(
        self, server: Server
    ) -> None:
        server.script = [{"error": "998"}]
        breaker = CircuitBreaker(clock=server.clock, outage="ride_out")
        adapter = Signed(server, breaker=breaker, retry=RetryPolicy(deadline=10.0))
        adapter.pause = 300.0
        with pytest.raises(MarketplaceHTTPError) as caught:
            adapter.call("read")
        assert isinstance(caught.value.__cause__, CircuitOpenError)
        assert len(server.requests) == 1


class TestBodyThrottling:
    def test_ban_pauses_the_bucket(self, server: Server) -> None:
        """A 200 that says "ban will last 7 s": the resend waits 7 s, no blind retry."""
        server.script = [{"error": "ban", "ban_seconds": 7}]
        adapter = Signed(server)
        start = server.clock.monotonic()
        adapter.call("read")
        assert len(server.requests) == 2
        assert server.clock.monotonic() - start >= 7.0

    def test_endless_ban_stops_after_max_attempts(self, server: Server) -> None:
        server.script = [{"error": "ban", "ban_seconds": 1}] * 10
        adapter = Signed(server, retry=RetryPolicy(max_attempts=3))
        with pytest.raises(MarketplaceHTTPError):
            adapter.call("read")
        assert len(server.requests) == 3


class TestTrip:
    def test_trip_opens_for_the_given_seconds(self) -> None:
        clock = FakeClock()
        breaker = CircuitBreaker(clock=clock)
        assert breaker.trip(60.0) == pytest.approx(clock.monotonic() + 60.0)
        assert breaker.state == "open"
        clock.advance(60.0)
        assert breaker.state == "half_open"

    def test_a_shorter_trip_keeps_the_longer_pause(self) -> None:
        clock = FakeClock()
        breaker = CircuitBreaker(clock=clock)
        until = breaker.trip(600.0)
        assert breaker.trip(5.0) == until

    @pytest.mark.parametrize("bad", [0, -1, math.nan, math.inf, True, "5"])
    def test_bad_seconds_are_refused(self, bad: Any) -> None:
        with pytest.raises(InvalidArgumentError):
            CircuitBreaker(clock=FakeClock()).trip(bad)

"""Issue 11, M4: one overall deadline per call attempt, whatever the server does.

The servers here run on 127.0.0.1: one answers headers and then drips one body
byte every 0.2 s for ever (httpx's per-operation read timeout never trips), one
accepts and never answers. Before the fix a call against the drip server never
ended. Each call runs under a watchdog: a regression fails the test instead of
hanging it, and nothing here asserts a duration, so a busy machine cannot fail it.
"""

from __future__ import annotations

import asyncio
import socketserver
import threading
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from safe_release._backoff import RetryPolicy
from safe_release.adapters import Inverse, Secret, TokenGrant, TokenProvider
from safe_release.adapters._deadline import asend_within, send_within
from safe_release.adapters.amazon import AmazonAdapter
from safe_release.exceptions import (
    AmbiguousWriteError,
    InvalidArgumentError,
    MarketplaceTimeoutError,
    TokenRefreshError,
)
from safe_release.testing import FakeClock

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

WATCHDOG_S = 120.0  # the fixed code ends within ~4 s; only a hang reaches this
DRIP_EVERY_S = 0.2
SELLER, SKU, MARKETPLACE = "A1SELLER", "SKU-1", "ATVPDKIKX0DER"


class _Handler(socketserver.BaseRequestHandler):
    server: _SlowServer

    def handle(self) -> None:
        self.request.settimeout(WATCHDOG_S)
        try:
            self._read_request()
            if self.server.mode == "silent":
                self.server.stopped.wait()
                return
            self.request.sendall(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                b"content-length: 1000000000\r\n\r\n{"
            )
            while not self.server.stopped.wait(DRIP_EVERY_S):
                self.request.sendall(b" ")
        except OSError:
            return  # the client hung up: that is the point

    def _read_request(self) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self.request.recv(65536)
            if not chunk:
                raise ConnectionResetError
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(body) < length:
            body += self.request.recv(65536)
        self.server.methods.append(head.split(b" ", 1)[0].decode())


class _SlowServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, mode: str) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.mode, self.methods, self.stopped = mode, list[str](), threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture(name="server", params=["drip", "silent"])
def _server(request: pytest.FixtureRequest) -> Iterator[_SlowServer]:
    """A loopback server that drips its answer for ever, or never answers."""
    server = _SlowServer(request.param)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield server
    server.stopped.set()
    server.shutdown()
    server.server_close()
    thread.join(WATCHDOG_S)


def finish(work: Callable[[], Any], server: _SlowServer) -> Any:
    """Run ``work`` under the watchdog; re-raise what it raised, fail if it hangs."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = work()
        except BaseException as exc:  # noqa: BLE001 - handed to the test's pytest.raises
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(WATCHDOG_S)
    if thread.is_alive():
        server.stopped.set()  # let the hung call end once the test has failed
        pytest.fail(f"the call was still running after {WATCHDOG_S:g} s: no overall deadline")
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def amazon(base_url: str, *, token_url: str | None = None, **options: Any) -> AmazonAdapter:
    """An AmazonAdapter on real loopback sockets, timeout=1 and RetryPolicy(deadline=3)."""
    adapter = AmazonAdapter(
        seller_id=SELLER,
        client_id="amzn1.application-oa2-client.test",
        client_secret="client-secret",  # noqa: S106 - a test value
        refresh_token="Atzr|refresh",  # noqa: S106 - a test value
        marketplace_id=MARKETPLACE,
        base_url=base_url,
        token_url=token_url or base_url + "/auth/o2/token",
        timeout=1.0,
        retry=RetryPolicy(deadline=3.0),
        **options,
    )
    if token_url is None:  # a valid access token: only the marketplace call is slow
        adapter.tokens = TokenProvider(
            lambda: TokenGrant(access_token=Secret("Atza|access"), expires_in=3600.0)
        )
    return adapter


def patch_body(price: str) -> dict[str, Any]:
    """A patchListingsItem body setting the price."""
    return {
        "productType": "PRODUCT",
        "patches": [
            {
                "op": "replace",
                "path": "/attributes/purchasable_offer",
                "value": [
                    {
                        "marketplace_id": MARKETPLACE,
                        "currency": "USD",
                        "our_price": [{"schedule": [{"value_with_tax": float(Decimal(price))}]}],
                    }
                ],
            }
        ],
    }


@pytest.mark.slow
class TestCallDeadline:
    def test_sync_read_is_cut_and_raised_typed(self, server: _SlowServer) -> None:
        """A sync read against the slow server ends with MarketplaceTimeoutError."""
        with amazon(server.url) as adapter, pytest.raises(MarketplaceTimeoutError) as info:
            finish(lambda: adapter.get_listing(SKU), server)
        assert isinstance(info.value.__cause__, httpx.TimeoutException)
        assert server.methods

    def test_async_read_is_cut_and_raised_typed(self, server: _SlowServer) -> None:
        """An acall against the slow server ends with MarketplaceTimeoutError."""
        adapter = amazon(server.url)

        async def read() -> httpx.Response:
            try:
                return await adapter.acall(
                    "getListingsItem", path_params={"sellerId": SELLER, "sku": SKU}
                )
            finally:
                await adapter.aclose()

        with pytest.raises(MarketplaceTimeoutError) as info:
            finish(lambda: asyncio.run(read()), server)
        assert isinstance(info.value.__cause__, httpx.TimeoutException)

    def test_token_refresh_is_cut(self, server: _SlowServer) -> None:
        """A Login with Amazon endpoint that drips or hangs: TokenRefreshError, nothing sent."""
        with (
            amazon("http://127.0.0.1:9", token_url=server.url + "/auth/o2/token") as adapter,
            pytest.raises(TokenRefreshError, match="could not be reached"),
        ):
            finish(lambda: adapter.get_listing(SKU), server)
        assert len(server.methods) == 1

    def test_async_token_refresh_is_cut(self, server: _SlowServer) -> None:
        """The refresh an acall waits for is cut too."""
        adapter = amazon("http://127.0.0.1:9", token_url=server.url + "/auth/o2/token")

        async def read() -> httpx.Response:
            try:
                return await adapter.acall(
                    "getListingsItem", path_params={"sellerId": SELLER, "sku": SKU}
                )
            finally:
                await adapter.aclose()

        with pytest.raises(TokenRefreshError, match="could not be reached"):
            finish(lambda: asyncio.run(read()), server)

    def test_a_cut_write_stays_ambiguous(self, server: _SlowServer) -> None:
        """A price patch cut after sending is reconciled, not resent: AmbiguousWriteError."""
        where = {
            "path_params": {"sellerId": SELLER, "sku": SKU},
            "params": {"marketplaceIds": MARKETPLACE},
        }
        with amazon(server.url) as adapter, pytest.raises(AmbiguousWriteError):
            finish(
                lambda: adapter.call("patchListingsItem", json=patch_body("9.99"), **where), server
            )
        assert server.methods.count("PATCH") == 1  # then reads that try to reconcile it

    def test_a_compensation_write_is_cut(self, server: _SlowServer) -> None:
        """compensating_call goes through the same bounded send."""
        inverse = Inverse(
            operation="patchListingsItem",
            path_params={"sellerId": SELLER, "sku": SKU},
            params={"marketplaceIds": MARKETPLACE},
            json=patch_body("19.99"),
        )
        with amazon(server.url) as adapter, pytest.raises(AmbiguousWriteError):
            finish(lambda: adapter.compensating_call(inverse), server)


class TestSendWithin:
    def test_sync_attempt_is_cut_with_a_read_timeout(self, server: _SlowServer) -> None:
        """One attempt of 0.5 s: httpx.ReadTimeout naming the deadline (the request was sent)."""
        with httpx.Client() as client, pytest.raises(httpx.ReadTimeout, match=r"within 0\.5 s"):
            finish(
                lambda: send_within(client, client.build_request("GET", server.url), 0.5), server
            )

    def test_async_attempt_is_cut_with_a_read_timeout(self, server: _SlowServer) -> None:
        """The async attempt is bounded as a whole, headers included."""

        async def send() -> httpx.Response:
            async with httpx.AsyncClient() as client:
                return await asend_within(client, client.build_request("GET", server.url), 0.5)

        with pytest.raises(httpx.ReadTimeout, match=r"within 0\.5 s"):
            finish(lambda: asyncio.run(send()), server)

    def test_no_time_left_sends_nothing(self, server: _SlowServer) -> None:
        """A deadline already passed: ConnectTimeout (safe to resend) and no request."""
        with httpx.Client() as client, pytest.raises(httpx.ConnectTimeout):
            send_within(client, client.build_request("GET", server.url), 0.0)
        assert not server.methods


class TestTimeoutArgument:
    @pytest.mark.parametrize("timeout", [0, -1.0, float("nan"), float("inf"), "1", True, None])
    def test_bad_timeouts_are_refused(self, timeout: object) -> None:
        """timeout= must be a positive, finite number of seconds."""
        with pytest.raises(InvalidArgumentError, match="timeout="):
            AmazonAdapter(
                seller_id=SELLER,
                client_id="amzn1.application-oa2-client.test",
                client_secret="s",  # noqa: S106 - a test value
                refresh_token="r",  # noqa: S106 - a test value
                timeout=timeout,
            )


class TestAttemptBudget:
    def test_each_attempt_gets_only_what_is_left_of_the_call(self) -> None:
        """timeout=10, deadline=3: the attempts get 3 s, then what is left after 2.5 s."""
        clock = FakeClock()
        budgets: list[float] = []

        def handler(request: httpx.Request) -> httpx.Response:
            budgets.append(request.extensions["timeout"]["read"])
            clock.advance(2.5)  # the first attempt takes 2.5 s of the call's 3
            return httpx.Response(503 if len(budgets) == 1 else 200, json={})

        adapter = AmazonAdapter(
            seller_id=SELLER,
            client_id="amzn1.application-oa2-client.test",
            client_secret="s",  # noqa: S106 - a test value
            refresh_token="r",  # noqa: S106 - a test value
            transport=httpx.MockTransport(handler),
            clock=clock,
            timeout=10.0,
            retry=RetryPolicy(deadline=3.0, base=0.001, cap=0.001),
        )
        adapter.tokens = TokenProvider(
            lambda: TokenGrant(access_token=Secret("Atza|access"), expires_in=3600.0)
        )
        with adapter:
            adapter.call("getListingsItem", path_params={"sellerId": SELLER, "sku": SKU})
        assert len(budgets) == 2
        assert 2.9 < budgets[0] <= 3.0
        assert 0 < budgets[1] <= 0.5

    def test_a_refresh_gets_the_timeout_capped_by_the_deadline(self) -> None:
        """The token refresh has no call deadline: timeout=, never beyond RetryPolicy.deadline."""
        with (
            AmazonAdapter(
                seller_id=SELLER,
                client_id="amzn1.application-oa2-client.test",
                client_secret="s",  # noqa: S106 - a test value
                refresh_token="r",  # noqa: S106 - a test value
                timeout=10.0,
                retry=RetryPolicy(deadline=4.0),
            ) as capped,
            AmazonAdapter(
                seller_id=SELLER,
                client_id="amzn1.application-oa2-client.test",
                client_secret="s",  # noqa: S106 - a test value
                refresh_token="r",  # noqa: S106 - a test value
                timeout=2.0,
            ) as short,
        ):
            assert (capped.attempt_seconds(), short.attempt_seconds()) == (4.0, 2.0)

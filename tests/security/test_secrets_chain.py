"""Issue 11, L3: a failed token refresh leaves no plain credential behind.

The refresh token and the client secret travel in the body of the Login with
Amazon request (eBay and Walmart: the secret in a Basic header, eBay's refresh
token in the body; their base64 form is a canary too). Before the fix a failed
refresh kept that request reachable:
``ConnectError.request.content`` in the exception chain, and ``form`` in the
frame of the refresh. Here every way a refresh can fail, on real loopback
sockets, is walked: the whole chain (``__cause__``, ``__context__``, attributes,
``.request``, ``.response``), every traceback frame's locals, the formatted
traceback and the log, looking for the canaries.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import socket
import threading
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from safe_release._backoff import RetryPolicy
from safe_release.adapters import MarketplaceAdapter, Secret
from safe_release.adapters.amazon import AmazonAdapter
from safe_release.adapters.ebay import EbayAdapter
from safe_release.adapters.walmart import WalmartAdapter
from safe_release.exceptions import TokenRefreshError

if TYPE_CHECKING:
    from collections.abc import Iterator

SECRET_CANARY = "canary-client-secret-7f3a"  # noqa: S105 - a canary
REFRESH_CANARY = "canary-refresh-9b1c"
CLIENT_ID = "canary-client-id"
BASIC_CANARY = base64.b64encode(f"{CLIENT_ID}:{SECRET_CANARY}".encode()).decode()
CANARIES = (SECRET_CANARY, REFRESH_CANARY, BASIC_CANARY)
SKU = "SKU-1"
MARKETS = ("amazon", "ebay", "walmart")
MAX_DEPTH = 4
WAIT_S = 60.0  # a silent server is released when the test ends


class _LwaHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Lwa

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        mode = self.server.mode
        if mode == "silent":
            self.server.stopped.wait(WAIT_S)
            return
        status, body, kind = {
            "503": (503, b'{"error":"server_error"}', "application/json"),
            "not-json": (200, b"<html>" + REFRESH_CANARY.encode() + b"?</html>", "text/html"),
            "wrong-shape": (
                200,
                b'{"access_token":["x"],"expires_in":"3600"}',
                "application/json",
            ),
            "deep": (200, b"[" * 100_000 + b"]" * 100_000, "application/json"),
        }[mode]
        self.send_response(status)
        self.send_header("content-type", kind)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Silent."""


class _Lwa(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, mode: str) -> None:
        super().__init__(("127.0.0.1", 0), _LwaHandler)
        self.mode, self.stopped = mode, threading.Event()


def closed_port() -> int:
    """A loopback port nobody listens on (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(
    name="token_url", params=["refused", "503", "not-json", "wrong-shape", "deep", "silent"]
)
def _token_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A Login with Amazon endpoint on loopback that fails one way or another."""
    if request.param == "refused":
        yield f"http://127.0.0.1:{closed_port()}/auth/o2/token"
        return
    server = _Lwa(request.param)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/auth/o2/token"
    server.stopped.set()
    server.shutdown()
    server.server_close()
    thread.join(WAIT_S)


def amazon(token_url: str) -> AmazonAdapter:
    """An adapter whose credentials are the canaries (its API is never reached)."""
    return AmazonAdapter(
        seller_id="A1SELLER",
        client_id="amzn1.application-oa2-client.test",
        client_secret=SECRET_CANARY,
        refresh_token="Atzr|" + REFRESH_CANARY,
        base_url=f"http://127.0.0.1:{closed_port()}",
        token_url=token_url,
        timeout=0.5,
        retry=RetryPolicy(deadline=1.0),
    )


def adapter_for(market: str, token_url: str) -> MarketplaceAdapter:
    """``market``'s adapter with the canaries for credentials."""
    options: dict[str, Any] = {
        "base_url": f"http://127.0.0.1:{closed_port()}",
        "token_url": token_url,
        "timeout": 0.5,
        "retry": RetryPolicy(deadline=1.0),
    }
    if market == "amazon":
        return amazon(token_url)
    if market == "ebay":
        return EbayAdapter(
            user_id="demo_seller",
            client_id=CLIENT_ID,
            client_secret=SECRET_CANARY,
            refresh_token="v^1.1#" + REFRESH_CANARY,
            **options,
        )
    return WalmartAdapter(client_id=CLIENT_ID, client_secret=SECRET_CANARY, **options)


def read(adapter: MarketplaceAdapter) -> object:
    """One read, which needs a token first."""
    if isinstance(adapter, AmazonAdapter):
        return adapter.get_listing(SKU)
    if isinstance(adapter, EbayAdapter):
        return adapter.get_offer("5005317010")
    assert isinstance(adapter, WalmartAdapter)
    return adapter.get_inventory(SKU)


async def aread(adapter: MarketplaceAdapter) -> httpx.Response:
    """The same read through ``acall``."""
    if isinstance(adapter, AmazonAdapter):
        return await adapter.acall(
            "getListingsItem", path_params={"sellerId": "A1SELLER", "sku": SKU}
        )
    if isinstance(adapter, EbayAdapter):
        return await adapter.acall("getOffer", path_params={"offerId": "5005317010"})
    return await adapter.acall("getInventory", params={"sku": SKU})


def leaks(error: BaseException) -> list[str]:
    """Where a canary is reachable from ``error``: its chain, attributes and frames."""
    found: list[str] = []
    seen: set[int] = set()

    def scan(value: object, where: str, depth: int) -> None:
        if id(value) in seen or depth > MAX_DEPTH or isinstance(value, Secret):
            return  # a Secret is masked by design: reveal() is the only way in
        seen.add(id(value))
        if isinstance(value, (bytes, bytearray)):
            value = bytes(value).decode("latin-1")
        if isinstance(value, str):
            found.extend(f"{where} holds {c}" for c in CANARIES if c in value)
            return
        for name, part in _parts(value):
            scan(part, f"{where}.{name}", depth + 1)

    chain = _chain(error)
    for exc in chain:
        scan(exc, type(exc).__name__, 0)
    for exc in chain:
        tb = exc.__traceback__
        while tb is not None:
            frame = tb.tb_frame
            scan(dict(frame.f_locals), f"frame {frame.f_code.co_name}", 0)
            tb = tb.tb_next
    text = "".join(traceback.format_exception(error))
    found.extend(f"the formatted traceback holds {c}" for c in CANARIES if c in text)
    return found


def _chain(error: BaseException) -> list[BaseException]:
    """``error`` and every exception behind it (``__cause__`` and ``__context__``)."""
    chain: list[BaseException] = []
    todo: list[BaseException | None] = [error]
    while todo:
        exc = todo.pop()
        if exc is not None and not any(exc is e for e in chain):
            chain.append(exc)
            todo += [exc.__cause__, exc.__context__]
    return chain


def _parts(value: object) -> list[tuple[str, object]]:
    """The values inside ``value`` worth searching."""
    if isinstance(value, dict):
        return [(str(k), v) for k, v in value.items()]
    if isinstance(value, (list, tuple, set, frozenset)):
        return [(str(i), v) for i, v in enumerate(value)]
    parts: list[tuple[str, object]] = []
    if isinstance(value, httpx.Request):
        parts += [("content", _read(lambda: value.content)), ("url", str(value.url))]
    if isinstance(value, httpx.Response):
        parts += [("content", _read(lambda: value.content)), ("request", value.request)]
    if isinstance(value, BaseException):
        parts += [("args", value.args), ("str", str(value)), ("repr", repr(value))]
        parts.append(("request", _read(lambda: value.request)))  # type: ignore[attr-defined]
        parts.append(("response", _read(lambda: value.response)))  # type: ignore[attr-defined]
    if hasattr(value, "__dict__") and not isinstance(value, type):
        parts += list(vars(value).items())
    return parts


def _read(get: Any) -> object:
    try:
        return get()
    except (AttributeError, RuntimeError, httpx.RequestNotRead, httpx.ResponseNotRead):
        return None


@pytest.mark.parametrize("market", MARKETS)
class TestFailedRefreshLeavesNoSecret:
    def test_sync_call(
        self, market: str, token_url: str, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A call whose refresh fails: TokenRefreshError, no canary anywhere behind it."""
        with (
            caplog.at_level(logging.DEBUG),
            adapter_for(market, token_url) as adapter,
            pytest.raises(TokenRefreshError) as info,
        ):
            read(adapter)
        assert leaks(info.value) == []
        assert not any(c in caplog.text for c in CANARIES)

    def test_async_call(self, market: str, token_url: str) -> None:
        """The same failure reached from acall."""
        adapter = adapter_for(market, token_url)

        async def run() -> httpx.Response:
            try:
                return await aread(adapter)
            finally:
                await adapter.aclose()

        with pytest.raises(TokenRefreshError) as info:
            asyncio.run(run())
        assert leaks(info.value) == []

    def test_health_probe(self, market: str, token_url: str) -> None:
        """health() reports the failure in words that carry no canary."""
        with adapter_for(market, token_url) as adapter:
            health = adapter.health()  # type: ignore[attr-defined]
        assert health.ok is False
        assert not any(c in health.detail for c in CANARIES)


class TestTheWalker:
    def test_the_walker_finds_a_leak(self) -> None:
        """The search itself works: an httpx error carrying the form is reported."""
        with pytest.raises(TokenRefreshError) as info:
            _refresh_the_old_way()
        assert any("ConnectError.request.content" in where for where in leaks(info.value))


def _refresh_the_old_way() -> None:
    """What the refresh did before the fix: chain the httpx error that holds the form."""
    request = httpx.Request("POST", "http://127.0.0.1:9/", data={"client_secret": SECRET_CANARY})
    try:
        _connect(request)
    except httpx.ConnectError as exc:
        msg = "Login with Amazon could not be reached"
        raise TokenRefreshError(msg) from exc


def _connect(request: httpx.Request) -> None:
    raise httpx.ConnectError("refused", request=request)

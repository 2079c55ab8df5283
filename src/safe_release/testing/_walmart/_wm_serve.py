"""``FakeWalmart.serve()``: the same handler behind a real HTTP server on loopback."""

from __future__ import annotations

import contextlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

__all__ = ["serve"]

_SKIP = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive"})
_IDLE_TIMEOUT = 30.0


def _handler_class(handler: Callable[[httpx.Request], httpx.Response]) -> type:
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = _IDLE_TIMEOUT
        disable_nagle_algorithm = True

        def _answer(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            content = self.rfile.read(length) if length > 0 else b""
            request = httpx.Request(
                self.command,
                f"http://{self.headers.get('host') or '127.0.0.1'}{self.path}",
                headers=list(self.headers.items()),
                content=content,
            )
            try:
                response = handler(request)
            except httpx.TimeoutException:
                self.close_connection = True  # applied, answer lost: hang up without one
                return
            self.send_response(response.status_code)
            for name, value in response.headers.items():
                if name.lower() not in _SKIP:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(response.content)))
            self.end_headers()
            self.wfile.write(response.content)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer  # noqa: N815

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            """Log nothing: request lines and headers carry tokens."""

    return _Handler


@contextlib.contextmanager
def serve(handler: Callable[[httpx.Request], httpx.Response]) -> Iterator[str]:
    """Serve ``handler`` on ``127.0.0.1`` (an ephemeral port); yields the base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_class(handler))
    server.daemon_threads = True
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.05},
        name="FakeWalmart.serve",
        daemon=True,
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()

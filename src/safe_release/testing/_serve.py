"""``serve()`` of every fake marketplace: its handler behind a real HTTP server on loopback."""

from __future__ import annotations

import contextlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

__all__ = ["serve"]

_HOP_BY_HOP = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive"})
_IDLE_TIMEOUT = 30.0


def _handler_class(handler: Callable[[httpx.Request], httpx.Response]) -> type:
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = _IDLE_TIMEOUT
        disable_nagle_algorithm = True  # headers and body go out as separate writes

        def _answer(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            content = self.rfile.read(length) if length > 0 else b""
            host = self.headers.get("host") or "127.0.0.1"
            request = httpx.Request(
                self.command,
                f"http://{host}{self.path}",
                headers=list(self.headers.items()),
                content=content,
            )
            try:
                response = handler(request)
            except httpx.TimeoutException:
                # The write was applied but the answer is lost: hang up without one.
                self.close_connection = True
                return
            self.send_response(response.status_code)
            for name, value in response.headers.items():
                if name.lower() not in _HOP_BY_HOP:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(response.content)))
            self.end_headers()
            self.wfile.write(response.content)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer  # noqa: N815

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            """Log nothing: request lines and headers may carry credentials."""

    return _Handler


@contextlib.contextmanager
def serve(
    handler: Callable[[httpx.Request], httpx.Response], *, name: str = "fake"
) -> Iterator[str]:
    """Serve ``handler`` on ``127.0.0.1`` (an ephemeral port); yields the base URL.

    ``name`` names the server thread (``FakeEbay.serve``).
    """
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_class(handler))
    server.daemon_threads = True
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.05},
        name=f"{name}.serve",
        daemon=True,
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()

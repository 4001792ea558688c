"""Serving the fake over real HTTP with the standard library alone.

Tests that need a real socket (timeouts, connection handling, another
process) get one without uvicorn: ``wsgiref`` with a thread per request, in
a daemon thread, quiet unless something unexpected breaks.
"""

from __future__ import annotations

import contextlib
import socketserver
import sys
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from ._faces import RAW_PATH_KEY

__all__ = [
    "serve",
]

if TYPE_CHECKING:
    from wsgiref.types import WSGIApplication, WSGIEnvironment

#: How often the serving loop checks for shutdown; also the worst-case wait
#: when leaving ``serve()``.
_POLL_INTERVAL = 0.05


class _Handler(WSGIRequestHandler):
    """wsgiref's handler, silent, and passing on the undecoded path."""

    def get_environ(self) -> WSGIEnvironment:
        environ = super().get_environ()
        environ[RAW_PATH_KEY] = self.path.partition("?")[0]
        return environ

    def log_message(self, format: str, *args: object) -> None:
        # One access line per request would drown the test output.
        pass


class _Server(socketserver.ThreadingMixIn, WSGIServer):
    """A WSGI server with one daemon thread per request."""

    daemon_threads = True
    # A delayed answer may outlive its client; leaving serve() must not wait.
    block_on_close = False

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host's FQDN, a reverse DNS
        # lookup that can hang on a machine without a resolver.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = port
        self.setup_environ()

    def handle_error(self, request: object, client_address: object) -> None:
        # A client that timed out has closed its socket: expected, not news.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]


@contextlib.contextmanager
def serve(app: WSGIApplication, host: str, port: int) -> Iterator[str]:
    """Serve ``app`` on ``host:port`` (IPv4) until the block ends."""
    server = make_server(host, port, app, _Server, _Handler)
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": _POLL_INTERVAL},
        name=f"y2w-fake-gateway:{server.server_port}",
        daemon=True,
    )
    thread.start()

    try:
        yield f"http://{host}:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()

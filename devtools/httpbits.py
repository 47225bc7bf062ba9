"""Small pieces shared by the local fake servers (Slack, Kubernetes): a threaded server that
tracks its connections (so `stop()` can cut them), its request handler base, request bodies
and prompt replies."""

from __future__ import annotations

import contextlib
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class TrackingServer(ThreadingHTTPServer):
    """A local threaded HTTP server that knows its open connections, and how many it has
    accepted (`accepted`: tests of connection reuse count them)."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int],
                 handler: type[BaseHTTPRequestHandler]) -> None:
        self.open_sockets: set[socket.socket] = set()
        self.sockets_lock = threading.Lock()
        self.accepted = 0
        super().__init__(address, handler)


class TrackedHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 keep-alive, no Nagle delay, no per-request log lines; registers its
    connection with the TrackingServer while it is open."""

    protocol_version = "HTTP/1.1"
    server: TrackingServer

    def version_string(self) -> str:
        return self.server_version

    def setup(self) -> None:
        super().setup()
        no_delay(self.connection)
        with self.server.sockets_lock:
            self.server.open_sockets.add(self.connection)
            self.server.accepted += 1

    def finish(self) -> None:
        with self.server.sockets_lock:
            self.server.open_sockets.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default per-request logging to stderr."""


def read_body(handler: BaseHTTPRequestHandler) -> bytes:
    """The request body, whether sent with Content-Length or chunked."""
    if "chunked" in handler.headers.get("Transfer-Encoding", "").lower():
        chunks: list[bytes] = []
        while True:
            size_line = handler.rfile.readline()
            size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                # The trailer section ends with an empty line.
                while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length > 0 else b""


def no_delay(connection: socket.socket) -> None:
    """Headers and body go out in separate writes; without TCP_NODELAY, Nagle's algorithm
    plus the client's delayed ACK add ~40 ms to every response."""
    with contextlib.suppress(OSError):
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

"""Small pieces shared by the local fake servers (Slack, Kubernetes): a threaded server that
tracks its connections and is served from a thread of its own until `stop()` cuts them, its
request handler bases, request bodies and prompt replies, and the `with` form of the fakes
(`StartStop`)."""

from __future__ import annotations

import contextlib
import socket
import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self


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
        self.thread: threading.Thread | None = None
        super().__init__(address, handler)

    def serve_in_thread(self, name: str) -> None:
        """Serve from a daemon thread called `name` (it notices `stop()` within 50 ms)."""
        self.thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, name=name, daemon=True
        )
        self.thread.start()

    def stop(self) -> None:
        """Stop serving, cut the connections still open (kept-alive ones included) and close
        the listening socket."""
        thread, self.thread = self.thread, None
        if thread is not None:
            self.shutdown()  # waits for serve_forever to return: only once it was started
        with self.sockets_lock:
            open_sockets = list(self.open_sockets)
        for sock in open_sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self.server_close()
        if thread is not None:
            thread.join(timeout=5.0)


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


@dataclass
class Reply:
    """A fake's answer to one request, as `DispatchHandler.send_reply` writes it."""

    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


class DispatchHandler(TrackedHandler, ABC):
    """A fake's handler: GET and POST (a subclass adds the other methods it serves) go to
    `_handle`, which reads the body with `_read_body`, hands the request to the fake and
    writes its answer with `send_reply` (plus `reply_headers` on every answer)."""

    reply_headers: dict[str, str] = {}

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def _read_body(self) -> bytes:
        return read_body(self)

    @abstractmethod
    def _handle(self) -> None:
        """Answer the request (each fake's routes)."""

    def send_reply(self, reply: Reply) -> None:
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in {**self.reply_headers, **reply.headers}.items():
            self.send_header(name, value)
        self.end_headers()
        with contextlib.suppress(OSError):
            self.wfile.write(reply.body)
            self.wfile.flush()


class StartStop:
    """`with fake as f:` for a local server (or a client's connections): `start()` on entry,
    whose result `as` names, and `stop()` on exit. A subclass says what each does."""

    def start(self) -> Self:
        return self

    def stop(self) -> None:
        """Nothing to stop unless a subclass says so."""

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


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

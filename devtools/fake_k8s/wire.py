"""The HTTP side: a threaded stdlib server on 127.0.0.1 whose handler hands every request to
the fake (`_dispatch`) and writes the answer, or streams a watch as chunked transfer
encoding; the `Date` header comes from the fake's clock.
"""

from __future__ import annotations

import contextlib
import select
import socket
import sys
import traceback
from datetime import UTC
from email.utils import format_datetime
from typing import TYPE_CHECKING

from devtools.fake_k8s.api import ApiError, error_reply
from devtools.fake_k8s.state import WatchRequest
from devtools.httpbits import DispatchHandler, TrackingServer

if TYPE_CHECKING:
    from devtools.fake_k8s.fake import FakeKubernetes


class Server(TrackingServer):
    def __init__(self, fake: FakeKubernetes, port: int) -> None:
        self.fake = fake
        super().__init__(("127.0.0.1", port), Handler)


class Handler(DispatchHandler):
    server_version = "FakeKubernetes/1.0"
    reply_headers = {"Cache-Control": "no-cache, private"}
    server: Server

    def do_PUT(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The ``Date`` header, on the fake's clock (the API server's)."""
        if timestamp is not None:
            return super().date_time_string(timestamp)
        return format_datetime(self.server.fake.clock().astimezone(UTC), usegmt=True)

    def _handle(self) -> None:
        fake = self.server.fake
        try:
            body = self._read_body()
            outcome = fake._dispatch(
                method=self.command,
                target=self.path,
                content_type=self.headers.get("Content-Type"),
                body=body,
            )
        except Exception:  # pragma: no cover - a bug in the fake itself
            traceback.print_exc(file=sys.stderr)
            outcome = error_reply(ApiError(500, "fake Kubernetes API internal error"))
        if isinstance(outcome, WatchRequest):
            try:
                fake._serve_watch(self, outcome)
            except OSError:
                self.close_connection = True
            return
        self.send_reply(outcome)

    # -- chunked streaming (watch) ---------------------------------------------------------

    def start_stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()

    def write_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def end_stream(self) -> None:
        with contextlib.suppress(OSError):
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

    def abort(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def client_gone(self) -> bool:
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            if not readable:
                return False
            peeked: bytes = self.connection.recv(1, socket.MSG_PEEK)
            return peeked == b""
        except (OSError, ValueError):
            return True

"""Serving the bot's ASGI app with uvicorn in a background thread (tests, benchmark)."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import uvicorn

from devtools.httpbits import StartStop


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ThreadedServer(StartStop):
    """uvicorn serving `asgi` on 127.0.0.1:<free port> until `stop()`."""

    def __init__(self, asgi: Any, *, port: int | None = None) -> None:
        self.port = port or free_port()
        config = uvicorn.Config(asgi, host="127.0.0.1", port=self.port, log_level="warning",
                                access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="uvicorn", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> ThreadedServer:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

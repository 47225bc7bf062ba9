"""The shell's output: one writer at a time, whatever thread the text comes from (the fake
Slack's, the listener pool's, the prompt's).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TextIO


class Transcript:
    """The shell's output: one writer at a time, whatever thread the text comes from.

    While a request is dispatched the background output is held back, so the immediate (ack)
    reply is printed before what the background listener work sends. At an interactive prompt,
    background output is printed on its own lines and the prompt is shown again.
    """

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._lock = threading.Lock()
        self._held: list[str] | None = None
        self._prompt: str | None = None
        self._line_buffer: Callable[[], str] = lambda: ""
        isatty = getattr(out, "isatty", None)
        self._tty = bool(isatty()) if callable(isatty) else False

    def say(self, lines: Iterable[str]) -> None:
        with self._lock:
            self._write(lines)

    def background(self, lines: list[str]) -> None:
        with self._lock:
            if self._held is not None:
                self._held.extend(lines)
            elif self._prompt is not None:
                # Take the prompt (and what was typed after it) off the screen, print, then
                # show them again below.
                self._out.write("\r\x1b[K" if self._tty else "\n")
                self._write(lines)
                self._out.write(self._prompt + self._line_buffer())
                self._out.flush()
            else:
                self._write(lines)

    def say_partial(self, text: str) -> None:
        """Text without a newline (a prompt)."""
        with self._lock:
            self._out.write(text)
            self._out.flush()

    def hold(self) -> None:
        with self._lock:
            self._held = []

    def release(self, first: Iterable[str] = ()) -> None:
        """Print `first`, then everything held back since `hold()`."""
        with self._lock:
            held, self._held = self._held or [], None
            self._write([*first, *held])

    @contextmanager
    def at_prompt(self, prompt: str, line_buffer: Callable[[], str] | None) -> Iterator[None]:
        with self._lock:
            self._prompt = prompt
            self._line_buffer = line_buffer or (lambda: "")
        try:
            yield
        finally:
            with self._lock:
                self._prompt = None

    def _write(self, lines: Iterable[str]) -> None:
        # Caller holds the lock.
        for line in lines:
            self._out.write(line + "\n")
        self._out.flush()



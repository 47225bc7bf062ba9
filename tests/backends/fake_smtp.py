"""A real SMTP server on a free local port (aiosmtpd), recording what it is sent: the
daily summary's tests talk SMTP to it through the stdlib smtplib, as to any mail server.

`fail(n, code)` makes it refuse the next `n` messages with `code` (451: try later);
`users` turns on AUTH (PLAIN, allowed without TLS: a local test server).
"""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Received:
    sender: str
    recipients: tuple[str, ...]
    message: EmailMessage
    login: str | None

    @property
    def body(self) -> str:
        part = self.message.get_body(("plain",))
        assert part is not None
        return str(part.get_content()).replace("\r\n", "\n")


class _Handler:
    def __init__(self, fake: FakeSmtp) -> None:
        self._fake = fake

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        return self._fake._received(session, envelope)


class FakeSmtp:
    def __init__(self, *, users: dict[str, str] | None = None, port: int | None = None) -> None:
        self.port = port or free_port()
        self.host = "127.0.0.1"
        self._users = users
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._messages: list[Received] = []
        self._failures: list[str] = []
        self.refused = 0
        kwargs: dict[str, Any] = {}
        if users is not None:
            kwargs = {"auth_require_tls": False, "auth_required": True,
                      "auth_exclude_mechanism": ["LOGIN"],  # smtplib then tries PLAIN only
                      "authenticator": self._authenticate}
        self._controller = Controller(_Handler(self), hostname=self.host, port=self.port,
                                      **kwargs)

    def _authenticate(self, server: SMTP, session: Session, envelope: Envelope,
                      mechanism: str, data: Any) -> AuthResult:
        ok = (isinstance(data, LoginPassword) and self._users is not None
              and self._users.get(data.login.decode()) == data.password.decode())
        return AuthResult(success=ok, handled=False,
                          auth_data=data.login.decode() if ok else None)

    def _received(self, session: Session, envelope: Envelope) -> str:
        with self._cond:
            if self._failures:
                self.refused += 1
                return self._failures.pop(0)
            raw = envelope.original_content or envelope.content
            assert isinstance(raw, bytes)
            msg = email.message_from_bytes(raw, policy=email.policy.default)
            assert isinstance(msg, EmailMessage)
            login = session.auth_data if isinstance(session.auth_data, str) else None
            self._messages.append(Received(str(envelope.mail_from),
                                           tuple(envelope.rcpt_tos), msg, login))
            self._cond.notify_all()
        return "250 OK"

    def fail(self, n: int, reply: str = "451 4.3.0 try again later") -> None:
        with self._lock:
            self._failures.extend([reply] * n)

    @property
    def messages(self) -> list[Received]:
        with self._lock:
            return list(self._messages)

    def env(self) -> dict[str, str]:
        """The SMTP_* environment variables that point the bot at this server."""
        return {"SMTP_HOST": self.host, "SMTP_PORT": str(self.port)}

    def __enter__(self) -> FakeSmtp:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()

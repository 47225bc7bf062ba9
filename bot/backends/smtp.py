"""Email over SMTP (the Mailer port), with the standard library's smtplib and
email.message: the daily summary.

The server and its login come from the environment, never from app.yaml (`SmtpSettings`):
SMTP_HOST, SMTP_PORT (default 587 with STARTTLS, 465 with SSL, else 25), SMTP_USERNAME,
SMTP_PASSWORD, SMTP_STARTTLS=1 (upgrade a plain connection) or SMTP_SSL=1 (TLS from the
start). A server that is down, drops the connection or answers 4xx is worth another try
(RetryableError); a refused login or recipients (5xx) is not (PermanentError).
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from bot.errors import PermanentError, RetryableError

_TRUE = frozenset({"1", "true", "yes", "on"})


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    ssl: bool = False

    def __repr__(self) -> str:  # never print the password
        return (f"SmtpSettings(host={self.host!r}, port={self.port}, "
                f"username={self.username!r}, starttls={self.starttls}, ssl={self.ssl})")

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SmtpSettings | None:
        """None without SMTP_HOST; ValueError for a malformed SMTP_PORT or both TLS modes."""
        host = env.get("SMTP_HOST") or None
        if host is None:
            return None
        starttls = env.get("SMTP_STARTTLS", "").strip().lower() in _TRUE
        use_ssl = env.get("SMTP_SSL", "").strip().lower() in _TRUE
        if starttls and use_ssl:
            raise ValueError("SMTP_STARTTLS and SMTP_SSL: choose one")
        port_s = env.get("SMTP_PORT") or ("465" if use_ssl else "587" if starttls else "25")
        if not port_s.isdigit() or not 0 < int(port_s) < 65536:
            raise ValueError(f"SMTP_PORT={port_s!r} is not a TCP port number (1-65535)")
        return cls(host=host, port=int(port_s), username=env.get("SMTP_USERNAME") or None,
                   password=env.get("SMTP_PASSWORD") or None, starttls=starttls, ssl=use_ssl)


def message(*, sender: str, to: Sequence[str], subject: str, body: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    msg.set_content(body)
    return msg


class SmtpMailer:
    def __init__(self, settings: SmtpSettings, *, timeout: float = 30.0,
                 tls: ssl.SSLContext | None = None) -> None:
        self._settings = settings
        self._timeout = timeout
        self._tls = tls

    def _connect(self) -> smtplib.SMTP:
        s = self._settings
        context = self._tls or ssl.create_default_context()
        if s.ssl:
            return smtplib.SMTP_SSL(s.host, s.port, timeout=self._timeout, context=context)
        server = smtplib.SMTP(s.host, s.port, timeout=self._timeout)
        if s.starttls:
            server.starttls(context=context)
        return server

    def send(self, *, sender: str, to: Sequence[str], subject: str, body: str) -> None:
        msg = message(sender=sender, to=to, subject=subject, body=body)
        where = f"{self._settings.host}:{self._settings.port}"
        try:
            with self._connect() as server:
                if self._settings.username:
                    server.login(self._settings.username, self._settings.password or "")
                server.send_message(msg)
        except smtplib.SMTPAuthenticationError as e:
            raise PermanentError(f"SMTP server {where} refused the login: {e.smtp_code}") from e
        except smtplib.SMTPRecipientsRefused as e:
            raise PermanentError(f"SMTP server {where} refused the recipients "
                                 f"{', '.join(e.recipients)}") from e
        except smtplib.SMTPResponseException as e:
            text = f"SMTP server {where} answered {e.smtp_code}: {e.smtp_error!r}"
            if 400 <= e.smtp_code < 500:
                raise RetryableError(text) from e
            raise PermanentError(text) from e
        except (smtplib.SMTPException, OSError) as e:  # down, dropped, timed out
            raise RetryableError(f"SMTP server {where} unreachable: "
                                 f"{type(e).__name__}: {e}") from e

"""Logging for the process: text (the shell's default) or JSON lines, the deployment being
worked on, and secrets masked.

`working_on(deployment_id)` marks the work of one deployment (the runner around a
deployment's run, the Slack middleware for a click that names one); every line logged inside
it, in that thread or in work it hands off with its context, carries `deployment_id`.
`configure_logging` installs one handler on the root logger with two filters: the deployment
id, and the `Redactor`, which masks the values of the secret environment variables and every
secret bot.redaction knows (the same as the audit log's and `/logs`': tokens, JWTs, keys,
`password=…`, passwords in URLs, private keys) wherever they appear (message, arguments,
exception text). Standard library only: any layer may mark its work.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Literal, TextIO

from bot.redaction import redact_secrets

LogFormat = Literal["text", "json"]
LOG_FORMATS: tuple[LogFormat, ...] = ("text", "json")
MASK = "***"

#: The deployment whose work is being done in this context (None: none).
DEPLOYMENT_ID: ContextVar[int | None] = ContextVar("deploybot_deployment_id", default=None)


@contextmanager
def working_on(deployment_id: int | None) -> Iterator[None]:
    """Every line logged inside carries `deployment_id`."""
    token = DEPLOYMENT_ID.set(deployment_id)
    try:
        yield
    finally:
        DEPLOYMENT_ID.reset(token)


def mark_deployment(deployment_id: int | None) -> None:
    """Mark the rest of this context (a Slack request and the work it hands off) as work on
    `deployment_id`; for a middleware, which cannot wrap what follows it."""
    DEPLOYMENT_ID.set(deployment_id)


# -- secrets -------------------------------------------------------------------------------
#: Environment variables whose values are secrets, whatever they look like.
SECRET_VARIABLES = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN",
                    "GITHUB_TOKEN", "GITHUB_WEBHOOK_SECRET", "GITHUB_APP_PRIVATE_KEY",
                    "PAGERDUTY_ROUTING_KEY", "SMTP_PASSWORD")
#: ... and any other whose name ends like one of these (PAGERDUTY_ROUTING_KEY_HIGH, ...).
_SECRET_NAME = re.compile(
    r"(TOKEN|SECRET|PASSWORD|PASSWD|ROUTING_KEY|API_KEY|PRIVATE_KEY)(_[A-Z0-9]+)?$")
_URL_VARIABLES = ("DATABASE_URL", "TEST_DATABASE_URL")  # only their password is a secret
#: Shorter values are not masked by value (they would mask ordinary words); the patterns
#: below still catch tokens of every known shape.
MIN_SECRET_LENGTH = 6

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # A private key (PEM), e.g. a GitHub App's
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----",
                re.DOTALL), MASK),
    (re.compile(r"\bxox[abposr]-[A-Za-z0-9-]+"), MASK),  # Slack bot/user/... tokens
    (re.compile(r"\bxapp-[A-Za-z0-9-]+"), MASK),  # Slack app-level tokens
    (re.compile(r"\bgh[pousr]_[A-Za-z0-9]{16,}"), MASK),  # GitHub tokens
    (re.compile(r"\bgithub_pat_[A-Za-z0-9_]{16,}"), MASK),  # GitHub fine-grained tokens
    (re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]+"), r"\1" + MASK),
    (re.compile(r"(?i)\b(authorization[\"']?\s*[:=]\s*[\"']?(?:token|basic)\s+)[^\s\"',]+"),
     r"\1" + MASK),
    # A password in a URL: scheme://user:password@host
    (re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@/\s]+@"), r"\1" + MASK + "@"),
)


def _url_password(url: str) -> str | None:
    m = re.match(r"^[a-z][a-z0-9+.-]*://[^:/@\s]*:([^@/\s]+)@", url, re.IGNORECASE)
    return m.group(1) if m else None


def secret_values(env: Mapping[str, str]) -> list[str]:
    """The secrets among the environment's values (known names, names that say so, the
    password of the database URL)."""
    values: list[str] = []
    for name, value in env.items():
        if name in _URL_VARIABLES:
            password = _url_password(value)
            if password:
                values.append(password)
        elif name in SECRET_VARIABLES or _SECRET_NAME.search(name):
            values.append(value)
    return [v for v in values if len(v) >= MIN_SECRET_LENGTH]


class Redactor:
    """Masks secrets in text: the given secret values, the token patterns, and every secret
    bot.redaction knows (the audit log's redaction)."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        # Longest first: a secret containing another is masked whole.
        uniq = sorted(set(values), key=len, reverse=True)
        self._values = re.compile("|".join(re.escape(v) for v in uniq)) if uniq else None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Redactor:
        return cls(secret_values(os.environ if env is None else env))

    def __call__(self, text: str) -> str:
        if self._values is not None:
            text = self._values.sub(MASK, text)
        for pattern, repl in _PATTERNS:
            text = pattern.sub(repl, text)
        return redact_secrets(text, MASK)


class RedactFilter(logging.Filter):
    """Masks secrets in a record before any formatter sees it: the message with its
    arguments merged in, and the exception and stack text."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self._redact = redactor
        self._plain = logging.Formatter()  # only for its exception formatting

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: log what there is, as logging would fail
            message = f"{record.msg!r} % {record.args!r}"
        record.msg, record.args = self._redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._plain.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self._redact(record.stack_info)
        return True


class DeploymentFilter(logging.Filter):
    """Adds `deployment_id` (the one being worked on, or one passed with `extra=`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "deployment_id", None) is None:
            record.deployment_id = DEPLOYMENT_ID.get()
        return True


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class TextFormatter(logging.Formatter):
    """The shell's format; ` [deployment #12]` after the message when there is one."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        deployment_id = getattr(record, "deployment_id", None)
        return f"{line} [deployment #{deployment_id}]" if deployment_id is not None else line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC ISO 8601), level, logger, message, deployment_id
    (when working on one), exception (the traceback text, when there is one), thread."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        deployment_id = getattr(record, "deployment_id", None)
        if deployment_id is not None:
            out["deployment_id"] = deployment_id
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            out["exception"] = record.exc_text
        if record.stack_info:
            out["stack"] = record.stack_info
        out["thread"] = record.threadName
        return json.dumps(out, ensure_ascii=False, default=str)


def make_handler(fmt: LogFormat, *, stream: TextIO | None = None,
                 redactor: Redactor | None = None) -> logging.Handler:
    """A stream handler (stderr by default) in `fmt`, with the deployment id and redaction."""
    if fmt not in LOG_FORMATS:
        raise ValueError(f"log format {fmt!r} is not one of {', '.join(LOG_FORMATS)}")
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(DeploymentFilter())
    handler.addFilter(RedactFilter(redactor or Redactor.from_env()))
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    return handler


#: Libraries whose INFO lines are noise for operators, and the level they log at instead:
#: APScheduler logs every job run ("Running job …", "… executed successfully") at INFO,
#: several a minute; the bot's own lines say what the jobs did, and APScheduler's warnings
#: (a missed run) and errors (a job that raised) still show.
QUIET_LIBRARIES: dict[str, int] = {"apscheduler": logging.WARNING}


def configure_logging(fmt: LogFormat = "text", *, level: int = logging.INFO,
                      stream: TextIO | None = None, env: Mapping[str, str] | None = None,
                      force: bool = False) -> logging.Handler | None:
    """Give the root logger one `make_handler`; returns it. Like `logging.basicConfig`, a
    root logger that has handlers already (an embedding program, pytest) is left alone
    (None) unless `force`, which replaces them. `QUIET_LIBRARIES` log at their quieter level
    (unless `level` is DEBUG: then everything shows). The secret values are those of `env` (the
    process environment by default) at this moment."""
    root = logging.getLogger()
    if root.handlers and not force:
        return None
    handler = make_handler(fmt, stream=stream, redactor=Redactor.from_env(env))
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name, quiet in QUIET_LIBRARIES.items():
        # Never below the root's level: at DEBUG, their lines show too.
        logging.getLogger(name).setLevel(max(quiet, level) if level > logging.DEBUG else level)
    return handler


def log_format_from(value: str | None) -> LogFormat | None:
    """'json' / 'text' (any case) as a LogFormat; None for unset; ValueError otherwise."""
    if value is None or not value.strip():
        return None
    v = value.strip().lower()
    if v == "json":
        return "json"
    if v == "text":
        return "text"
    raise ValueError(f"{value!r} is not a log format (text or json)")

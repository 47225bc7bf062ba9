"""What every fuzz example does against a bot served for real over HTTP.

`serve` starts deploybot as tests/conftest.py's `serve_bot` does (uvicorn on a free port,
the fake Slack Web API, a manual clock), once per test module. An example then:

1. `settle()`: waits until the work of the example before it has finished (the listener
   pool, the jobs pool, the runner, the GitHub mirror, the Home refresher), so that its
   `snapshot()` is not racing anything;
2. sends its request with exactly the bytes and headers it drew (`post`, `get`), timing it;
3. `settle()` again, and compares: no 5xx, no record with a traceback in any log (the app's
   loggers and uvicorn's, `LogTrap`), and the table counts (`snapshot`) unchanged where the
   request was refused. How long an answer took is only noted (Hypothesis prints it with a
   failing example); the time limits (Slack's ack deadline) are checked by
   benchmarks/ack_budget.py, not by a test on a shared, noisy machine.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import logging
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from bot.clock import ManualClock
from bot.config import parse_config
from bot.store.db import make_engine
from bot.store.models import Base
from bot.store.schema import upgrade_schema
from devtools.fake_slack import FakeSlack
from tests.conftest import SIGNING_SECRET, WEDNESDAY, RunningBot, base_config, serve_bot

#: The webhook secret of the bot the GitHub fuzz serves.
GITHUB_SECRET = "gh-fuzz-webhook-secret"
#: Slack's replay window (bot.slack_edge.MAX_AGE): a timestamp this far off is refused.
MAX_AGE = 300
#: How long `settle` waits for the bot's pools before it calls the bot stuck.
SETTLE_TIMEOUT = 20.0

FORM = "application/x-www-form-urlencoded"
JSON_TYPE = "application/json"


def fuzz_config(**overrides: Any) -> dict[str, Any]:
    """tests/conftest.py's base config, the App Home refreshed at most every 50 ms (not 3 s):
    `settle` waits for a refresh after a change, and an example should not wait seconds."""
    return base_config(**{"home": {"refresh_every": 0.05}, **overrides})


# -- the database ---------------------------------------------------------------------------


def module_database_url(tmp_path_factory: pytest.TempPathFactory,
                        server_database_url: str | None) -> Iterator[str]:
    """A new SQLite database at head, or the suite's PostgreSQL emptied (its schema is at
    head already: tests/conftest.py's `server_database_url`)."""
    if server_database_url is None:
        path = Path(tmp_path_factory.mktemp("fuzz")) / "deploybot.db"
        url = f"sqlite:///{path}"
        upgrade_schema(url)
        yield url
        return
    engine = make_engine(server_database_url)
    names = ", ".join(t.name for t in reversed(Base.metadata.sorted_tables))
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()
    yield server_database_url


#: Rows of the announcement claim table by what claimed them (bot/services/slack_requests.py,
#: bot/services/github_webhooks.py); the rest are announcements proper.
CLAIM_PREFIXES = {"claims.slack": "slack-request:", "claims.github": "github-delivery:"}


def _count_query() -> str:
    parts = [f'(SELECT count(*) FROM "{t.name}") AS "{t.name}"'
             for t in Base.metadata.sorted_tables if t.name != "announcements"]
    for label, prefix in CLAIM_PREFIXES.items():
        parts.append(f"(SELECT count(*) FROM announcements WHERE key LIKE '{prefix}%') "
                     f'AS "{label}"')
    others = " AND ".join(f"key NOT LIKE '{p}%'" for p in CLAIM_PREFIXES.values())
    parts.append(f'(SELECT count(*) FROM announcements WHERE {others}) AS "announcements"')
    return "SELECT " + ", ".join(parts)


_COUNTS = _count_query()


# -- the logs ---------------------------------------------------------------------------------


class LogTrap(logging.Handler):
    """Keeps every record that carries a traceback (exc_info or stack_info), from the root
    logger (the bot's loggers, Bolt's, slack_sdk's…) and uvicorn's (it does not propagate)."""

    LOGGERS = ("", "uvicorn")

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self._records: list[logging.LogRecord] = []
        self._lock_records = threading.Lock()
        self._levels: dict[str, int] = {}

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info or record.stack_info:
            with self._lock_records:
                if all(r is not record for r in self._records):
                    self._records.append(record)

    def attach(self) -> None:
        for name in self.LOGGERS:
            logger = logging.getLogger(name)
            self._levels[name] = logger.level
            # INFO, as tests/test_web_edge.py's `logs`: a traceback logged at INFO counts too.
            if logger.getEffectiveLevel() > logging.INFO:
                logger.setLevel(logging.INFO)
            logger.addHandler(self)

    def detach(self) -> None:
        for name in self.LOGGERS:
            logger = logging.getLogger(name)
            logger.removeHandler(self)
            logger.setLevel(self._levels.get(name, logging.NOTSET))

    def clear(self) -> None:
        with self._lock_records:
            self._records.clear()

    def tracebacks(self) -> list[str]:
        """One summary per record: logger, message, and the exception's last lines."""
        with self._lock_records:
            records = list(self._records)
        out = []
        for r in records:
            exc = ""
            if r.exc_info and r.exc_info[1] is not None:
                e = r.exc_info[1]
                tb = e.__traceback__
                while tb is not None and tb.tb_next is not None:
                    tb = tb.tb_next
                where = (f" at {tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}"
                         if tb is not None else "")
                exc = f" | {type(e).__name__}: {str(e)[:300]}{where}"
            out.append(f"{r.name}: {r.getMessage()[:300]}{exc}")
        return out


# -- the served bot ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    elapsed: float  # seconds, from sending the request to reading the whole answer
    headers: Mapping[str, str] = field(default_factory=dict)


class Served:
    """The module's bot and its trapped logs. (Not a dataclass: Hypothesis prints it with
    every failing example, and a dataclass it prints field by field.)"""

    def __init__(self, bot: RunningBot, logs: LogTrap) -> None:
        self.bot = bot
        self.logs = logs

    def __repr__(self) -> str:
        return f"Served({self.url})"

    @property
    def url(self) -> str:
        return self.bot.server.url

    # -- sending exactly what was drawn --------------------------------------------------
    def request(self, method: str, target: str, body: bytes | None,
                headers: list[tuple[str, bytes]]) -> Answer:
        """`method target` with exactly `headers` (values as bytes: any octets HTTP allows)
        and `body`; a new connection each time (a refused request may close it)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.bot.server.port, timeout=30)
        try:
            conn.putrequest(method, target, skip_accept_encoding=True)
            for name, value in headers:
                conn.putheader(name, value)
            if body is not None:
                conn.putheader("Content-Length", str(len(body)))
            started = time.perf_counter()
            conn.endheaders(body)
            response = conn.getresponse()
            data = response.read()
            elapsed = time.perf_counter() - started
            return Answer(response.status, data, elapsed,
                          {k.lower(): v for k, v in response.getheaders()})
        finally:
            conn.close()

    def post(self, path: str, body: bytes, headers: Mapping[str, str | bytes]) -> Answer:
        return self.request("POST", path, body, [
            (k, v if isinstance(v, bytes) else v.encode("latin-1")) for k, v in headers.items()])

    def get(self, target: str) -> Answer:
        return self.request("GET", target, None, [])

    # -- the state ------------------------------------------------------------------------
    def settle(self) -> None:
        """Wait until everything the bot started has finished (fails if it does not)."""
        c = self.bot.container
        waits: list[tuple[str, Any]] = [("background", c.background), ("jobs", c.jobs),
                                        ("home_refresher", c.home_refresher)]
        if c.github_mirror is not None:
            waits.append(("github_mirror", c.github_mirror))
        # The record of acknowledged requests is written, and forgotten once answered, on a
        # thread of its own (bot.services.acknowledged).
        waits.append(("acknowledged requests' recorder", c.acknowledged))
        for _ in range(2):  # the pools hand work to each other (an audit batch after a reply)
            for name, pool in waits:
                assert pool.wait_idle(SETTLE_TIMEOUT), f"the bot's {name} did not go idle"
        assert c.runner.wait_idle(SETTLE_TIMEOUT), "the runner did not go idle"

    def snapshot(self) -> dict[str, int]:
        """Rows per table (claims apart from announcements), in one query; and the state
        kept in memory: the audit events queued, and the Slack request claims a process
        keeps itself on SQLite (bot/services/slack_requests.py, `shared=False`)."""
        c = self.bot.container
        with c.database.engine.connect() as conn:
            row = conn.execute(text(_COUNTS)).mappings().one()
        counts = {k: int(v) for k, v in row.items()}
        counts["memory.audit_queued"] = c.audit.queued
        seen = getattr(c.slack_requests, "_seen", None)  # no public count: read, not touched
        counts["memory.slack_claims"] = len(seen) if seen is not None else 0
        return counts


def changed(before: Mapping[str, int], after: Mapping[str, int]) -> dict[str, tuple[int, int]]:
    return {k: (before[k], after[k]) for k in before if before[k] != after[k]}


@contextmanager
def serve(config_data: dict[str, Any], database_url: str, **container_kw: Any
          ) -> Iterator[Served]:
    """The whole bot served over HTTP (tests/conftest.py's `serve_bot`), its logs trapped."""
    config = parse_config(config_data, source="fuzz config")
    with FakeSlack(usergroups={"S0LEADS": ["U0LEAD"]}) as fake, \
            serve_bot(config, database_url, fake, ManualClock(WEDNESDAY),
                      **container_kw) as running:
        trap = LogTrap()
        trap.attach()  # after uvicorn configured its loggers
        try:
            yield Served(running, trap)
        finally:
            trap.detach()


# -- signatures -----------------------------------------------------------------------------


def slack_signature(secret: str, timestamp: bytes, body: bytes) -> bytes:
    """Slack's v0 scheme over the exact bytes."""
    base = b"v0:" + timestamp + b":" + body
    return b"v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest().encode()


def github_signature(secret: str, body: bytes) -> bytes:
    return b"sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest().encode()


def _field(value: bytes | None) -> bytes | None:
    """A header value as the server reads it: HTTP drops surrounding spaces and tabs."""
    return None if value is None else value.strip(b" \t")


def slack_verdict(body: bytes, timestamp: bytes | None, signature: bytes | None, *,
                  now: float) -> bool | None:
    """Whether Slack's scheme accepts these headers for `body`, written from Slack's
    documentation (not from bot.slack_edge): True signed, False not; None within a second
    of the five-minute edge, where either answer is right."""
    ts, sig = _field(timestamp), _field(signature)
    if not ts or not sig or not ts.isdigit():
        return False
    if sig != slack_signature(SIGNING_SECRET, ts, body):
        return False
    if len(ts) > 12:  # leading zeros: a number all the same, refused as implausible or not
        return None
    age = abs(now - int(ts))
    if abs(age - MAX_AGE) <= 1:
        return None
    return age <= MAX_AGE


def is_ssl_check(body: bytes) -> bool:
    """Slack's SSL certificate check (a form with `ssl_check=1`, unsigned by design): the one
    unsigned request answered 200 (and nothing else of it read)."""
    return b"ssl_check=1" in body.split(b"&")

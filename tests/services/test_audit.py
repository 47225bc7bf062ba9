"""The audit service: the request trail is queued without I/O and written in batches; a
database outage keeps it for later; `/audit` is for the audit viewers; the export streams."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest

from bot.clock import ManualClock
from bot.config import AppConfig, parse_config
from bot.domain.audit import CLICK, COMMAND, REFUSED, AuditEntry
from bot.domain.audit_commands import AuditArgs
from bot.errors import Forbidden, RetryableError
from bot.services.access import Access
from bot.services.audit import AuditService, export_events
from bot.store.db import Database
from tests.conftest import WEDNESDAY, base_config

AUDITOR, OTHER = "U0AUDIT", "U0OTHER"


class NoGroups:
    def group_members(self, group_id: str) -> frozenset[str]:
        return frozenset({"U0GROUPIE"}) if group_id == "S0AUDIT" else frozenset()


@pytest.fixture
def config() -> AppConfig:
    cfg = base_config(audit={"viewers": ["auditors", "S0AUDIT"]})
    cfg["roles"]["auditors"] = [AUDITOR]
    return parse_config(cfg, source="test")


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database.from_url(database_url)
    try:
        yield database
    finally:
        database.dispose()


class Deferred:
    """Work handed to the pool, run when the test says so."""

    def __init__(self) -> None:
        self.work: list[Callable[[], None]] = []

    def __call__(self, work: Callable[[], None]) -> None:
        self.work.append(work)

    def run(self) -> None:
        work, self.work = self.work, []
        for w in work:
            w()


def make(config: AppConfig, store: Any, defer: Deferred | None = None) -> AuditService:
    return AuditService(config=config, store=store, access=Access(config, NoGroups()),
                        clock=ManualClock(WEDNESDAY), defer=defer)


def rows(db: Database) -> list[Any]:
    with db.transaction() as r:
        return list(reversed(r.audit.latest(environment=None, since=None, before_id=None,
                                            limit=100)))


def test_notes_are_queued_then_written_in_one_batch(config: AppConfig, db: Database) -> None:
    pool = Deferred()
    audit = make(config, db, pool)
    audit.note_command(user_id="U0ALICE", command="/deploy",
                       text="api production v1.2.3 token=xoxb-111-222-abc", channel_id="C1")
    audit.note_click(user_id="U0BOB", action_id="deploy.approve", value="7",
                     block_id="deploy.approval", channel_id="C1", message_ts="1.1")
    audit.note_refusal(user_id="U0MALLORY", request="/freeze add x", message="You may not",
                       error="Forbidden", environment=None, channel_id="C1")
    assert len(pool.work) == 1  # one flush for the burst
    assert rows(db) == [] and audit.queued == 3

    pool.run()

    events = rows(db)
    assert audit.queued == 0
    assert [(e.action, e.actor, e.environment, e.at) for e in events] == [
        (COMMAND, "U0ALICE", "production", WEDNESDAY), (CLICK, "U0BOB", None, WEDNESDAY),
        (REFUSED, "U0MALLORY", None, WEDNESDAY)]
    assert dict(events[0].details) == {"command": "/deploy",
                                       "text": "api production v1.2.3 token=[redacted]"}
    assert dict(events[1].details) == {"action_id": "deploy.approve", "value": "7",
                                       "block_id": "deploy.approval", "deployment_id": 7}
    assert dict(events[2].details) == {"request": "/freeze add x", "message": "You may not",
                                       "error": "Forbidden"}
    assert (events[1].slack_channel, events[1].slack_ts) == ("C1", "1.1")
    audit.note_command(user_id="U0ALICE", command="/deploys", text="", channel_id=None)
    assert len(pool.work) == 1  # the next burst schedules the next batch


class Down:
    """A store that is unavailable until told otherwise."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.down = True

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        if self.down:
            raise RetryableError("the database is unavailable: connection refused")
        with self.db.transaction() as r:
            yield r


def test_an_outage_keeps_the_events_for_the_next_batch(config: AppConfig,
                                                       db: Database) -> None:
    store = Down(db)
    audit = AuditService(config=config, store=store, access=Access(config, NoGroups()),
                         clock=ManualClock(WEDNESDAY), defer=None, max_queued=3)
    for n in range(2):
        audit.note_command(user_id="U0ALICE", command="/deploy", text=f"n{n}", channel_id=None)
    assert audit.queued == 2
    audit.note_command(user_id="U0ALICE", command="/deploy", text="n2", channel_id=None)
    audit.note_command(user_id="U0ALICE", command="/deploy", text="n3", channel_id=None)
    assert audit.queued == 3  # bounded: the oldest went
    store.down = False
    assert audit.flush() == 3
    assert [e.details["text"] for e in rows(db)] == ["n1", "n2", "n3"]


def test_a_bad_event_does_not_hold_up_the_others(config: AppConfig, db: Database) -> None:
    class Picky:
        def __init__(self) -> None:
            self.calls = 0

        @contextmanager
        def transaction(self) -> Iterator[Any]:
            with db.transaction() as r:
                yield Checked(r)

    class Checked:
        def __init__(self, r: Any) -> None:
            self.audit = self
            self._r = r

        def record_many(self, entries: list[AuditEntry]) -> None:
            if any(e.details.get("text") == "bad" for e in entries):
                raise ValueError("cannot store that")
            self._r.audit.record_many(entries)

    audit = make(config, Picky())
    audit._queue.extend([AuditEntry(action=COMMAND, actor="U1", at=WEDNESDAY,
                                    details={"text": t}) for t in ("ok1", "bad", "ok2")])
    assert audit.flush() == 2
    assert [e.details["text"] for e in rows(db)] == ["ok1", "ok2"]


def test_only_audit_viewers_read_the_log(config: AppConfig, db: Database) -> None:
    audit = make(config, db)
    audit.note_command(user_id="U0ALICE", command="/deploy", text="staging v1", channel_id=None)
    page = audit.latest(AuditArgs(), user_id=AUDITOR)
    assert [e.action for e in page.events] == [COMMAND] and not page.more
    assert audit.latest(AuditArgs(), user_id="U0GROUPIE").events  # a member of S0AUDIT
    with pytest.raises(Forbidden, match="needs the `auditors`, `S0AUDIT` role"):
        audit.latest(AuditArgs(), user_id=OTHER)


def test_a_page_says_when_there_is_more(config: AppConfig, db: Database) -> None:
    clock = ManualClock(WEDNESDAY)
    audit = AuditService(config=config, store=db, access=Access(config, NoGroups()),
                         clock=clock)
    for n in range(5):
        audit.note_command(user_id="U0ALICE", command="/deploy", text=f"{n}", channel_id=None)
        clock.advance(timedelta(seconds=1))
    page = audit.latest(AuditArgs(), user_id=AUDITOR, limit=3)
    assert [e.details["text"] for e in page.events] == ["4", "3", "2"] and page.more
    rest = audit.latest(AuditArgs(before_id=page.events[-1].id), user_id=AUDITOR, limit=3)
    assert [e.details["text"] for e in rest.events] == ["1", "0"] and not rest.more


def test_the_export_reads_a_batch_at_a_time(config: AppConfig, db: Database) -> None:
    clock = ManualClock(WEDNESDAY)
    audit = AuditService(config=config, store=db, access=Access(config, NoGroups()),
                         clock=clock)
    for n in range(7):
        env = "staging" if n % 2 else "production"
        audit.note_command(user_id="U0ALICE", command="/deploy", text=f"{env} v{n}",
                           channel_id=None)
        clock.advance(timedelta(minutes=1))

    class Counting:
        transactions = 0

        @contextmanager
        def transaction(self) -> Iterator[Any]:
            Counting.transactions += 1
            with db.transaction() as r:
                yield r

    everything = list(export_events(Counting(), since=None, environment=None, batch=2))
    assert [e.details["text"] for e in everything] == [
        f"{'staging' if n % 2 else 'production'} v{n}" for n in range(7)]
    assert Counting.transactions == 4  # 2 + 2 + 2 + 1
    staging = export_events(db, since=WEDNESDAY + timedelta(minutes=2), environment="staging",
                            batch=2)
    assert [e.details["text"] for e in staging] == ["staging v3", "staging v5"]
    assert list(export_events(db, since=WEDNESDAY + timedelta(days=1), environment=None)) == []


def test_audit_viewers_must_name_a_role_or_an_id() -> None:
    from bot.config import ConfigError

    with pytest.raises(ConfigError, match=r"audit\.viewers: 'nobody' is neither a role"):
        parse_config(base_config(audit={"viewers": ["nobody"]}), source="test")
    assert parse_config(base_config(), source="test").audit.viewers == ["auditors"]


def test_a_burst_is_written_a_batch_at_a_time_each_its_own_turn(config: AppConfig,
                                                                 db: Database) -> None:
    pool = Deferred()
    audit = make(config, db, pool)
    for n in range(450):
        audit.note_command(user_id="U0ALICE", command="/deploy", text=f"n{n}", channel_id=None)
    assert len(pool.work) == 1
    written = []
    while pool.work:
        pool.run()
        written.append(450 - audit.queued)
    assert written == [200, 400, 450]  # three turns on the pool
    assert len(rows(db)) == 100  # (rows() reads the newest 100)


def test_an_outage_is_not_retried_in_a_loop(config: AppConfig, db: Database) -> None:
    pool = Deferred()
    store = Down(db)
    audit = AuditService(config=config, store=store, access=Access(config, NoGroups()),
                         clock=ManualClock(WEDNESDAY), defer=pool)
    audit.note_command(user_id="U0ALICE", command="/deploy", text="n0", channel_id=None)
    pool.run()
    assert pool.work == [] and audit.queued == 1  # kept, and nothing rescheduled
    store.down = False
    audit.note_command(user_id="U0ALICE", command="/deploy", text="n1", channel_id=None)
    pool.run()
    assert audit.queued == 0
    assert [e.details["text"] for e in rows(db)] == ["n0", "n1"]

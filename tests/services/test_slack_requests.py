"""SlackRequests on a real database (SQLite, or PostgreSQL from TEST_DATABASE_URL): a key is
claimed once, by whichever caller comes first; old claims are deleted now and then, and
nothing else in the claim table is."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text

from bot.clock import ManualClock
from bot.services.slack_requests import KEEP, SlackRequests
from bot.store.db import Database


def _keys(database: Database) -> list[str]:
    with database.engine.connect() as conn:
        return sorted(k for (k,) in conn.execute(text("SELECT key FROM announcements")))


def test_a_key_is_claimed_once_across_instances(database_url: str, clock: ManualClock) -> None:
    one, two = Database.from_url(database_url), Database.from_url(database_url)
    try:
        a, b = SlackRequests(store=one, clock=clock), SlackRequests(store=two, clock=clock)
        assert a.first_time("trigger:1") is True
        assert b.first_time("trigger:1") is False
        assert a.first_time("trigger:1") is False
        assert b.first_time("trigger:2") is True
    finally:
        one.dispose()
        two.dispose()


def test_old_claims_are_pruned_and_nothing_else(database_url: str, clock: ManualClock) -> None:
    database = Database.from_url(database_url)
    try:
        with database.transaction() as r:  # an announcement's claim, as old as any
            r.announcements.claim("freeze-warning:x", due_at=clock.now(), at=clock.now())
        requests = SlackRequests(store=database, clock=clock, prune_every=3)
        assert requests.first_time("trigger:old_1")
        assert requests.first_time("trigger:old%2")
        clock.advance(KEEP + timedelta(minutes=1))
        assert requests.first_time("trigger:new")  # the third claim prunes
        assert _keys(database) == ["freeze-warning:x", "slack-request:trigger:new"]
        assert requests.prune(at=clock.now()) == 0
    finally:
        database.dispose()


def test_without_a_shared_store_keys_stay_in_memory_and_the_database_is_not_written(
        database_url: str, clock: ManualClock) -> None:
    database = Database.from_url(database_url)
    try:
        requests = SlackRequests(store=database, clock=clock, shared=False, local_keys=2)
        assert requests.first_time("trigger:1") is True
        assert requests.first_time("trigger:1") is False  # a retry in this process
        assert requests.first_time("trigger:2") is True
        assert requests.first_time("trigger:3") is True  # the oldest key is forgotten
        assert requests.first_time("trigger:1") is True
        assert _keys(database) == []  # nothing on the ack path touched the database
    finally:
        database.dispose()

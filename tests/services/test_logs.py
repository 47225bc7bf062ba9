"""The `/logs` service's own rules: who reads an environment's logs by default (production's
only by an explicit role), where the file may go, and how a log too large to post is cut
(the newest lines kept, by UTF-8 size). The whole path, over Slack and the fake cluster:
tests/handlers/test_logs_command.py."""

from __future__ import annotations

from typing import Any

import pytest

from bot.clock import ManualClock
from bot.config import AppConfig, parse_config
from bot.config.base import ConfigError
from bot.services.access import Access
from bot.services.logs import LogService, _cut_to_newest
from tests.conftest import WEDNESDAY, base_config


class NoGroups:
    def group_members(self, group_id: str) -> frozenset[str]:
        return frozenset()


def service(config: AppConfig) -> LogService:
    nothing: Any = None  # neither read nor posted here
    return LogService(config=config, store=nothing, cluster=nothing,
                      access=Access(config, NoGroups()), clock=ManualClock(WEDNESDAY),
                      files=nothing)


def test_the_default_viewers_are_the_deployers_but_production_needs_log_viewers() -> None:
    cfg = parse_config(base_config(), source="test")
    logs = service(cfg)
    assert logs.viewers("staging") == ["deployers"]
    assert logs.viewers("production") == ["log_viewers"]  # the environment named production
    assert logs._in_thread("staging") is True
    assert logs._in_thread("production") is False


def test_what_the_environment_says_wins() -> None:
    data = base_config()
    data["environments"]["staging"] = {"production": True}
    data["environments"]["production"] = {"logs": {"viewers": ["approvers"],
                                                   "in_thread": True}}
    logs = service(parse_config(data, source="test"))
    assert logs.viewers("staging") == ["log_viewers"]  # production: true
    assert logs._in_thread("staging") is False
    assert logs.viewers("production") == ["approvers"]
    assert logs._in_thread("production") is True


def test_a_written_viewer_must_be_a_role_or_an_id() -> None:
    data = base_config()
    data["environments"]["staging"] = {"logs": {"viewers": ["nobody_knows"]}}
    with pytest.raises(ConfigError) as e:
        parse_config(data, source="test")
    assert ("environments.staging.logs.viewers: 'nobody_knows' is neither a role in roles "
            "nor a Slack user") in str(e.value)


def test_a_log_too_large_keeps_its_newest_lines_by_utf8_size() -> None:
    lines = ["é" * 10, "b" * 10, "c" * 10]  # 21, 11 and 11 bytes with their newlines
    assert _cut_to_newest(lines, 22) == (["b" * 10, "c" * 10], 1)
    assert _cut_to_newest(lines, 43) == (lines, 0)
    assert _cut_to_newest(lines, 42) == (["b" * 10, "c" * 10], 1)
    assert _cut_to_newest(lines, 5) == ([], 3)

"""Per-PR instances, pure: names, how they are shown, and the teardown's claim key."""

from __future__ import annotations

import pytest

from bot.domain.github_events import parse_event
from bot.domain.github_polling import open_pull_key, open_pull_number, pull_closed
from bot.domain.previews import (
    instance_for,
    instance_label,
    pull_request_of,
    teardown_key,
    where,
)


def test_a_pull_request_has_one_instance() -> None:
    assert instance_for(7) == "pr-7"
    assert pull_request_of("pr-7") == 7
    assert pull_request_of("pr-07") is None and pull_request_of("main") is None
    with pytest.raises(ValueError):
        instance_for(0)


def test_instances_are_shown_as_their_pull_request() -> None:
    assert instance_label("pr-7") == "PR #7"
    assert instance_label("blue") == "blue"
    assert where("development", "pr-7") == "development (PR #7)"
    assert where("development", None) == "development"


def test_a_teardown_is_keyed_by_the_last_deployment_to_the_instance() -> None:
    first = teardown_key("development", "api", "pr-7", 12)
    assert first == "preview-teardown:development:api:pr-7:12"
    assert teardown_key("development", "api", "pr-7", 15) != first  # reopened, redeployed


def test_a_closed_pull_request_delivery_asks_for_its_previews_removal() -> None:
    payload = {"action": "closed", "number": 7,
               "pull_request": {"head": {"ref": "feature-x", "sha": "ab" * 20}},
               "repository": {"full_name": "acme/api"}}
    ev = parse_event("pull_request", payload)
    assert ev.closes_pull_request and ev.ignored is None
    assert not parse_event("pull_request", payload | {"action": "opened"}).closes_pull_request
    labeled = parse_event("pull_request", payload | {"action": "labeled"})
    assert labeled.ignored == "pull_request action 'labeled'"
    assert not labeled.closes_pull_request


def test_polling_keeps_a_key_per_open_pull_request() -> None:
    key = open_pull_key("Acme/API", 7)
    assert key == "github-poll-open:acme/api:pr7"
    assert open_pull_number("acme/api", key) == 7
    assert open_pull_number("acme/api", "github-poll-open:acme/api:prx") is None
    assert open_pull_number("acme/web", key) is None
    seen = pull_closed("acme/api", 7)
    assert seen.event.closes_pull_request and seen.event.pull_request == 7
    assert seen.key == "github-poll-closed:acme/api:pr7"

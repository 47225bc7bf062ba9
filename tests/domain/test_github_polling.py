"""Polled heads as the events a webhook would deliver, and their claim keys."""

from __future__ import annotations

from bot.domain.github_polling import (
    MAX_KEY,
    PullHead,
    branch_baseline_key,
    branch_head,
    pull_head,
    pulls_baseline_key,
)

SHA = "0123456789abcdef0123456789abcdef01234567"


def test_a_branch_head_is_a_push_to_that_branch() -> None:
    seen = branch_head("Acme/API", "main", SHA)
    ev = seen.event
    assert (ev.name, ev.repository, ev.ref, ev.branch, ev.sha, ev.ignored) == (
        "push", "Acme/API", "refs/heads/main", "main", SHA, None)
    assert ev.version == SHA[:12]
    assert seen.key == f"github-poll:acme/api:branch:main:{SHA}"  # one key whatever the case


def test_a_pull_request_head_is_a_pull_request_event() -> None:
    seen = pull_head("acme/api", PullHead(7, "feature-x", SHA))
    ev = seen.event
    assert (ev.name, ev.branch, ev.sha, ev.pull_request, ev.ignored) == (
        "pull_request", "feature-x", SHA, 7, None)
    assert seen.key == f"github-poll:acme/api:pr7:{SHA}"
    assert pull_head("acme/api", PullHead(7, "feature-x", "f" * 40)).key != seen.key


def test_baselines_are_per_branch_and_per_repository_for_pull_requests() -> None:
    assert branch_baseline_key("acme/api", "main") != branch_baseline_key("acme/api", "dev")
    assert pulls_baseline_key("acme/api") != pulls_baseline_key("acme/web")


def test_a_key_too_long_for_the_claim_table_is_shortened_and_stays_distinct() -> None:
    long_branch = "feature/" + "x" * 300
    a = branch_head("acme/api", long_branch, SHA).key
    b = branch_head("acme/api", long_branch, "f" * 40).key
    assert len(a) <= MAX_KEY and len(b) <= MAX_KEY
    assert a != b

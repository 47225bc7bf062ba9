"""Polled heads as the events a webhook would deliver, and their claim keys."""

from __future__ import annotations

from bot.domain.cause import Cause
from bot.domain.github_polling import (
    MAX_KEY,
    BranchHead,
    PullHead,
    branch_baseline_key,
    branch_head,
    pull_head,
    pulls_baseline_key,
    waiting,
    waiting_key,
    waiting_prefix,
)

SHA = "0123456789abcdef0123456789abcdef01234567"
HEAD = BranchHead(SHA)


def test_a_branch_head_is_a_push_to_that_branch() -> None:
    seen = branch_head("Acme/API", "main", HEAD)
    ev = seen.event
    assert (ev.name, ev.repository, ev.ref, ev.branch, ev.sha, ev.ignored) == (
        "push", "Acme/API", "refs/heads/main", "main", SHA, None)
    assert ev.version == SHA[:12]
    assert seen.key == f"github-poll:acme/api:branch:main:{SHA}"  # one key whatever the case


def test_a_polled_head_says_why_as_a_delivery_would() -> None:
    """The branch's head commit's author and first line; an open pull request's opener and
    title, without an action (a poll sees a new head, not what made it); the claim keys are
    the head's alone."""
    head = BranchHead(SHA, "octocat", "Fix checkout totals\n\nTax was left out.")
    seen = branch_head("acme/api", "main", head)
    assert seen.event.cause == Cause("push", "main", SHA, author="octocat",
                                     message="Fix checkout totals")
    assert seen.key == branch_head("acme/api", "main", HEAD).key
    assert branch_head("acme/api", "main", HEAD).event.cause == Cause("push", "main", SHA)
    pull = pull_head("acme/api", PullHead(7, "feature-x", SHA, "octocat", "Add x"))
    assert pull.event.cause == Cause("pull_request", "feature-x", SHA, author="octocat",
                                     message="Add x", pull_request=7)
    assert pull.key == pull_head("acme/api", PullHead(7, "feature-x", SHA)).key


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
    a = branch_head("acme/api", long_branch, HEAD).key
    b = branch_head("acme/api", long_branch, BranchHead("f" * 40)).key
    assert len(a) <= MAX_KEY and len(b) <= MAX_KEY
    assert a != b


def test_a_waiting_head_is_found_again_under_its_look_or_is_superseded() -> None:
    baseline = branch_baseline_key("acme/api", "main")
    head = branch_head("acme/api", "main", HEAD)
    key = waiting_key(baseline, head, "api")
    assert key.startswith(waiting_prefix(baseline)) and key.endswith(f":api:{SHA[:12]}")
    assert not key.startswith(waiting_prefix(branch_baseline_key("acme/api", "develop")))
    found = waiting(baseline, key, (head,))
    assert (found.seen, found.service, found.version) == (head, "api", SHA[:12])
    newer = branch_head("acme/api", "main", BranchHead("f" * 40))
    moved = waiting(baseline, key, (newer,))  # main moved on: superseded
    assert (moved.seen, moved.service, moved.version) == (None, "api", SHA[:12])


def test_a_delivered_head_belongs_to_the_look_polling_makes() -> None:
    from bot.domain.github_events import GitHubEvent
    from bot.domain.github_polling import look_of

    push = GitHubEvent("push", "Acme/API", "refs/heads/main", "main", SHA)
    assert look_of(push) == (branch_baseline_key("acme/api", "main"),
                             branch_head("Acme/API", "main", HEAD))
    pr = GitHubEvent("pull_request", "acme/api", "feature-x", "feature-x", SHA,
                     pull_request=7)
    assert look_of(pr) == (pulls_baseline_key("acme/api"),
                           pull_head("acme/api", PullHead(7, "feature-x", SHA)))
    assert look_of(GitHubEvent("push", "acme/api", "refs/heads/gone", "gone", None)) is None

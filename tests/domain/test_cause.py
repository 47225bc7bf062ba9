"""Why an automatic deploy started: what a webhook delivery says moved on GitHub (GitHub docs,
"Webhook events and payloads": `push` — ref, after, head_commit.message, head_commit.author,
pusher; `pull_request` — action, number, pull_request.head.ref, .user.login, .title), kept
with the deployment as a plain dict."""

from __future__ import annotations

from typing import Any

from bot.domain.cause import MAX_AUTHOR, MAX_MESSAGE, Cause, first_line
from bot.domain.github_events import parse_event

SHA = "3f2a9c1d0e4b5f60718293a4b5c6d7e8f9012345"


def push(**kw: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "ref": "refs/heads/main", "before": "0" * 39 + "1", "after": SHA, "deleted": False,
        "head_commit": {"id": SHA, "message": "Fix checkout totals\n\nThe sum skipped tax.",
                        "author": {"name": "Mona Octocat", "email": "mona@example.com",
                                   "username": "octocat"}},
        "pusher": {"name": "hubot", "email": "hubot@example.com"},
        "repository": {"full_name": "acme/api"}, "sender": {"login": "hubot"}}
    payload.update(kw)
    return payload


def pull_request(action: str = "opened", **kw: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "action": action, "number": 7,
        "pull_request": {"number": 7, "title": "Add the feature x",
                         "user": {"login": "octocat"},
                         "head": {"ref": "feature-x", "sha": SHA}},
        "repository": {"full_name": "acme/api"}, "sender": {"login": "hubot"}}
    payload.update(kw)
    return payload


def test_a_push_names_the_branch_the_commit_its_author_and_its_first_line() -> None:
    assert parse_event("push", push()).cause == Cause(
        "push", "main", SHA, author="octocat", message="Fix checkout totals")


def test_a_commit_author_without_a_github_account_is_named_as_git_has_it() -> None:
    head = {"id": SHA, "message": "Fix", "author": {"name": "Mona", "email": "m@example.com"}}
    assert parse_event("push", push(head_commit=head)).cause == Cause(
        "push", "main", SHA, author="Mona", message="Fix")


def test_a_push_without_its_head_commit_says_only_what_it_knows() -> None:
    """No head_commit (or another commit's, or one of any other shape): the branch and the
    commit, no message and no author — never the pusher as the commit's author."""
    for head in (None, {"id": "f" * 40, "message": "Other", "author": {"username": "x"}},
                 "Fix", {"id": SHA, "message": 5, "author": ["octocat"]}):
        assert parse_event("push", push(head_commit=head)).cause == Cause("push", "main", SHA)
    assert "head_commit" in push()
    bare = push()
    del bare["head_commit"]
    assert parse_event("push", bare).cause == Cause("push", "main", SHA)


def test_a_pull_request_names_its_number_branch_who_and_title() -> None:
    assert parse_event("pull_request", pull_request()).cause == Cause(
        "pull_request", "feature-x", SHA, author="octocat", message="Add the feature x",
        pull_request=7, action="opened")
    # New commits pushed to it, or reopened: who did that (the sender).
    assert parse_event("pull_request", pull_request("synchronize")).cause == Cause(
        "pull_request", "feature-x", SHA, author="hubot", message="Add the feature x",
        pull_request=7, action="synchronize")
    assert parse_event("pull_request", pull_request("reopened")).cause.author == "hubot"  # type: ignore[union-attr]


def test_nothing_to_deploy_has_no_cause() -> None:
    assert parse_event("push", push(ref="refs/tags/v1.2.3")).cause is None
    assert parse_event("push", push(deleted=True, after="0" * 40)).cause is None
    assert parse_event("pull_request", pull_request("closed")).cause is None
    assert parse_event("release", {"action": "published"}).cause is None


def test_the_first_line_is_kept_cut_at_a_word() -> None:
    assert first_line("\n\n  Fix checkout totals  \r\nbody") == "Fix checkout totals"
    assert first_line("   \n") is None
    assert first_line(None) is None
    long = "Fix " + "checkout totals " * 30
    kept = first_line(long)
    assert kept is not None and len(kept) <= MAX_MESSAGE and kept.endswith("totals…")


def test_it_is_kept_as_a_dict_and_read_back_whatever_the_column_holds() -> None:
    c = Cause("pull_request", "feature-x", SHA, author="octocat", message="Add x",
              pull_request=7, action="opened")
    assert Cause.from_dict(c.as_dict()) == c
    plain = Cause("push", "main", SHA)
    assert Cause.from_dict(plain.as_dict()) == plain
    # A row someone edited, or a later version's: what is not one is left out.
    assert Cause.from_dict({"event": "push", "branch": "main"}) is None
    assert Cause.from_dict({"event": "push", "branch": "main", "sha": SHA, "author": 5,
                            "message": ["x"], "pull_request": "7"}) == plain
    assert Cause.from_dict({"event": "push", "branch": "main", "sha": SHA,
                            "author": "a" * 500}).author == "a" * (MAX_AUTHOR - 1) + "…"

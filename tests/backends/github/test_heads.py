"""Branch heads and open pull requests through the GitHub backend (polling), against the
local fake GitHub API over HTTP: a head with its commit's author and message (from the
branch's answer, no request more), a pull request with who opened it and its title; a
used-up rate limit carries its reset time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.backends.github import GitHubClient, GitHubRepositoryHeads
from bot.domain.github_polling import BranchHead, PullHead
from bot.errors import NotFound, RateLimited
from devtools.fake_github import FakeGitHub
from devtools.fake_github.repo import RepoState

SHA = "a" * 40


@pytest.fixture
def repo(fake: FakeGitHub) -> RepoState:
    return RepoState(fake)


@pytest.fixture
def heads(client: GitHubClient) -> GitHubRepositoryHeads:
    return GitHubRepositoryHeads(client)


def test_a_branch_head_is_its_commit_with_its_author_and_message(
        heads: GitHubRepositoryHeads, repo: RepoState, fake: FakeGitHub) -> None:
    repo.set_branch("acme/api", "main", SHA, message="Fix checkout totals\n\nTax was left out.",
                    author="mona")
    assert heads.branch_head("acme/api", "main") == BranchHead(
        SHA, "mona", "Fix checkout totals\n\nTax was left out.")
    assert fake.reads() == ["/repos/acme/api/branches/main"]  # the commit comes with it


def test_an_author_without_a_github_account_is_the_name_git_has(
        heads: GitHubRepositoryHeads, repo: RepoState) -> None:
    repo.set_branch("acme/api", "main", SHA, message="Fix", author=None, name="Mona Lisa")
    assert heads.branch_head("acme/api", "main") == BranchHead(SHA, "Mona Lisa", "Fix")


def test_a_branch_answer_without_the_commits_details_is_its_sha_alone(
        heads: GitHubRepositoryHeads, repo: RepoState) -> None:
    repo.bare_commits = True
    repo.set_branch("acme/api", "main", SHA, message="Fix")
    assert heads.branch_head("acme/api", "main") == BranchHead(SHA)


def test_a_missing_branch_is_none_and_a_missing_repository_not_found(
        heads: GitHubRepositoryHeads, repo: RepoState) -> None:
    assert heads.branch_head("acme/api", "gone") is None
    with pytest.raises(NotFound, match="acme/nope"):
        heads.branch_head("acme/nope", "main")


def test_open_pull_requests_with_their_heads(heads: GitHubRepositoryHeads, repo: RepoState,
                                            fake: FakeGitHub) -> None:
    repo.open_pull("acme/api", 7, "feature-x", SHA, author="mona", title="Add x")
    repo.open_pull("acme/api", 9, "fix-y", "b" * 40)
    assert sorted(heads.open_pulls("acme/api"), key=lambda p: p.number) == [
        PullHead(7, "feature-x", SHA, "mona", "Add x"),
        PullHead(9, "fix-y", "b" * 40, "octocat", "PR 9")]
    (req, _resp), = fake.server.log
    assert req.path == "/repos/acme/api/pulls" and req.args.get("state") == "open"


def test_a_used_up_rate_limit_says_when_it_resets(heads: GitHubRepositoryHeads,
                                                 repo: RepoState) -> None:
    reset = datetime(2030, 1, 1, 0, 0, tzinfo=UTC)
    repo.rate_limit(reset)
    with pytest.raises(RateLimited, match="resets at 00:00 UTC") as e:
        heads.open_pulls("acme/api")
    assert e.value.reset_at == reset


def test_too_many_requests_says_how_long_to_wait(heads: GitHubRepositoryHeads,
                                                fake: FakeGitHub) -> None:
    fake.status = 429
    fake.headers = {"Retry-After": "30"}
    with pytest.raises(RateLimited) as e:
        heads.branch_head("acme/api", "main")
    assert (e.value.reset_at, e.value.retry_after) == (None, timedelta(seconds=30))


def test_a_repeated_look_with_nothing_changed_is_a_304(heads: GitHubRepositoryHeads,
                                                      repo: RepoState,
                                                      fake: FakeGitHub) -> None:
    repo.set_branch("acme/api", "main", SHA)
    repo.open_pull("acme/api", 7, "feature-x", SHA)
    pull = PullHead(7, "feature-x", SHA, "octocat", "PR 7")
    for _ in range(2):  # a 304 answers with what was read before, the commit's details too
        assert heads.branch_head("acme/api", "main") == BranchHead(SHA, "octocat",
                                                                   f"Change {SHA[:7]}")
        assert heads.open_pulls("acme/api") == [pull]
    repo.set_branch("acme/api", "main", "b" * 40)  # a merge: a new answer (200)
    head = heads.branch_head("acme/api", "main")
    assert head is not None and head.sha == "b" * 40
    assert heads.open_pulls("acme/api") == [pull]
    assert [s for _, _, s in fake.answered()] == [200, 200, 304, 304, 200, 304]
    assert fake.counted() == 3
    sent = [req.headers.get("If-None-Match") for req, _ in fake.server.log]
    assert sent[0] is None and sent[2] is not None and sent[2].startswith('W/"')


def test_the_cache_is_bounded(client: GitHubClient, repo: RepoState) -> None:
    client.cache.size = 2
    heads = GitHubRepositoryHeads(client)
    for b in ("a", "b", "c"):
        repo.set_branch("acme/api", b, SHA)
        heads.branch_head("acme/api", b)
    assert len(client.cache) == 2

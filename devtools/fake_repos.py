"""`deploybot shell --github fake`: every service on a repository of a local fake GitHub,
so the shell can show what GitHub sets off — a merge to main deploying itself to staging
(the guide's "staging on merge") and versions checked against the repository's tags.

This module owns the shell's fake GitHub: the config it runs on (`on_fake_github`: each
service without `github:` gets the repository `demo/<service>` with `auto_deploy: {main:
<the environment production promotes from>}`, and its version_pattern also takes a commit's
first 12 characters, which is what an automatic deploy deploys (`github.version_from: sha`,
docs/github.md)); what the repositories hold at the start (`simulated.initial_version`,
tagged on main's head); a merge (`FakeRepositories.merge`: someone's pull request squashed
into a new head of main — its commit message "<title> (#<n>)", as GitHub's squash merge words
it, its author the person merging —, tagged with the release's version, as a release workflow
would tag it); and the lifetime of the server (`fake_github(config)`, a context manager).

The shell's people are GitHub users too: Slack's U0BOB is `bob` there (`login_of`).

GitHub itself is devtools.fake_github (tags, branches, the Deployments API, over HTTP, on
pytest-httpserver); the bot reaches it with PyGithub exactly as it reaches github.com. The
shell has no webhook endpoint (as in Socket Mode), so the bot finds a merge by polling
(`github.poll: on`, every `github.poll_every`, the scheduler's `poll-github` job):
`advance 1m` after a merge lets it look.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from pytest_httpserver import HTTPServer

from bot.config import AppConfig, parse_config
from devtools.fake_cluster import DEFAULT_VERSION
from devtools.fake_github import TOKEN, FakeGitHub, sha_of
from devtools.fake_github.repo import RepoState

__all__ = ["MAIN", "OWNER", "SHA_VERSION", "FakeRepositories", "Merged", "fake_github",
           "login_of", "on_fake_github"]

#: The owner of the fake repositories: `demo/<service>`.
OWNER = "demo"
#: The branch a merge lands on.
MAIN = "main"
#: What an automatic deploy's version looks like: the commit's first 12 characters.
SHA_VERSION = r"^[0-9a-f]{12}$"


def _merge_target(config: AppConfig, service: str) -> str | None:
    """Where a merge to main deploys `service`: the environment a production environment
    promotes from (staging, in the guide), when the service deploys there."""
    for env in config.environments.values():
        source = env.promote_from
        if env.production and source is not None and service in config.services_in(source):
            return source
    return None


def _with_sha_versions(pattern: str) -> str:
    """`pattern` that also takes a commit's first 12 characters (unless it already does)."""
    if re.fullmatch(pattern, "0123456789ab"):
        return pattern
    return f"(?:{pattern})|{SHA_VERSION}"


def on_fake_github(config: AppConfig, *, api_url: str, source: str = "app.yaml") -> AppConfig:
    """`config` with every service on a repository of the fake GitHub at `api_url`: its own
    `github:` kept (its repository must then be one the fake serves: `repositories`), else
    `demo/<service>` with a merge to main deploying to the environment production promotes
    from. Validated again as app.yaml is (a ConfigError naming `source`)."""
    data: dict[str, Any] = config.model_dump(exclude_unset=True)
    for name, svc in config.services.items():
        entry = dict(data["services"][name])
        if svc.github is None:
            github: dict[str, Any] = {"repository": f"{OWNER}/{name}"}
            target = _merge_target(config, name)
            if target is not None:
                github["auto_deploy"] = {MAIN: target}
            entry["github"] = github
        entry["version_pattern"] = _with_sha_versions(svc.version_pattern)
        data["services"][name] = entry
    # The shell has no webhook endpoint (as in Socket Mode): the bot polls, whatever
    # GITHUB_WEBHOOK_SECRET the environment has.
    data["github"] = {**data.get("github", {}), "api_url": api_url, "poll": "on"}
    return parse_config(data, source=f"{source} (--github fake)")


def login_of(user: str) -> str:
    """The GitHub login of a shell user: U0BOB is `bob` (a Slack user id without its `U0`
    or `U`/`W`, in lower case)."""
    name = user[2:] if user.startswith(("U0", "W0")) else user[1:] if user[:1] in "UW" else user
    return name.lower() or "octocat"


@dataclass(frozen=True)
class Merged:
    """One merge: the repository, the new head of main, the tag it got, the pull request
    (its number, title and author)."""

    repository: str
    sha: str
    tag: str
    targets: tuple[str, ...]  # the environments main deploys to
    number: int = 1
    title: str = ""
    author: str = "octocat"

    @property
    def version(self) -> str:
        """What the automatic deploy of the merge deploys (version_from: sha)."""
        return self.sha[:12]


@dataclass
class FakeRepositories:
    """A running fake GitHub: the server, its repositories, and the config pointed at it."""

    github: FakeGitHub
    state: RepoState
    config: AppConfig
    token: str = TOKEN
    merges: list[Merged] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.github.url

    def repository_of(self, service: str) -> str | None:
        svc = self.config.services.get(service)
        return svc.github.repository if svc is not None and svc.github is not None else None

    def merge(self, service: str, tag: str, *, title: str | None = None,
              author: str = "octocat") -> Merged:
        """`author`'s pull request (`title`, default "Release <tag>") squashed into main of
        `service`'s repository, its commit tagged `tag`: main's head moves to the commit
        ("<title> (#<n>)", by `author`), the tag points at it. ValueError (its message for
        the person typing) for an unknown service or a tag that exists."""
        repository = self.repository_of(service)
        if repository is None:
            known = ", ".join(sorted(self.config.services))
            raise ValueError(f"There is no service {service!r} (services: {known}).")
        tags = self.github.repos[repository]
        if tag in tags:
            raise ValueError(f"{repository} already has the tag {tag}: merge under a new "
                             "version.")
        sha = sha_of(tag)  # the fake's tags point at sha_of(tag): main's new head
        tags.insert(0, tag)
        number = 1 + sum(m.repository == repository for m in self.merges)
        title = title or f"Release {tag}"
        self.state.set_branch(repository, MAIN, sha, message=f"{title} (#{number})",
                              author=author, name=author.capitalize())
        svc = self.config.services[service]
        assert svc.github is not None
        merged = Merged(repository, sha, tag,
                        tuple(env for branch, env in svc.github.auto_deploy.items()
                              if branch == MAIN), number, title, author)
        self.merges.append(merged)
        return merged

    def describe(self) -> list[str]:
        """Lines for the shell's banner: the repositories, what main deploys to."""
        lines = [f"  github: a fake GitHub at {self.url} (`merge <service> <version> [title]` "
                 "merges your pull request into main and tags it)"]
        for name, svc in self.config.services.items():
            gh = svc.github
            assert gh is not None
            goes = ", ".join(f"a merge to {b} deploys to {e}" for b, e in
                             gh.auto_deploy.items()) or "no automatic deploys"
            tags = ", ".join(self.github.repos.get(gh.repository, [])) or "no tags"
            lines.append(f"    {name}: {gh.repository} (tags: {tags}); {goes}")
        return lines


@contextmanager
def fake_github(config: AppConfig, *, source: str = "app.yaml") -> Iterator[FakeRepositories]:
    """Start a fake GitHub serving a repository per service (see `on_fake_github`), each
    with main's head tagged `simulated.initial_version`; stop it when the block ends,
    however it ends."""
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    try:
        url = server.url_for("").rstrip("/")
        github_config = on_fake_github(config, api_url=url, source=source)
        initial = config.simulated.initial_version or DEFAULT_VERSION
        repositories = sorted({svc.github.repository for svc in
                               github_config.services.values() if svc.github is not None})
        github = FakeGitHub(server, {r: [initial] for r in repositories})
        state = RepoState(github)
        for r in repositories:
            state.set_branch(r, MAIN, sha_of(initial))
        yield FakeRepositories(github=github, state=state, config=github_config)
    finally:
        if server.is_running():
            server.stop()

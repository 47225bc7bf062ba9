"""The shell's `merge <service> <version> [title]`: the current user's pull request (its
title, default "Release <version>") merged into main of the service's repository on the fake
GitHub (devtools.fake_repos), its commit tagged with the version — and what the person
typing is told: the pull request, the commit, the tag, where main deploys, and that the bot
finds it at its next poll of GitHub (`advance` to let it look). The deploy it sets off names
the merge as its cause (the commit's first line and its author).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.container import Container
from bot.domain.github_polling import WAITING_KEYS
from bot.scheduling.jobs import NextDue
from devtools.fake_repos import MAIN, FakeRepositories, login_of

USAGE = ("Usage: merge <service> <version> [title], e.g. `merge api v1.2.3` or `merge api "
         "v1.2.3 Fix checkout totals`: your pull request is merged into main and its commit "
         "tagged <version> (needs `--github fake`).")


def _every(period: timedelta) -> str:
    seconds = int(period.total_seconds())
    if seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    if seconds % 60 == 0:
        return f"{seconds // 60}m"
    return f"{seconds}s"


def merge(repos: FakeRepositories | None, words: list[str], *, user: str) -> list[str]:
    """Run `merge` with `words` (what followed it) as `user` (their GitHub login:
    `login_of`); the lines to show."""
    if repos is None:
        return ["(this shell has no GitHub: start it with `--github fake` to merge, e.g. "
                "`./scripts/demo --github fake`)"]
    if len(words) < 2:
        return [USAGE]
    service, tag, *title = words
    try:
        merged = repos.merge(service, tag, title=" ".join(title) or None,
                             author=login_of(user))
    except ValueError as e:
        return [str(e)]
    lines = [f"(on GitHub: {merged.author}'s pull request #{merged.number} “{merged.title}” "
             f"is merged into {MAIN} of {merged.repository} — commit {merged.version}, "
             f"tagged {merged.tag})"]
    poll = repos.config.github.poll_every
    if merged.targets:
        where = ", ".join(merged.targets)
        lines.append(f"(a merge to {MAIN} deploys `{merged.version}` to {where}: deploybot "
                     f"polls GitHub every {_every(poll)}; `advance {_every(poll)}` lets it "
                     "look)")
    else:
        lines.append(f"(nothing deploys {service} on a merge to {MAIN}: "
                     f"`/deploy {service} <environment> {merged.tag}` deploys the tag)")
    return lines


def poll_github_due(repos: FakeRepositories, container: Container) -> NextDue:
    """When the bot's poll of the shell's GitHub can find anything, for the shell's timeline
    (which skips the other ticks): after a merge it has not looked at yet, and while a head
    waits for a deployment in flight (its waiting key). A real poller cannot know when GitHub
    changes, so it looks every `github.poll_every`; here GitHub changes only by `merge`, and
    the session's first look (its baseline) is taken at the start. Without this, every
    minute of a simulated week was a poll (~4,300 in the release-week demo, and each made
    every other job ask again when it is due)."""
    looked_at = len(repos.merges)

    def due(instance: str, at: datetime) -> datetime | None:
        nonlocal looked_at
        with container.database.transaction() as r:
            waiting = bool(r.announcements.keys(WAITING_KEYS))
        if looked_at == len(repos.merges) and not waiting:
            return None
        looked_at = len(repos.merges)  # asked just before its tick runs: it looks now
        return at

    return due

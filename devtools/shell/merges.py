"""The shell's `merge <service> <version> [title]`: the current user's pull request (its
title, default "Release <version>") merged into main of the service's repository on the fake
GitHub (devtools.fake_repos), its commit tagged with the version — and what the person
typing is told: the pull request, the commit, the tag, where main deploys, and that the bot
finds it at its next poll of GitHub (`advance` to let it look). The deploy it sets off names
the merge as its cause (the commit's first line and its author).
"""

from __future__ import annotations

from datetime import timedelta

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

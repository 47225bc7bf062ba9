"""The pre-deployment checklist, built for the composition root (bot.container): evaluated
from GitHub where app.yaml has `checklist:` and deploybot is connected to GitHub; only its
"Feature flags configured" item where no checklist asks GitHub but a service declares flags;
else nothing (the cards then show the guide's items as not checked, and why)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.backends.slack import SlackNotifier
from bot.clock import Clock
from bot.config import AppConfig
from bot.services.checklist import ChecklistService
from bot.services.flag_reads import FlagReader
from bot.store.db import Database

if TYPE_CHECKING:  # imported where it is built (below)
    from bot.backends.github import GitHubClient


def build_checklists(config: AppConfig, *, store: Database, github: GitHubClient | None,
                     clock: Clock, notifier: SlackNotifier,
                     defer: Callable[[Callable[[], None]], object],
                     flags: FlagReader) -> ChecklistService | None:
    """`defer`: where the checklist is evaluated, off the ack path (the background pool)."""
    review = None
    if config.checklist is not None and github is not None:
        from bot.backends.github import GitHubCodeReview

        review = GitHubCodeReview(github)
    elif not any(svc.flags for svc in config.services.values()):
        return None
    # review None: no checklist asks GitHub, "Feature flags configured" alone is checked.
    return ChecklistService(config=config, store=store, review=review, clock=clock,
                            notifier=notifier, defer=defer, flags=flags)

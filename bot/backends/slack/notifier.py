"""The Slack ports' implementation over the Web API: `SlackNotifier` (deployment cards and
their records, announcements, alerts, DMs, App Home, plain posts: the Notifier, HomeTab,
DirectMessages and Poster ports) and `SlackDirectory` (user-group membership: the Directory
port). Every call goes through `slack_call`."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk import WebClient

from bot.backends.slack.client import slack_call
from bot.domain.deployment import Deployment
from bot.domain.failure_evidence import FailureEvidence
from bot.domain.flag_status import FlagReading
from bot.domain.links import NO_LINKS, Link, LinkCatalog
from bot.domain.policy import PolicyDecision
from bot.domain.severity import DEFAULT_SEVERITY, Outcome, Production, Severity, severity_of
from bot.domain.text import is_slack_user
from bot.errors import PermanentError, RetryableError
from bot.ports import Changes, ChecklistCards, DeploymentWatcher, MessageRefs
from bot.presentation import blocks
from bot.presentation.checklist_views import with_checklist
from bot.presentation.evidence_views import failure_evidence
from bot.presentation.flag_views import flag_thread_note


def _link_of(res: Any) -> str | None:
    """chat.getPermalink's link, or None when it answered without one (never "None")."""
    link = res.get("permalink") if hasattr(res, "get") else None
    return str(link) if link else None


class SlackNotifier:
    def __init__(self, client: WebClient, *, channel: str, zone: ZoneInfo,
                 production: Production = frozenset({"production"}),
                 severity: Mapping[Outcome, Severity] = DEFAULT_SEVERITY,
                 mentions: Mapping[Severity, str] | None = None,
                 changes: Changes | None = None, links: LinkCatalog = NO_LINKS,
                 kill_switches: Mapping[tuple[str, str], Sequence[str]] | None = None,
                 ) -> None:
        """`production`, `severity` and `mentions` decide how loud a result is announced
        (app.yaml's environments.<name>.production, announcements.severity and .mentions);
        `changes` is told whenever a deployment's card is shown or an announcement posted
        (the App Home refresh); `links` (app.yaml's `links:`) are shown on the card, in
        the record and in failure announcements; `kill_switches`: (service, environment) →
        the flags offered as "Turn <flag> off" beside Rollback after a failed watch."""
        self._client = client
        self._channel = channel
        self._zone = zone
        self._production = production
        self._severity = severity
        self._mentions = dict(mentions or {})
        self._changes = changes
        self._links = links
        self._kill_switches = dict(kill_switches or {})
        self._watchers: list[DeploymentWatcher] = []
        self._checklists: ChecklistCards | None = None
        #: the declared feature flags as each deploy's rollout started (the record's line)
        self._flags_set: Callable[[Deployment], FlagReading | None] | None = None
        #: (service, version) → the tag of a commit as last listed, asking nothing
        self._tags: Callable[[str, str], str | None] | None = None
        #: a request awaiting approval → its deploy window now (never raising)
        self._window: Callable[[Deployment], PolicyDecision | None] | None = None
        # Serialize edits of one deployment's messages so an older state never lands last.
        self._locks: dict[int, threading.Lock] = {}
        self._guard = threading.Lock()

    def _lock_for(self, deployment_id: int) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(deployment_id, threading.Lock())

    def show(self, d: Deployment) -> MessageRefs:
        """Called whenever a deployment changes: its card, and `changes` (even when Slack
        refused the card, the deployment changed), and the `watcher`."""
        refs: MessageRefs | None = None
        try:
            refs = self._show_card(d)
            return refs
        finally:
            self._changed()
            for watcher in self._watchers:
                watcher.deployment_changed(d, refs)

    def watch(self, watcher: DeploymentWatcher) -> None:
        """Hand `watcher` too each deployment shown from now on (the GitHub deployments
        mirror, the alert router: built after the notifier)."""
        self._watchers.append(watcher)

    def show_checklists(self, checklists: ChecklistCards) -> None:
        """Show each card's pre-deployment checklist from `checklists` (built after the
        notifier)."""
        self._checklists = checklists

    def show_flags_set(self, flags_set: Callable[[Deployment], FlagReading | None]) -> None:
        """Show in each record the feature flags set as its rollout started (`flags_set`,
        never raising; built after the notifier)."""
        self._flags_set = flags_set

    def show_tags(self, tags: Callable[[str, str], str | None] | None) -> None:
        """Name each commit a card shows (running now, downgraded from, rolled back to or
        from) with its tag: `tags` answers from what GitHub last listed, asking nothing
        (VersionCheck.known_tag; a card may be shown on any thread). None: no GitHub."""
        self._tags = tags

    def show_window(self, window: Callable[[Deployment], PolicyDecision | None]) -> None:
        """Say on the card of a request awaiting approval that its deploy window is closed
        (a freeze started under it): `window` answers for it now, never raising
        (DeploymentService.card_window; built after the notifier)."""
        self._window = window

    def _tags_of(self, d: Deployment) -> dict[str, str]:
        if self._tags is None:
            return {}
        tags = self._tags
        shown = {v for v in (d.version, d.previous_version, d.downgrade_from) if v}
        return {v: t for v in shown if (t := tags(d.service, v)) is not None}

    def permalink(self, channel: str, ts: str) -> str | None:
        """The permalink of a message (a deployment's thread); None when Slack will not say."""
        try:
            res = slack_call(self._client.chat_getPermalink, channel=channel, message_ts=ts)
        except (RetryableError, PermanentError):
            return None
        return _link_of(res)

    def _links_of(self, d: Deployment) -> tuple[Link, ...]:
        return self._links.resolve(d.service, d.environment, d.version)

    def _show_card(self, d: Deployment) -> MessageRefs:
        links = self._links_of(d)
        card = blocks.deployment_card(
            d, self._zone, links, self._kill_switches.get((d.service, d.environment), ()),
            self._tags_of(d), window=self._window(d) if self._window is not None else None)
        checklist = self._checklists.card_checklist(d) if self._checklists else None
        if checklist is not None:
            card = with_checklist(card, d, checklist)
        flags_set = self._flags_set(d) if self._flags_set is not None else None
        record = blocks.deployment_record(d, self._zone, checklist, links, flags_set)
        with self._lock_for(d.id):
            if d.channel and d.message_ts:
                slack_call(self._client.chat_update, channel=d.channel, ts=d.message_ts,
                      text=card.text, blocks=card.blocks)
                if d.record_ts:
                    slack_call(self._client.chat_update, channel=d.channel, ts=d.record_ts,
                          text=record.text, blocks=record.blocks)
                return MessageRefs(d.channel, d.message_ts, d.record_ts)
            posted = slack_call(self._client.chat_postMessage, channel=self._channel,
                           text=card.text, blocks=card.blocks, unfurl_links=False)
            channel, ts = str(posted["channel"]), str(posted["ts"])
            try:
                rec = slack_call(self._client.chat_postMessage, channel=channel, thread_ts=ts,
                            text=record.text, blocks=record.blocks, unfurl_links=False)
            except (RetryableError, PermanentError):
                # Both or neither: the caller cancels the request, so leave no card with
                # live Approve buttons behind.
                with contextlib.suppress(RetryableError, PermanentError):
                    slack_call(self._client.chat_delete, channel=channel, ts=ts)
                raise
            return MessageRefs(channel, ts, str(rec["ts"]))

    def _permalink(self, d: Deployment) -> str | None:
        if not (d.channel and d.message_ts):
            return None
        try:
            res = slack_call(self._client.chat_getPermalink, channel=d.channel,
                        message_ts=d.message_ts)
        except (RetryableError, PermanentError):
            return None
        return _link_of(res)

    def announce(self, d: Deployment) -> None:
        level = severity_of(d, production=self._production, mapping=self._severity)
        msg = blocks.announcement(d, self._zone, self._permalink(d), severity=level,
                                  mention=self._mentions.get(level),
                                  links=self._links_of(d))
        slack_call(self._client.chat_postMessage, channel=d.channel or self._channel,
              text=msg.text, blocks=msg.blocks, unfurl_links=False)

    def notify_requester(self, d: Deployment) -> None:
        if not is_slack_user(d.requested_by):  # e.g. "deploybot (github)": nobody to DM
            return
        msg = blocks.requester_note(d, self._zone, self._permalink(d))
        slack_call(self._client.chat_postMessage, channel=d.requested_by, text=msg.text,
              blocks=msg.blocks, unfurl_links=False)

    def notify_approval_dropped(self, old: Deployment, new: Deployment, user_id: str) -> None:
        msg = blocks.approval_dropped_note(old, new, self._permalink(new))
        slack_call(self._client.chat_postMessage, channel=user_id, text=msg.text,
                   blocks=msg.blocks, unfurl_links=False)

    def alert(self, d: Deployment, overrides: Sequence[str]) -> None:
        msg = blocks.emergency_alert(d, list(overrides), self._zone)
        slack_call(self._client.chat_postMessage, channel=d.channel or self._channel,
              text=msg.text, blocks=msg.blocks, unfurl_links=False)

    def prompt_requester(self, d: Deployment) -> None:
        msg = blocks.window_open_prompt(d, self._zone)
        slack_call(self._client.chat_postMessage, channel=d.requested_by, text=msg.text,
              blocks=msg.blocks, unfurl_links=False)

    def explain_failure(self, d: Deployment, evidence: FailureEvidence) -> None:
        """In the deployment's thread (under its card): the failing pod, its last log lines
        and the warning events, with Pods / Logs buttons."""
        msg = failure_evidence(evidence, d.id, self._zone)
        slack_call(self._client.chat_postMessage, channel=d.channel or self._channel,
                   thread_ts=d.message_ts, text=msg.text, blocks=msg.blocks,
                   unfurl_links=False)

    def announce_flag_change(self, d: Deployment, thread: Deployment) -> None:
        """The end of flag change `d`, in the thread of `thread` (the deployment that
        introduced the flag), linking to the flag change's own card."""
        msg = flag_thread_note(d, self._permalink(d))
        slack_call(self._client.chat_postMessage, channel=thread.channel or self._channel,
                   thread_ts=thread.message_ts, text=msg.text, blocks=msg.blocks,
                   unfurl_links=False)

    def publish_home(self, user_id: str, view: dict[str, Any]) -> None:
        """The HomeTab port: views.publish of the user's App Home tab."""
        slack_call(self._client.views_publish, user_id=user_id, view=view)

    def direct_message(self, user_id: str, text: str,
                       blocks: Sequence[dict[str, Any]] | None = None) -> None:
        """The DirectMessages port: a message in the user's DM with the bot."""
        slack_call(self._client.chat_postMessage, channel=user_id, text=text,
              blocks=list(blocks) if blocks else None, unfurl_links=False)

    def post(self, text: str, *, channel: str | None = None) -> tuple[str, str]:
        """The Poster port: a plain announcement in the deployments channel. Freezes and
        locks are announced after each change (added, removed, taken, released, expired,
        starting, ending), so `changes` is told here too."""
        msg = blocks.notice(text)
        try:
            res = slack_call(self._client.chat_postMessage, channel=channel or self._channel,
                        text=msg.text, blocks=msg.blocks, unfurl_links=False)
        finally:
            self._changed()
        return str(res["channel"]), str(res["ts"])

    def _changed(self) -> None:
        if self._changes is not None:
            self._changes.changed()


class SlackDirectory:
    """User-group membership, cached for `ttl` seconds."""

    def __init__(self, client: WebClient, *, ttl: float = 300.0) -> None:
        self._client = client
        self._ttl = ttl
        self._cache: dict[str, tuple[float, frozenset[str]]] = {}
        self._lock = threading.Lock()

    def group_members(self, group_id: str) -> frozenset[str]:
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(group_id)
            if hit and now - hit[0] < self._ttl:
                return hit[1]
        res = slack_call(self._client.usergroups_users_list, usergroup=group_id)
        members = frozenset(str(u) for u in res.get("users", []))
        with self._lock:
            self._cache[group_id] = (now, members)
        return members

"""What the services ask of Slack: a deployment's card and announcements (Notifier, Poster),
user groups, the App Home and DMs, text files shared in a channel, a thread or a DM (Files),
who is told of changes people see, and the bot token's identity and channels as the doctor
checks them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from bot.domain.deployment import Deployment
from bot.domain.failure_evidence import FailureEvidence
from bot.domain.locks import Lock
from bot.errors import PermanentError, UserError


@dataclass(frozen=True)
class MessageRefs:
    channel: str
    message_ts: str
    record_ts: str | None


class Notifier(Protocol):
    def show(self, d: Deployment) -> MessageRefs:
        """Post the deployment's card and record thread, or update them in place."""
        ...

    def announce(self, d: Deployment) -> None:
        """Announce the end result in the deployments channel."""
        ...

    def notify_requester(self, d: Deployment) -> None: ...

    def notify_approval_dropped(self, old: Deployment, new: Deployment, user_id: str) -> None:
        """DM `user_id`, who had approved `old`, that `new` superseded it (their approval
        went with it), linking to `new`'s card."""
        ...

    def alert(self, d: Deployment, overrides: Sequence[str]) -> None:
        """Announce loudly (top level in the channel) an emergency deploy request."""
        ...

    def prompt_requester(self, d: Deployment) -> None:
        """DM the requester of a scheduled deploy: its window is open, start it or cancel."""
        ...

    def explain_failure(self, d: Deployment, evidence: FailureEvidence) -> None:
        """Post in the deployment's thread what the cluster shows about its failure."""
        ...

    def announce_flag_change(self, d: Deployment, thread: Deployment) -> None:
        """Post the end of flag change `d` in the thread of `thread` (the deployment that
        introduced the flag)."""
        ...


class Directory(Protocol):
    def group_members(self, group_id: str) -> frozenset[str]: ...


class Changes(Protocol):
    """Told that something people see has changed (a deployment's card, a lock, a freeze),
    so that views showing it (the App Home tab) are refreshed. Returns at once and never
    raises: the caller may be the deployment runner."""

    def changed(self) -> None: ...


class DeploymentWatcher(Protocol):
    """Told of each deployment the Notifier shows (`refs`: where its card is, when known).
    Returns at once and never raises: the caller may be the deployment runner."""

    def deployment_changed(self, d: Deployment, refs: MessageRefs | None) -> None: ...


class DeployRefusals(Protocol):
    """Told of each deploy request a lock refused at once (no deployment was created).
    Returns at once and never raises: the caller is answering a Slack request."""

    def deploy_refused(self, lock: Lock, *, user_id: str, at: datetime, reason: str) -> None:
        ...


class HomeTab(Protocol):
    def publish_home(self, user_id: str, view: dict[str, Any]) -> None:
        """Publish `view` (a Block Kit `home` view) as the user's App Home tab."""
        ...


class DirectMessages(Protocol):
    def direct_message(self, user_id: str, text: str,
                       blocks: Sequence[dict[str, Any]] | None = None) -> None:
        """Tell one user something in their DM with the bot (e.g. the answer to a click in
        the App Home, which has no response_url)."""
        ...


class Responses(Protocol):
    def respond_later(self, response_url: str, text: str,
                      blocks: Sequence[dict[str, Any]] | None = None) -> bool:
        """Post an ephemeral message to a request's response_url, from any process (not
        the one that received the request). False when Slack refused it (the URL expired
        or was used up: it takes 5 posts within 30 minutes,
        https://docs.slack.dev/interactivity/handling-user-interaction#message_responses);
        RetryableError when Slack could not be reached."""
        ...


class TriggerExpired(UserError):
    """Slack would not open a modal: the interaction's trigger_id is spent (it lasts 3
    seconds and opens one view)."""

    def __init__(self, message: str = (
            "Slack would not open the form: it has to open within 3 seconds of your command "
            "or click, and did not this time. Run it again, or type the command whole "
            "(`/deploy help` shows how).")) -> None:
        super().__init__(message)


class Modals(Protocol):
    def open_modal(self, trigger_id: str, view: dict[str, Any]) -> str:
        """Open `view` (a Block Kit `modal`) for the user whose interaction sent
        `trigger_id`; returns the view's id. TriggerExpired when Slack answers that the
        trigger is expired, already exchanged or invalid."""
        ...


class NotInChannel(PermanentError):
    """Slack will not share a file in a channel the bot is not a member of."""


class Files(Protocol):
    def upload(self, *, channel: str, filename: str, content: str, title: str,
               initial_comment: str | None = None, thread_ts: str | None = None) -> str:
        """Share `content` as a text file in `channel` (a conversation id, or a user id: the
        user's DM with the bot), in the thread of `thread_ts` when given, introduced by
        `initial_comment`; returns the file's permalink. NotInChannel when the bot is not in
        `channel`; RetryableError when Slack could not be reached."""
        ...


class Poster(Protocol):
    def post(self, text: str, *, channel: str | None = None) -> tuple[str, str]:
        """Post a plain message (announcements); returns (channel, ts)."""
        ...


@dataclass(frozen=True)
class SlackIdentity:
    """Who the bot token is (auth.test) and the scopes Slack granted it (None: not said)."""

    user: str
    team: str
    scopes: frozenset[str] | None


class SlackAccess(Protocol):
    """The bot token's identity and channel membership. Errors: PermanentError (a bad
    token, a missing scope), RetryableError (Slack unreachable), NotFound (no such channel)."""

    def identity(self) -> SlackIdentity: ...

    def is_member(self, channel: str) -> bool:
        """Whether the bot is in `channel` (an id C…, or a #name)."""
        ...

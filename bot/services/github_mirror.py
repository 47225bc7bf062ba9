"""Every deployment of a service with a GitHub repository, mirrored as a GitHub deployment
with statuses (issue 6, Deployments API), so the repository's Environments page tells the
same story as Slack.

The notifier hands each deployment it shows to `GitHubMirror.deployment_changed`, which only
queues it: one thread of the mirror's own talks to GitHub, in order. GitHub being slow, down
or refusing never blocks or fails a deployment: a RetryableError is retried a few times with
backoff, anything else is logged and dropped. Each GitHub state is posted once per
deployment (the last one posted is remembered), and never one that goes back (queued after
in_progress).

deploybot state → GitHub deployment status:
- SCHEDULED: nothing yet (no GitHub deployment until it is requested for real);
- AWAITING_APPROVAL, QUEUED → queued; RUNNING, VERIFYING → in_progress;
- SUCCEEDED → success (GitHub marks the deployment it replaces `inactive`: auto_inactive);
- FAILED → failure; ROLLED_BACK (a deploy or rollback replaced by a rollback) → failure;
  a rollback's own success → success;
- REJECTED, EXPIRED, CANCELLED → inactive (nothing ran: not an `error`, and GitHub shows
  no red environment for a request someone turned down). A deployment ended so before
  it was ever mirrored gets no GitHub deployment at all.
MIGRATE runs are not mirrored (they change no version).
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from bot.domain.deployment import Deployment, Kind
from bot.domain.previews import github_environment
from bot.domain.states import State
from bot.errors import DeploybotError, RetryableError
from bot.ports import DeploymentMirror, GitHubDeploymentState, MessageRefs, Store
from bot.services.outbox import Outbox

log = logging.getLogger(__name__)

T = TypeVar("T")

GITHUB_STATE: dict[State, GitHubDeploymentState] = {
    State.AWAITING_APPROVAL: "queued",
    State.QUEUED: "queued",
    State.RUNNING: "in_progress",
    State.VERIFYING: "in_progress",
    State.SUCCEEDED: "success",
    State.FAILED: "failure",
    State.ROLLED_BACK: "failure",
    State.REJECTED: "inactive",
    State.EXPIRED: "inactive",
    State.CANCELLED: "inactive",
}
_RANK: dict[GitHubDeploymentState, int] = {"queued": 0, "in_progress": 1}  # else 2: an end
_MIRRORED = (Kind.DEPLOY, Kind.ROLLBACK)
#: Deployments whose GitHub id, last state and thread link are remembered in memory.
REMEMBERED = 1000


def github_state(d: Deployment) -> GitHubDeploymentState | None:
    """The GitHub status of `d` as it is now; None when it is not mirrored (yet)."""
    return GITHUB_STATE.get(d.state) if d.kind in _MIRRORED else None


def _describe(d: Deployment, state: GitHubDeploymentState) -> str:
    what = "Rollback to" if d.kind is Kind.ROLLBACK else "Deploy of"
    text = f"deploybot #{d.id}: {what} {d.version} in {d.environment}, {d.state.value}"
    if d.error and state in ("failure", "error", "inactive"):
        text += f": {d.error}"
    return text


class GitHubMirror:
    """Implements the DeploymentWatcher port. `repositories` maps a service to its GitHub
    repository ("owner/name"); `permalink(channel, ts)` gives the Slack thread's link.
    `attempts` and `backoff` (seconds, doubled each time) apply to a RetryableError."""

    def __init__(self, *, repositories: Mapping[str, str], store: Store,
                 mirror: DeploymentMirror, permalink: Callable[[str, str], str | None],
                 attempts: int = 3, backoff: float = 1.0,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._repos = dict(repositories)
        self._store = store
        self._mirror = mirror
        self._permalink = permalink
        self.attempts = attempts
        self.backoff = backoff
        self._sleep = sleep
        self._ids: OrderedDict[int, int] = OrderedDict()  # deploybot id → GitHub id
        self._last: OrderedDict[int, GitHubDeploymentState] = OrderedDict()
        self._links: OrderedDict[int, str] = OrderedDict()
        self._outbox = Outbox(name="mirroring on GitHub")

    # -- the DeploymentWatcher port: returns at once, never raises --------------------------

    def deployment_changed(self, d: Deployment, refs: MessageRefs | None) -> None:
        if d.service not in self._repos or github_state(d) is None:
            return
        self._outbox.put(f"deployment {d.id}", lambda: self._mirror_one(d, refs))

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until everything queued has been posted (or dropped)."""
        return self._outbox.wait_idle(timeout)

    def shutdown(self, *, timeout: float = 5.0) -> None:
        """Post what is queued (for at most `timeout` seconds), then stop."""
        self._outbox.shutdown(timeout=timeout)

    def _mirror_one(self, d: Deployment, refs: MessageRefs | None) -> None:
        state = github_state(d)
        if state is None:
            return
        last = self._last.get(d.id)
        if last == state or (last is not None
                             and _RANK.get(state, 2) < _RANK.get(last, 2)):
            return  # posted already, or it would go back
        repository = self._repos[d.service]
        gh_id = self._ids.get(d.id) or d.github_deployment_id
        if gh_id is None:
            if state == "inactive":
                self._remember(self._last, d.id, state)  # ended before it was mirrored
                return
            payload: dict[str, Any] = {"deploybot_deployment_id": d.id, "kind": d.kind.value,
                                       "requested_by": d.requested_by}
            if d.rollback_of is not None:
                payload["rollback_of"] = d.rollback_of
            created = self._try(d, "create the GitHub deployment",
                                lambda: self._mirror.create_deployment(
                                    repository, d.version,
                                    github_environment(d.environment, d.instance),
                                    _describe(d, state), payload))
            if created is None:
                return
            gh_id = created
            with self._store.transaction() as r:
                r.deployments.record_github_deployment(d.id, gh_id)
        self._remember(self._ids, d.id, gh_id)
        log_url = self._log_url(d, refs)
        github_id = gh_id

        def post() -> bool:
            self._mirror.set_status(repository, github_id, state, log_url=log_url,
                                    description=_describe(d, state),
                                    environment=github_environment(d.environment,
                                                                   d.instance))
            return True

        if self._try(d, f"post the GitHub status {state}", post):
            self._remember(self._last, d.id, state)

    def _log_url(self, d: Deployment, refs: MessageRefs | None) -> str | None:
        if d.id in self._links:
            return self._links[d.id]
        channel = refs.channel if refs else d.channel
        ts = refs.message_ts if refs else d.message_ts
        if not (channel and ts):
            return None
        link = self._permalink(channel, ts)
        if link:
            self._remember(self._links, d.id, link)
        return link

    def _try(self, d: Deployment, what: str, fn: Callable[[], T]) -> T | None:
        """fn(), retried on RetryableError; None (logged) when it did not work out."""
        for attempt in range(self.attempts):
            try:
                return fn()
            except RetryableError as e:
                if attempt + 1 >= self.attempts:
                    log.warning("deployment %s: could not %s after %d attempts: %s", d.id,
                                what, self.attempts, e)
                    return None
                self._sleep(self.backoff * 2 ** attempt)
            except DeploybotError as e:  # PermanentError, NotFound: asking again won't help
                log.warning("deployment %s: could not %s: %s", d.id, what, e)
                return None
        return None

    @staticmethod
    def _remember(memory: OrderedDict[int, Any], key: int, value: Any) -> None:
        memory[key] = value
        memory.move_to_end(key)
        while len(memory) > REMEMBERED:
            memory.popitem(last=False)

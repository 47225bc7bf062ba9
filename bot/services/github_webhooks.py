"""Automatic deploys from GitHub webhooks (`POST /github/webhook`).

`receive` is the quick part, done while GitHub waits (10 s): check the payload, claim the
delivery id exactly once in the announcement claim table (key `github-delivery:<id>`, so a
redelivery does nothing, in any process), and hand the rest to the background pool.
`process` then maps the event to services and environments by app.yaml
(`services.<name>.github.auto_deploy` for pushes, `.pull_requests` for pull requests) and
requests each deploy through `DeploymentService.request_automatic`: locks, windows, freezes,
the one-in-flight rule, the promotion gate and approvals apply. A refused one is announced
in the deployments channel (the commit the executor runs there already, as a skip); every
delivery is audited (`github.delivery`) with its outcome.
One refusal is not final when GitHub is polled too (`retried_every`, set by the polling):
"another deployment is in flight" makes the head wait (a waiting key, bot.domain.github_polling),
and each later poll hands it back here for that service (`process(..., only=...)`) until it is
admitted, refused otherwise, or superseded by a newer head; it is announced once, and a look
that finds it still busy says and audits nothing. Without polling a delivery answered is never
redelivered, so that refusal says the next push deploys the branch's head.
With `pull_requests: {environment: ..., per_pr: true}` a pull request deploys to its own
instance `pr-<n>` (a preview), and closing it removes the preview (bot/services/previews.py).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum

from bot.config import AppConfig, ServiceConfig
from bot.domain.busy import DeploymentBusy
from bot.domain.commands import DeployArgs
from bot.domain.github_events import GitHubEvent, parse_event, signature_ok
from bot.domain.github_polling import look_of, waiting_key
from bot.domain.log_commands import duration_text
from bot.domain.previews import instance_for, where
from bot.errors import DeploybotError, UserError
from bot.ports import Clock, Poster, Store
from bot.presentation.cause_views import cause_line
from bot.services.deployments import DeploymentService
from bot.services.previews import PreviewService
from bot.services.refusals import RunsAlready

log = logging.getLogger(__name__)

AUDIT_ACTION = "github.delivery"
#: The longest X-GitHub-Delivery taken (GitHub's are GUIDs, 36 characters): its claim key
#: must fit the announcement claim table's key.
MAX_DELIVERY_ID = 100
#: The outcome of a look again at a waiting head that is still refused as busy: not audited.
STILL_WAITING = "still waiting"


class Received(Enum):
    ACCEPTED = "accepted"  # claimed: processed in the background
    DUPLICATE = "duplicate"  # a redelivery: nothing done
    INVALID = "invalid"  # not a JSON object, or no event or delivery id (or one too long)


@dataclass(frozen=True)
class AutoDeploy:
    service: str
    environment: str
    version: str
    why: str  # "push to main", "pull request #7"
    instance: str | None = None  # a pull request's preview ("pr-7"); None: the environment

    @property
    def where(self) -> str:
        return where(self.environment, self.instance)


class GitHubWebhooks:
    def __init__(self, *, config: AppConfig, store: Store, deployments: DeploymentService,
                 poster: Poster, clock: Clock, secret: str,
                 defer: Callable[[Callable[[], None]], None],
                 previews: PreviewService | None = None) -> None:
        self._previews = previews  # removes a closed pull request's previews
        self._config = config
        self._store = store
        self._deployments = deployments
        self._poster = poster
        self._clock = clock
        self._secret = secret
        self._defer = defer
        self._actor = config.github.auto_deployer
        self._retry_every: timedelta | None = None

    def retried_every(self, every: timedelta) -> None:
        """GitHub is polled every `every` (bot/services/github_polling.py): a head refused
        because another deployment is in flight waits and is handed on again by each poll."""
        self._retry_every = every

    def verify(self, body: bytes, signature: str | None) -> bool:
        return signature_ok(self._secret, body, signature)

    def receive(self, event: str, delivery: str, body: bytes) -> Received:
        """Call only with a verified body. Claims the delivery; ACCEPTED hands it to the
        background pool."""
        if len(delivery) > MAX_DELIVERY_ID:
            return Received.INVALID
        try:
            payload = json.loads(body)
        except (ValueError, RecursionError):  # not JSON (or UTF-8), or nested too deep
            return Received.INVALID
        if not delivery or not event or not isinstance(payload, dict):
            return Received.INVALID
        ev = parse_event(event, payload)
        at = self._clock.now()
        # With polling on too, the head is claimed as polling claims what it finds: whichever
        # path finds a head first handles it, the other does nothing (no second "skipped:
        # already running"). A close is not a head to deploy: never claimed here.
        look = (look_of(ev) if self._retry_every is not None and not ev.closes_pull_request
                else None)
        with self._store.transaction() as r:
            fresh = r.announcements.claim(f"github-delivery:{delivery}", due_at=at, at=at)
            why = "duplicate: ignored"
            if fresh and look is not None and not r.announcements.claim(look[1].key,
                                                                        due_at=at, at=at):
                fresh, why = False, "duplicate: polling found this head first"
            if not fresh:
                r.audit.record(AUDIT_ACTION, actor=self._actor, at=at,
                               details=self._details(ev, delivery, [why]))
        if not fresh:
            return Received.DUPLICATE
        self._defer(lambda: self.process(ev, delivery))
        return Received.ACCEPTED

    def targets(self, ev: GitHubEvent) -> tuple[list[AutoDeploy], str | None]:
        """The deploys `ev` asks for, or none and why."""
        if ev.ignored is not None:
            return [], ev.ignored
        services = [(name, svc) for name, svc in self.sorted_services()
                    if svc.github is not None and ev.repository is not None
                    and svc.github.repository.lower() == ev.repository.lower()]
        if not services:
            return [], f"repository {ev.repository!r} is not configured"
        if ev.closes_pull_request:
            return [], "pull request closed"
        out: list[AutoDeploy] = []
        version = ev.version
        assert version is not None and ev.branch is not None
        for name, svc in services:
            assert svc.github is not None
            instance = None
            if ev.name == "push":
                env = svc.github.auto_deploy.get(ev.branch)
                why = f"push to {ev.branch}"
            else:
                env = svc.github.pr_environment
                why = f"pull request #{ev.pull_request} ({ev.branch})"
                if svc.github.per_pr and ev.pull_request is not None:
                    instance = instance_for(ev.pull_request)
            if env is not None:
                out.append(AutoDeploy(name, env, version, why, instance))
        if not out:
            what = (f"branch {ev.branch!r}" if ev.name == "push" else "pull requests")
            return [], f"no automatic deploy configured for {what}"
        return out, None

    def sorted_services(self) -> list[tuple[str, ServiceConfig]]:
        return sorted(self._config.services.items())

    def teardowns(self, ev: GitHubEvent) -> list[tuple[str, str]]:
        """(service, environment) of the previews a closed pull request leaves behind."""
        if not ev.closes_pull_request or ev.repository is None:
            return []
        return [(name, svc.github.pull_requests.environment)
                for name, svc in self.sorted_services()
                if svc.github is not None and svc.github.pull_requests is not None
                and svc.github.per_pr
                and svc.github.repository.lower() == ev.repository.lower()]

    def process(self, ev: GitHubEvent, delivery: str, *, only: Collection[str] | None = None,
                notes: Sequence[str] = ()) -> None:
        """Deploy what `ev` asks for and audit it. `only`: a waiting head looked at again (by
        polling) for these services; its outcomes are audited only when something happened
        (not when it is still busy). `notes`: more outcomes for the audit (supersessions)."""
        targets, ignored = self.targets(ev)
        if only is not None:
            targets = [t for t in targets if t.service in only]
        outcomes: list[str] = [f"ignored: {ignored}"] if ignored else []
        if ev.closes_pull_request and ev.pull_request is not None:
            teardowns = self.teardowns(ev)
            if teardowns and self._previews is not None:
                outcomes = [self._previews.close(svc, env, ev.pull_request,
                                                 why=f"pull request closed in {ev.repository}")
                            for svc, env in teardowns]
        deployment_id: int | None = None
        for t in targets:
            outcome, dep_id = self._deploy(t, ev, retried=only is not None)
            outcomes.append(outcome)
            deployment_id = deployment_id or dep_id
        if only is not None:  # looked again: still busy is nothing happening
            outcomes = [o for o in outcomes if not o.endswith(STILL_WAITING)]
        outcomes += notes
        if not outcomes and only is not None:
            return
        with self._store.transaction() as r:
            r.audit.record(AUDIT_ACTION, actor=self._actor, at=self._clock.now(),
                           deployment_id=deployment_id,
                           details=self._details(ev, delivery, outcomes))

    def _deploy(self, t: AutoDeploy, ev: GitHubEvent, *,
                retried: bool = False) -> tuple[str, int | None]:
        head = f"{t.service} {t.where}"
        pattern = self._config.services[t.service].version_pattern
        if not re.fullmatch(pattern, t.version):
            self._announce(
                f":warning: Automatic deploy of {t.service} to {t.where} skipped "
                f"({t.why} in {ev.repository}): the commit's version `{t.version}` does not "
                f"match the service's version_pattern `{pattern}`.", ev)
            return f"{head}: skipped, version does not match version_pattern", None
        args = DeployArgs(service=t.service, environment=t.environment, version=t.version,
                          instance=t.instance)
        try:
            d = self._deployments.request_automatic(args, source=self._actor,
                                                    cause=ev.cause)
        except RunsAlready as e:  # the commit runs there already: nothing to deploy
            self._announce(
                f":information_source: Automatic deploy of {t.service} `{t.version}` to "
                f"{t.where} ({t.why} in {ev.repository}) skipped: {e.finding}", ev)
            return f"{head}: skipped: already running", None
        except DeploymentBusy as e:  # waits for the next poll, or is lost: say which
            return self._busy(t, ev, e, retried=retried), None
        except DeploybotError as e:
            why = e.message if isinstance(e, UserError) else str(e)
            self._announce(
                f":no_entry: Automatic deploy of {t.service} `{t.version}` to {t.where} "
                f"({t.why} in {ev.repository}) was not started: {why}", ev)
            return f"{head}: blocked: {why}", None
        after = " after waiting" if retried else ""
        return f"{head}: deployment #{d.id} requested ({d.state.value}){after}", d.id

    def _wait(self, t: AutoDeploy, ev: GitHubEvent) -> bool | None:
        """Make the head wait for the next poll (when GitHub is polled): True when it was
        not waiting yet, False when it was, None when nothing looks at it again. A delivered
        head is claimed as seen too, so polling does not hand it on as new."""
        look = look_of(ev) if self._retry_every is not None else None
        if look is None:
            return None
        baseline, seen = look
        at = self._clock.now()
        with self._store.transaction() as r:
            r.announcements.claim(seen.key, due_at=at, at=at)
            return r.announcements.claim(waiting_key(baseline, seen, t.service),
                                         due_at=at, at=at)

    def _busy(self, t: AutoDeploy, ev: GitHubEvent, e: DeploymentBusy, *,
              retried: bool) -> str:
        """Refused by the one-at-a-time rule. Polled: the head waits for the next look,
        announced once. Otherwise the delivery is claimed once, so this commit is never
        deployed by itself later; the announcement says so and what deploys it. A person
        deploys a tag, never a commit (`VersionCheck`)."""
        ended = f"#{e.active.id}" if e.active is not None else "it"
        fresh = self._wait(t, ev)
        if fresh is not None:
            if retried or not fresh:  # told already
                return f"{t.service} {t.where}: {STILL_WAITING}"
            assert self._retry_every is not None
            moves = (ev.branch if ev.name == "push" else f"pull request #{ev.pull_request}")
            other = ended if e.active is not None else "the other deployment"
            self._announce(
                f":hourglass_flowing_sand: Automatic deploy of {t.service} `{t.version}` to "
                f"{t.where} ({t.why} in {ev.repository}) waits: {e.message} This commit is "
                f"deployed when {other} has finished (deploybot looks again every "
                f"{duration_text(self._retry_every)}), unless {moves} moves on first: then "
                "its newest head is.", ev)
            return (f"{t.service} {t.where}: waiting: "
                    + (f"deployment {ended} is in flight" if e.active is not None
                       else "another deployment is in flight"))
        push = t.why if t.why.startswith("push") else f"push to {t.why}"
        tag = ("" if t.instance is not None else
               f"; to deploy this commit, `/deploy {t.service} {t.environment} <tag>` with a "
               "tag of it")
        self._announce(
            f":no_entry: Automatic deploy of {t.service} `{t.version}` to {t.where} "
            f"({t.why} in {ev.repository}) was not started: {e.message} This commit is not "
            f"deployed by itself later: once {ended} has finished, the next {push} deploys "
            f"its head{tag}.", ev)
        return f"{t.service} {t.where}: blocked: {e.message}"

    def _announce(self, text: str, ev: GitHubEvent) -> None:
        """Post `text` with the change it is about, as that change's card would name it
        ("Automatic: `main` moved to `3f2a9c1d0e4b` — 'Fix checkout totals' by octocat")."""
        if ev.cause is not None:
            text += f"\n{cause_line(ev.cause)}"
        try:
            self._poster.post(text)
        except DeploybotError:
            log.exception("could not announce an automatic deploy")

    @staticmethod
    def _details(ev: GitHubEvent, delivery: str, outcomes: list[str]) -> dict[str, object]:
        details: dict[str, object] = {"event": ev.name, "delivery": delivery,
                                      "repository": ev.repository, "ref": ev.ref,
                                      "sha": ev.sha, "outcome": outcomes}
        if ev.action is not None:
            details["action"] = ev.action
        if ev.pull_request is not None:
            details["pull_request"] = ev.pull_request
        if ev.sender is not None:
            details["sender"] = ev.sender
        return details

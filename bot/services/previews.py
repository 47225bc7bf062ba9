"""Tearing down a pull request's preview (its per-PR instance) when the pull request closes.

Deploys to a preview go through `DeploymentService.request_automatic` like any automatic
deploy (bot/services/github_webhooks.py, with the instance `pr-<n>`). When the pull request is
closed (a `pull_request` delivery with action `closed`, or polling no longer seeing it open),
`close` removes the instance once: it claims `teardown_key(environment, service, instance,
last deployment to it)` in the announcements claim table, so a duplicate delivery, polling
seeing the same close, or a second process does nothing; then asks the cluster to remove the
instance (Kubernetes deletes the per-PR Deployment, simulated forgets it), announces it in the
deployments channel and audits it (`preview.removed`, or `preview.remove_failed`).
Deployments to the preview that have not started yet (awaiting approval, a window, or the
runner) are cancelled first, so that nothing brings the preview back after its removal.

A direct call rather than a deployment kind through the runner: a teardown is one idempotent
API call (a delete that answers 404 when done already), with no rollout to follow, no
approval, window or lock to respect (removing a preview only takes something away from a
closed pull request) and nothing to resume after a crash beyond trying again — which the
claim allows: a teardown that could not reach the cluster (RetryableError) gives its claim
back, so polling's next look at the closed pull request, or a redelivery, tries again.
"""

from __future__ import annotations

import logging

from bot.domain.deployment import Deployment
from bot.domain.previews import instance_for, instance_label, teardown_key
from bot.domain.states import State
from bot.errors import DeploybotError, RetryableError
from bot.ports import Clock, Notifier, Poster, Previews, Store

log = logging.getLogger(__name__)

AUDIT_REMOVED = "preview.removed"
AUDIT_FAILED = "preview.remove_failed"


class PreviewService:
    def __init__(self, *, store: Store, cluster: object, poster: Poster, clock: Clock,
                 actor: str, notifier: Notifier | None = None) -> None:
        """`cluster`: the Cluster; it removes instances when it has the Previews
        capability. `notifier` updates the cards of the deployments cancelled."""
        self._notifier = notifier
        self._store = store
        self._cluster = cluster
        self._poster = poster
        self._clock = clock
        self._actor = actor

    def close(self, service: str, environment: str, pull_request: int, *, why: str) -> str:
        """The pull request `pull_request` was closed: remove its instance of `service` in
        `environment` unless that was done already. Returns the outcome, for the
        delivery's audit record."""
        instance = instance_for(pull_request)
        label = instance_label(instance)
        head = f"{service} {environment} ({label})"
        at = self._clock.now()
        self._cancel_unstarted(service, environment, instance, label)
        with self._store.transaction() as r:
            last = r.deployments.last_to_instance(environment, service, instance)
            fresh = last is not None and r.announcements.claim(
                teardown_key(environment, service, instance, last), due_at=at, at=at)
        if last is None:
            return f"{head}: no preview to remove"
        if not fresh:
            return f"{head}: preview removed already"
        key = teardown_key(environment, service, instance, last)
        details: dict[str, object] = {"service": service, "environment": environment,
                                      "instance": instance, "pull_request": pull_request,
                                      "last_deployment": last, "why": why}
        try:
            if not isinstance(self._cluster, Previews):
                raise DeploybotError(f"the executor of {service} cannot remove per-PR "
                                     "instances")
            existed = self._cluster.remove_instance(environment, service, instance)
        except DeploybotError as e:
            if isinstance(e, RetryableError):  # the next look (or a redelivery) tries again
                with self._store.transaction() as r:
                    r.announcements.release(key)
            with self._store.transaction() as r:
                r.audit.record(AUDIT_FAILED, actor=self._actor, at=self._clock.now(),
                               deployment_id=last, details=details | {"error": str(e)},
                               environment=environment)
            self._announce(f":warning: {label} closed: the preview of {service} in "
                           f"{environment} could not be removed: {e}")
            return f"{head}: preview not removed: {e}"
        with self._store.transaction() as r:
            r.audit.record(AUDIT_REMOVED, actor=self._actor, at=self._clock.now(),
                           deployment_id=last, details=details | {"existed": existed},
                           environment=environment)
        if not existed:  # e.g. its only deploy was refused or never approved
            return f"{head}: no preview was running"
        self._announce(f":broom: {label} closed: preview of {service} in {environment} "
                       "removed")
        return f"{head}: preview removed"

    def _cancel_unstarted(self, service: str, environment: str, instance: str,
                          label: str) -> None:
        """Cancel the deployments to the instance that have not started (one that the
        runner starts meanwhile is left to it: its transition wins)."""
        at = self._clock.now()
        cancelled: list[Deployment] = []
        with self._store.transaction() as r:
            for i in r.deployments.unstarted_on_instance(environment, service, instance):
                if r.deployments.transition(i, State.CANCELLED, at=at, finished_at=at,
                                            error=f"{label} was closed"):
                    r.audit.record("deploy.cancelled", actor=self._actor, at=at,
                                   deployment_id=i, details={"why": f"{label} was closed"})
                    d = r.deployments.get(i)
                    if d is not None:
                        cancelled.append(d)
        for d in cancelled:
            if self._notifier is not None and d.message_ts is not None:
                try:
                    self._notifier.show(d)
                except DeploybotError:
                    log.warning("could not update the card of deployment %s", d.id)

    def _announce(self, text: str) -> None:
        try:
            self._poster.post(text)
        except DeploybotError:
            log.exception("could not announce a preview's removal")

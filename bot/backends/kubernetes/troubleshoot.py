"""The troubleshooting reads of one service's Deployment (the Troubleshooting capability):
the guide's `kubectl get deployment` / `rollout history` (`rollout_view`) and `kubectl get
pods` (`pod_views`), read live with one GET of the Deployment, one LIST of its ReplicaSets
and one LIST of their pods; and what `logs` and `events` (their own modules) share: the
service's pods (`Found`) and the errors in the port's kinds (`read_error`).

A look, not a rollout: the calls fail fast (`Timing.glance`), an unreachable or 5xx API is
a RetryableError, RBAC's 403 a PermanentError naming the verb, the resource and the
namespace, and where the Role is (deploy/kubernetes/base/rbac.yaml).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.backends.kubernetes.api import KubernetesProblem, port_error
from bot.backends.kubernetes.objects import (
    CHANGE_CAUSE,
    containers_of,
    label_selector,
    meta_of,
    revision_of,
    timestamp,
)
from bot.backends.kubernetes.pods import CRASH_LOOP, IMAGE_PULL_REASONS, START_REASONS
from bot.backends.kubernetes.status import rollout_status
from bot.backends.kubernetes.workload import Target, Workload
from bot.errors import PermanentError, RetryableError
from bot.ports import Condition, PodView, ReplicaSetView, RolloutView, Termination

#: Where the Role that a 403 asks to extend is, said in the error.
RBAC_HINT = "deploy/kubernetes/base/rbac.yaml lists what deploybot needs (docs/kubernetes.md)"
#: Waiting reasons that waiting will not fix: shown before a plain ContainerCreating.
_BAD_WAITING = IMAGE_PULL_REASONS | START_REASONS | {CRASH_LOOP}


def read_error(e: KubernetesProblem) -> RetryableError | PermanentError:
    """A read that failed, in the port's kinds; a 403 also says where the Role is."""
    if e.kind == "forbidden":
        return PermanentError(f"{e}; {RBAC_HINT}")
    return port_error(e)


@dataclass(frozen=True)
class Found:
    """The Deployment there, its ReplicaSets (highest revision first) and their pods."""

    target: Target
    deployment: dict[str, Any]
    replica_sets: list[dict[str, Any]]
    pods: list[dict[str, Any]]

    @property
    def current(self) -> dict[str, Any] | None:
        """The ReplicaSet of the Deployment's revision (the newest one, being rolled out)."""
        revision = revision_of(self.deployment)
        return next((rs for rs in self.replica_sets if revision_of(rs) == revision),
                    self.replica_sets[0] if self.replica_sets else None)

    @property
    def previous(self) -> dict[str, Any] | None:
        """The ReplicaSet of the highest revision below the current one's."""
        current = self.current
        if current is None:
            return None
        below = revision_of(current)
        return next((rs for rs in self.replica_sets if revision_of(rs) < below), None)

    def pods_of(self, rs: Mapping[str, Any] | None) -> list[dict[str, Any]]:
        uid = meta_of(rs).get("uid") if rs is not None else None
        return [p for p in self.pods if uid is not None and uid in _owner_uids(p)]


def _owner_uids(obj: Mapping[str, Any]) -> set[str]:
    return {str(o.get("uid")) for o in meta_of(obj).get("ownerReferences") or []}


def find(w: Workload, environment: str, *, with_pods: bool = True) -> Found | None:
    """The service's Deployment, its ReplicaSets and (`with_pods`) the pods they own; None
    when there is no Deployment. Errors in the port's kinds (`read_error`)."""
    try:
        t = w.target(environment, timing=w.timing.glance())
        dep = t.api.call(t.op("get"), t.api.apps.read_namespaced_deployment,
                         t.name, t.namespace)
        replica_sets = sorted(w.replica_sets(t, dep), key=revision_of, reverse=True)
        pods: list[dict[str, Any]] = []
        if with_pods:
            match = ((dep.get("spec") or {}).get("selector") or {}).get("matchLabels")
            found = t.api.call(t.op("list", "pods", named=False),
                               t.api.core.list_namespaced_pod, t.namespace,
                               label_selector=label_selector(match))
            uids = {str(meta_of(rs).get("uid")) for rs in replica_sets}
            pods = [p for p in found.get("items") or [] if _owner_uids(p) & uids]
    except KubernetesProblem as e:
        if e.kind == "not_found":
            return None
        raise read_error(e) from e
    return Found(t, dep, replica_sets, pods)


# -- the Deployment ----------------------------------------------------------------------

def rollout_view(w: Workload, environment: str) -> RolloutView | None:
    """The Deployment's counts and conditions, its current and previous ReplicaSet and
    whether the rollout is settled (`kubectl rollout status`'s rules: status.rollout_status);
    None when there is no Deployment."""
    found = find(w, environment, with_pods=False)
    if found is None:
        return None
    dep = found.deployment
    spec, status = dep.get("spec") or {}, dep.get("status") or {}
    conditions = tuple(
        Condition(type=str(c.get("type") or ""), status=str(c.get("status") or "Unknown"),
                  reason=str(c.get("reason") or ""), message=str(c.get("message") or ""),
                  last_update=timestamp(c.get("lastUpdateTime"))
                  or timestamp(c.get("lastTransitionTime")))
        for c in status.get("conditions") or [])
    current = _replica_set_view(w, found.current)
    return RolloutView(
        deployment=found.target.name, namespace=found.target.namespace,
        desired=int(spec["replicas"]) if spec.get("replicas") is not None else 1,
        updated=int(status.get("updatedReplicas") or 0),
        ready=int(status.get("readyReplicas") or 0),
        available=int(status.get("availableReplicas") or 0),
        conditions=conditions, current=current,
        previous=_replica_set_view(w, found.previous),
        rollout_started=current.created if current else None,
        settled=rollout_status(dep).done, paused=bool(spec.get("paused")))


def version_in(w: Workload, containers: Sequence[Mapping[str, Any]]) -> str | None:
    """The version the first configured container (of `containers`) that has an image runs,
    by the image template (None when it does not fit)."""
    images = {c.get("name"): c.get("image") for c in containers}
    for name in w.containers:
        if images.get(name):
            return w.config.version_of(str(images[name]))
    return None


def _replica_set_view(w: Workload, rs: Mapping[str, Any] | None) -> ReplicaSetView | None:
    if rs is None:
        return None
    meta, status = meta_of(rs), rs.get("status") or {}
    return ReplicaSetView(
        name=str(meta.get("name") or ""), version=version_in(w, containers_of(rs)),
        revision=revision_of(rs) or None,
        change_cause=str((meta.get("annotations") or {}).get(CHANGE_CAUSE) or "") or None,
        replicas=int(status.get("replicas") or 0),
        ready=int(status.get("readyReplicas") or 0),
        created=timestamp(meta.get("creationTimestamp")))


# -- the pods ------------------------------------------------------------------------------

def pod_views(w: Workload, environment: str) -> list[PodView]:
    """Every pod of the Deployment's ReplicaSets, unhealthy ones first ([] when there is no
    Deployment)."""
    found = find(w, environment)
    if found is None:
        return []
    return sorted((pod_view(w, p) for p in found.pods), key=sickness)


def sickness(pod: PodView) -> tuple[int, int, str]:
    """A sort key: a crash loop first, then other hopeless waits, unschedulable, not ready,
    restarted; then the healthy ones; by name within each."""
    if pod.waiting_reason == CRASH_LOOP:
        rank = 0
    elif pod.waiting_reason in _BAD_WAITING:
        rank = 1
    elif pod.unschedulable:
        rank = 2
    elif not pod.healthy:
        rank = 3
    elif pod.restarts:
        rank = 4
    else:
        rank = 5
    return rank, -pod.restarts, pod.name


def pod_view(w: Workload, pod: Mapping[str, Any]) -> PodView:
    """One pod as `kubectl get pods` shows it, with the reason it is not well."""
    meta, spec, status = meta_of(pod), pod.get("spec") or {}, pod.get("status") or {}
    declared = list(spec.get("containers") or [])
    statuses = list(status.get("containerStatuses") or [])
    waiting = [((cs.get("state") or {}).get("waiting") or {})
               for cs in [*(status.get("initContainerStatuses") or []), *statuses]]
    waiting = [wt for wt in waiting if wt.get("reason")]
    first = next((wt for wt in waiting if wt["reason"] in _BAD_WAITING),
                 waiting[0] if waiting else None)
    most = max(statuses, key=lambda cs: int(cs.get("restartCount") or 0), default=None)
    restarted = most is not None and int(most.get("restartCount") or 0) > 0
    term = ((most or {}).get("lastState") or {}).get("terminated") if restarted else None
    names = [str(c.get("name")) for c in declared]
    main = next((c for c in w.containers if c in names), names[0] if names else "")
    unschedulable = next(
        (str(c.get("message") or c.get("reason") or "Unschedulable")
         for c in status.get("conditions") or []
         if c.get("type") == "PodScheduled" and c.get("status") == "False"), None)
    return PodView(
        name=str(meta.get("name") or ""), version=version_in(w, declared),
        ready=sum(1 for cs in statuses if cs.get("ready")), containers=len(declared),
        phase=str(status.get("phase") or "Unknown"),
        waiting_reason=str(first["reason"]) if first else None,
        waiting_message=str(first.get("message") or "") or None if first else None,
        restarts=sum(int(cs.get("restartCount") or 0) for cs in statuses),
        last_termination=Termination(
            reason=str(term.get("reason") or ""),
            exit_code=int(term["exitCode"]) if term.get("exitCode") is not None else None,
            finished=timestamp(term.get("finishedAt")),
            message=str(term.get("message") or "").strip()) if term else None,
        container=str(most.get("name")) if restarted and most else main,
        created=timestamp(meta.get("creationTimestamp")),
        node=str(spec.get("nodeName") or "") or None, unschedulable=unschedulable)

"""Where a Deployment's rollout stands, read from the objects alone (no calls): the rules
of `kubectl rollout status` (`rollout_status`), whether a ProgressDeadlineExceeded
condition is about the rollout being followed or left over from the one before
(`deadline_counts`), and which ReplicaSet runs the Deployment's pod template, as the
controller finds it (`owning_replica_set`)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.backends.kubernetes.objects import (
    POD_TEMPLATE_HASH,
    containers_of,
    meta_of,
    revision_of,
    timestamp,
)

_NAMED_RS = re.compile(r'^ReplicaSet "(?P<name>[^"]+)"')


def named_replica_set(cond: Mapping[str, Any]) -> str | None:
    """The ReplicaSet a Progressing condition is about: the controller's messages start
    'ReplicaSet "<name>" …' (syncRolloutStatus, pkg/controller/deployment/progress.go);
    None when it names none ('Deployment "<name>" …', no new ReplicaSet then)."""
    m = _NAMED_RS.match(str(cond.get("message") or ""))
    return m["name"] if m else None


def progressing(dep: Mapping[str, Any]) -> dict[str, Any] | None:
    """The Deployment's Progressing condition (None when it has none yet)."""
    for cond in (dep.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Progressing":
            return dict(cond)
    return None


def _condition_time(cond: Mapping[str, Any]) -> datetime | None:
    """When a condition was last set: the later of its lastUpdateTime and
    lastTransitionTime (None when it has neither)."""
    times = [t for t in (timestamp(cond.get("lastUpdateTime")),
                         timestamp(cond.get("lastTransitionTime")))
             if t is not None]
    return max(times) if times else None


def deadline_is_stale(cond: Mapping[str, Any], *, patched_at: datetime | None) -> bool:
    """A condition provably set before our patch at `patched_at` (the API server's clock):
    one second earlier or more, as both have whole seconds."""
    if patched_at is None:
        return False
    at = _condition_time(cond)
    return at is not None and at < patched_at.replace(microsecond=0)


def deadline_counts(cond: Mapping[str, Any], *, patched_at: datetime | None,
                    new_replica_set: str | None) -> bool:
    """Whether a ProgressDeadlineExceeded condition is about the rollout being followed: not
    set before our patch (`patched_at`, None when unknown: a resumed follow) and, when it
    names a ReplicaSet, naming `new_replica_set` (the one that runs the patched template;
    None: there is none yet, so the condition is about another).

    The controller keeps such a condition through the first sync after a patch: that sync
    writes the new observedGeneration, finds no progress yet, and SetDeploymentCondition
    leaves a Progressing condition of the same status and reason as it is, naming the
    previous ReplicaSet (syncRolloutStatus in pkg/controller/deployment/progress.go;
    DeploymentTimedOut and SetDeploymentCondition in util/deployment_util.go). It is reset
    only on a later pass that sees the new ReplicaSet's pods progress."""
    if deadline_is_stale(cond, patched_at=patched_at):
        return False
    named = named_replica_set(cond)
    return named is None or named == new_replica_set


@dataclass(frozen=True)
class RolloutStatus:
    done: bool
    text: str | None  # "3/5 pods updated, 2 available"; None before the controller saw it
    deadline_exceeded: str | None = None  # the Progressing condition's message
    #: that ProgressDeadlineExceeded condition: maybe left over from the rollout before
    #: (see deadline_counts), for the caller to judge
    deadline: dict[str, Any] | None = None


def rollout_status(dep: Mapping[str, Any]) -> RolloutStatus:
    """Where a Deployment's rollout stands (the rules of `kubectl rollout status`). A
    ProgressDeadlineExceeded condition is reported next to the counts, not instead of them:
    it may be stale (deadline_counts says when it is not)."""
    meta = meta_of(dep)
    spec = dep.get("spec") or {}
    status = dep.get("status") or {}
    if int(status.get("observedGeneration") or 0) < int(meta.get("generation") or 0):
        return RolloutStatus(False, None)
    deadline = progressing(dep)
    if deadline is not None and deadline.get("reason") != "ProgressDeadlineExceeded":
        deadline = None
    want = int(spec["replicas"]) if spec.get("replicas") is not None else 1
    updated = int(status.get("updatedReplicas") or 0)
    total = int(status.get("replicas") or 0)
    available = int(status.get("availableReplicas") or 0)
    text = f"{updated}/{want} pods updated, {available} available"
    old = total - updated
    if updated >= want and old > 0:
        text += f", {old} old pod{'s' if old != 1 else ''} still running"
    done = updated >= want and old <= 0 and available >= updated
    if deadline is not None:
        return RolloutStatus(done, text, str(deadline.get("message") or
                                             "ProgressDeadlineExceeded"), deadline)
    return RolloutStatus(done, text)


def _template_without_hash(obj: Mapping[str, Any]) -> dict[str, Any]:
    template = json.loads(json.dumps((obj.get("spec") or {}).get("template") or {}))
    labels = (template.get("metadata") or {}).get("labels")
    if isinstance(labels, dict):
        labels.pop(POD_TEMPLATE_HASH, None)
    return dict(template)


def owning_replica_set(dep: Mapping[str, Any], replica_sets: Sequence[Mapping[str, Any]],
                       containers: Sequence[str]) -> dict[str, Any] | None:
    """The Deployment's ReplicaSet for its current pod template, as the controller finds it
    (FindNewReplicaSet / EqualIgnoreHash in pkg/controller/deployment/util/
    deployment_util.go: the oldest whose template equals the Deployment's but for the
    pod-template-hash label). Failing that (a template that reads back differently), the
    one whose `containers` run the same images, preferring the Deployment's revision, then
    the highest. None before the controller made it."""
    template = _template_without_hash(dep)
    same = [rs for rs in replica_sets if _template_without_hash(rs) == template]
    if same:
        def created(rs: Mapping[str, Any]) -> tuple[str, str]:
            meta = meta_of(rs)
            return str(meta.get("creationTimestamp") or ""), str(meta.get("name") or "")
        oldest: Mapping[str, Any] = min(same, key=created)
        return dict(oldest)
    want = {c.get("name"): c.get("image") for c in containers_of(dep)}
    alike = [rs for rs in replica_sets
             if all({c.get("name"): c.get("image") for c in containers_of(rs)}.get(name)
                    == want.get(name) for name in containers)]
    revision = revision_of(dep)
    for rs in alike:
        if revision and revision_of(rs) == revision:
            return dict(rs)
    if not alike:
        return None
    newest: Mapping[str, Any] = max(alike, key=revision_of)
    return dict(newest)

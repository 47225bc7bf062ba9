"""What runs: the version a service's Deployment runs, since when and who put it there
(`observe`, read from the Deployment and its ReplicaSets; mid-rollout or after a failed one
left applied, how far it got and which older versions still serve: `serving`), and the
versions that ran before,
from its old ReplicaSets (`earlier_versions`, the Revisions capability: `/rollback` while
deploybot's own history is still empty). Images become versions through the service's
image template."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.backends.kubernetes.api import KubernetesProblem, port_error
from bot.backends.kubernetes.objects import (
    CHANGE_CAUSE,
    DEPLOYMENT_ID,
    OUR_CHANGE_CAUSE,
    REVISION_HISTORY,
    containers_of,
    meta_of,
    revision_of,
    timestamp,
)
from bot.backends.kubernetes.status import named_replica_set, owning_replica_set, progressing
from bot.backends.kubernetes.troubleshoot import version_in
from bot.backends.kubernetes.workload import Workload
from bot.domain.live import Observed, Progress, Serving


def observe(w: Workload, environment: str, service: str) -> Observed | None:
    """What the service's Deployment runs there (the source of truth), read with one GET
    of the Deployment and one LIST of its ReplicaSets. None when there is no Deployment;
    RetryableError when the API cannot be reached, PermanentError otherwise (access,
    RBAC), in plain words. See `observed` for what each field means."""
    found = _with_replica_sets(w, environment, glance=True)
    if found is None:
        return None
    return observed(w, found[0], found[1], service=service)


def _with_replica_sets(w: Workload, environment: str, *, glance: bool = False
                       ) -> tuple[Mapping[str, Any], list[Mapping[str, Any]]] | None:
    """The service's Deployment there and its ReplicaSets (one GET, one LIST); None
    when there is no Deployment; RetryableError when the API is unreachable,
    PermanentError otherwise (access, RBAC), in plain words. `glance`: fail fast
    (`Timing.glance`)."""
    try:
        t = w.target(environment, timing=w.timing.glance() if glance else None)
        dep = t.api.call(t.op("get"), t.api.apps.read_namespaced_deployment,
                         t.name, t.namespace)
        return dep, list(w.replica_sets(t, dep))
    except KubernetesProblem as e:
        if e.kind == "not_found":
            return None
        raise port_error(e) from e


def observed(w: Workload, dep: Mapping[str, Any], replica_sets: Sequence[Mapping[str, Any]],
             *, service: str) -> Observed:
    """What a Deployment (with its ReplicaSets) says runs:

    - `version`: the pod template's image (the first configured container's) mapped back
      through the image template; None with `image` the raw image when it does not fit.
    - `since`: when that version began running there, once the Deployment is settled
      (None before: it is not, or not all, running yet; `progress` says how far). The
      ReplicaSet that runs the template (`owning_replica_set`) was created when it first
      rolled out, so a fresh one's creationTimestamp is the answer. A ReplicaSet rolled
      back to (it carries
      deployment.kubernetes.io/revision-history) keeps the creationTimestamp of its first
      rollout, before the versions that replaced it: then the answer is when the rollout
      back to it finished, the lastUpdateTime of the Progressing condition that says
      NewReplicaSetAvailable for it (set anew when the reason changes, left alone once
      complete: syncRolloutStatus, progress.go), and None (unknown) while that rollout
      is under way. Not the condition's lastTransitionTime: SetDeploymentCondition
      keeps it across True→True changes (NewReplicaSetCreated → ReplicaSetUpdated →
      NewReplicaSetAvailable), so it can be weeks older than the rollback.
    - `replicas`: spec.replicas (1 when unset, the API's default); 0 after `kubectl scale
      --replicas=0`: nothing runs, though the template still names a version.
    - `stuck`: unsettled with ProgressDeadlineExceeded (the rollout will not finish).
    - `settled`: the controller saw the latest spec and every replica is updated and
      available with no old pod left.
    - `progress` (unsettled only): when the version was applied (its ReplicaSet's
      creation, unknown for a reused one), how many of its pods are available and which
      older versions still serve (`serving`); `detail` adds what the counts do not say (the
      change not picked up yet, a ProgressDeadlineExceeded).
    - `deployment_id`: deploybot's deployment-id annotation, only when the change-cause
      is deploybot's for this service and this version (someone's `kubectl set image`
      afterwards leaves both annotations behind, describing another version).
    - `changed_by`: the change-cause, unless it is deploybot's and describes another
      version than the one that runs (stale: who changed it then is unknown)."""
    image = _image_in(w, dep)
    version = w.config.version_of(image) if image else None
    rs = owning_replica_set(dep, replica_sets, w.containers)

    meta = meta_of(dep)
    spec = dep.get("spec") or {}
    status = dep.get("status") or {}
    want = int(spec["replicas"]) if spec.get("replicas") is not None else 1
    seen = int(status.get("observedGeneration") or 0) >= int(meta.get("generation") or 0)
    updated = int(status.get("updatedReplicas") or 0)
    total = int(status.get("replicas") or 0)
    available = int(status.get("availableReplicas") or 0)
    settled = seen and updated == want and total == want and available == want

    cond = progressing(dep)
    rs_name = str(meta_of(rs).get("name")) if rs else None
    about_rs = cond is not None and rs_name is not None and (
        named_replica_set(cond) == rs_name)
    detail = None
    stuck = False
    if not settled:
        if not seen:
            detail = "the change is not picked up by Kubernetes yet"
        elif (cond is not None and cond.get("reason") == "ProgressDeadlineExceeded"
                and named_replica_set(cond) in (None, rs_name)):
            detail = "rollout stuck: ProgressDeadlineExceeded"
            stuck = True

    since = applied = None
    if rs is not None:
        created = timestamp(meta_of(rs).get("creationTimestamp"))
        if REVISION_HISTORY not in (meta_of(rs).get("annotations") or {}):
            since = applied = created
        elif cond is not None and about_rs and cond.get("reason") == "NewReplicaSetAvailable":
            finished = timestamp(cond.get("lastUpdateTime"))
            since = max((t for t in (created, finished) if t is not None), default=None)
    progress = None
    if not settled:
        since = None  # not (all) running yet: "applied", never "since"
        progress = Progress(applied=applied, available=_available(rs), desired=want,
                            serving=serving(w, rs, replica_sets))

    annotations = meta.get("annotations") or {}
    cause = str(annotations.get(CHANGE_CAUSE) or "") or None
    ours = OUR_CHANGE_CAUSE.fullmatch(cause) if cause else None
    deployment_id = None
    if ours is not None:
        raw = str(annotations.get(DEPLOYMENT_ID) or "")
        if (version is not None and ours["service"] == service and ours["version"] == version
                and raw.isdigit() and ours["id"] in (None, raw)):
            deployment_id = int(raw)
        elif version is None or ours["version"] != version:
            cause = None  # deploybot's cause of an earlier change: who made this one?
    return Observed(version=version, since=since, image=image, settled=settled,
                    detail=detail, deployment_id=deployment_id, changed_by=cause,
                    progress=progress, replicas=want, stuck=stuck)


def serving(w: Workload, new: Mapping[str, Any] | None,
            replica_sets: Sequence[Mapping[str, Any]]) -> tuple[Serving, ...]:
    """The versions still serving besides the ReplicaSet `new` (the one that runs the
    Deployment's template; None before the controller made it): the other ReplicaSets with
    available pods, per version (or image), most pods first.

    A RollingUpdate scales the new ReplicaSet up and the old ones down as the new pods
    become available, never taking more old pods away than maxUnavailable allows; when the
    new pods never become available (an image that cannot be pulled) the old ReplicaSet
    keeps its pods and they go on serving
    (https://kubernetes.io/docs/concepts/workloads/controllers/deployment/#rolling-update-deployment,
    #failed-deployment; reconcileOldReplicaSets in kube-controller-manager's
    pkg/controller/deployment/rolling.go). So an old ReplicaSet's availableReplicas is
    how many pods of its version serve now."""
    new_name = meta_of(new).get("name") if new is not None else None
    pods: dict[tuple[str | None, str | None], int] = {}
    for rs in replica_sets:
        if new_name is not None and meta_of(rs).get("name") == new_name:
            continue
        available = _available(rs)
        if available <= 0:
            continue
        image = _image_in(w, rs)
        version = version_in(w, containers_of(rs))
        key = (version, None if version is not None else image)
        pods[key] = pods.get(key, 0) + available
    return tuple(Serving(version=v, image=i, pods=n)
                 for (v, i), n in sorted(pods.items(), key=lambda kv: -kv[1]))


def _available(rs: Mapping[str, Any] | None) -> int:
    """A ReplicaSet's available pods (0 when there is none)."""
    return int(((rs or {}).get("status") or {}).get("availableReplicas") or 0)


def _image_in(w: Workload, obj: Mapping[str, Any]) -> str | None:
    """The image of the first configured container of `obj`'s pod template (a Deployment
    or a ReplicaSet) that has one."""
    images = {c.get("name"): c.get("image") for c in containers_of(obj)}
    return next((str(images[c]) for c in w.containers if images.get(c)), None)


def earlier_versions(w: Workload, environment: str) -> list[str]:
    """The versions of the Deployment's old ReplicaSets, newest revision first (the
    `deployment.kubernetes.io/revision` annotation; a rollback to an old version reuses
    its ReplicaSet with a new revision), without the version the Deployment runs now and
    without duplicates; images that do not fit the image template are skipped.

    Kubernetes keeps only `revisionHistoryLimit` (default 10) old ReplicaSets, so this
    reaches back that many rollouts at most. [] when the Deployment does not exist;
    RetryableError when the API is unreachable, PermanentError for access or RBAC
    problems (listing needs `list replicasets.apps`)."""
    found = _with_replica_sets(w, environment)
    if found is None:
        return []
    dep, replica_sets = found
    current = version_in(w, containers_of(dep))
    seen = {current} if current else set()
    versions: list[str] = []
    for rs in sorted(replica_sets, key=revision_of, reverse=True):
        version = version_in(w, containers_of(rs))
        if version and version not in seen:
            seen.add(version)
            versions.append(version)
    return versions


"""The Deployment controller: rolling updates, after kube-controller-manager's
(pkg/controller/deployment).

The first pass after a template change finds or creates the new ReplicaSet (getNewReplicaSet
in sync.go: NewReplicaSetCreated for a new one; a ReplicaSet rolled back to gets the next
revision and a `revision-history` annotation and no condition of its own) and writes the new
`observedGeneration` with the Progressing condition the Deployment had, a stale
`ProgressDeadlineExceeded` included; its pods come on the next passes, one RollingUpdate step
(maxSurge/maxUnavailable 25%) a pass, and the condition moves as syncRolloutStatus
(progress.go) moves it: ReplicaSetUpdated on progress, NewReplicaSetAvailable when complete,
ProgressDeadlineExceeded when stuck. Zero replica counts are omitted from the status
(`omitempty`). Why one module of ~370 lines: a pass reads as kube-controller-manager's sync
does, top to bottom, and its two halves (`_reconcile_deployment`, `_start_rollout`) share
the rollout's state.
"""

from __future__ import annotations

import copy
import math
import time

from devtools.fake_k8s.api import JSONDict
from devtools.fake_k8s.objects import (
    CHANGE_CAUSE,
    REVISION,
    REVISION_HISTORY,
    owner_ref,
    pod_ready,
    pod_template_hash,
    set_condition,
)
from devtools.fake_k8s.pods import Pods
from devtools.fake_k8s.state import CRASH_DELAY_TICKS, DEADLINE_TICKS, DeploymentState, Rollout


class Rollouts(Pods):
    """Reconciling one Deployment a pass, with the lock held."""

    def _reconcile_deployment(self, namespace: str, name: str) -> None:
        dep = copy.deepcopy(self._store["deployments"][(namespace, name)])
        state = self._deploy_state.setdefault((namespace, name), DeploymentState())
        meta, spec = dep["metadata"], dep["spec"]
        status: JSONDict = dep.setdefault("status", {})
        desired = int(spec.get("replicas", 1))
        template = spec.get("template") or {}
        template_hash = pod_template_hash(template)
        rs_name = f"{name}-{template_hash}"
        replicasets = self._deployment_replicasets(namespace, meta["uid"])

        rollout = state.rollout
        # The pass that finds or creates the new ReplicaSet for a changed template: like
        # kube-controller-manager's first sync after a patch, it scales the ReplicaSet but its
        # pods (made by the ReplicaSet controller) and the progress they bring come later.
        first_pass = (
            rollout is None
            or rollout.template_hash != template_hash
            or (namespace, rs_name) not in self._store["replicasets"]
        )
        if first_pass:
            rollout = self._start_rollout(dep, state, replicasets, template_hash, rs_name)
            replicasets = self._deployment_replicasets(namespace, meta["uid"])
        assert rollout is not None
        # The status written at the end of every pass carries the generation it saw
        # (calculateStatus in pkg/controller/deployment/sync.go).
        status["observedGeneration"] = int(meta.get("generation", 1))
        new_rs = next(rs for rs in replicasets if rs["metadata"]["name"] == rs_name)
        old_rs_uids = {rs["metadata"]["uid"] for rs in replicasets if rs is not new_rs}
        new_pods = self._owned_pods(namespace, {new_rs["metadata"]["uid"]})
        old_pods = self._owned_pods(namespace, old_rs_uids)

        # One step of a RollingUpdate with maxSurge/maxUnavailable 25%.
        surge = max(1, math.ceil(desired * 0.25))
        max_unavailable = math.floor(desired * 0.25)
        progressed = False
        if first_pass:
            pass  # pods come on the next pass
        elif len(new_pods) < desired and len(new_pods) + len(old_pods) < desired + surge:
            new_pods.append(self._create_rs_pod(new_rs, rollout))
            progressed = True
        elif len(new_pods) > desired:
            self._remove_rs_pod(new_pods.pop())
            progressed = True
        if old_pods and not first_pass:
            ready_new = sum(1 for p in new_pods if pod_ready(p))
            ready_old = sum(1 for p in old_pods if pod_ready(p))
            # Unready old pods go first; a ready one only while availability allows it.
            victim = next((p for p in old_pods if not pod_ready(p)), None)
            if victim is None and ready_new + ready_old - 1 >= desired - max_unavailable:
                victim = old_pods[0]
            if victim is not None:
                self._remove_rs_pod(victim)
                old_pods.remove(victim)
                progressed = True
        for pod in new_pods + old_pods:
            self._advance_pod(pod)
        new_pods = self._owned_pods(namespace, {new_rs["metadata"]["uid"]})
        old_pods = self._owned_pods(namespace, old_rs_uids)

        ready_new = sum(1 for p in new_pods if pod_ready(p))
        if not rollout.done and not old_pods and len(new_pods) == desired and ready_new == desired:
            rollout.done = True
            rollout.deadline_exceeded = False
            if rollout.crash_restarts is not None and not rollout.crash_once_seen:
                self._arm_crash(namespace, rollout, new_pods, CRASH_DELAY_TICKS)

        # ReplicaSet objects.
        for rs in replicasets:
            pods = (
                new_pods if rs is new_rs else self._owned_pods(namespace, {rs["metadata"]["uid"]})
            )
            self._sync_replicaset(rs, pods)

        # Deployment status.
        all_pods = new_pods + old_pods
        ready = sum(1 for p in all_pods if pod_ready(p))
        counts = {
            "replicas": len(all_pods),
            "updatedReplicas": len(new_pods),
            "readyReplicas": ready,
            "availableReplicas": ready,
            "unavailableReplicas": max(len(all_pods) - ready, desired - ready, 0),
        }
        before = self._store["deployments"][(namespace, name)].get("status") or {}
        # DeploymentProgressing (pkg/controller/deployment/util/deployment_util.go): new pods
        # scaled up or ready or available, or old ones scaled down, since the status before.
        progressing = (
            counts["updatedReplicas"] > int(before.get("updatedReplicas") or 0)
            or counts["replicas"] - counts["updatedReplicas"]
            < int(before.get("replicas") or 0) - int(before.get("updatedReplicas") or 0)
            or counts["readyReplicas"] > int(before.get("readyReplicas") or 0)
            or counts["availableReplicas"] > int(before.get("availableReplicas") or 0)
        )
        if progressed or progressing:
            rollout.last_progress = time.monotonic()
        if progressing:
            rollout.deadline_exceeded = False  # progress resets the clock (DeploymentTimedOut)
        if not first_pass and not rollout.done and not rollout.deadline_exceeded:
            too_slow = time.monotonic() - rollout.last_progress > float(
                spec.get("progressDeadlineSeconds", 600)
            )
            forced = (
                rollout.mode == "deadline"
                and self._tick_no - rollout.started_tick >= DEADLINE_TICKS
            )
            rollout.deadline_exceeded = (too_slow or forced) and not progressing
        for key, value in counts.items():
            if value:
                status[key] = value
            else:
                status.pop(key, None)
        conditions: list[JSONDict] = status.setdefault("conditions", [])
        if ready >= desired - max_unavailable:
            set_condition(
                conditions,
                "Available",
                "True",
                "MinimumReplicasAvailable",
                "Deployment has minimum availability.",
                now=self._stamp(),
            )
        else:
            set_condition(
                conditions,
                "Available",
                "False",
                "MinimumReplicasUnavailable",
                "Deployment does not have minimum availability.",
                now=self._stamp(),
            )
        conditions.sort(key=lambda c: c.get("type") != "Available")  # the API server's order
        # The Progressing condition, as syncRolloutStatus (pkg/controller/deployment/
        # progress.go) sets it: left alone once complete (isCompleteDeployment), else
        # NewReplicaSetAvailable when complete, ReplicaSetUpdated (lastUpdateTime now) on
        # progress, ProgressDeadlineExceeded when timed out, and unchanged otherwise. Not on
        # the first pass after a template change: the new ReplicaSet has no pods yet, so
        # there is no progress to see, and whatever condition the Deployment had stays (a
        # ProgressDeadlineExceeded naming the previous ReplicaSet included) next to the new
        # observedGeneration; only _start_rollout's NewReplicaSetCreated/FoundNewReplicaSet
        # (getNewReplicaSet in sync.go) is new on that pass.
        current = next((c for c in conditions if c.get("type") == "Progressing"), None)
        complete = (
            current is not None
            and current.get("reason") == "NewReplicaSetAvailable"
            and counts["replicas"] == counts["updatedReplicas"]
        )
        if first_pass or complete:
            pass
        elif rollout.done:
            set_condition(
                conditions,
                "Progressing",
                "True",
                "NewReplicaSetAvailable",
                f'ReplicaSet "{rs_name}" has successfully progressed.',
                now=self._stamp(),
            )
        elif progressing:
            set_condition(
                conditions,
                "Progressing",
                "True",
                "ReplicaSetUpdated",
                f'ReplicaSet "{rs_name}" is progressing.',
                touch=True,
                now=self._stamp(),
            )
        elif rollout.deadline_exceeded:
            set_condition(
                conditions,
                "Progressing",
                "False",
                "ProgressDeadlineExceeded",
                f'ReplicaSet "{rs_name}" has timed out progressing.',
                now=self._stamp(),
            )
        self._update_if_changed("deployments", dep)

    def _start_rollout(
        self,
        dep: JSONDict,
        state: DeploymentState,
        replicasets: list[JSONDict],
        template_hash: str,
        rs_name: str,
    ) -> Rollout:
        meta = dep["metadata"]
        namespace = meta["namespace"]
        template = dep["spec"].get("template") or {}
        revisions = [
            int((rs["metadata"].get("annotations") or {}).get(REVISION, "0") or 0)
            for rs in replicasets
        ]
        revision = str(max(revisions, default=0) + 1)
        previous_images: dict[str, str] = {}
        if state.rollout is not None:
            prev = self._store["replicasets"].get((namespace, state.rollout.rs_name))
            if prev is not None:
                for c in prev["spec"]["template"]["spec"].get("containers", []):
                    previous_images[c["name"]] = c.get("image", "")
        containers = (template.get("spec") or {}).get("containers") or []
        failing = [
            c["name"]
            for c in containers
            if c["name"] in previous_images and previous_images[c["name"]] != c.get("image")
        ] or [c["name"] for c in containers[:1]]

        annotations = dict(meta.get("annotations") or {})
        existing = self._store["replicasets"].get((namespace, rs_name))
        rs_annotations = {
            REVISION: revision,
            "deployment.kubernetes.io/desired-replicas": str(dep["spec"].get("replicas", 1)),
            "deployment.kubernetes.io/max-replicas": str(
                int(dep["spec"].get("replicas", 1))
                + max(1, math.ceil(int(dep["spec"].get("replicas", 1)) * 0.25))
            ),
        }
        if CHANGE_CAUSE in annotations:
            rs_annotations[CHANGE_CAUSE] = annotations[CHANGE_CAUSE]
        if existing is None:
            pod_labels = {
                **((template.get("metadata") or {}).get("labels") or {}),
                "pod-template-hash": template_hash,
            }
            rs_template = copy.deepcopy(template)
            rs_template.setdefault("metadata", {})["labels"] = dict(pod_labels)
            selector = copy.deepcopy(dep["spec"].get("selector") or {})
            selector.setdefault("matchLabels", {})["pod-template-hash"] = template_hash
            rs: JSONDict = {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "metadata": {
                    **self._new_metadata(
                        namespace, rs_name, labels=dict(pod_labels), annotations=rs_annotations
                    ),
                    "ownerReferences": [owner_ref("apps/v1", "Deployment", meta)],
                },
                "spec": {"replicas": 0, "selector": selector, "template": rs_template},
                "status": {"replicas": 0, "observedGeneration": 1},
            }
            self._write("replicasets", rs, "ADDED")
        else:
            # Rolling back to a template whose ReplicaSet exists: it gets the new revision and
            # keeps the ones it had in deployment.kubernetes.io/revision-history
            # (SetNewReplicaSetAnnotations, pkg/controller/deployment/util/deployment_util.go).
            rs = copy.deepcopy(existing)
            had = dict(rs["metadata"].get("annotations") or {})
            old_revision = had.get(REVISION, "")
            if old_revision.isdigit() and int(old_revision) < int(revision):
                history = had.get(REVISION_HISTORY)
                rs_annotations[REVISION_HISTORY] = (
                    f"{history},{old_revision}" if history else old_revision
                )
            rs["metadata"]["annotations"] = {**had, **rs_annotations}
            self._write("replicasets", rs, "MODIFIED")

        mode, state.pending_failure = state.pending_failure, None
        healthy_first, state.pending_healthy_first = state.pending_healthy_first, 0
        if mode is None:
            images = [c.get("image", "") for c in containers if c["name"] in failing]
            mode = next((m for matches, m in state.image_failures
                         if any(matches(image) for image in images)), None)
        crash, state.pending_crash = state.pending_crash, None
        once_seen, state.pending_crash_once_seen = state.pending_crash_once_seen, False
        rollout = Rollout(
            template_hash=template_hash,
            rs_name=rs_name,
            mode=mode,
            crash_restarts=crash,
            crash_once_seen=once_seen and crash is not None,
            failing=failing,
            started_tick=self._tick_no,
            healthy_first=healthy_first if mode is not None else 0,
            last_progress=time.monotonic(),
        )
        state.rollout = rollout
        annotations[REVISION] = revision
        meta["annotations"] = annotations
        # getNewReplicaSet (pkg/controller/deployment/sync.go): a ReplicaSet it creates gets
        # Progressing=True NewReplicaSetCreated; one it finds (a rollback to a template that
        # ran before) sets no condition of its own, only FoundNewReplicaSet when the
        # Deployment has no Progressing condition at all. Whatever was there stays, even a
        # ProgressDeadlineExceeded naming the ReplicaSet this rollout replaces.
        conditions: list[JSONDict] = dep.setdefault("status", {}).setdefault("conditions", [])
        if existing is None:
            set_condition(
                conditions,
                "Progressing",
                "True",
                "NewReplicaSetCreated",
                f'Created new replica set "{rs_name}"',
                now=self._stamp(),
            )
        elif not any(c.get("type") == "Progressing" for c in conditions):
            set_condition(
                conditions,
                "Progressing",
                "True",
                "FoundNewReplicaSet",
                f'Found new replica set "{rs_name}"',
                now=self._stamp(),
            )
        return rollout

    def _sync_replicaset(self, rs: JSONDict, pods: list[JSONDict]) -> None:
        updated = copy.deepcopy(rs)
        ready = sum(1 for p in pods if pod_ready(p))
        self._scaled(rs, int(updated["spec"].get("replicas") or 0), len(pods))
        updated["spec"]["replicas"] = len(pods)
        status: JSONDict = {
            "replicas": len(pods),
            "observedGeneration": int(updated["metadata"].get("generation", 1)),
        }
        if pods:
            status["fullyLabeledReplicas"] = len(pods)
        if ready:
            status["readyReplicas"] = ready
            status["availableReplicas"] = ready
        updated["status"] = status
        self._update_if_changed("replicasets", updated)

    def _arm_crash(self, namespace: str, rollout: Rollout, new_pods: list[JSONDict],
                   delay: int) -> None:
        """The new pods crash-loop from `delay` ticks on (crash_after_ready)."""
        for pod in new_pods:
            pstate = self._pod_state[(namespace, pod["metadata"]["name"])]
            pstate.crash_at_tick = self._tick_no + delay
            pstate.crash_max = rollout.crash_restarts or 0

    def _seen_complete(self, namespace: str, name: str) -> None:
        """A client reads a Deployment: a crash armed `once_seen` starts now if complete."""
        state = self._deploy_state.get((namespace, name))
        rollout = state.rollout if state is not None else None
        if rollout is None or not rollout.done or not rollout.crash_once_seen:
            return
        rollout.crash_once_seen = False
        rs = self._store["replicasets"].get((namespace, rollout.rs_name))
        if rs is not None:
            self._arm_crash(namespace, rollout,
                            self._owned_pods(namespace, {rs["metadata"]["uid"]}), 1)

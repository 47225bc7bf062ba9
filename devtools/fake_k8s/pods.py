"""Pods as the kubelet would report them: created from a ReplicaSet's or a Job's template,
their status (phase, conditions, containerStatuses) following how the fake was told to
behave (healthy, `ImagePullBackOff`, `CrashLoopBackOff` with a rising `restartCount`,
unschedulable (the deadline fault: bound to no node), a Job's pod running then Succeeded or
Failed), the lines they log (served by devtools.fake_k8s.logs) and, as the pods come and get
stuck, the events the ReplicaSet controller, the scheduler and the kubelet record
(devtools.fake_k8s.events).
"""

from __future__ import annotations

import copy
import hashlib

from devtools.fake_k8s.api import JSONDict
from devtools.fake_k8s.events import UNSCHEDULABLE, Events
from devtools.fake_k8s.objects import owner_ref, sha
from devtools.fake_k8s.state import CRASH_LOOP_RESTART_TICKS, NODES, PodState, Rollout


class Pods(Events):
    """Making pods and moving their status on, with the lock held."""

    def _create_rs_pod(self, rs: JSONDict, rollout: Rollout) -> JSONDict:
        meta = rs["metadata"]
        namespace = meta["namespace"]
        name = f"{meta['name']}-{self._suffix()}"
        template = rs["spec"]["template"]
        pod_spec = copy.deepcopy(template.get("spec") or {})
        node = self._rng.choice(NODES)
        behavior = rollout.mode or "healthy"
        if rollout.pods_made < rollout.healthy_first:
            behavior = "healthy"
        rollout.pods_made += 1
        if behavior != "deadline":  # an unschedulable pod is bound to no node
            pod_spec["nodeName"] = node
        logs: dict[str, str] = {}
        for c in pod_spec.get("containers", []):
            lines = [f"starting {c['name']} from {c.get('image', '')}"]
            if behavior == "crash_loop" and c["name"] in rollout.failing:
                lines += [
                    "Traceback (most recent call last):",
                    '  File "/app/main.py", line 1, in <module>',
                    "RuntimeError: fake crash (exit code 1)",
                ]
            else:
                lines.append(f"{c['name']} ready")
            logs[c["name"]] = "\n".join(lines) + "\n"
        self._pod_state[(namespace, name)] = PodState(
            behavior=behavior,
            failing=list(rollout.failing),
            logs=logs,
            created_tick=self._tick_no,
            started_at=self._stamp(),
            restarts=1 if behavior == "crash_loop" else 0,
        )
        pod = self._add_pod(namespace, name, template, pod_spec, generate_name=meta["name"],
                            owner=owner_ref("apps/v1", "ReplicaSet", meta))
        self._emit(rs, "Normal", "SuccessfulCreate", f"Created pod: {name}",
                   component="replicaset-controller")
        self._pod_started_events(pod)
        return pod

    def _advance_pod(self, pod: JSONDict) -> None:
        meta = pod["metadata"]
        state = self._pod_state.get((meta["namespace"], meta["name"]))
        if state is None:
            return
        crash_after_due = (
            state.crash_at_tick is not None
            and self._tick_no >= state.crash_at_tick
            and state.restarts < state.crash_max
        )
        crash_loop_due = (
            state.behavior == "crash_loop"
            and (self._tick_no - state.created_tick) % CRASH_LOOP_RESTART_TICKS == 0
        )
        if crash_loop_due or crash_after_due:
            state.restarts += 1
            state.finished_at = self._stamp()
        stuck_due = (state.behavior in ("image_pull", "deadline")
                     and (self._tick_no - state.created_tick) % CRASH_LOOP_RESTART_TICKS == 0)
        if crash_loop_due or crash_after_due or stuck_due:
            self._pod_trouble_events(pod, state, crashed=crash_loop_due or crash_after_due)
        updated = copy.deepcopy(pod)
        updated["status"] = self._pod_status(updated)
        self._update_if_changed("pods", updated)

    def _pod_status(self, pod: JSONDict) -> JSONDict:
        meta, spec = pod["metadata"], pod["spec"]
        state = self._pod_state[(meta["namespace"], meta["name"])]
        now = state.started_at
        digest = hashlib.sha256(meta["uid"].encode("utf-8")).digest()
        ip = f"10.244.{digest[0] % 200 + 1}.{digest[1] % 250 + 2}"
        node = spec.get("nodeName")
        host_ip = f"10.0.0.{NODES.index(node) + 1 if node in NODES else 1}"
        base: JSONDict = {"qosClass": "BestEffort"}
        if state.behavior == "deadline":
            base.update(
                phase="Pending",
                conditions=[
                    {
                        "type": "PodScheduled",
                        "status": "False",
                        "reason": "Unschedulable",
                        "message": UNSCHEDULABLE,
                        "lastProbeTime": None,
                        "lastTransitionTime": now,
                    }
                ],
            )
            return base
        crashed = state.behavior == "crash_loop" or (
            state.crash_at_tick is not None and state.restarts > 0
        )
        statuses: list[JSONDict] = []
        for c in spec.get("containers", []):
            cname, image = c["name"], c.get("image", "")
            image_id = f"{image.split(':', 1)[0]}@sha256:{sha(image)}"
            container_id = f"containerd://{sha(meta['uid'] + cname)}"
            failing = cname in state.failing
            entry: JSONDict = {
                "name": cname,
                "image": image,
                "imageID": image_id,
                "containerID": container_id,
                "ready": True,
                "restartCount": 0,
                "started": True,
                "state": {"running": {"startedAt": now}},
                "lastState": {},
            }
            if state.behavior == "job":
                if state.job_result is not None:
                    entry.update(ready=False, started=False)
                    entry["state"] = {
                        "terminated": {
                            "exitCode": 0 if state.job_result else 1,
                            "reason": "Completed" if state.job_result else "Error",
                            "startedAt": now,
                            "finishedAt": state.finished_at or now,
                            "containerID": container_id,
                        }
                    }
            elif state.behavior == "image_pull" and failing:
                entry.update(ready=False, started=False, imageID="")
                entry.pop("containerID")
                entry["state"] = {
                    "waiting": {
                        "reason": "ImagePullBackOff",
                        "message": f'Back-off pulling image "{image}"',
                    }
                }
            elif crashed and failing:
                backoff = min(10 * 2 ** max(state.restarts - 1, 0), 300)
                entry.update(ready=False, started=False, restartCount=state.restarts)
                entry["state"] = {
                    "waiting": {
                        "reason": "CrashLoopBackOff",
                        "message": (
                            f"back-off {backoff}s restarting failed container={cname} "
                            f"pod={meta['name']}_{meta['namespace']}({meta['uid']})"
                        ),
                    }
                }
                entry["lastState"] = {
                    "terminated": {
                        "exitCode": 1,
                        "reason": "Error",
                        "startedAt": now,
                        "finishedAt": state.finished_at or now,
                        "containerID": container_id,
                    }
                }
            statuses.append(entry)
        not_ready = [s["name"] for s in statuses if not s["ready"]]
        if state.behavior == "job" and state.job_result is not None:
            phase = "Succeeded" if state.job_result else "Failed"
            ready_reason: str | None = "PodCompleted" if state.job_result else "PodFailed"
            ready_message: str | None = None
        elif state.behavior == "image_pull":
            phase, ready_reason = "Pending", "ContainersNotReady"
            ready_message = f"containers with unready status: [{' '.join(not_ready)}]"
        else:
            phase = "Running"
            ready_reason = "ContainersNotReady" if not_ready else None
            ready_message = (
                f"containers with unready status: [{' '.join(not_ready)}]" if not_ready else None
            )
        ready_status = "False" if (not_ready or phase != "Running") else "True"
        conditions: list[JSONDict] = [
            {"type": "PodReadyToStartContainers", "status": "True"},
            {"type": "Initialized", "status": "True"},
            {"type": "Ready", "status": ready_status},
            {"type": "ContainersReady", "status": ready_status},
            {"type": "PodScheduled", "status": "True"},
        ]
        for cond in conditions:
            cond["lastProbeTime"] = None
            cond["lastTransitionTime"] = now
            if cond["type"] in ("Ready", "ContainersReady") and ready_status == "False":
                if ready_reason:
                    cond["reason"] = ready_reason
                if ready_message:
                    cond["message"] = ready_message
        base.update(
            phase=phase,
            conditions=conditions,
            hostIP=host_ip,
            hostIPs=[{"ip": host_ip}],
            podIP=ip,
            podIPs=[{"ip": ip}],
            startTime=now,
            containerStatuses=statuses,
        )
        return base

    def _add_pod(self, namespace: str, name: str, template: JSONDict, pod_spec: JSONDict,
                 *, generate_name: str, owner: JSONDict) -> JSONDict:
        """Create a pod from a pod template (labels and annotations copied), owned by `owner`."""
        template_meta = template.get("metadata") or {}
        pod: JSONDict = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                **self._new_metadata(
                    namespace,
                    name,
                    labels=dict(template_meta.get("labels") or {}),
                    annotations=dict(template_meta.get("annotations") or {}),
                ),
                "generateName": f"{generate_name}-",
                "ownerReferences": [owner],
            },
            "spec": pod_spec,
        }
        pod["status"] = self._pod_status(pod)
        self._write("pods", pod, "ADDED")
        return pod

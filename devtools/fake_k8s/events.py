"""Events (core/v1 `events`), recorded where the real components record them, served by the
generic list and get (`fieldSelector` on `involvedObject.kind`/`involvedObject.name`, `type`,
`reason`, as pkg/registry/core/event/strategy.go's ToSelectableFields allows; `limit`); not
in the watch history (devtools.fake_k8s.store).

Who writes what (the component's own wording):

* the deployment controller, on the Deployment: `ScalingReplicaSet` "Scaled up replica set
  <rs> to <n> from <m>" (scaleReplicaSet, pkg/controller/deployment/sync.go);
* the ReplicaSet controller, on the ReplicaSet: `SuccessfulCreate` "Created pod: <pod>",
  `SuccessfulDelete` "Deleted pod: <pod>" (pkg/controller/replicaset/replica_set.go);
* the scheduler, on the pod: `Scheduled` "Successfully assigned <ns>/<pod> to <node>",
  Warning `FailedScheduling` "0/3 nodes are available: ..." (pkg/scheduler/schedule_one.go);
* the kubelet, on the pod: `Pulling` 'Pulling image "<image>"', Warning `Failed` 'Failed to
  pull image "<image>": ...' and "Error: ErrImagePull", `BackOff` 'Back-off pulling image
  "<image>"' (Normal) and Warning `Failed` "Error: ImagePullBackOff" (pkg/kubelet/images/
  image_manager.go), `Pulled`, `Created`, `Started`, Warning `BackOff` "Back-off restarting
  failed container <c> in pod <pod>_<ns>(<uid>)" (pkg/kubelet/kuberuntime/
  kuberuntime_manager.go, doBackOff).

Shapes: the controllers and the kubelet record through the core/v1 recorder
(client-go/tools/record): `count`, `firstTimestamp`, `lastTimestamp`, `source.component`;
a repeat of the same event (same object, type, reason, message, source) is the same object
with `count` + 1 and a new `lastTimestamp` (the EventCorrelator's aggregation). The scheduler
records through events.k8s.io/v1 (client-go/tools/events), which core/v1 shows with
`eventTime`, `reportingComponent`, no `count` or `lastTimestamp`, and a repeat as
`series.count` / `series.lastObservedTime`.
"""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime

from devtools.fake_k8s.api import JSONDict, api_time
from devtools.fake_k8s.state import PodState
from devtools.fake_k8s.store import Store

#: The scheduler's message for a pod no node fits (the deadline fault's pods).
UNSCHEDULABLE = ("0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are "
                 "available: 3 No preemption victims found for incoming pod.")
#: Components that record through events.k8s.io/v1 (the rest use the core/v1 recorder).
NEW_API = frozenset({"default-scheduler"})


def micro_time(at: datetime) -> str:
    """A metav1.MicroTime ("2025-03-04T10:00:07.123456Z"), as `eventTime` serializes."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Events(Store):
    """Recording events, with the lock held."""

    def _emit(self, obj: JSONDict, type_: str, reason: str, message: str, *,
              component: str, host: str | None = None, field_path: str | None = None) -> None:
        """Record an event about `obj` (a Deployment, ReplicaSet or pod; `field_path`: one
        of its containers, `spec.containers{api}`), or count a repeat."""
        meta = obj["metadata"]
        namespace = meta["namespace"]
        key = (meta["uid"], type_, reason, message, component)
        name = self._event_keys.get(key)
        current = self._store["events"].get((namespace, name)) if name else None
        now = self.clock()
        new_api = component in NEW_API
        if current is not None:
            event = copy.deepcopy(current)
            if new_api:
                series = event.get("series") or {"count": 1}
                event["series"] = {"count": int(series["count"]) + 1,
                                   "lastObservedTime": micro_time(now)}
            else:
                event["count"] = int(event.get("count") or 1) + 1
                event["lastTimestamp"] = api_time(now)
            self._write("events", event, "MODIFIED")
            return
        # `<object>.<hex>` as the recorder names them; not from the fake's seeded random
        # numbers, so recording events leaves the names of pods and ReplicaSets as they were
        name = f"{meta['name']}.{len(self._event_keys) + 1:016x}"
        self._event_keys[key] = name
        involved: JSONDict = {
            "kind": obj.get("kind", ""),
            "namespace": namespace,
            "name": meta["name"],
            "uid": meta["uid"],
            "apiVersion": obj.get("apiVersion", ""),
            "resourceVersion": meta.get("resourceVersion", ""),
        }
        if field_path:
            involved["fieldPath"] = field_path
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": name, "namespace": namespace,
                         "uid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{namespace}/{name}")),
                         "resourceVersion": "0", "creationTimestamp": api_time(now)},
            "involvedObject": involved,
            "type": type_,
            "reason": reason,
            "message": message,
        }
        if new_api:
            event.update(eventTime=micro_time(now), reportingComponent=component,
                         reportingInstance=f"{component}-fake-control-plane",
                         action="Scheduling", source={}, firstTimestamp=None,
                         lastTimestamp=None)
        else:
            source: JSONDict = {"component": component}
            if host:
                source["host"] = host
            event.update(source=source, count=1, firstTimestamp=api_time(now),
                         lastTimestamp=api_time(now), eventTime=None,
                         reportingComponent=component, reportingInstance=host or "")
        self._write("events", event, "ADDED")

    def _remove_rs_pod(self, pod: JSONDict) -> None:
        """Delete a ReplicaSet's pod, as its controller records it (SuccessfulDelete)."""
        meta = pod["metadata"]
        for ref in meta.get("ownerReferences") or []:
            rs = self._store["replicasets"].get((meta["namespace"], ref.get("name")))
            if rs is not None:
                self._emit(rs, "Normal", "SuccessfulDelete", f"Deleted pod: {meta['name']}",
                           component="replicaset-controller")
        self._remove("pods", meta["namespace"], meta["name"])

    def _scaled(self, rs: JSONDict, before: int, after: int) -> None:
        """The deployment controller's scaleReplicaSet (pkg/controller/deployment/sync.go):
        "Scaled up replica set <rs> to <n> from <m>" on the Deployment."""
        if before == after:
            return
        meta = rs["metadata"]
        for ref in meta.get("ownerReferences") or []:
            dep = self._store["deployments"].get((meta["namespace"], ref.get("name")))
            if dep is not None:
                way = "up" if after > before else "down"
                self._emit(dep, "Normal", "ScalingReplicaSet",
                           f"Scaled {way} replica set {meta['name']} to {after} from {before}",
                           component="deployment-controller")

    def _pod_started_events(self, pod: JSONDict) -> None:
        """What the scheduler and the kubelet record about a new pod of a ReplicaSet."""
        meta, spec = pod["metadata"], pod["spec"]
        state = self._pod_state[(meta["namespace"], meta["name"])]
        node = spec.get("nodeName")
        if not node:
            self._emit(pod, "Warning", "FailedScheduling", UNSCHEDULABLE,
                       component="default-scheduler")
            return
        self._emit(pod, "Normal", "Scheduled",
                   f"Successfully assigned {meta['namespace']}/{meta['name']} to {node}",
                   component="default-scheduler")
        for c in spec.get("containers", []):
            cname, image = c["name"], c.get("image", "")
            where = {"component": "kubelet", "host": node,
                     "field_path": f"spec.containers{{{cname}}}"}
            if state.behavior == "image_pull" and cname in state.failing:
                self._emit(pod, "Normal", "Pulling", f'Pulling image "{image}"', **where)
                self._emit(pod, "Warning", "Failed",
                           f'Failed to pull image "{image}": rpc error: code = NotFound desc = '
                           f'failed to pull and unpack image "{image}": failed to resolve '
                           f'reference "{image}": {image}: not found', **where)
                self._emit(pod, "Warning", "Failed", "Error: ErrImagePull", **where)
                continue
            self._emit(pod, "Normal", "Pulled",
                       f'Container image "{image}" already present on machine', **where)
            self._emit(pod, "Normal", "Created", f"Created container {cname}", **where)
            self._emit(pod, "Normal", "Started", f"Started container {cname}", **where)

    def _pod_trouble_events(self, pod: JSONDict, state: PodState, crashed: bool) -> None:
        """What the scheduler and the kubelet record, again, about a pod that is stuck: the
        scheduler's retries, the kubelet's image pull and restart back-offs."""
        meta, spec = pod["metadata"], pod["spec"]
        node = spec.get("nodeName")
        if state.behavior == "deadline":
            self._emit(pod, "Warning", "FailedScheduling", UNSCHEDULABLE,
                       component="default-scheduler")
            return
        for c in spec.get("containers", []):
            cname, image = c["name"], c.get("image", "")
            if cname not in state.failing:
                continue
            where = {"component": "kubelet", "host": node,
                     "field_path": f"spec.containers{{{cname}}}"}
            if state.behavior == "image_pull":
                self._emit(pod, "Normal", "BackOff", f'Back-off pulling image "{image}"',
                           **where)
                self._emit(pod, "Warning", "Failed", "Error: ImagePullBackOff", **where)
            elif crashed:
                self._emit(pod, "Warning", "BackOff",
                           f"Back-off restarting failed container {cname} in pod "
                           f"{meta['name']}_{meta['namespace']}({meta['uid']})", **where)

    def recorded_events(self, namespace: str) -> list[JSONDict]:
        """The events in `namespace` (copies), in the order they last changed."""
        with self._cond:
            found = [copy.deepcopy(e) for (ns, _), e in self._store["events"].items()
                     if ns == namespace]
        return sorted(found, key=lambda e: int(e["metadata"]["resourceVersion"]))

"""Recent events of one service's Deployment, its ReplicaSets and their pods (`kubectl get
events`), for `/events`: warnings first, then newest first.

Three LISTs of core/v1 events in the namespace, one per `involvedObject.kind` (a field
selector the API server supports for events: involvedObject.kind/name/namespace/uid...,
pkg/registry/core/event/strategy.go ToSelectableFields), filtered here by name: the
Deployment by name on the server; ReplicaSets by the names of the Deployment's; pods by the
names of its pods and by their ReplicaSets' name prefix (`<replicaset>-`), so the events of
pods already replaced (the crash that started it) are kept. Not one call per object: a
rollout has tens of pods. Not one LIST of the whole namespace: the other services' events
would come along for nothing. All of it needs only `list events` (RBAC); events live an hour
(kube-apiserver --event-ttl), so a kind's list in one namespace stays small.

Both event shapes are read: the core/v1 one (`count`, `lastTimestamp`) that the deployment
controller writes, and the events.k8s.io/v1 one that the kubelet and the scheduler write
through the new recorder (`eventTime`, `series.count`, `series.lastObservedTime`; no
`lastTimestamp`), as core/v1 shows it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from bot.backends.kubernetes.api import KubernetesProblem, Op
from bot.backends.kubernetes.objects import meta_of, timestamp
from bot.backends.kubernetes.troubleshoot import Found, find, read_error
from bot.backends.kubernetes.workload import Workload
from bot.ports import EventView

_NEVER = datetime.min.replace(tzinfo=UTC)


def events(w: Workload, environment: str, *, limit: int = 50) -> list[EventView]:
    """The events about the Deployment, its ReplicaSets and pods: warnings first, then newest
    first; at most `limit` ([] when there is no Deployment)."""
    found = find(w, environment)
    if found is None:
        return []
    replica_sets = {str(meta_of(rs).get("name")) for rs in found.replica_sets}
    pods = {str(meta_of(p).get("name")) for p in found.pods}
    prefixes = tuple(f"{rs}-" for rs in replica_sets)
    seen: list[EventView] = []
    try:
        for event in _list(found, f"involvedObject.kind=Deployment,"
                                  f"involvedObject.name={found.target.name}"):
            seen.append(_view(event))
        for event in _list(found, "involvedObject.kind=ReplicaSet"):
            if _involved(event).get("name") in replica_sets:
                seen.append(_view(event))
        for event in _list(found, "involvedObject.kind=Pod"):
            name = str(_involved(event).get("name") or "")
            if name in pods or name.startswith(prefixes):
                seen.append(_view(event))
    except KubernetesProblem as e:
        raise read_error(e) from e
    seen.sort(key=lambda e: (e.type != "Warning", -(e.last_seen or _NEVER).timestamp()))
    return seen[:max(0, limit)]


def _list(found: Found, field_selector: str) -> list[dict[str, Any]]:
    t = found.target
    answer = t.api.call(Op("list", "events", t.namespace), t.api.core.list_namespaced_event,
                        t.namespace, field_selector=field_selector)
    return list(answer.get("items") or [])


def _involved(event: Mapping[str, Any]) -> dict[str, Any]:
    return dict(event.get("involvedObject") or {})


def _view(event: Mapping[str, Any]) -> EventView:
    involved = _involved(event)
    series = event.get("series") or {}
    count = series.get("count") or event.get("count") or 1
    last = (timestamp(series.get("lastObservedTime")) or timestamp(event.get("lastTimestamp"))
            or timestamp(event.get("eventTime")) or timestamp(event.get("firstTimestamp"))
            or timestamp(meta_of(event).get("creationTimestamp")))
    return EventView(type=str(event.get("type") or "Normal"),
                     reason=str(event.get("reason") or ""),
                     message=str(event.get("message") or "").strip(),
                     object=f"{involved.get('kind') or '?'}/{involved.get('name') or '?'}",
                     count=int(count), last_seen=last)

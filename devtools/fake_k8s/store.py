"""The object store: writes that bump the cluster-wide resourceVersion and feed the watch
history, deletion with its propagation policy (dependents by ownerReferences), and the
thread-safe reads tests use.

Like a real API server it bumps a global `resourceVersion` on every write, records every
change as an ADDED/MODIFIED/DELETED event (the watch history, bounded: older events are
compacted and a watch from before them gets 410 Gone), and returns copies.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

from devtools.fake_k8s.api import JSONDict, Recorded
from devtools.fake_k8s.selectors import label_matcher, labels_of
from devtools.fake_k8s.state import HISTORY_LIMIT, SAFE_ALPHABET, Event, FakeState


class Store(FakeState):
    """Storage (methods named `_…` run with the lock held) and the public reads."""

    def deployment(self, namespace: str, name: str) -> dict[str, Any]:
        """The current Deployment object (a copy). Raises ``KeyError`` if it does not exist."""
        return self.get("deployments", namespace, name)

    def get(self, resource: str, namespace: str, name: str) -> dict[str, Any]:
        """The current object of ``resource`` (``deployments``, ``pods``, ...), a copy."""
        with self._cond:
            obj = self._store[resource].get((namespace, name))
            if obj is None:
                raise KeyError(f"{resource} {namespace}/{name} not found")
            return copy.deepcopy(obj)

    def objects(
        self, resource: str, namespace: str | None = None, label_selector: str | None = None
    ) -> list[dict[str, Any]]:
        """Current objects of ``resource`` (optionally in a namespace / matching labels)."""
        matches = label_matcher(label_selector)
        with self._cond:
            return [
                copy.deepcopy(obj)
                for (ns, _), obj in sorted(self._store[resource].items())
                if (namespace is None or ns == namespace) and matches(labels_of(obj))
            ]

    def pods(self, namespace: str, label_selector: str | None = None) -> list[dict[str, Any]]:
        """Current pods in ``namespace`` (optionally matching a label selector)."""
        return self.objects("pods", namespace, label_selector)

    @property
    def requests(self) -> list[Recorded]:
        """All recorded requests, in arrival order (a copy)."""
        with self._cond:
            return list(self._requests)

    def recorded(
        self, method: str | None = None, path_contains: str | None = None
    ) -> list[Recorded]:
        """Recorded requests, optionally filtered by HTTP method and a path substring."""
        with self._cond:
            return [
                r
                for r in self._requests
                if (method is None or r.method == method.upper())
                and (path_contains is None or path_contains in r.path)
            ]

    def clear_requests(self) -> None:
        """Forget recorded requests."""
        with self._cond:
            self._requests.clear()

    # ------------------------------------------------------------------ storage (lock held)

    def _uid(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def _suffix(self, n: int = 5) -> str:
        return "".join(self._rng.choice(SAFE_ALPHABET) for _ in range(n))

    def _new_metadata(
        self,
        namespace: str,
        name: str,
        *,
        labels: dict[str, str] | None = None,
        annotations: dict[str, str] | None = None,
    ) -> JSONDict:
        return {
            "name": name,
            "namespace": namespace,
            "uid": self._uid(),
            "resourceVersion": "0",
            "generation": 1,
            "creationTimestamp": self._stamp(),
            "labels": labels or {},
            "annotations": annotations or {},
        }

    def _write(self, resource: str, obj: JSONDict, event: str) -> JSONDict:
        self._rv += 1
        meta = obj["metadata"]
        meta["resourceVersion"] = str(self._rv)
        self._store[resource][(meta["namespace"], meta["name"])] = copy.deepcopy(obj)
        self._record_event(resource, event, obj)
        return obj

    def _update_if_changed(self, resource: str, obj: JSONDict) -> None:
        meta = obj["metadata"]
        current = self._store[resource].get((meta["namespace"], meta["name"]))
        if current is not None and current == obj:
            return
        self._write(resource, obj, "MODIFIED")

    def _remove(self, resource: str, namespace: str, name: str) -> JSONDict | None:
        obj = self._store[resource].pop((namespace, name), None)
        if obj is None:
            return None
        self._rv += 1
        obj["metadata"]["resourceVersion"] = str(self._rv)
        self._record_event(resource, "DELETED", obj)
        if resource == "pods":
            self._pod_state.pop((namespace, name), None)
        if resource == "deployments":
            self._deploy_state.pop((namespace, name), None)
        return obj

    def _record_event(self, resource: str, event: str, obj: JSONDict) -> None:
        if resource == "events":
            # Not in the bounded history the watches replay from: a stuck pod's repeated
            # back-off events would push the Deployments' changes out of it (410 Gone) where
            # the API server's per-resource watch cache would not. Events are listed, not
            # watched (devtools.fake_k8s.events).
            self._cond.notify_all()
            return
        self._history.append(Event(self._rv, resource, event, copy.deepcopy(obj)))
        while len(self._history) > HISTORY_LIMIT:
            evicted = self._history.popleft()
            self._floor_rv = max(self._floor_rv, evicted.rv)
        self._cond.notify_all()

    def _remove_with_dependents(self, resource: str, namespace: str, name: str) -> None:
        obj = self._store[resource].get((namespace, name))
        if obj is None:
            return
        uid = obj["metadata"]["uid"]
        for plural in ("replicasets", "pods", "jobs"):
            for (ns, child), child_obj in list(self._store[plural].items()):
                owners = child_obj["metadata"].get("ownerReferences") or []
                if ns == namespace and any(o.get("uid") == uid for o in owners):
                    self._remove_with_dependents(plural, ns, child)
        self._remove(resource, namespace, name)

    def _orphan_dependents(self, namespace: str, uid: str) -> None:
        for plural in ("replicasets", "pods"):
            for (ns, _), child in list(self._store[plural].items()):
                owners = child["metadata"].get("ownerReferences") or []
                if ns == namespace and any(o.get("uid") == uid for o in owners):
                    updated = copy.deepcopy(child)
                    updated["metadata"]["ownerReferences"] = [
                        o for o in owners if o.get("uid") != uid
                    ]
                    self._write(plural, updated, "MODIFIED")

    def _owned_pods(self, namespace: str, rs_uids: set[str]) -> list[JSONDict]:
        # Store order is creation order (updates keep a key's position).
        return [
            pod
            for (ns, _), pod in self._store["pods"].items()
            if ns == namespace
            and any(o.get("uid") in rs_uids for o in pod["metadata"].get("ownerReferences") or [])
        ]

    def _deployment_replicasets(self, namespace: str, dep_uid: str) -> list[JSONDict]:
        return [
            rs
            for (ns, _), rs in sorted(self._store["replicasets"].items())
            if ns == namespace
            and any(o.get("uid") == dep_uid for o in rs["metadata"].get("ownerReferences") or [])
        ]

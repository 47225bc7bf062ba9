"""Per-PR instances on Kubernetes (previews), the pure part: the Deployment of pull request
7's instance of a service, made from the service's own Deployment.

The preview of Deployment `api` for instance `pr-7` is Deployment `api-pr-7` in the same
namespace: the shared Deployment's spec (containers, env, volumes, service account...) with
the configured containers set to the pull request's image, one replica, and the label
`deploybot.dev/instance: pr-7` added to its own labels, its selector and its pod template's
labels, so that its ReplicaSets and pods are its own and never the shared Deployment's. It is
created on the pull request's first deploy (bot.backends.kubernetes.rollout), patched like
any Deployment after that, and deleted when the pull request is closed
(`KubernetesCluster.remove_instance`).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from bot.backends.kubernetes.objects import CHANGE_CAUSE, DEPLOYMENT_ID, REVISION

#: The label that tells a per-PR instance's Deployment, ReplicaSets and pods apart.
INSTANCE_LABEL = "deploybot.dev/instance"
#: Metadata the API server owns: never copied into a new object.
_SERVER_METADATA = ("uid", "resourceVersion", "generation", "creationTimestamp",
                    "managedFields", "selfLink", "ownerReferences", "deletionTimestamp",
                    "finalizers")
#: Annotations of the shared Deployment that describe its own history, not the preview's.
_OWN_ANNOTATIONS = (REVISION, CHANGE_CAUSE, DEPLOYMENT_ID,
                    "kubectl.kubernetes.io/last-applied-configuration")


def preview_name(deployment: str, instance: str) -> str:
    """`api` and `pr-7` → `api-pr-7` (a Deployment name is at most 253 characters; its pods'
    names are cut by the controller as needed)."""
    return f"{deployment}-{instance}"


def preview_deployment(shared: Mapping[str, Any], *, name: str, instance: str, image: str,
                       containers: Sequence[str],
                       annotations: Mapping[str, str]) -> dict[str, Any]:
    """The Deployment of per-PR `instance`, made from `shared` (as the API returned it)."""
    meta = dict(shared.get("metadata") or {})
    spec: dict[str, Any] = copy.deepcopy(dict(shared.get("spec") or {}))
    spec["replicas"] = 1
    selector = spec.setdefault("selector", {})
    selector["matchLabels"] = {**(selector.get("matchLabels") or {}), INSTANCE_LABEL: instance}
    template = spec.setdefault("template", {})
    tmeta = template.setdefault("metadata", {})
    tmeta["labels"] = {**(tmeta.get("labels") or {}), INSTANCE_LABEL: instance}
    for c in (template.get("spec") or {}).get("containers") or []:
        if c.get("name") in containers:
            c["image"] = image
    own = {k: v for k, v in (meta.get("annotations") or {}).items()
           if k not in _OWN_ANNOTATIONS}
    metadata = {k: copy.deepcopy(v) for k, v in meta.items()
                if k not in _SERVER_METADATA and k not in ("labels", "annotations", "name")}
    metadata |= {"name": name,
                 "labels": {**(meta.get("labels") or {}), INSTANCE_LABEL: instance},
                 "annotations": {**own, **annotations}}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": metadata, "spec": spec}

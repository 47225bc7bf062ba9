"""What deploybot may do in a namespace it deploys to (`deploybot doctor`, the ClusterAccess
port): the permissions the backend's calls need (`REQUIRED_ACCESS`), each asked of the API
server with a SelfSubjectAccessReview under the credentials the executor uses there."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from bot.backends.kubernetes.api import (
    Api,
    Backoff,
    KubeClients,
    KubernetesProblem,
    Op,
    Timing,
    port_error,
)
from bot.ports import FlagStorage

#: Every (verb, resource) the Kubernetes executor uses in a namespace it deploys to.
EXECUTOR_ACCESS: tuple[tuple[str, str], ...] = (
    ("get", "deployments.apps"), ("list", "deployments.apps"),
    ("watch", "deployments.apps"), ("patch", "deployments.apps"),
    # per-PR previews (github.pull_requests.per_pr): their own Deployment, made and removed
    ("create", "deployments.apps"), ("delete", "deployments.apps"),
    ("list", "replicasets.apps"),
    ("get", "pods"), ("list", "pods"), ("get", "pods/log"),
    # the troubleshooting commands' /events
    ("list", "events"),
    ("create", "jobs.batch"), ("get", "jobs.batch"), ("list", "jobs.batch"),
    ("watch", "jobs.batch"),
)
#: What feature flags need where flagd's definitions are kept (flags.<environment>.flagd):
#: read, and replaced at their resourceVersion; by where they are kept.
FLAG_ACCESS: dict[FlagStorage, tuple[tuple[str, str], ...]] = {
    "feature_flag": (("get", "featureflags.core.openfeature.dev"),
                     ("update", "featureflags.core.openfeature.dev")),
    "configmap": (("get", "configmaps"), ("update", "configmaps")),
}
#: All of it: exactly the rules of deploy/kubernetes/base/rbac.yaml (tests/
#: test_deploy_manifests.py keeps them in step with the client calls of this package).
REQUIRED_ACCESS: tuple[tuple[str, str], ...] = (
    *EXECUTOR_ACCESS, *(rule for rules in FLAG_ACCESS.values() for rule in rules))


class KubernetesAccessCheck:
    """The ClusterAccess port: one SelfSubjectAccessReview per permission needed (the
    executor's in a namespace it deploys to, the flags' where flagd's definitions are
    kept), asked with the credentials the executor uses for that environment."""

    def __init__(self, clients: KubeClients, *, timing: Timing | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._clients = clients
        self._timing = timing or Timing(backoff=Backoff(attempts=2))
        self._sleep = sleep

    def denied(self, environment: str, namespace: str) -> list[str]:
        return self._denied(environment, namespace, EXECUTOR_ACCESS)

    def denied_flags(self, environment: str, namespace: str, storage: FlagStorage) -> list[str]:
        return self._denied(environment, namespace, FLAG_ACCESS[storage])

    def _denied(self, environment: str, namespace: str,
                needed: tuple[tuple[str, str], ...]) -> list[str]:
        try:
            api = Api(self._clients.get(environment), environment=environment,
                      timing=self._timing, sleep=self._sleep)
            authz = api.authorization()
            return [f"{verb} {resource}" for verb, resource in needed
                    if not self._allowed(api, authz, namespace, verb, resource)]
        except KubernetesProblem as e:
            raise port_error(e) from e

    def _allowed(self, api: Api, authz: Any, namespace: str, verb: str,
                 resource: str) -> bool:
        plural, _, group = resource.partition(".")
        plural, _, sub = plural.partition("/")
        attributes = {"namespace": namespace, "verb": verb, "group": group,
                      "resource": plural}
        if sub:
            attributes["subresource"] = sub
        body = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                "spec": {"resourceAttributes": attributes}}
        review = api.call(Op("create", "selfsubjectaccessreviews.authorization.k8s.io",
                             namespace), authz.create_self_subject_access_review, body)
        return bool((review.get("status") or {}).get("allowed"))

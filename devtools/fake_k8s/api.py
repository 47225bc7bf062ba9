"""The fake API server's vocabulary: what it answers with and about what.

The resources it serves (`RESOURCES`: apps/v1 Deployments and ReplicaSets, v1 Pods and
Events, batch/v1 Jobs), the `Recorded` request, errors as the API server writes them (a
`Status` object with `code`/`reason`/`message`/`details`, `ApiError`), replies (`Reply`),
the discovery documents (`/version`, `/api`, `/apis`, `/apis/<group>/<version>`) and API
timestamps (RFC 3339, whole seconds, UTC, as metav1.Time serializes).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from devtools.httpbits import Reply as Reply  # routes and verbs answer with it

#: The identity named in 403 messages (the bot's service account in the real cluster).
FAKE_USER = "system:serviceaccount:deploybot:deploybot"

FailureMode = Literal["image_pull", "crash_loop", "deadline"]

JSONDict = dict[str, Any]


REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    410: "Expired",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}
INJECTED_MESSAGES = {
    429: "the server has received too many requests and has asked us to try again later",
    500: "Internal error occurred: injected failure (fake Kubernetes API)",
    503: "the server is currently unable to handle the request",
    504: (
        "the server was unable to return a response in the time allotted, "
        "but may still be processing the request"
    ),
}


@dataclass(frozen=True)
class Recorded:
    """One request received by the fake (recorded before any injected failure applies)."""

    method: str
    """HTTP method, upper case."""
    path: str
    """URL path without the query string, e.g. ``/apis/apps/v1/namespaces/prod/deployments/api``."""
    query: dict[str, str]
    """Query parameters (last value wins), e.g. ``{"watch": "true", "resourceVersion": "12"}``."""
    body: Any
    """The parsed JSON body (``None`` when empty; the raw text if it was not JSON)."""
    at: float = field(default_factory=time.monotonic)
    """``time.monotonic()`` when the request arrived."""
    content_type: str | None = None
    """The request's ``Content-Type`` (e.g. ``application/strategic-merge-patch+json``)."""

    @property
    def is_watch(self) -> bool:
        return self.method == "GET" and truthy(self.query.get("watch"))


@dataclass(frozen=True)
class Resource:
    plural: str
    kind: str
    group: str
    version: str

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified(self) -> str:
        """``deployments.apps`` / ``pods``, as the API server names resources in messages."""
        return f"{self.plural}.{self.group}" if self.group else self.plural


RESOURCES: dict[str, Resource] = {
    r.plural: r
    for r in (
        Resource("deployments", "Deployment", "apps", "v1"),
        Resource("replicasets", "ReplicaSet", "apps", "v1"),
        Resource("pods", "Pod", "", "v1"),
        # recorded by the controllers, the scheduler and the kubelet (devtools.fake_k8s.events)
        Resource("events", "Event", "", "v1"),
        Resource("jobs", "Job", "batch", "v1"),
        # where flagd's flag definitions live (issue 17): a ConfigMap key (flagd's file
        # sync) or the OpenFeature Operator's FeatureFlag custom resource, whose CRD
        # (config/crd/bases/core.openfeature.dev_featureflags.yaml) is namespaced, plural
        # featureflags, with a status subresource. Seeded by tests (`seed`), read and
        # replaced (PUT) or patched like any object: 409 on a stale resourceVersion.
        Resource("configmaps", "ConfigMap", "", "v1"),
        Resource("featureflags", "FeatureFlag", "core.openfeature.dev", "v1beta1"),
    )
}
WRITABLE = {"deployments", "replicasets", "pods", "jobs", "configmaps", "featureflags"}
CREATABLE = {"jobs", "deployments"}  # deployments: per-PR instances (previews)


class ApiError(Exception):
    def __init__(
        self,
        code: int,
        message: str,
        *,
        reason: str | None = None,
        details: JSONDict | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason or REASONS.get(code, "Unknown")
        self.details = details
        self.headers = headers or {}

    def status(self) -> JSONDict:
        return status_object(self.code, self.reason, self.message, self.details)


def status_object(
    code: int, reason: str, message: str, details: JSONDict | None = None
) -> JSONDict:
    status: JSONDict = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details:
        status["details"] = details
    return status


def not_found(res: Resource, name: str) -> ApiError:
    return ApiError(
        404,
        f'{res.qualified} "{name}" not found',
        details={"name": name, "group": res.group, "kind": res.plural},
    )


def json_reply(payload: Any, status: int = 200) -> Reply:
    return Reply(status=status, body=json.dumps(payload).encode("utf-8"))


def error_reply(err: ApiError) -> Reply:
    reply = json_reply(err.status(), err.code)
    reply.headers.update(err.headers)
    return reply


def api_time(at: datetime) -> str:
    """An API timestamp (RFC 3339, whole seconds, UTC), as metav1.Time serializes."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def wall_clock() -> datetime:
    return datetime.now(UTC)


def truthy(value: str | None) -> bool:
    return value is not None and value.lower() in ("true", "1")


def discovery(path: str) -> JSONDict:
    if path == "/version":
        return {
            "major": "1",
            "minor": "31",
            "gitVersion": "v1.31.0-fake",
            "gitCommit": "0000000000000000000000000000000000000000",
            "gitTreeState": "clean",
            "buildDate": "2024-08-13T00:00:00Z",
            "goVersion": "go1.22.5",
            "compiler": "gc",
            "platform": "linux/amd64",
        }
    if path == "/api":
        return {
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [
                {"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}
            ],
        }
    groups = {"apps": "apps/v1", "batch": "batch/v1",
              "core.openfeature.dev": "core.openfeature.dev/v1beta1"}
    if path == "/apis":
        return {
            "kind": "APIGroupList",
            "apiVersion": "v1",
            "groups": [
                {
                    "name": g,
                    "versions": [{"groupVersion": gv, "version": gv.split("/")[1]}],
                    "preferredVersion": {"groupVersion": gv, "version": gv.split("/")[1]},
                }
                for g, gv in groups.items()
            ],
        }
    group_version = path.removeprefix("/apis/").removeprefix("/api/")
    resources: list[JSONDict] = []
    for res in RESOURCES.values():
        if res.api_version != group_version:
            continue
        verbs = ["get", "list", "watch", "patch", "update", "delete"]
        if res.plural in CREATABLE:
            verbs.append("create")
        resources.append(
            {
                "name": res.plural,
                "singularName": res.kind.lower(),
                "namespaced": True,
                "kind": res.kind,
                "verbs": verbs,
            }
        )
        if res.plural == "pods":
            resources.append(
                {
                    "name": "pods/log",
                    "singularName": "",
                    "namespaced": True,
                    "kind": "Pod",
                    "verbs": ["get"],
                }
            )
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": resources,
    }

"""The API's objects as JSON, read and marked: the annotations and labels deploybot writes
and reads (the change cause, its deployment id, the controller's revision), and the small
readers every part of the backend shares (metadata, a pod template's containers, a label
selector, a revision, a timestamp)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

CHANGE_CAUSE = "kubernetes.io/change-cause"
DEPLOYMENT_ID = "deploybot.io/deployment-id"
REVISION = "deployment.kubernetes.io/revision"
#: Set by the Deployment controller on a ReplicaSet it rolls back to (SetNewReplicaSetAnnotations).
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
POD_TEMPLATE_HASH = "pod-template-hash"
MANAGED_BY = "app.kubernetes.io/managed-by"
JOB_KIND = "deploybot.io/job-kind"

#: The change-cause deploybot records: "deploybot #12: api v1.2.3 by U0ALICE".
OUR_CHANGE_CAUSE = re.compile(r"deploybot(?: #(?P<id>\d+))?: (?P<service>\S+) (?P<version>\S+)"
                              r"(?: by .*)?", re.DOTALL)


def change_cause(service: str, version: str, *, deployment_id: int | None,
                 requested_by: str | None) -> str:
    """The `kubernetes.io/change-cause` of deploybot's rollout (`kubectl rollout history`
    shows it)."""
    cause = f"deploybot #{deployment_id}" if deployment_id is not None else "deploybot"
    return cause + f": {service} {version}" + (f" by {requested_by}" if requested_by else "")


def meta_of(obj: Mapping[str, Any]) -> dict[str, Any]:
    return dict(obj.get("metadata") or {})


def containers_of(dep: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The containers of a Deployment's (ReplicaSet's) pod template."""
    spec = (dep.get("spec") or {}).get("template", {}).get("spec") or {}
    return list(spec.get("containers") or [])


def label_selector(match_labels: Mapping[str, str] | None) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted((match_labels or {}).items()))


def revision_of(obj: Mapping[str, Any]) -> int:
    """The `deployment.kubernetes.io/revision` of a Deployment or ReplicaSet (0 if none)."""
    value = str((meta_of(obj).get("annotations") or {}).get(REVISION) or "")
    return int(value) if value.isdigit() else 0


def timestamp(value: Any) -> datetime | None:
    """An API timestamp ("2025-03-04T10:00:07Z") as an aware UTC datetime; None if absent."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def took(seconds: float) -> str:
    """A duration as app.yaml writes it: 1h, 10m, 90s."""
    s = int(seconds)
    if s % 3600 == 0 and s >= 3600:
        return f"{s // 3600}h"
    if s % 60 == 0 and s >= 60:
        return f"{s // 60}m"
    return f"{s}s"

"""Shapes the controllers share: ownerReferences, a pod's readiness, a condition upserted the
way controllers do (lastTransitionTime kept unless the status flips), the pod-template-hash
and the annotations the Deployment controller writes.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from devtools.fake_k8s.api import JSONDict
from devtools.fake_k8s.state import SAFE_ALPHABET

REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
CHANGE_CAUSE = "kubernetes.io/change-cause"


def timestamp_of(value: str | None) -> datetime | None:
    """An API timestamp ("2025-03-04T10:00:07Z") as an aware datetime (None if absent)."""
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def pod_template_hash(template: JSONDict) -> str:
    digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode("utf-8")).digest()
    value = int.from_bytes(digest[:8], "big")
    chars = []
    for _ in range(10):
        value, index = divmod(value, len(SAFE_ALPHABET))
        chars.append(SAFE_ALPHABET[index])
    return "".join(chars)


def owner_ref(api_version: str, kind: str, meta: JSONDict) -> JSONDict:
    return {
        "apiVersion": api_version,
        "kind": kind,
        "name": meta["name"],
        "uid": meta["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def pod_ready(pod: JSONDict) -> bool:
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return bool(cond.get("status") == "True")
    return False


def set_condition(
    conditions: list[JSONDict],
    ctype: str,
    status: str,
    reason: str,
    message: str,
    *,
    now: str,
    touch: bool = False,
    probe: bool = False,
) -> None:
    """Upsert a condition the way controllers do: keep lastTransitionTime unless status flips.
    `now`: the fake's clock, as an API timestamp."""
    stamp = "lastProbeTime" if probe else "lastUpdateTime"
    for cond in conditions:
        if cond.get("type") != ctype:
            continue
        if cond.get("status") != status:
            cond["lastTransitionTime"] = now
        if cond.get("status") != status or cond.get("reason") != reason or touch:
            cond[stamp] = now
        cond.update(status=status, reason=reason, message=message)
        return
    conditions.append(
        {
            "type": ctype,
            "status": status,
            stamp: now,
            "lastTransitionTime": now,
            "reason": reason,
            "message": message,
        }
    )

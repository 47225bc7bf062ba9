"""The verbs on one resource: get, list, create (`name` or `generateName`), update (PUT),
patch (the three content types of devtools.fake_k8s.patches) and delete (with a
`propagationPolicy`); `pods/{name}/log` is devtools.fake_k8s.logs'.

As the API server does: server-managed metadata wins over what a write sends, `status` is
ignored in writes to the main resource, `metadata.generation` moves on spec changes, a stale
`resourceVersion` in the body is a 409 Conflict, `dryRun` changes nothing, and a Job's pod
template is immutable.
"""

from __future__ import annotations

import base64
import copy
from typing import Any

from devtools.fake_k8s.api import (
    CREATABLE,
    ApiError,
    JSONDict,
    Reply,
    Resource,
    json_reply,
    not_found,
)
from devtools.fake_k8s.jobs import default_job
from devtools.fake_k8s.patches import PATCH_TYPES, json_patch, merge_patch, strategic_merge
from devtools.fake_k8s.selectors import query_matcher
from devtools.fake_k8s.writers import ConcurrentWriters


class Verbs(ConcurrentWriters):
    """One method per verb; each runs with the lock held and raises ApiError."""

    def _get(self, res: Resource, namespace: str, name: str) -> JSONDict:
        obj = self._store[res.plural].get((namespace, name))
        if obj is None:
            raise not_found(res, name)
        return copy.deepcopy(obj)

    def _list(self, res: Resource, namespace: str | None, query: dict[str, str]) -> Reply:
        matches = query_matcher(query)
        items = [
            copy.deepcopy(obj)
            for (ns, _), obj in sorted(self._store[res.plural].items())
            if (namespace is None or ns == namespace) and matches(obj)
        ]
        metadata: JSONDict = {"resourceVersion": str(self._rv)}
        # Chunking (`limit`, `continue`): at most `limit` items and, when more match, an
        # opaque `continue` token for the next page and `remainingItemCount` (API concepts,
        # "Retrieving large results sets in chunks"). The token here is the offset.
        start = 0
        token = query.get("continue") or ""
        if token:
            try:
                start = int(base64.urlsafe_b64decode(token.encode()).decode())
            except ValueError:
                raise ApiError(400, "continue key is not valid: illegal base64 data") from None
        limit = query.get("limit") or ""
        if limit.isdigit() and int(limit) > 0:
            end = start + int(limit)
            if end < len(items):
                metadata["continue"] = base64.urlsafe_b64encode(str(end).encode()).decode()
                metadata["remainingItemCount"] = len(items) - end
            items = items[start:end]
        else:
            items = items[start:]
        return json_reply(
            {
                "apiVersion": res.api_version,
                "kind": f"{res.kind}List",
                "metadata": metadata,
                "items": items,
            }
        )

    def _create(self, res: Resource, namespace: str, body: Any, query: dict[str, str]) -> Reply:
        if res.plural not in CREATABLE:
            raise ApiError(405, f"the fake does not support creating {res.qualified}")
        if not isinstance(body, dict):
            raise ApiError(400, f"the body of a {res.kind} must be a JSON object")
        obj = copy.deepcopy(body)
        meta = obj.setdefault("metadata", {})
        if meta.get("namespace") not in (None, "", namespace):
            raise ApiError(
                400,
                "the namespace of the provided object does not match the namespace sent on "
                "the request",
            )
        name = meta.get("name") or ""
        if not name and meta.get("generateName"):
            name = f"{meta['generateName']}{self._suffix()}"
        if not name:
            raise ApiError(
                422,
                f'{res.kind}.{res.group} "" is invalid: metadata.name: Required value: '
                "name or generateName is required",
                details={"group": res.group, "kind": res.kind},
            )
        if (namespace, name) in self._store[res.plural]:
            raise ApiError(
                409,
                f'{res.qualified} "{name}" already exists',
                reason="AlreadyExists",
                details={"name": name, "group": res.group, "kind": res.plural},
            )
        fresh = self._new_metadata(
            namespace, name, labels=meta.get("labels"), annotations=meta.get("annotations")
        )
        for key in ("generateName", "ownerReferences", "finalizers"):
            if key in meta:
                fresh[key] = meta[key]
        obj["metadata"] = fresh
        obj["apiVersion"], obj["kind"] = res.api_version, res.kind
        if res.plural == "jobs":
            default_job(obj)
        obj["status"] = {}
        if query.get("dryRun"):
            return json_reply(obj, 201)
        self._write(res.plural, obj, "ADDED")
        return json_reply(obj, 201)

    def _check_precondition(self, res: Resource, name: str, current: JSONDict, new: Any) -> None:
        if not isinstance(new, dict) or not isinstance(new.get("metadata", {}), dict):
            raise ApiError(400, f"the body of a {res.kind} must be a JSON object")
        wanted = new.get("metadata", {}).get("resourceVersion")
        if wanted not in (None, "") and str(wanted) != current["metadata"]["resourceVersion"]:
            raise ApiError(
                409,
                f'Operation cannot be fulfilled on {res.qualified} "{name}": the object has been '
                "modified; please apply your changes to the latest version and try again",
                details={"name": name, "group": res.group, "kind": res.plural},
            )
        new_name = new.get("metadata", {}).get("name")
        if new_name not in (None, name):
            raise ApiError(
                400,
                f"the name of the object ({new_name}) does not match the name on the URL ({name})",
            )

    def _store_update(
        self, res: Resource, current: JSONDict, updated: JSONDict, query: dict[str, str]
    ) -> Reply:
        # Server-managed fields win; status is only written through the status subresource.
        meta = updated.setdefault("metadata", {})
        cur_meta = current["metadata"]
        for key in ("name", "namespace", "uid", "creationTimestamp", "generation"):
            if key in cur_meta:  # a ConfigMap has no generation
                meta[key] = cur_meta[key]
        for key in ("labels", "annotations"):
            if meta.get(key) is None:
                meta[key] = {}
        meta["resourceVersion"] = cur_meta["resourceVersion"]
        updated["apiVersion"], updated["kind"] = res.api_version, res.kind
        if "status" in current:
            updated["status"] = copy.deepcopy(current["status"])
        if res.plural in ("deployments", "jobs", "replicasets", "featureflags") and updated.get(
            "spec"
        ) != current.get("spec"):
            meta["generation"] = int(cur_meta.get("generation", 1)) + 1
        if res.plural == "jobs":
            old_t = (current.get("spec") or {}).get("template")
            if (updated.get("spec") or {}).get("template") != old_t:
                raise ApiError(
                    422,
                    f'Job.batch "{meta["name"]}" is invalid: spec.template: Invalid value: '
                    "field is immutable",
                    details={"name": meta["name"], "group": "batch", "kind": "Job"},
                )
        if query.get("dryRun"):
            return json_reply(updated)
        if updated != current:
            self._write(res.plural, updated, "MODIFIED")
        return json_reply(updated)

    def _replace(
        self, res: Resource, namespace: str, name: str, body: Any, query: dict[str, str]
    ) -> Reply:
        self._concurrent_write(res.plural, namespace, name)
        current = self._get(res, namespace, name)
        self._check_precondition(res, name, current, body)
        return self._store_update(res, current, copy.deepcopy(body), query)

    def _patch(
        self,
        res: Resource,
        namespace: str,
        name: str,
        body: Any,
        mime: str | None,
        query: dict[str, str],
    ) -> Reply:
        self._concurrent_write(res.plural, namespace, name)
        current = self._get(res, namespace, name)
        if mime == "application/strategic-merge-patch+json":
            if not isinstance(body, dict):
                raise ApiError(400, "a strategic merge patch must be a JSON object")
            self._check_precondition(res, name, current, body)
            updated = strategic_merge(current, body)
        elif mime == "application/merge-patch+json":
            if not isinstance(body, dict):
                raise ApiError(400, "a merge patch must be a JSON object")
            self._check_precondition(res, name, current, body)
            updated = merge_patch(current, body)
        elif mime == "application/json-patch+json":
            updated = json_patch(current, body)
        else:
            raise ApiError(
                415,
                "the body of the request was in an unknown format - accepted media types "
                "include: " + ", ".join(PATCH_TYPES),
            )
        if not isinstance(updated, dict):
            raise ApiError(422, "the patched object is not a JSON object")
        self._check_precondition(res, name, current, updated)
        return self._store_update(res, current, updated, query)

    def _delete(
        self, res: Resource, namespace: str, name: str, body: Any, query: dict[str, str]
    ) -> Reply:
        current = self._get(res, namespace, name)
        options = body if isinstance(body, dict) else {}
        default = "Orphan" if res.plural == "jobs" else "Background"
        policy = options.get("propagationPolicy") or query.get("propagationPolicy") or default
        if policy not in ("Orphan", "Background", "Foreground"):
            raise ApiError(400, f'unsupported propagationPolicy "{policy}"')
        if not (query.get("dryRun") or options.get("dryRun")):
            if policy == "Orphan":
                self._orphan_dependents(namespace, current["metadata"]["uid"])
                self._remove(res.plural, namespace, name)
            else:
                self._remove_with_dependents(res.plural, namespace, name)
        return json_reply(
            {
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Success",
                "details": {
                    "name": name,
                    "group": res.group,
                    "kind": res.plural,
                    "uid": current["metadata"]["uid"],
                },
            }
        )

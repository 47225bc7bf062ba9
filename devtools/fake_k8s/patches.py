"""The three PATCH content types the API server accepts, applied to a stored object.

Strategic merge patch (`application/strategic-merge-patch+json`: maps merge, `null` deletes,
lists of containers, env, volumes… merged by their patch merge key, `$patch: replace|delete`
directives; Kubernetes "Update API Objects in Place Using kubectl patch"), JSON merge patch
(RFC 7386) and JSON patch (RFC 6902: add, remove, replace, test, copy, move). A patch that
cannot apply is a 422, a malformed one a 400.
"""

from __future__ import annotations

import copy
from typing import Any

from devtools.fake_k8s.api import ApiError, JSONDict

MERGE_KEYS: dict[str, str] = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "ports": "containerPort",
    "imagePullSecrets": "name",
    "hostAliases": "ip",
    "conditions": "type",
    "ownerReferences": "uid",
}
PATCH_TYPES = (
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
)


def _strip_directives(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_directives(v) for k, v in value.items() if not k.startswith("$")}
    if isinstance(value, list):
        return [_strip_directives(v) for v in value]
    return value


def strategic_merge(original: Any, patch: Any) -> Any:
    """Apply a strategic-merge patch: maps merge, ``null`` deletes, named lists merge by key."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return _strip_directives(patch)
    result: JSONDict = copy.deepcopy(original) if isinstance(original, dict) else {}
    for key, value in patch.items():
        if key.startswith("$"):
            continue  # $retainKeys, $setElementOrder/..., $deleteFromPrimitiveList/...
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict):
            if value.get("$patch") == "delete":
                result.pop(key, None)
            else:
                result[key] = strategic_merge(result.get(key), value)
        elif isinstance(value, list) and key in MERGE_KEYS:
            result[key] = _merge_named_list(result.get(key), value, MERGE_KEYS[key])
        else:
            result[key] = copy.deepcopy(value)
    return result


def _merge_named_list(original: Any, patch: list[Any], merge_key: str) -> list[Any]:
    if any(isinstance(i, dict) and i.get("$patch") == "replace" for i in patch):
        return [_strip_directives(i) for i in patch if not (isinstance(i, dict) and "$patch" in i)]
    if not all(isinstance(i, dict) and merge_key in i for i in patch):
        return _strip_directives(copy.deepcopy(patch))  # type: ignore[no-any-return]
    result: list[Any] = copy.deepcopy(original) if isinstance(original, list) else []
    for item in patch:
        index = next(
            (
                i
                for i, existing in enumerate(result)
                if isinstance(existing, dict) and existing.get(merge_key) == item[merge_key]
            ),
            None,
        )
        if item.get("$patch") == "delete":
            if index is not None:
                del result[index]
        elif index is not None:
            result[index] = strategic_merge(result[index], item)
        else:
            result.append(_strip_directives(item))
    return result


def merge_patch(original: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result: JSONDict = copy.deepcopy(original) if isinstance(original, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise ApiError(422, f"invalid JSON pointer {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def json_patch(original: JSONDict, ops: Any) -> JSONDict:
    """RFC 6902 JSON patch: add, remove, replace, test, copy, move."""
    if not isinstance(ops, list):
        raise ApiError(400, "json patch must be a list of operations")
    doc: Any = copy.deepcopy(original)

    def parent(tokens: list[str]) -> tuple[Any, str]:
        node = doc
        for tok in tokens[:-1]:
            try:
                node = node[int(tok)] if isinstance(node, list) else node[tok]
            except (KeyError, IndexError, ValueError, TypeError):
                raise ApiError(422, f"json patch: path not found at {tok!r}") from None
        return node, tokens[-1]

    def get(path: str) -> Any:
        node: Any = doc
        for tok in _pointer(path):
            try:
                node = node[int(tok)] if isinstance(node, list) else node[tok]
            except (KeyError, IndexError, ValueError, TypeError):
                raise ApiError(422, f"json patch: path {path!r} not found") from None
        return node

    def add(path: str, value: Any) -> None:
        tokens = _pointer(path)
        if not tokens:
            raise ApiError(422, "json patch: cannot replace the whole document")
        node, last = parent(tokens)
        if isinstance(node, list):
            index = len(node) if last == "-" else int(last)
            node.insert(index, copy.deepcopy(value))
        elif isinstance(node, dict):
            node[last] = copy.deepcopy(value)
        else:
            raise ApiError(422, f"json patch: cannot add at {path!r}")

    def remove(path: str) -> Any:
        tokens = _pointer(path)
        node, last = parent(tokens)
        try:
            return node.pop(int(last)) if isinstance(node, list) else node.pop(last)
        except (KeyError, IndexError, ValueError, AttributeError):
            raise ApiError(422, f"json patch: path {path!r} not found") from None

    for op in ops:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise ApiError(400, f"json patch: invalid operation {op!r}")
        kind, path = op["op"], str(op["path"])
        if kind == "add":
            add(path, op.get("value"))
        elif kind == "remove":
            remove(path)
        elif kind == "replace":
            remove(path)
            add(path, op.get("value"))
        elif kind == "test":
            if get(path) != op.get("value"):
                raise ApiError(422, f"json patch: test failed at {path!r}")
        elif kind == "copy":
            add(path, get(str(op.get("from", ""))))
        elif kind == "move":
            add(path, remove(str(op.get("from", ""))))
        else:
            raise ApiError(400, f"json patch: unsupported op {kind!r}")
    if not isinstance(doc, dict):
        raise ApiError(422, "json patch: result is not an object")
    return doc

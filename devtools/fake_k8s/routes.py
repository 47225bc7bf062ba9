"""From an HTTP request to a verb: the request is recorded, an injected failure answered, the
path parsed (`/api/v1/...`, `/apis/<group>/<version>/...`, `namespaces/<ns>/<plural>/<name>
[/log]`), RBAC checked (`forbid`: a 403 worded as the API server's), and the verb, the watch,
the discovery document or a SelfSubjectAccessReview answered.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from devtools.fake_k8s.api import (
    FAKE_USER,
    INJECTED_MESSAGES,
    RESOURCES,
    WRITABLE,
    ApiError,
    JSONDict,
    Recorded,
    Reply,
    Resource,
    discovery,
    error_reply,
    json_reply,
    truthy,
)
from devtools.fake_k8s.logs import Logs
from devtools.fake_k8s.rollouts import Rollouts
from devtools.fake_k8s.state import WatchRequest
from devtools.fake_k8s.watch import Watches


class Routes(Logs, Watches, Rollouts):
    """`_dispatch`: what the HTTP handler calls for every request but a watch's stream."""

    def _dispatch(
        self, *, method: str, target: str, content_type: str | None, body: bytes
    ) -> Reply | WatchRequest:
        parts = urlsplit(target)
        path = unquote(parts.path).rstrip("/") or "/"
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        parsed: Any = None
        body_error: str | None = None
        if body:
            text = body.decode("utf-8", errors="replace")
            try:
                parsed = json.loads(text)
            except ValueError:
                parsed, body_error = text, "request body is not valid JSON"
        mime = (content_type or "").split(";", 1)[0].strip().lower() or None
        is_watch = method == "GET" and truthy(query.get("watch"))
        with self._cond:
            self._requests.append(Recorded(method, path, query, parsed, content_type=mime))
            self._cond.notify_all()
            try:
                self._inject_failure(method, path, parts.query, is_watch)
                if body_error is not None:
                    raise ApiError(400, body_error)
                return self._route(method, path, query, parsed, mime, is_watch)
            except ApiError as err:
                return error_reply(err)

    def _inject_failure(self, method: str, path: str, raw_query: str, is_watch: bool) -> None:
        full = f"{path}?{raw_query}" if raw_query else path
        for failure in self._failures:
            if failure.remaining <= 0:
                continue
            if failure.method == "WATCH":
                if not is_watch:
                    continue
            elif failure.method not in ("*", method):
                continue
            if failure.pattern.search(path) or failure.pattern.search(full):
                failure.remaining -= 1
                message = INJECTED_MESSAGES.get(
                    failure.status, f"injected failure {failure.status} (fake Kubernetes API)"
                )
                headers = {"Retry-After": "1"} if failure.status == 429 else {}
                raise ApiError(failure.status, message, headers=headers)
        self._failures = [f for f in self._failures if f.remaining > 0]

    def _check_allowed(
        self, verb: str, res: Resource, namespace: str | None, name: str | None, sub: str = ""
    ) -> None:
        resource = f"{res.plural}/{sub}" if sub else res.plural
        ns = namespace or ""
        if not any(
            v in ("*", verb) and r in ("*", resource) and n in ("*", ns)
            for v, r, n in self._forbidden
        ):
            return
        subject = f'{res.qualified} "{name}"' if name else res.qualified
        scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
        details: JSONDict = {"group": res.group, "kind": res.plural}
        if name:
            details["name"] = name
        raise ApiError(
            403,
            f'{subject} is forbidden: User "{FAKE_USER}" cannot {verb} resource "{resource}" '
            f'in API group "{res.group}" {scope}',
            details=details,
        )

    def _route(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        body: Any,
        mime: str | None,
        is_watch: bool,
    ) -> Reply | WatchRequest:
        if path in ("/version", "/api", "/apis", "/api/v1", "/apis/apps/v1", "/apis/batch/v1",
                    "/apis/core.openfeature.dev/v1beta1"):
            if method != "GET":
                raise ApiError(405, f"the server does not allow this method on {path}")
            return json_reply(discovery(path))
        if path == "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews":
            if method != "POST":
                raise ApiError(405, f"the server does not allow this method on {path}")
            return self._access_review(body)
        segments = path.strip("/").split("/")
        if segments[:2] == ["api", "v1"]:
            group, version, rest = "", "v1", segments[2:]
        elif len(segments) >= 3 and segments[0] == "apis":
            group, version, rest = segments[1], segments[2], segments[3:]
        else:
            raise ApiError(404, "the server could not find the requested resource")
        namespace: str | None = None
        if len(rest) >= 2 and rest[0] == "namespaces":
            namespace, rest = rest[1], rest[2:]
        if not rest:
            raise ApiError(404, "the server could not find the requested resource")
        res = RESOURCES.get(rest[0])
        if res is None or res.group != group or res.version != version or len(rest) > 3:
            raise ApiError(404, "the server could not find the requested resource")
        name = rest[1] if len(rest) >= 2 else None
        sub = rest[2] if len(rest) == 3 else ""
        if sub and not (sub == "log" and res.plural == "pods" and method == "GET"):
            raise ApiError(404, "the server could not find the requested resource")

        if name is None:
            if method == "GET":
                verb = "watch" if is_watch else "list"
                self._check_allowed(verb, res, namespace, None)
                if is_watch:
                    return self._watch_request(res, namespace, query)
                return self._list(res, namespace, query)
            if method == "POST" and namespace is not None:
                self._check_allowed("create", res, namespace, None)
                return self._create(res, namespace, body, query)
            raise ApiError(405, f"the server does not allow this method on {res.qualified}")
        if namespace is None:
            raise ApiError(404, "the server could not find the requested resource")
        if sub == "log":
            self._check_allowed("get", res, namespace, name, "log")
            return self._pod_log(namespace, name, query)
        verbs = {"GET": "get", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}
        if method not in verbs:
            raise ApiError(405, f"the server does not allow this method on {res.qualified}")
        verb = "watch" if is_watch else verbs[method]
        self._check_allowed(verb, res, namespace, name)
        if is_watch:
            query = {**query, "fieldSelector": f"metadata.name={name}"}
            return self._watch_request(res, namespace, query)
        if method == "GET":
            if res.plural == "deployments":
                self._seen_complete(namespace, name)
            return json_reply(self._get(res, namespace, name))
        if method == "DELETE":
            return self._delete(res, namespace, name, body, query)
        if res.plural not in WRITABLE:
            raise ApiError(405, f"the server does not allow this method on {res.qualified}")
        if method == "PUT":
            return self._replace(res, namespace, name, body, query)
        return self._patch(res, namespace, name, body, mime, query)

    def _access_review(self, body: Any) -> Reply:
        """A SelfSubjectAccessReview: may FAKE_USER do this? (what :meth:`forbid` says)."""
        attributes = ((body or {}).get("spec") or {}).get("resourceAttributes") if isinstance(
            body, dict) else None
        if not isinstance(attributes, dict) or not attributes.get("verb"):
            raise ApiError(422, "spec.resourceAttributes.verb: Required value")
        verb = str(attributes["verb"]).lower()
        resource = str(attributes.get("resource") or "")
        if attributes.get("subresource"):
            resource += f"/{attributes['subresource']}"
        ns = str(attributes.get("namespace") or "")
        denied = any(v in ("*", verb) and r in ("*", resource) and n in ("*", ns)
                     for v, r, n in self._forbidden)
        status: JSONDict = {"allowed": not denied}
        if denied:
            status["reason"] = "no RBAC rule allows it (fake Kubernetes API)"
        return json_reply({"apiVersion": "authorization.k8s.io/v1",
                            "kind": "SelfSubjectAccessReview",
                            "metadata": {"creationTimestamp": None},
                            "spec": body["spec"], "status": status}, 201)

"""The tail of one container's log (`kubectl logs`), for `/logs`: one GET of
`pods/{name}/log` with the API's own PodLogOptions (`container`, `previous`, `sinceSeconds`,
`tailLines`, `limitBytes`), so the cluster never sends more than the limit. `tail` 0 (or
less) asks for every line, `since` is rounded up to whole seconds. The kubelet takes the last
`tailLines` lines written since `sinceSeconds` and sends the first `limitBytes` bytes of them:
a truncated answer is the older part of the tail, cut mid-line.

Which pod: the one named, which must be one of the service's (else NotFound listing those
that are), or the least healthy pod of the current ReplicaSet (a crash loop first:
troubleshoot.sickness). Which container: the one named, or the pod's default (the one that
restarted most, else the service's configured container, else the first). The kubelet's
refusals (pkg/kubelet/kubelet_pods.go, validateContainerLogStatus), which the API server
passes on as 400 BadRequest, are said plainly: `previous` on a container that never
restarted ("previous terminated container ... not found"), a container still waiting to
start (an image that cannot be pulled).
"""

from __future__ import annotations

import math

from bot.backends.kubernetes.api import KubernetesProblem, Op
from bot.backends.kubernetes.objects import meta_of
from bot.backends.kubernetes.troubleshoot import Found, find, pod_view, read_error, sickness
from bot.backends.kubernetes.workload import Workload
from bot.errors import NotFound, UserError
from bot.ports import LogQuery, LogTail, PodView


def logs(w: Workload, environment: str, query: LogQuery) -> LogTail:
    """The tail of one container's log, at most `query.limit_bytes` read; `truncated` when
    the cluster stopped at the limit (its answer is as long as the limit)."""
    found = find(w, environment)
    if found is None:
        raise NotFound(f'service {w.service} has no Deployment "{w.deployment}" in '
                       f'namespace "{w.config.namespace(environment)}" of {environment}')
    pod = _pod(w, found, query.pod, environment)
    container = query.container or pod.container
    names = _containers(found, pod.name)
    if container not in names:
        raise UserError(f'pod {pod.name} has no container "{container}": it has '
                        + ", ".join(names))
    t = found.target
    options: dict[str, object] = {"container": container,
                                  "limit_bytes": max(1, query.limit_bytes)}
    if query.previous:
        options["previous"] = True
    if query.since is not None:
        options["since_seconds"] = max(1, math.ceil(query.since.total_seconds()))
    if query.tail > 0:
        options["tail_lines"] = query.tail
    try:
        data = t.api.data(Op("get", "pods/log", t.namespace, pod.name),
                          t.api.core.read_namespaced_pod_log, pod.name, t.namespace,
                          **options)
    except KubernetesProblem as e:
        raise _log_error(e, pod.name, container, query.previous) from e
    truncated = len(data) >= query.limit_bytes
    text = data[:query.limit_bytes].decode("utf-8", "replace")
    return LogTail(pod=pod.name, container=container, text=text, truncated=truncated,
                   previous=query.previous)


def _pod(w: Workload, found: Found, name: str | None, environment: str) -> PodView:
    views = {str(meta_of(p).get("name")): pod_view(w, p) for p in found.pods}
    if name is not None:
        if name not in views:
            have = ", ".join(sorted(views)) or "none right now"
            raise NotFound(f"pod {name} is not one of service {w.service}'s pods in "
                           f"{environment}; its pods: {have}")
        return views[name]
    current = [views[str(meta_of(p).get("name"))] for p in found.pods_of(found.current)]
    candidates = current or list(views.values())
    if not candidates:
        raise NotFound(f"service {w.service} has no pods in {environment} right now: "
                       "nothing to read the log of")
    return min(candidates, key=sickness)


def _containers(found: Found, pod: str) -> list[str]:
    for p in found.pods:
        if meta_of(p).get("name") == pod:
            return [str(c.get("name")) for c in (p.get("spec") or {}).get("containers") or []]
    return []


def _log_error(e: KubernetesProblem, pod: str, container: str,
               previous: bool) -> Exception:
    if e.kind == "not_found":
        return NotFound(f"pod {pod} is gone (replaced since it was listed); try again")
    if e.status == 400:
        if previous and "previous terminated container" in e.message:
            return UserError(f'container "{container}" of pod {pod} has not restarted: it has '
                             "no previous run to show (leave out `previous` for its log)")
        if "waiting to start" in e.message:
            return UserError(f'container "{container}" of pod {pod} has not started, so it '
                             f"has no log yet ({e.message}); /events says why")
        return UserError(f'cannot read the log of container "{container}" of pod {pod}: '
                         f"{e.message}")
    return read_error(e)

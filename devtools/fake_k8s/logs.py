"""`GET pods/{name}/log`, as the API server and the kubelet answer it, and `set_logs`, what a
test makes a Deployment's containers log.

The API server (LogLocation, pkg/registry/core/pod/strategy.go; the log REST's validation,
ValidatePodLogOptions in pkg/apis/core/validation): 404 for an unknown pod; 400 "a container
name must be specified for pod <p>, choose one of: [<c> <c>]" when a pod of several
containers is asked without one, 400 "container <c> is not valid for pod <p>" for a name it
does not have; 422 for `tailLines` < 0, `limitBytes` < 1 or `sinceSeconds` < 1; an empty
answer (200) for a pod not scheduled to a node yet (no location to ask). Then the kubelet
(validateContainerLogStatus, pkg/kubelet/kubelet_pods.go), whose refusals come back as 400:
`previous` needs a terminated previous run ("previous terminated container "<c>" in pod
"<p>" not found"); a running container logs its current run; a waiting one with a
terminated previous run (CrashLoopBackOff) logs that previous run; a waiting one without
(image pull back-off) "is waiting to start: trying and failing to pull image". And the log
options as the kubelet applies them (pkg/kubelet/kuberuntime/logs/logs.go): the last
`tailLines` lines, of them those written at or after now - `sinceSeconds`, and no more than
`limitBytes` bytes of that (a LimitWriter: the first bytes of the tail, cut mid-line).

What a container logs: what `set_logs` said for its Deployment (its current run and its
previous one, each a list of timestamped chunks), else the fake's own lines (pods.py),
stamped when the pod started, the same for a previous run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from devtools.fake_k8s.api import RESOURCES, ApiError, JSONDict, Reply, truthy
from devtools.fake_k8s.objects import timestamp_of
from devtools.fake_k8s.state import LogRule
from devtools.fake_k8s.verbs import Verbs

LogLines = Sequence[str | tuple[datetime, str]]


def _chunks(lines: LogLines, now: datetime) -> list[tuple[datetime, str]]:
    out: list[tuple[datetime, str]] = []
    for line in lines:
        at, text = line if isinstance(line, tuple) else (now, line)
        out.append((at, text if text.endswith("\n") else text + "\n"))
    return out


def _tail(text: str, count: int) -> str:
    """The last `count` lines of `text` (every line ends with a newline)."""
    end = len(text) - 1 if text.endswith("\n") else len(text)
    cut = end
    for _ in range(count):
        cut = text.rfind("\n", 0, cut)
        if cut < 0:
            return text
    return text[cut + 1:]


def _int_option(query: dict[str, str], name: str, minimum: int, pod: str,
                rule: str) -> int | None:
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, f'invalid value for {name}: strconv.ParseInt: parsing "{raw}": '
                       "invalid syntax") from None
    if value < minimum:
        raise ApiError(422, f'PodLogOptions "{pod}" is invalid: {name}: Invalid value: '
                       f"{value}: {rule}", details={"name": pod, "kind": "PodLogOptions"})
    return value


class Logs(Verbs):
    """The log subresource (with the lock held) and `set_logs` (thread-safe)."""

    def set_logs(self, namespace: str, deployment: str, *, lines: LogLines,
                 previous: LogLines | None = None, container: str | None = None,
                 pod: str | None = None, images: Callable[[str], bool] | None = None) -> None:
        """What the Deployment's pods (or only `pod`) log from now on: `lines` for the
        container's current run, `previous` for its previous run (None: the fake's own).
        `container` None: the pod's first container; `images`: only where the container's
        image matches (a bad version's pods), the others log the fake's own lines. A line
        is a text (stamped now, on the fake's clock) or a (when, text) pair; a text may
        hold many lines."""
        with self._cond:
            now = self.clock()
            self._log_rules[(namespace, deployment, pod or "", container or "")] = LogRule(
                _chunks(lines, now), None if previous is None else _chunks(previous, now),
                images)

    def _pod_log(self, namespace: str, name: str, query: dict[str, str]) -> Reply:
        pod = self._get(RESOURCES["pods"], namespace, name)
        names = [c["name"] for c in pod["spec"].get("containers", [])]
        container = query.get("container") or ""
        if not container:
            if len(names) != 1:
                raise ApiError(400, f"a container name must be specified for pod {name}, "
                               f"choose one of: [{' '.join(names)}]")
            container = names[0]
        if container not in names:
            raise ApiError(400, f"container {container} is not valid for pod {name}")
        tail = _int_option(query, "tailLines", 0, name, "must be greater than or equal to 0")
        limit = _int_option(query, "limitBytes", 1, name, "must be greater than 0")
        since = _int_option(query, "sinceSeconds", 1, name, "must be greater than 0")
        if not pod["spec"].get("nodeName"):
            return Reply(200, b"", "text/plain")  # not scheduled: no kubelet to ask
        run = self._log_run(pod, container, truthy(query.get("previous")))
        chunks = self._log_chunks(pod, container, run)
        if since is not None:
            cutoff = self.clock() - timedelta(seconds=since)
            chunks = [(at, text) for at, text in chunks if at >= cutoff]
        text = "".join(text for _, text in chunks)
        if tail is not None:
            text = _tail(text, tail)
        data = text.encode("utf-8")
        if limit is not None:
            data = data[:limit]
        return Reply(200, data, "text/plain")

    def _log_run(self, pod: JSONDict, container: str, previous: bool) -> str:
        """"current" or "previous": which run the kubelet reads, or its 400."""
        name = pod["metadata"]["name"]
        status = pod.get("status") or {}
        cs = next((s for s in [*(status.get("containerStatuses") or []),
                               *(status.get("initContainerStatuses") or [])]
                   if s.get("name") == container), None)
        if cs is None:
            raise ApiError(400, f'container "{container}" in pod "{name}" is not available')
        last = (cs.get("lastState") or {}).get("terminated") or {}
        state = cs.get("state") or {}
        if previous:
            if not last.get("containerID"):
                raise ApiError(400, f'previous terminated container "{container}" in pod '
                               f'"{name}" not found')
            return "previous"
        if state.get("running") or state.get("terminated"):
            return "current"
        if last.get("containerID"):
            return "previous"
        reason = str((state.get("waiting") or {}).get("reason") or "")
        why = {"ErrImagePull": "image can't be pulled",
               "ImagePullBackOff": "trying and failing to pull image"}.get(reason, reason)
        if not why:
            raise ApiError(400, f'container "{container}" in pod "{name}" is waiting to '
                           "start - no logs yet")
        raise ApiError(400, f'container "{container}" in pod "{name}" is waiting to start: '
                       f"{why}")

    def _log_chunks(self, pod: JSONDict, container: str, run: str) -> list[tuple[datetime, str]]:
        meta = pod["metadata"]
        namespace, name = meta["namespace"], meta["name"]
        first = (pod["spec"].get("containers") or [{}])[0].get("name")
        deployment = self._deployment_of(pod)
        rule = None
        if deployment is not None:
            for key in ((name, container), (name, ""), ("", container), ("", "")):
                if key[1] == "" and container != first:
                    continue
                rule = self._log_rules.get((namespace, deployment, *key))
                if rule is not None:
                    break
        if rule is not None and rule.images is not None:
            image = next((c.get("image", "") for c in pod["spec"].get("containers") or []
                          if c.get("name") == container), "")
            if not rule.images(image):
                rule = None
        if rule is not None:
            if run == "current":
                return list(rule.current)
            if rule.previous is not None:
                return list(rule.previous)
        state = self._pod_state.get((namespace, name))
        text = state.logs.get(container, "") if state is not None else ""
        started = timestamp_of(state.started_at if state is not None else None) or self.clock()
        return [(started, text)] if text else []

    def _deployment_of(self, pod: JSONDict) -> str | None:
        """The Deployment that owns the pod's ReplicaSet (None for a Job's pod)."""
        namespace = pod["metadata"]["namespace"]
        for ref in pod["metadata"].get("ownerReferences") or []:
            if ref.get("kind") != "ReplicaSet":
                continue
            rs = self._store["replicasets"].get((namespace, ref.get("name")))
            for owner in (rs or {}).get("metadata", {}).get("ownerReferences") or []:
                if owner.get("kind") == "Deployment":
                    return str(owner.get("name"))
        return None

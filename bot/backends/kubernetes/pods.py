"""What is wrong with a rollout's pods, in plain words: causes that waiting will not fix
(image pull errors, crash loops, containers that cannot start: `diagnose_pods`, which fails
a rollout at once), pods that cannot be scheduled (said when the progress deadline passes),
and, after a finished rollout, pods that restart or are not ready (`pod_health`, behind
`check_health`: the Health capability, the bake-window watch)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.backends.kubernetes.api import KubernetesProblem
from bot.backends.kubernetes.objects import meta_of
from bot.backends.kubernetes.workload import Workload
from bot.errors import RetryableError
from bot.ports import Superseded

#: Waiting reasons of a container that will not get better by waiting for the rollout.
IMAGE_PULL_REASONS = frozenset({"ErrImagePull", "ImagePullBackOff", "InvalidImageName",
                                "ErrImageNeverPull", "RegistryUnavailable"})
START_REASONS = frozenset({"CreateContainerConfigError", "CreateContainerError",
                           "RunContainerError", "PreStartHookError", "PostStartHookError"})
CRASH_LOOP = "CrashLoopBackOff"


def diagnose_pods(pods: Sequence[Mapping[str, Any]]) -> str | None:
    """Why these pods will not come up, in plain words, or None if nothing is hopeless."""
    for pod in pods:
        status = pod.get("status") or {}
        name = meta_of(pod).get("name", "?")
        for cs in [*(status.get("initContainerStatuses") or []),
                   *(status.get("containerStatuses") or [])]:
            container = cs.get("name", "?")
            waiting = (cs.get("state") or {}).get("waiting") or {}
            reason = str(waiting.get("reason") or "")
            message = str(waiting.get("message") or "").strip()
            detail = f": {message}" if message else ""
            if reason in IMAGE_PULL_REASONS:
                return (f'the new pods cannot pull the image {cs.get("image", "?")} '
                        f'(container "{container}" of pod {name}: {reason}{detail})')
            if reason == CRASH_LOOP:
                term = (cs.get("lastState") or {}).get("terminated") or {}
                exit_code = term.get("exitCode")
                how = (f"exited with code {exit_code}" if exit_code is not None
                       else "keeps exiting")
                if term.get("reason"):
                    how += f" ({term['reason']})"
                restarts = int(cs.get("restartCount") or 0)
                if restarts:
                    how += f", restarted {restarts} time{'s' if restarts != 1 else ''}"
                last = str(term.get("message") or "").strip()
                return (f'the new pods crash-loop: container "{container}" of pod {name} '
                        f"{how}" + (f"; last message: {last[:300]}" if last else ""))
            if reason in START_REASONS:
                return (f'the new pods cannot start container "{container}" (pod {name}: '
                        f"{reason}{detail})")
    return None


def pod_health(pods: Sequence[Mapping[str, Any]], image: str) -> str | None:
    """Why pods that were up (a finished rollout) are unhealthy now, or None: a known cause
    from diagnose_pods first, else a restart, else a pod or container that is not ready."""
    if not pods:
        return f"no pods run {image}"
    cause = diagnose_pods(pods)
    if cause:
        return cause
    for pod in pods:
        name = meta_of(pod).get("name", "?")
        status = pod.get("status") or {}
        for cs in status.get("containerStatuses") or []:
            restarts = int(cs.get("restartCount") or 0)
            if restarts:
                term = (cs.get("lastState") or {}).get("terminated") or {}
                how = ""
                if term.get("exitCode") is not None:
                    how = f" (last exit code {term['exitCode']}" + (
                        f", {term['reason']})" if term.get("reason") else ")")
                return (f'container "{cs.get("name", "?")}" of pod {name} restarted '
                        f"{restarts} time{'s' if restarts != 1 else ''}{how}")
        for cs in status.get("containerStatuses") or []:
            if not cs.get("ready", False):
                return f'container "{cs.get("name", "?")}" of pod {name} is not ready'
        for cond in status.get("conditions") or []:
            if cond.get("type") == "Ready" and cond.get("status") != "True":
                return f"pod {name} is not ready"
    return None


def unschedulable(pods: Sequence[Mapping[str, Any]]) -> str | None:
    for pod in pods:
        for cond in (pod.get("status") or {}).get("conditions") or []:
            if cond.get("type") == "PodScheduled" and cond.get("status") == "False":
                return (f"pod {meta_of(pod).get('name', '?')} cannot be scheduled: "
                        f"{cond.get('message') or cond.get('reason') or 'unschedulable'}")
    return None


def check_health(w: Workload, environment: str, version: str) -> str | None:
    """One look at the new ReplicaSet's pods of `version`: a restart, a crash loop or a
    pod that is not ready is a problem (the cause from diagnose_pods where it knows)."""
    image = w.config.image_for(version)
    try:
        t = w.target(environment)
        dep = w.read(t)
        current = w.images(t, dep)
        other = next((img for img in current.values() if img != image), None)
        if other is not None:
            raise Superseded(f'Deployment "{t.name}" in namespace "{t.namespace}" now '
                             f"runs {other}, not {image} (changed by someone else)")
        pods = w.new_pods(t, dep, image)
    except KubernetesProblem as e:
        if e.kind == "unreachable":
            raise RetryableError(str(e)) from e
        return f"could not look at the pods of {image}: {e}"
    return pod_health(pods, image)

"""One-off Jobs in a service's image: the database migrations before a rollout, the backup
before them, and `/migrations`' status and database check (the Migrations capability).

A Job runs a command in a container made from the Deployment's pod template (`job_spec`),
named after the deployment (`job_name`) so that a resumed runner finds its Job again and
follows it instead of starting another; it is followed with a WATCH (paced reads in a fiber)
until it is Complete or Failed or its timeout passes, and the last lines of its pod's log
come back with the outcome (`JobResult`)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from bot.backends.kubernetes.api import KubernetesProblem, Op
from bot.backends.kubernetes.objects import (
    DEPLOYMENT_ID,
    JOB_KIND,
    MANAGED_BY,
    containers_of,
    meta_of,
    took,
)
from bot.backends.kubernetes.watch import Pace, Quiet, watch
from bot.backends.kubernetes.workload import Target, Workload
from bot.ports import JobKind, JobResult, RolloutFailed

log = logging.getLogger(__name__)

#: A finished Job (and its pod, for `kubectl logs`) is kept this long for inspection.
JOB_TTL_SECONDS = 24 * 3600
#: How many lines of a Job's log are kept for the thread and the audit record.
JOB_LOG_LINES = 40
#: Container fields that make no sense in a one-off Job's container.
_JOB_DROPPED_FIELDS = ("ports", "livenessProbe", "readinessProbe", "startupProbe",
                       "lifecycle", "args", "command", "image", "resizePolicy")
#: Pod spec fields copied from the Deployment's pod template into the Job's.
_JOB_POD_FIELDS = ("serviceAccountName", "automountServiceAccountToken", "imagePullSecrets",
                   "securityContext", "volumes", "nodeSelector", "tolerations", "affinity",
                   "priorityClassName", "dnsPolicy", "dnsConfig", "hostAliases")


def job_name(deployment: str, kind: JobKind, deployment_id: int | None) -> str:
    """`<deployment>-<kind>-<deployment id>`: a resumed runner finds its Job again. At most
    63 characters (the `job-name` label of its pods); random without a deployment."""
    ident = str(deployment_id) if deployment_id is not None else uuid.uuid4().hex[:8]
    suffix = f"-{kind}-{ident}"
    return deployment[: 63 - len(suffix)].rstrip("-.") + suffix


def run_job(w: Workload, environment: str, *, kind: JobKind, command: Sequence[str],
            version: str, deployment_id: int | None, timeout: float) -> JobResult:
    try:
        return _run_job(w, environment, kind=kind, command=command, version=version,
                        deployment_id=deployment_id, timeout=timeout)
    except KubernetesProblem as e:
        raise RolloutFailed(f"could not run the {kind} Job: {e}") from e


def _run_job(w: Workload, environment: str, *, kind: JobKind, command: Sequence[str],
             version: str, deployment_id: int | None, timeout: float) -> JobResult:
    t = w.target(environment)
    name = job_name(w.deployment, kind, deployment_id)
    began = w.monotonic()
    job = _read_job(t, name)
    if job is not None:
        log.info("%s/%s: Job %s exists already; following it", t.namespace, t.name, name)
    else:
        dep = w.read(t)
        body = job_spec(w, t, dep, name=name, kind=kind, command=command,
                        image=w.config.image_for(version),
                        deployment_id=deployment_id, timeout=timeout)
        try:
            job = t.api.call(Op("create", "jobs.batch", t.namespace, name),
                             t.api.batch.create_namespaced_job, t.namespace, body)
        except KubernetesProblem:
            job = _read_job(t, name)  # created meanwhile (409) by another attempt?
            if job is None:
                raise
        log.info("%s: created Job %s (%s)", t.namespace, name, " ".join(command))
    assert job is not None
    job = _follow_job(w, t, name, job, deadline=began + timeout)
    finished = _job_finished(job)
    logs = _job_logs(w, t, name)
    if finished is None:
        within = took(timeout) if timeout >= 1 else f"{timeout:g}s"
        return JobResult(False, logs, name, reason=f"did not finish within {within}")
    ok, why = finished
    return JobResult(ok, logs, name, reason=None if ok else why)


def job_spec(w: Workload, t: Target, dep: Mapping[str, Any], *, name: str, kind: JobKind,
             command: Sequence[str], image: str, deployment_id: int | None,
             timeout: float) -> dict[str, Any]:
    """A Job running `command` in a container of the Deployment's pod template (the
    first configured one, or `kubernetes.jobs.container`: its env, envFrom, volume
    mounts, resources) with `image`, under the pod template's service account (or
    `jobs.service_account`), with `jobs.env` added. Not the template's labels: the
    Deployment's Service would send traffic to it. Sidecars and init containers are
    left out."""
    w.images(t, dep)  # the containers exist
    jobs = w.config.jobs
    wanted = jobs.container or w.containers[0]
    source = next((c for c in containers_of(dep) if c.get("name") == wanted), None)
    if source is None:
        have = ", ".join(sorted(str(c.get("name")) for c in containers_of(dep)))
        raise KubernetesProblem(
            f'Deployment "{t.name}" in namespace "{t.namespace}" has no container named '
            f'"{wanted}" (it has {have}); check services.{w.service}.kubernetes.jobs'
            ".container", kind="config")
    container = {k: v for k, v in source.items() if k not in _JOB_DROPPED_FIELDS}
    container.update(image=image, command=list(command))
    if jobs.env:
        env = [e for e in container.get("env") or [] if e.get("name") not in jobs.env]
        container["env"] = env + [{"name": k, "value": v} for k, v in jobs.env.items()]
    pod = dict((dep.get("spec") or {}).get("template", {}).get("spec") or {})
    if jobs.service_account is not None:
        pod["serviceAccountName"] = jobs.service_account
    labels = {MANAGED_BY: "deploybot", JOB_KIND: kind}
    if deployment_id is not None:
        labels[DEPLOYMENT_ID] = str(deployment_id)
    return {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": name, "namespace": t.namespace, "labels": labels,
                     "annotations": {"deploybot.io/deployment": t.name}},
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": max(1, int(timeout + 0.999)),
            "ttlSecondsAfterFinished": JOB_TTL_SECONDS,
            "template": {
                "metadata": {"labels": dict(labels)},
                "spec": {**{k: pod[k] for k in _JOB_POD_FIELDS if k in pod},
                         "restartPolicy": "Never", "containers": [container]},
            },
        },
    }


def _read_job(t: Target, name: str) -> dict[str, Any] | None:
    try:
        job: dict[str, Any] = t.api.call(Op("get", "jobs.batch", t.namespace, name),
                                         t.api.batch.read_namespaced_job, name, t.namespace)
    except KubernetesProblem as e:
        if e.kind == "not_found":
            return None
        raise
    return job


def _list_job(t: Target, name: str) -> tuple[dict[str, Any], str]:
    """The Job, and the list's resourceVersion to watch it on from after a 410 Gone."""
    found = t.api.call(Op("list", "jobs.batch", t.namespace),
                       t.api.batch.list_namespaced_job, t.namespace,
                       field_selector=f"metadata.name={name}")
    items = found.get("items") or []
    if not items:
        raise KubernetesProblem(f'Job "{name}" in namespace "{t.namespace}" disappeared '
                                "while it ran", kind="rollout")
    job: dict[str, Any] = items[0]
    return job, str(meta_of(found).get("resourceVersion") or meta_of(job)["resourceVersion"])


def _follow_job(w: Workload, t: Target, name: str, job: dict[str, Any], *,
                deadline: float) -> dict[str, Any]:
    """Watch the Job until it is Complete or Failed, or `deadline` (monotonic) passes;
    the Job as last seen."""
    timing = w.timing
    pace = Pace()
    now = w.monotonic
    rv = str(meta_of(job).get("resourceVersion") or "")
    failures = 0
    while _job_finished(job) is None:
        left = deadline - now()
        if left <= 0:
            return job
        try:
            for event in watch(t, rv, quiet_after=min(timing.resync_every, left),
                               connect_timeout=timing.connect_timeout, sleep=w.sleep,
                               list_fn=t.api.batch.list_namespaced_job, name=name,
                               resource="jobs.batch", pace=pace):
                failures = 0
                kind, obj = event["type"], event["raw_object"]
                if kind == "DELETED":
                    raise KubernetesProblem(f'Job "{name}" in namespace "{t.namespace}" '
                                            "was deleted while it ran", kind="rollout")
                rv = str(meta_of(obj).get("resourceVersion") or rv)
                if kind == "BOOKMARK":
                    continue
                job = obj
                if _job_finished(job) is not None or now() >= deadline:
                    break
            continue
        except Quiet:
            pass
        except KubernetesProblem as e:
            if e.kind not in ("gone", "unreachable"):
                raise
            if e.kind == "gone":
                # Our resourceVersion was compacted away, and so may be the Job's own (a
                # Job that did not change for a while): go on from the list's version.
                job, rv = _list_job(t, name)
                continue
            failures += 1
            if failures >= timing.backoff.attempts:
                raise KubernetesProblem(f"{e} (gave up after {failures} attempts)",
                                        kind=e.kind) from e
            w.sleep(timing.backoff.delay(failures))
        found = _read_job(t, name)  # quiet, or the watch broke: read it again
        if found is None:
            raise KubernetesProblem(f'Job "{name}" in namespace "{t.namespace}" '
                                    "disappeared while it ran", kind="rollout")
        job = found
        rv = str(meta_of(job).get("resourceVersion") or rv)
    return job


def _job_logs(w: Workload, t: Target, name: str) -> str:
    """The last JOB_LOG_LINES lines of the Job's newest pod ("" if it has none yet)."""
    try:
        found = t.api.call(Op("list", "pods", t.namespace), t.api.core.list_namespaced_pod,
                           t.namespace, label_selector=f"job-name={name}")
        pods = sorted(found.get("items") or [],
                      key=lambda p: str(meta_of(p).get("creationTimestamp") or ""))
        if not pods:
            return ""
        pod = str(meta_of(pods[-1]).get("name"))
        return t.api.text(Op("get", "pods/log", t.namespace, pod),
                          t.api.core.read_namespaced_pod_log, pod, t.namespace,
                          container=w.containers[0], tail_lines=JOB_LOG_LINES)
    except KubernetesProblem as e:
        log.warning("%s: no logs of Job %s: %s", t.namespace, name, e)
        return ""


def _job_finished(job: Mapping[str, Any]) -> tuple[bool, str] | None:
    """(succeeded, why) once the Job is Complete or Failed; None while it runs."""
    for cond in (job.get("status") or {}).get("conditions") or []:
        if cond.get("status") != "True":
            continue
        if cond.get("type") == "Complete":
            return True, "Complete"
        if cond.get("type") == "Failed":
            why = str(cond.get("reason") or "Failed")
            return False, why + (f" ({cond['message']})" if cond.get("message") else "")
    return None

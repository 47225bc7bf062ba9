"""The Job controller: a Job runs one pod at a time; after a few ticks the pod succeeds or fails
as `set_job_outcome` says (unmatched Jobs succeed, logging "ok"), a failed Job retries up to
`backoffLimit`, and the Job gets the conditions batch/v1 reports (SuccessCriteriaMet and
Complete, or FailureTarget and Failed). `default_job` is what the API server defaults and
validates when a Job is created.
"""

from __future__ import annotations

import copy

from devtools.fake_k8s.api import ApiError, JSONDict
from devtools.fake_k8s.objects import owner_ref, set_condition
from devtools.fake_k8s.pods import Pods
from devtools.fake_k8s.state import JOB_RUN_TICKS, NODES, JobOutcome, PodState


def default_job(job: JSONDict) -> None:
    meta = job["metadata"]
    name, uid = meta["name"], meta["uid"]
    spec = job.setdefault("spec", {})
    template = spec.get("template")
    pod_spec = template.get("spec") if isinstance(template, dict) else None
    if not isinstance(pod_spec, dict) or not pod_spec.get("containers"):
        raise ApiError(
            422,
            f'Job.batch "{name}" is invalid: spec.template.spec.containers: Required value',
            details={"name": name, "group": "batch", "kind": "Job"},
        )
    policy = pod_spec.get("restartPolicy", "Always")
    if policy not in ("Never", "OnFailure"):
        raise ApiError(
            422,
            f'Job.batch "{name}" is invalid: spec.template.spec.restartPolicy: Unsupported '
            f'value: "{policy}": supported values: "OnFailure", "Never"',
            details={"name": name, "group": "batch", "kind": "Job"},
        )
    selector_labels = {"batch.kubernetes.io/controller-uid": uid}
    spec.setdefault("parallelism", 1)
    spec.setdefault("completions", 1)
    spec.setdefault("backoffLimit", 6)
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    spec.setdefault("manualSelector", False)
    spec["selector"] = {"matchLabels": dict(selector_labels)}
    tmeta = template.setdefault("metadata", {})
    tmeta["labels"] = {
        **(tmeta.get("labels") or {}),
        **selector_labels,
        "batch.kubernetes.io/job-name": name,
        "controller-uid": uid,
        "job-name": name,
    }
    for container in pod_spec["containers"]:
        container.setdefault("imagePullPolicy", "IfNotPresent")
        container.setdefault("resources", {})
        container.setdefault("terminationMessagePath", "/dev/termination-log")
        container.setdefault("terminationMessagePolicy", "File")


class Jobs(Pods):
    """Reconciling one Job a pass, with the lock held."""

    def _job_outcome(self, namespace: str, name: str) -> JobOutcome:
        best: tuple[int, JobOutcome] | None = None
        for (ns, prefix), outcome in self._job_outcomes.items():
            if (
                ns == namespace
                and name.startswith(prefix)
                and (best is None or len(prefix) > best[0])
            ):
                best = (len(prefix), outcome)
        return best[1] if best is not None else JobOutcome(True, "ok")

    def _reconcile_job(self, namespace: str, name: str) -> None:
        job = copy.deepcopy(self._store["jobs"][(namespace, name)])
        meta, spec = job["metadata"], job["spec"]
        status: JSONDict = job.setdefault("status", {})
        conditions: list[JSONDict] = status.get("conditions") or []
        if any(c["type"] in ("Complete", "Failed") and c["status"] == "True" for c in conditions):
            return
        if spec.get("suspend"):
            return
        pods = self._owned_pods(namespace, {meta["uid"]})
        running = [
            p
            for p in pods
            if self._pod_state.get((namespace, p["metadata"]["name"]), None) is not None
            and self._pod_state[(namespace, p["metadata"]["name"])].job_result is None
        ]
        status.setdefault("startTime", self._stamp())
        held = any(ns == namespace and name.startswith(prefix) for ns, prefix in self._held_jobs)
        for pod in running:
            pstate = self._pod_state[(namespace, pod["metadata"]["name"])]
            if self._tick_no - pstate.created_tick >= JOB_RUN_TICKS and not held:
                outcome = self._job_outcome(namespace, name)
                pstate.job_result = outcome.succeed
                pstate.finished_at = self._stamp()
                finished = copy.deepcopy(pod)
                finished["status"] = self._pod_status(finished)
                self._update_if_changed("pods", finished)
                key = "succeeded" if outcome.succeed else "failed"
                status[key] = int(status.get(key, 0)) + 1
        pods = self._owned_pods(namespace, {meta["uid"]})
        active = [
            p
            for p in pods
            if self._pod_state.get((namespace, p["metadata"]["name"])) is not None
            and self._pod_state[(namespace, p["metadata"]["name"])].job_result is None
        ]
        now = self._stamp()
        if int(status.get("succeeded", 0)) >= int(spec.get("completions", 1)):
            status["completionTime"] = now
            for ctype in ("SuccessCriteriaMet", "Complete"):
                set_condition(
                    conditions,
                    ctype,
                    "True",
                    "CompletionsReached",
                    "Reached expected number of succeeded pods",
                    probe=True,
                    now=self._stamp(),
                )
        elif int(status.get("failed", 0)) > int(spec.get("backoffLimit", 6)):
            for ctype in ("FailureTarget", "Failed"):
                set_condition(
                    conditions,
                    ctype,
                    "True",
                    "BackoffLimitExceeded",
                    "Job has reached the specified backoff limit",
                    probe=True,
                    now=self._stamp(),
                )
        elif not active:
            active.append(self._create_job_pod(job))
        if conditions:
            status["conditions"] = conditions
        done = any(c["type"] in ("Complete", "Failed") for c in conditions)
        if active and not done:
            status["active"] = len(active)
            status["ready"] = len(active)
        else:
            status.pop("active", None)
            status["ready"] = 0
        status["terminating"] = 0
        status.setdefault("uncountedTerminatedPods", {})
        self._update_if_changed("jobs", job)

    def _create_job_pod(self, job: JSONDict) -> JSONDict:
        meta = job["metadata"]
        namespace, job_name = meta["namespace"], meta["name"]
        template = job["spec"]["template"]
        name = f"{job_name}-{self._suffix()}"
        pod_spec = copy.deepcopy(template.get("spec") or {})
        pod_spec["nodeName"] = self._rng.choice(NODES)
        outcome = self._job_outcome(namespace, job_name)
        logs = (
            outcome.logs
            if outcome.logs.endswith("\n") or not outcome.logs
            else (outcome.logs + "\n")
        )
        self._pod_state[(namespace, name)] = PodState(
            behavior="job",
            failing=[],
            logs={c["name"]: logs for c in pod_spec.get("containers", [])},
            created_tick=self._tick_no,
            started_at=self._stamp(),
        )
        return self._add_pod(namespace, name, template, pod_spec, generate_name=job_name,
                             owner=owner_ref("batch/v1", "Job", meta))

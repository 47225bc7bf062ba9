"""The Kubernetes cluster: rollouts of a service's Deployment through the official client.

The only module that imports `kubernetes` (an import-linter contract keeps it so). It never
shells out to kubectl.

A deploy
1. reads the Deployment and compares the image of the configured containers with the
   target (`services.<name>.kubernetes.image` with the version filled in); the same image
   with a finished rollout is `AlreadyRunning`;
2. PATCHes it with a strategic-merge patch that names only the configured containers (the
   list merges by name, so sidecars keep their image) and records the change cause and
   deploybot's deployment id in annotations;
3. follows the rollout with a WATCH on the Deployment from the patch's resourceVersion until
   `observedGeneration >= generation` and every replica is updated and available and no old
   one is left, reporting "3/5 pods updated, 2 available" whenever that changes. When the
   watch is quiet for `Timing.resync_every` (and at most that often while it is busy) the
   Deployment is read again and the new ReplicaSet's pods are looked at: image pull errors
   and crash loops fail the deploy at once with their cause, without waiting for the
   Deployment's progress deadline. A ProgressDeadlineExceeded condition fails it only when
   it is about this rollout: set no earlier than the patch (the API server's `Date`) and
   naming the ReplicaSet of the patched template. The controller's first pass after a patch
   keeps the previous rollout's condition next to the new observedGeneration, so a rollback
   from a stuck rollout would otherwise be announced as failed while it succeeds
   (`deadline_counts`).

Transient API errors (5xx, 429, timeouts, refused or reset connections) are retried with a
bounded exponential backoff; a dropped watch resumes from the last resourceVersion seen, and
a 410 Gone (that version was compacted away) re-lists and watches on from the list's version.
Errors that retrying cannot fix (404, 403, 401, bad config) fail at once, in plain words.

The later steps of the Kubernetes executor (migration Jobs before the patch, the bake-window
watch after it, automatic rollback) build on the same pieces: `KubeClients` for access per
environment, `_Api` for retried calls with plain-words errors, `diagnose_pods` for what is
wrong with a ReplicaSet's pods, and `KubernetesCluster.rollout()` to roll any image out.

A per-PR instance (`deploy(..., instance="pr-7")`, previews) is its own Deployment
`<deployment>-pr-7`, created from the shared one on its first deploy
(bot/backends/kubernetes_previews.py) and rolled out like any other after that;
`remove_instance` deletes it (the Previews capability).

`earlier_versions` (the Revisions capability) reads the versions that ran before from the
Deployment's old ReplicaSets (at most `revisionHistoryLimit` of them), for `/rollback`
while deploybot's own history is still empty.

`observe` answers "what runs here, since when, and did deploybot put it there" from the
Deployment and its ReplicaSets (`KubernetesCluster.observed` says how each field is read).

Why one long module: it is the only one that imports the `kubernetes` client (an import
contract), and its parts (rollouts, Jobs, health, observe, access checks) share the retried
API calls, the error texts and the watch/poll loop. The next split is by concern behind that
contract: Jobs and the access check into modules of their own that take an `_Api`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal

import urllib3
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes import watch as k8s_watch

# The client imports its API classes lazily, on first use (`__getattr__` in
# kubernetes/client/__init__.py): CoreV1Api's module with the ~300 models it pulls in is 1-3 s
# of CPU. Named here, they load with this module, when the process builds its Kubernetes
# backend (bot/container.py), not inside the first request that reads the cluster (the first
# `/rollback` of a process answered after more than 5 s on a loaded machine).
from kubernetes.client import AppsV1Api, AuthorizationV1Api, BatchV1Api, CoreV1Api
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from bot.backends.kubernetes_previews import preview_deployment, preview_name
from bot.config import KubernetesAccessConfig, KubernetesServiceConfig
from bot.domain.live import Observed
from bot.errors import PermanentError, RetryableError
from bot.fibers import in_fiber
from bot.ports import AlreadyRunning, JobKind, JobResult, RolloutFailed, Superseded

log = logging.getLogger(__name__)

CHANGE_CAUSE = "kubernetes.io/change-cause"
DEPLOYMENT_ID = "deploybot.io/deployment-id"
REVISION = "deployment.kubernetes.io/revision"
#: Set by the Deployment controller on a ReplicaSet it rolls back to (SetNewReplicaSetAnnotations).
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
POD_TEMPLATE_HASH = "pod-template-hash"
STRATEGIC_MERGE = "application/strategic-merge-patch+json"
MANAGED_BY = "app.kubernetes.io/managed-by"
JOB_KIND = "deploybot.io/job-kind"
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

#: Waiting reasons of a container that will not get better by waiting for the rollout.
IMAGE_PULL_REASONS = frozenset({"ErrImagePull", "ImagePullBackOff", "InvalidImageName",
                                "ErrImageNeverPull", "RegistryUnavailable"})
START_REASONS = frozenset({"CreateContainerConfigError", "CreateContainerError",
                           "RunContainerError", "PreStartHookError", "PostStartHookError"})
CRASH_LOOP = "CrashLoopBackOff"
_TRANSIENT_STATUS = frozenset({429, 500, 502, 503, 504})


# -- errors -------------------------------------------------------------------------------

ProblemKind = Literal["not_found", "forbidden", "unauthorized", "unreachable", "gone",
                      "config", "api", "rollout"]


class KubernetesProblem(Exception):
    """A Kubernetes call failed for good (after retries, if it was worth retrying);
    `str()` says why in plain words, `kind` says what sort of failure it was."""

    def __init__(self, text: str, *, kind: ProblemKind) -> None:
        super().__init__(text)
        self.kind = kind


class _Quiet(Exception):
    """The watch sent nothing for a while (a read timeout): time to look around."""


class _Pace:
    """How long a fiber waits between two reads of what it follows (no watch stream in a
    fiber): `FIRST` seconds after a change, doubling while nothing changes, up to the
    `resync_every` of a quiet watch. A rollout's or Job's next step is seen within a
    fraction of a second while it moves, and a long quiet one costs a read every few
    seconds."""

    FIRST = 0.05

    def __init__(self) -> None:
        self._rv: str | None = None
        self._delay = self.FIRST

    def after(self, rv: str, *, cap: float) -> float:
        if rv != self._rv:
            self._rv, self._delay = rv, self.FIRST
        else:
            self._delay = min(cap, self._delay * 2)
        return min(cap, self._delay)


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff for transient errors: `first`, `first*factor`, … capped at `cap`
    seconds, `attempts` tries in all (the first one included)."""

    first: float = 0.5
    factor: float = 2.0
    cap: float = 8.0
    attempts: int = 6

    def delay(self, failures: int) -> float:
        return float(min(self.cap, self.first * self.factor ** max(0, failures - 1)))


@dataclass(frozen=True)
class Timing:
    backoff: Backoff = field(default_factory=Backoff)
    connect_timeout: float = 5.0
    #: a single non-watch request (read, patch, list) must answer within this
    request_timeout: float = 30.0
    #: a watch quiet this long: read the Deployment again and look at the new pods (also the
    #: most often the pods are looked at while the watch is busy). Inside a fiber
    #: (bot.fibers: the runner's deployments) there is no watch stream, whose read would
    #: hold the fiber's thread: the rollout or Job is read this often instead
    resync_every: float = 2.0
    #: unchanged progress is reported again this often, so the caller's lease is renewed
    keepalive_every: float = 20.0

    def glance(self) -> Timing:
        """For a look at what runs (`observe`: status, App Home, every request): one retry
        and short timeouts, so an unreachable cluster is said as such in a second or two
        instead of holding a screen for the whole backoff of a rollout."""
        return replace(self, backoff=replace(self.backoff, attempts=min(2, self.backoff.attempts),
                                             cap=min(1.0, self.backoff.cap)),
                       connect_timeout=min(2.0, self.connect_timeout),
                       request_timeout=min(10.0, self.request_timeout))


@dataclass(frozen=True)
class _Op:
    """What a call does, for messages: `patch deployments.apps "api" in namespace "prod"`."""

    verb: str
    resource: str
    namespace: str
    name: str | None = None

    def __str__(self) -> str:
        what = f'{self.resource} "{self.name}"' if self.name else self.resource
        return f'{self.verb} {what} in namespace "{self.namespace}"'


_FORBIDDEN = re.compile(
    r'cannot (?P<verb>\S+) resource "(?P<resource>[^"]+)"'
    r'(?: in API group "(?P<group>[^"]*)")?(?: in the namespace "(?P<ns>[^"]+)")?'
)
_WHO = re.compile(r'(?:User|ServiceAccount|user) "(?P<who>[^"]+)"')


def _status_message(e: ApiException) -> str:
    """The `message` of the Status object a failed call returned (or what there is)."""
    body = e.body
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if body:
        try:
            data = json.loads(body)
        except ValueError:
            return str(body).strip()[:300]
        if isinstance(data, dict) and data.get("message"):
            return str(data["message"])
    return str(e.reason or "").strip()


def _forbidden_text(e: ApiException, op: _Op) -> str:
    message = _status_message(e)
    m = _FORBIDDEN.search(message)
    verb, resource, namespace = op.verb, op.resource, op.namespace
    if m:
        verb = m["verb"]
        resource = m["resource"] + (f".{m['group']}" if m["group"] else "")
        namespace = m["ns"] or namespace
    who = _WHO.search(message)
    account = f" ({who['who']})" if who else ""
    return (f'deploybot{account} is not allowed to {verb} {resource} in namespace '
            f'"{namespace}" (RBAC forbidden: {message}); grant it in the Role bound to its '
            "service account")


def _network_text(e: BaseException) -> str:
    reason: BaseException = e
    while isinstance(reason, urllib3.exceptions.MaxRetryError) and reason.reason is not None:
        reason = reason.reason
    text = str(reason)
    for marker, plain in (("Connection refused", "connection refused"),
                          ("timed out", "timed out"), ("Name or service not known",
                                                       "unknown host"),
                          ("Connection reset", "connection reset"),
                          ("Connection aborted", "connection dropped"),
                          ("RemoteDisconnected", "connection dropped"),
                          ("IncompleteRead", "connection dropped"),
                          ("ended prematurely", "connection dropped"),
                          ("InvalidChunkLength", "connection dropped")):
        if marker in text:
            return plain
    # urllib3 puts "<HTTPConnection object at 0x…>: " before the reason
    return re.sub(r"^<[^>]*>:\s*", "", text)[:200] or type(reason).__name__


# -- access to the clusters -----------------------------------------------------------------

class KubeClients:
    """One ApiClient per environment, built on first use: the pod's service account
    (`kubernetes.in_cluster`) or a kubeconfig context (`kubernetes.contexts`, default the
    file's current context) from the KUBECONFIG the process was started with."""

    def __init__(self, access: KubernetesAccessConfig, *, kubeconfig: str | None) -> None:
        self._access = access
        self._kubeconfig = kubeconfig
        self._clients: dict[str, k8s.ApiClient] = {}
        self._lock = threading.Lock()

    def get(self, environment: str) -> k8s.ApiClient:
        with self._lock:
            api = self._clients.get(environment)
            if api is None:
                api = self._clients[environment] = self._build(environment)
            return api

    def describe(self, environment: str) -> str:
        if self._access.in_cluster:
            return "the in-cluster service account"
        context = self._access.contexts.get(environment)
        where = f"KUBECONFIG={self._kubeconfig}" if self._kubeconfig else "~/.kube/config"
        return (f'kubeconfig context "{context}"' if context else "the current kubeconfig "
                "context") + f" ({where})"

    def _build(self, environment: str) -> k8s.ApiClient:
        configuration = k8s.Configuration()
        # deploybot retries itself (bounded backoff, watch resumption): urllib3 must not retry
        # behind its back, and its errors then arrive unwrapped.
        configuration.retries = False
        try:
            if self._access.in_cluster:
                k8s_config.load_incluster_config(  # type: ignore[no-untyped-call]
                    client_configuration=configuration)
                api = k8s.ApiClient(configuration)
            else:
                api = k8s_config.new_client_from_config(  # type: ignore[no-untyped-call]
                    config_file=self._kubeconfig, context=self._access.contexts.get(environment),
                    persist_config=False, client_configuration=configuration,
                )
        except (ConfigException, OSError, ValueError, KeyError, TypeError) as e:
            raise KubernetesProblem(
                f"cannot set up access to the Kubernetes cluster of {environment} with "
                f"{self.describe(environment)}: {e}", kind="config",
            ) from e
        return api

    def close(self) -> None:
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for api in clients:
            with contextlib.suppress(Exception):
                api.close()  # type: ignore[no-untyped-call]


class _Api:
    """Calls for one environment: JSON in and out, transient errors retried with backoff,
    the rest turned into a KubernetesProblem that says what could not be done."""

    def __init__(self, api: k8s.ApiClient, *, environment: str, timing: Timing,
                 sleep: Callable[[float], None]) -> None:
        self.client = api
        self.apps = AppsV1Api(api)
        self.core = CoreV1Api(api)
        self.batch = BatchV1Api(api)
        self.environment = environment
        self.timing = timing
        self._sleep = sleep

    @property
    def host(self) -> str:
        return str(self.client.configuration.host)

    def problem(self, e: BaseException, op: _Op) -> tuple[bool, KubernetesProblem]:
        """(transient?, the problem in plain words) for an exception raised by a call."""
        if isinstance(e, ApiException):
            status = int(e.status or 0)
            message = _status_message(e)
            if status == 404:
                return False, KubernetesProblem(f"not found: {op} ({message})",
                                                kind="not_found")
            if status == 403:
                return False, KubernetesProblem(_forbidden_text(e, op), kind="forbidden")
            if status == 401:
                return False, KubernetesProblem(
                    f"the Kubernetes API of {self.environment} ({self.host}) rejected "
                    f"deploybot's credentials (401 Unauthorized) to {op}", kind="unauthorized")
            if status == 410:
                return False, KubernetesProblem(f"410 Gone: {message}", kind="gone")
            if status in _TRANSIENT_STATUS:
                return True, KubernetesProblem(
                    f"the Kubernetes API of {self.environment} ({self.host}) answered "
                    f"{status} to {op}: {message}", kind="unreachable")
            if status == 0:  # TLS and other transport errors the client wraps itself
                return False, KubernetesProblem(
                    f"cannot talk to the Kubernetes API of {self.environment} ({self.host}) "
                    f"to {op}: {message}", kind="unreachable")
            return False, KubernetesProblem(
                f"the Kubernetes API of {self.environment} refused to {op}: {status} "
                f"{message}", kind="api")
        if isinstance(e, urllib3.exceptions.HTTPError | ConnectionError | TimeoutError):
            return True, KubernetesProblem(
                f"the Kubernetes API of {self.environment} ({self.host}) is unreachable: "
                f"{_network_text(e)}", kind="unreachable")
        raise e

    def call(self, op: _Op, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """`fn(*args, **kwargs)` as parsed JSON, with transient errors retried."""
        return self._retried(op, lambda r: json.loads(r.data), fn, *args, **kwargs)

    def call_dated(self, op: _Op, fn: Callable[..., Any], *args: Any,
                   **kwargs: Any) -> tuple[Any, datetime | None]:
        """As `call`, with the API server's clock when it answered (its `Date` header, whole
        seconds; None when it sent none)."""
        result: tuple[Any, datetime | None] = self._retried(
            op, lambda r: (json.loads(r.data), _http_date(r.headers.get("Date"))), fn,
            *args, **kwargs)
        return result

    def text(self, op: _Op, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> str:
        """`fn(*args, **kwargs)` as text (pod logs), with transient errors retried."""
        return str(self._retried(op, lambda r: bytes(r.data).decode("utf-8", "replace"), fn,
                                 *args, **kwargs))

    def _retried(self, op: _Op, decode: Callable[[Any], Any], fn: Callable[..., Any],
                 *args: Any, **kwargs: Any) -> Any:
        backoff = self.timing.backoff
        failures = 0
        while True:
            try:
                resp = fn(*args, _preload_content=False,
                          _request_timeout=(self.timing.connect_timeout,
                                            self.timing.request_timeout), **kwargs)
                try:
                    return decode(resp)
                finally:
                    resp.release_conn()
            except Exception as e:
                transient, problem = self.problem(e, op)
                if not transient:
                    raise problem from e
                failures += 1
                if failures >= backoff.attempts:
                    raise KubernetesProblem(f"{problem} (gave up after {failures} attempts)",
                                            kind=problem.kind) from e
                log.info("kubernetes %s: %s; retrying", op, problem)
                self._sleep(backoff.delay(failures))


# -- reading Deployments ------------------------------------------------------------------

def _meta(obj: Mapping[str, Any]) -> dict[str, Any]:
    return dict(obj.get("metadata") or {})


def _containers(dep: Mapping[str, Any]) -> list[dict[str, Any]]:
    spec = (dep.get("spec") or {}).get("template", {}).get("spec") or {}
    return list(spec.get("containers") or [])


def _selector(match_labels: Mapping[str, str] | None) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted((match_labels or {}).items()))


def _revision(obj: Mapping[str, Any]) -> int:
    """The `deployment.kubernetes.io/revision` of a Deployment or ReplicaSet (0 if none)."""
    value = str((_meta(obj).get("annotations") or {}).get(REVISION) or "")
    return int(value) if value.isdigit() else 0


def _time(value: Any) -> datetime | None:
    """An API timestamp ("2025-03-04T10:00:07Z") as an aware UTC datetime; None if absent."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def _http_date(value: str | None) -> datetime | None:
    """An HTTP `Date` header ("Tue, 04 Mar 2025 10:00:07 GMT") as an aware UTC datetime."""
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).astimezone(UTC)
    except (TypeError, ValueError):
        return None


_NAMED_RS = re.compile(r'^ReplicaSet "(?P<name>[^"]+)"')


def _named_replica_set(cond: Mapping[str, Any]) -> str | None:
    """The ReplicaSet a Progressing condition is about: the controller's messages start
    'ReplicaSet "<name>" …' (syncRolloutStatus, pkg/controller/deployment/progress.go);
    None when it names none ('Deployment "<name>" …', no new ReplicaSet then)."""
    m = _NAMED_RS.match(str(cond.get("message") or ""))
    return m["name"] if m else None


def _progressing(dep: Mapping[str, Any]) -> dict[str, Any] | None:
    for cond in (dep.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Progressing":
            return dict(cond)
    return None


def _condition_time(cond: Mapping[str, Any]) -> datetime | None:
    """When a condition was last set: the later of its lastUpdateTime and
    lastTransitionTime (None when it has neither)."""
    times = [t for t in (_time(cond.get("lastUpdateTime")), _time(cond.get("lastTransitionTime")))
             if t is not None]
    return max(times) if times else None


def deadline_is_stale(cond: Mapping[str, Any], *, patched_at: datetime | None) -> bool:
    """A condition provably set before our patch at `patched_at` (the API server's clock):
    one second earlier or more, as both have whole seconds."""
    if patched_at is None:
        return False
    at = _condition_time(cond)
    return at is not None and at < patched_at.replace(microsecond=0)


def deadline_counts(cond: Mapping[str, Any], *, patched_at: datetime | None,
                    new_replica_set: str | None) -> bool:
    """Whether a ProgressDeadlineExceeded condition is about the rollout being followed: not
    set before our patch (`patched_at`, None when unknown: a resumed follow) and, when it
    names a ReplicaSet, naming `new_replica_set` (the one that runs the patched template;
    None: there is none yet, so the condition is about another).

    The controller keeps such a condition through the first sync after a patch: that sync
    writes the new observedGeneration, finds no progress yet, and SetDeploymentCondition
    leaves a Progressing condition of the same status and reason as it is, naming the
    previous ReplicaSet (syncRolloutStatus in pkg/controller/deployment/progress.go;
    DeploymentTimedOut and SetDeploymentCondition in util/deployment_util.go). It is reset
    only on a later pass that sees the new ReplicaSet's pods progress."""
    if deadline_is_stale(cond, patched_at=patched_at):
        return False
    named = _named_replica_set(cond)
    return named is None or named == new_replica_set


@dataclass(frozen=True)
class RolloutStatus:
    done: bool
    text: str | None  # "3/5 pods updated, 2 available"; None before the controller saw it
    deadline_exceeded: str | None = None  # the Progressing condition's message
    #: that ProgressDeadlineExceeded condition: maybe left over from the rollout before
    #: (see deadline_counts), for the caller to judge
    deadline: dict[str, Any] | None = None


def rollout_status(dep: Mapping[str, Any]) -> RolloutStatus:
    """Where a Deployment's rollout stands (the rules of `kubectl rollout status`). A
    ProgressDeadlineExceeded condition is reported next to the counts, not instead of them:
    it may be stale (deadline_counts says when it is not)."""
    meta = _meta(dep)
    spec = dep.get("spec") or {}
    status = dep.get("status") or {}
    if int(status.get("observedGeneration") or 0) < int(meta.get("generation") or 0):
        return RolloutStatus(False, None)
    deadline = _progressing(dep)
    if deadline is not None and deadline.get("reason") != "ProgressDeadlineExceeded":
        deadline = None
    want = int(spec["replicas"]) if spec.get("replicas") is not None else 1
    updated = int(status.get("updatedReplicas") or 0)
    total = int(status.get("replicas") or 0)
    available = int(status.get("availableReplicas") or 0)
    text = f"{updated}/{want} pods updated, {available} available"
    old = total - updated
    if updated >= want and old > 0:
        text += f", {old} old pod{'s' if old != 1 else ''} still running"
    done = updated >= want and old <= 0 and available >= updated
    if deadline is not None:
        return RolloutStatus(done, text, str(deadline.get("message") or
                                             "ProgressDeadlineExceeded"), deadline)
    return RolloutStatus(done, text)


def _template_without_hash(obj: Mapping[str, Any]) -> dict[str, Any]:
    template = json.loads(json.dumps((obj.get("spec") or {}).get("template") or {}))
    labels = (template.get("metadata") or {}).get("labels")
    if isinstance(labels, dict):
        labels.pop(POD_TEMPLATE_HASH, None)
    return dict(template)


def owning_replica_set(dep: Mapping[str, Any], replica_sets: Sequence[Mapping[str, Any]],
                       containers: Sequence[str]) -> dict[str, Any] | None:
    """The Deployment's ReplicaSet for its current pod template, as the controller finds it
    (FindNewReplicaSet / EqualIgnoreHash in pkg/controller/deployment/util/
    deployment_util.go: the oldest whose template equals the Deployment's but for the
    pod-template-hash label). Failing that (a template that reads back differently), the
    one whose `containers` run the same images, preferring the Deployment's revision, then
    the highest. None before the controller made it."""
    template = _template_without_hash(dep)
    same = [rs for rs in replica_sets if _template_without_hash(rs) == template]
    if same:
        def created(rs: Mapping[str, Any]) -> tuple[str, str]:
            meta = _meta(rs)
            return str(meta.get("creationTimestamp") or ""), str(meta.get("name") or "")
        oldest: Mapping[str, Any] = min(same, key=created)
        return dict(oldest)
    want = {c.get("name"): c.get("image") for c in _containers(dep)}
    alike = [rs for rs in replica_sets
             if all({c.get("name"): c.get("image") for c in _containers(rs)}.get(name)
                    == want.get(name) for name in containers)]
    revision = _revision(dep)
    for rs in alike:
        if revision and _revision(rs) == revision:
            return dict(rs)
    if not alike:
        return None
    newest: Mapping[str, Any] = max(alike, key=_revision)
    return dict(newest)


def diagnose_pods(pods: Sequence[Mapping[str, Any]]) -> str | None:
    """Why these pods will not come up, in plain words, or None if nothing is hopeless."""
    for pod in pods:
        status = pod.get("status") or {}
        name = _meta(pod).get("name", "?")
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
        name = _meta(pod).get("name", "?")
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
                return (f"pod {_meta(pod).get('name', '?')} cannot be scheduled: "
                        f"{cond.get('message') or cond.get('reason') or 'unschedulable'}")
    return None


# -- the cluster port -----------------------------------------------------------------------

#: The change-cause deploybot records: "deploybot #12: api v1.2.3 by U0ALICE".
_CHANGE_CAUSE = re.compile(r"deploybot(?: #(?P<id>\d+))?: (?P<service>\S+) (?P<version>\S+)"
                           r"(?: by .*)?", re.DOTALL)


def change_cause(service: str, version: str, *, deployment_id: int | None,
                 requested_by: str | None) -> str:
    """The `kubernetes.io/change-cause` of deploybot's rollout (`kubectl rollout history`
    shows it)."""
    cause = f"deploybot #{deployment_id}" if deployment_id is not None else "deploybot"
    return cause + f": {service} {version}" + (f" by {requested_by}" if requested_by else "")


@dataclass(frozen=True)
class _Target:
    api: _Api
    environment: str
    namespace: str
    name: str

    def op(self, verb: str, resource: str = "deployments.apps", *, named: bool = True) -> _Op:
        """The call `verb` on `resource`; `named`: on this Deployment, not a collection."""
        return _Op(verb, resource, self.namespace, self.name if named else None)


def _port_error(e: KubernetesProblem) -> RetryableError | PermanentError:
    """A read that failed, as the Cluster port says it: RetryableError when the API cannot
    be reached (try again), PermanentError otherwise (access, RBAC)."""
    return RetryableError(str(e)) if e.kind == "unreachable" else PermanentError(str(e))


class KubernetesCluster:
    """The Cluster port for one service whose executor is `kubernetes`."""

    def __init__(self, service: str, config: KubernetesServiceConfig, clients: KubeClients, *,
                 timing: Timing | None = None, sleep: Callable[[float], None] = time.sleep,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        if config.image is None:
            raise ValueError(f"services.{service}.kubernetes.image is required")
        self.service = service
        self.config = config
        self._clients = clients
        self._timing = timing or Timing()
        self._sleep = sleep
        self._monotonic = monotonic
        self.deployment = config.deployment_name(service)
        self.containers = config.container_names(service)

    # -- the port ----------------------------------------------------------------------
    def observe(self, environment: str, service: str) -> Observed | None:
        """What the service's Deployment runs there (the source of truth), read with one GET
        of the Deployment and one LIST of its ReplicaSets. None when there is no Deployment;
        RetryableError when the API cannot be reached, PermanentError otherwise (access,
        RBAC), in plain words. See `observed` for what each field means."""
        found = self._with_replica_sets(environment, glance=True)
        if found is None:
            return None
        return self.observed(found[0], found[1], service=service)

    def _with_replica_sets(self, environment: str, *, glance: bool = False
                           ) -> tuple[Mapping[str, Any], list[Mapping[str, Any]]] | None:
        """The service's Deployment there and its ReplicaSets (one GET, one LIST); None
        when there is no Deployment; RetryableError when the API is unreachable,
        PermanentError otherwise (access, RBAC), in plain words. `glance`: fail fast
        (`Timing.glance`)."""
        try:
            t = self._target(environment, timing=self._timing.glance() if glance else None)
            dep = t.api.call(t.op("get"), t.api.apps.read_namespaced_deployment,
                             t.name, t.namespace)
            return dep, list(self.replica_sets(t, dep))
        except KubernetesProblem as e:
            if e.kind == "not_found":
                return None
            raise _port_error(e) from e

    def observed(self, dep: Mapping[str, Any], replica_sets: Sequence[Mapping[str, Any]], *,
                 service: str) -> Observed:
        """What a Deployment (with its ReplicaSets) says runs:

        - `version`: the pod template's image (the first configured container's) mapped back
          through the image template; None with `image` the raw image when it does not fit.
        - `since`: when that version began running there. The ReplicaSet that runs the
          template (`owning_replica_set`) was created when it first rolled out, so a fresh
          one's creationTimestamp is the answer. A ReplicaSet rolled back to (it carries
          deployment.kubernetes.io/revision-history) keeps the creationTimestamp of its first
          rollout, before the versions that replaced it: then the answer is when the rollout
          back to it finished, the lastUpdateTime of the Progressing condition that says
          NewReplicaSetAvailable for it (set anew when the reason changes, left alone once
          complete: syncRolloutStatus, progress.go), and None (unknown) while that rollout
          is under way. Not the condition's lastTransitionTime: SetDeploymentCondition
          keeps it across True→True changes (NewReplicaSetCreated → ReplicaSetUpdated →
          NewReplicaSetAvailable), so it can be weeks older than the rollback.
        - `settled`: the controller saw the latest spec and every replica is updated and
          available with no old pod left; else `detail` says how far it is, in plain words.
        - `deployment_id`: deploybot's deployment-id annotation, only when the change-cause
          is deploybot's for this service and this version (someone's `kubectl set image`
          afterwards leaves both annotations behind, describing another version).
        - `changed_by`: the change-cause, unless it is deploybot's and describes another
          version than the one that runs (stale: who changed it then is unknown)."""
        images = {c.get("name"): c.get("image") for c in _containers(dep)}
        image = next((str(images[c]) for c in self.containers if images.get(c)), None)
        version = self.config.version_of(image) if image else None
        rs = owning_replica_set(dep, replica_sets, self.containers)

        meta = _meta(dep)
        spec = dep.get("spec") or {}
        status = dep.get("status") or {}
        want = int(spec["replicas"]) if spec.get("replicas") is not None else 1
        seen = int(status.get("observedGeneration") or 0) >= int(meta.get("generation") or 0)
        updated = int(status.get("updatedReplicas") or 0)
        total = int(status.get("replicas") or 0)
        available = int(status.get("availableReplicas") or 0)
        settled = seen and updated == want and total == want and available == want

        cond = _progressing(dep)
        rs_name = str(_meta(rs).get("name")) if rs else None
        about_rs = cond is not None and rs_name is not None and (
            _named_replica_set(cond) == rs_name)
        detail = None
        if not settled:
            if not seen:
                detail = "the change is not picked up by Kubernetes yet"
            elif (cond is not None and cond.get("reason") == "ProgressDeadlineExceeded"
                    and _named_replica_set(cond) in (None, rs_name)):
                detail = "rollout stuck: ProgressDeadlineExceeded"
            else:
                new_available = int(((rs or {}).get("status") or {}).get(
                    "availableReplicas") or 0)
                detail = f"{new_available}/{want} new pods available"
                old = total - updated
                if old > 0:
                    detail += f", {old} old pod{'s' if old != 1 else ''} still running"

        since = None
        if rs is not None:
            created = _time(_meta(rs).get("creationTimestamp"))
            if REVISION_HISTORY not in (_meta(rs).get("annotations") or {}):
                since = created
            elif cond is not None and about_rs and cond.get("reason") == "NewReplicaSetAvailable":
                finished = _time(cond.get("lastUpdateTime"))
                since = max((t for t in (created, finished) if t is not None), default=None)

        annotations = meta.get("annotations") or {}
        cause = str(annotations.get(CHANGE_CAUSE) or "") or None
        ours = _CHANGE_CAUSE.fullmatch(cause) if cause else None
        deployment_id = None
        if ours is not None:
            raw = str(annotations.get(DEPLOYMENT_ID) or "")
            if (version is not None and ours["service"] == service and ours["version"] == version
                    and raw.isdigit() and ours["id"] in (None, raw)):
                deployment_id = int(raw)
            elif version is None or ours["version"] != version:
                cause = None  # deploybot's cause of an earlier change: who made this one?
        return Observed(version=version, since=since, image=image, settled=settled,
                        detail=detail, deployment_id=deployment_id, changed_by=cause)

    def _version_in(self, obj: Mapping[str, Any]) -> str | None:
        """The version the pod template of `obj` (a Deployment or a ReplicaSet) runs: the
        image of the first configured container that has one, by the image template (None
        when it does not fit)."""
        images = {c.get("name"): c.get("image") for c in _containers(obj)}
        for name in self.containers:
            image = images.get(name)
            if image:
                return self.config.version_of(str(image))
        return None

    def deploy(
        self, environment: str, service: str, version: str, *,
        progress: Callable[[str], None],
        deployment_id: int | None = None,
        requested_by: str | None = None,
        instance: str | None = None,
    ) -> None:
        cause = change_cause(service, version, deployment_id=deployment_id,
                             requested_by=requested_by)
        try:
            changed = self.rollout(environment, self.config.image_for(version),
                                   progress=progress, change_cause=cause,
                                   deployment_id=deployment_id, instance=instance)
        except KubernetesProblem as e:
            raise RolloutFailed(str(e)) from e
        if not changed:
            raise AlreadyRunning(version, environment)

    # -- per-PR instances (the Previews capability) -----------------------------------------
    def remove_instance(self, environment: str, service: str, instance: str) -> bool:
        """Delete the per-PR instance's Deployment (its ReplicaSets and pods go with it);
        False when there is none."""
        t = self._target(environment, instance)
        try:
            t.api.call(t.op("delete"), t.api.apps.delete_namespaced_deployment, t.name,
                       t.namespace, body={"propagationPolicy": "Background"})
        except KubernetesProblem as e:
            if e.kind == "not_found":
                return False
            raise _port_error(e) from e
        log.info("deleted %s/%s (%s)", t.namespace, t.name, instance)
        return True

    def _create_instance(self, t: _Target, instance: str, image: str, change_cause: str,
                         deployment_id: int | None) -> dict[str, Any] | None:
        """Create the per-PR instance's Deployment from the shared one, running `image`;
        None when it exists already (created by an earlier attempt or another process)."""
        shared = self._read(self._target(t.environment))
        self._images(t, shared)  # the configured containers must be there
        annotations = {CHANGE_CAUSE: change_cause}
        if deployment_id is not None:
            annotations[DEPLOYMENT_ID] = str(deployment_id)
        body = preview_deployment(shared, name=t.name, instance=instance, image=image,
                                  containers=self.containers, annotations=annotations)
        try:
            created: dict[str, Any] = t.api.call(
                t.op("create", named=False), t.api.apps.create_namespaced_deployment,
                t.namespace, body)
        except KubernetesProblem as e:
            if e.kind == "api" and "409" in str(e):  # AlreadyExists
                return None
            raise
        log.info("created %s/%s for %s from %s", t.namespace, t.name, instance,
                 self.deployment)
        return created

    # -- the watch after the rollout (the Health capability) ------------------------------
    def check_health(self, environment: str, service: str, version: str) -> str | None:
        """One look at the new ReplicaSet's pods of `version`: a restart, a crash loop or a
        pod that is not ready is a problem (the cause from diagnose_pods where it knows)."""
        image = self.config.image_for(version)
        try:
            t = self._target(environment)
            dep = self._read(t)
            current = self._images(t, dep)
            other = next((img for img in current.values() if img != image), None)
            if other is not None:
                raise Superseded(f'Deployment "{t.name}" in namespace "{t.namespace}" now '
                                 f"runs {other}, not {image} (changed by someone else)")
            pods = self.new_pods(t, dep, image)
        except KubernetesProblem as e:
            if e.kind == "unreachable":
                raise RetryableError(str(e)) from e
            return f"could not look at the pods of {image}: {e}"
        return pod_health(pods, image)

    # -- what ran before (the Revisions capability) ----------------------------------------
    def earlier_versions(self, environment: str, service: str) -> list[str]:
        """The versions of the Deployment's old ReplicaSets, newest revision first (the
        `deployment.kubernetes.io/revision` annotation; a rollback to an old version reuses
        its ReplicaSet with a new revision), without the version the Deployment runs now and
        without duplicates; images that do not fit the image template are skipped.

        Kubernetes keeps only `revisionHistoryLimit` (default 10) old ReplicaSets, so this
        reaches back that many rollouts at most. [] when the Deployment does not exist;
        RetryableError when the API is unreachable, PermanentError for access or RBAC
        problems (listing needs `list replicasets.apps`)."""
        found = self._with_replica_sets(environment)
        if found is None:
            return []
        dep, replica_sets = found
        current = self._version_in(dep)
        seen = {current} if current else set()
        versions: list[str] = []
        for rs in sorted(replica_sets, key=_revision, reverse=True):
            version = self._version_in(rs)
            if version and version not in seen:
                seen.add(version)
                versions.append(version)
        return versions

    # -- one-off Jobs (migrations, the backup before them, migration status) --------------
    def job_name(self, kind: JobKind, deployment_id: int | None) -> str:
        """`<deployment>-<kind>-<deployment id>`: a resumed runner finds its Job again. At most
        63 characters (the `job-name` label of its pods); random without a deployment."""
        ident = str(deployment_id) if deployment_id is not None else uuid.uuid4().hex[:8]
        suffix = f"-{kind}-{ident}"
        return self.deployment[: 63 - len(suffix)].rstrip("-.") + suffix

    def run_job(
        self, environment: str, service: str, *, kind: JobKind, command: Sequence[str],
        version: str, deployment_id: int | None, timeout: float,
    ) -> JobResult:
        try:
            return self._run_job(environment, kind=kind, command=command, version=version,
                                 deployment_id=deployment_id, timeout=timeout)
        except KubernetesProblem as e:
            raise RolloutFailed(f"could not run the {kind} Job: {e}") from e

    def _run_job(self, environment: str, *, kind: JobKind, command: Sequence[str],
                 version: str, deployment_id: int | None, timeout: float) -> JobResult:
        t = self._target(environment)
        name = self.job_name(kind, deployment_id)
        began = self._monotonic()
        job = self._read_job(t, name)
        if job is not None:
            log.info("%s/%s: Job %s exists already; following it", t.namespace, t.name, name)
        else:
            dep = self._read(t)
            body = self.job_spec(t, dep, name=name, kind=kind, command=command,
                                 image=self.config.image_for(version),
                                 deployment_id=deployment_id, timeout=timeout)
            try:
                job = t.api.call(_Op("create", "jobs.batch", t.namespace, name),
                                 t.api.batch.create_namespaced_job, t.namespace, body)
            except KubernetesProblem:
                job = self._read_job(t, name)  # created meanwhile (409) by another attempt?
                if job is None:
                    raise
            log.info("%s: created Job %s (%s)", t.namespace, name, " ".join(command))
        assert job is not None
        job = self._follow_job(t, name, job, deadline=began + timeout)
        finished = _job_finished(job)
        logs = self._job_logs(t, name)
        if finished is None:
            took = _took(timeout) if timeout >= 1 else f"{timeout:g}s"
            return JobResult(False, logs, name, reason=f"did not finish within {took}")
        ok, why = finished
        return JobResult(ok, logs, name, reason=None if ok else why)

    def job_spec(self, t: _Target, dep: Mapping[str, Any], *, name: str, kind: JobKind,
                 command: Sequence[str], image: str, deployment_id: int | None,
                 timeout: float) -> dict[str, Any]:
        """A Job running `command` in a container of the Deployment's pod template (the
        first configured one, or `kubernetes.jobs.container`: its env, envFrom, volume
        mounts, resources) with `image`, under the pod template's service account (or
        `jobs.service_account`), with `jobs.env` added. Not the template's labels: the
        Deployment's Service would send traffic to it. Sidecars and init containers are
        left out."""
        self._images(t, dep)  # the containers exist
        jobs = self.config.jobs
        wanted = jobs.container or self.containers[0]
        source = next((c for c in _containers(dep) if c.get("name") == wanted), None)
        if source is None:
            have = ", ".join(sorted(str(c.get("name")) for c in _containers(dep)))
            raise KubernetesProblem(
                f'Deployment "{t.name}" in namespace "{t.namespace}" has no container named '
                f'"{wanted}" (it has {have}); check services.{self.service}.kubernetes.jobs'
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

    def _read_job(self, t: _Target, name: str) -> dict[str, Any] | None:
        try:
            job: dict[str, Any] = t.api.call(_Op("get", "jobs.batch", t.namespace, name),
                                             t.api.batch.read_namespaced_job, name, t.namespace)
        except KubernetesProblem as e:
            if e.kind == "not_found":
                return None
            raise
        return job

    def _list_job(self, t: _Target, name: str) -> tuple[dict[str, Any], str]:
        """The Job, and the list's resourceVersion to watch it on from after a 410 Gone."""
        found = t.api.call(_Op("list", "jobs.batch", t.namespace),
                           t.api.batch.list_namespaced_job, t.namespace,
                           field_selector=f"metadata.name={name}")
        items = found.get("items") or []
        if not items:
            raise KubernetesProblem(f'Job "{name}" in namespace "{t.namespace}" disappeared '
                                    "while it ran", kind="rollout")
        job: dict[str, Any] = items[0]
        return job, str(_meta(found).get("resourceVersion") or _meta(job)["resourceVersion"])

    def _follow_job(self, t: _Target, name: str, job: dict[str, Any], *,
                    deadline: float) -> dict[str, Any]:
        """Watch the Job until it is Complete or Failed, or `deadline` (monotonic) passes;
        the Job as last seen."""
        timing = self._timing
        pace = _Pace()
        now = self._monotonic
        rv = str(_meta(job).get("resourceVersion") or "")
        failures = 0
        while _job_finished(job) is None:
            left = deadline - now()
            if left <= 0:
                return job
            try:
                for event in self._watch(t, rv, quiet_after=min(timing.resync_every, left),
                                         list_fn=t.api.batch.list_namespaced_job, name=name,
                                         resource="jobs.batch", pace=pace):
                    failures = 0
                    kind, obj = event["type"], event["raw_object"]
                    if kind == "DELETED":
                        raise KubernetesProblem(f'Job "{name}" in namespace "{t.namespace}" '
                                                "was deleted while it ran", kind="rollout")
                    rv = str(_meta(obj).get("resourceVersion") or rv)
                    if kind == "BOOKMARK":
                        continue
                    job = obj
                    if _job_finished(job) is not None or now() >= deadline:
                        break
                continue
            except _Quiet:
                pass
            except KubernetesProblem as e:
                if e.kind not in ("gone", "unreachable"):
                    raise
                if e.kind == "gone":
                    # Our resourceVersion was compacted away, and so may be the Job's own (a
                    # Job that did not change for a while): go on from the list's version.
                    job, rv = self._list_job(t, name)
                    continue
                failures += 1
                if failures >= timing.backoff.attempts:
                    raise KubernetesProblem(f"{e} (gave up after {failures} attempts)",
                                            kind=e.kind) from e
                self._sleep(timing.backoff.delay(failures))
            found = self._read_job(t, name)  # quiet, or the watch broke: read it again
            if found is None:
                raise KubernetesProblem(f'Job "{name}" in namespace "{t.namespace}" '
                                        "disappeared while it ran", kind="rollout")
            job = found
            rv = str(_meta(job).get("resourceVersion") or rv)
        return job

    def _job_logs(self, t: _Target, name: str) -> str:
        """The last JOB_LOG_LINES lines of the Job's newest pod ("" if it has none yet)."""
        try:
            found = t.api.call(_Op("list", "pods", t.namespace), t.api.core.list_namespaced_pod,
                               t.namespace, label_selector=f"job-name={name}")
            pods = sorted(found.get("items") or [],
                          key=lambda p: str(_meta(p).get("creationTimestamp") or ""))
            if not pods:
                return ""
            pod = str(_meta(pods[-1]).get("name"))
            return t.api.text(_Op("get", "pods/log", t.namespace, pod),
                              t.api.core.read_namespaced_pod_log, pod, t.namespace,
                              container=self.containers[0], tail_lines=JOB_LOG_LINES)
        except KubernetesProblem as e:
            log.warning("%s: no logs of Job %s: %s", t.namespace, name, e)
            return ""

    # -- rolling an image out -----------------------------------------------------------
    def rollout(self, environment: str, image: str, *, progress: Callable[[str], None],
                change_cause: str, deployment_id: int | None = None,
                instance: str | None = None) -> bool:
        """Set the configured containers to `image` and follow the rollout to its end.

        False when that image runs already and nothing is rolling out (nothing was done);
        a KubernetesProblem when the rollout fails. Deployment `deployment_id` finds its
        own patch again after a restart and follows the rollout instead. `instance`: the
        per-PR instance's Deployment, created from the shared one when it is not there."""
        t = self._target(environment, instance)
        created = None
        if instance is not None:
            try:
                dep = self._read(t)
            except KubernetesProblem as e:
                if e.kind != "not_found":
                    raise
                created = self._create_instance(t, instance, image, change_cause,
                                                deployment_id)
                dep = created if created is not None else self._read(t)
        else:
            dep = self._read(t)
        current = self._images(t, dep)
        annotations = _meta(dep).get("annotations") or {}
        ours = deployment_id is not None and annotations.get(DEPLOYMENT_ID) == str(deployment_id)
        patched_at: datetime | None = None
        if created is not None:
            start: Mapping[str, Any] = created
        elif all(img == image for img in current.values()):
            # Applied already: by an earlier attempt of this deployment (a restart resumes
            # it), or by someone else. Follow a rollout still under way; else nothing to do.
            if not ours and rollout_status(dep).done:
                return False
            log.info("%s/%s already has %s; following its rollout", t.namespace, t.name, image)
            start = dep
        else:
            start, patched_at = self._patch(t, image, change_cause, deployment_id)
        try:
            self._follow(t, start, image, progress, patched_at)
        except KubernetesProblem as e:
            if e.kind in ("unreachable", "forbidden", "unauthorized", "api", "gone"):
                raise KubernetesProblem(
                    f"{e} — following the rollout of {image}, which was applied to Deployment "
                    f'"{t.name}" in namespace "{t.namespace}": it may still finish',
                    kind=e.kind) from e
            raise
        return True

    def _target(self, environment: str, instance: str | None = None, *,
                timing: Timing | None = None) -> _Target:
        """The service's Deployment there, or that of its per-PR `instance`; `timing`: other
        than the backend's (a glance)."""
        api = _Api(self._clients.get(environment), environment=environment,
                   timing=timing or self._timing, sleep=self._sleep)
        name = self.deployment if instance is None else preview_name(self.deployment, instance)
        return _Target(api, environment, self.config.namespace(environment), name)

    def _read(self, t: _Target) -> dict[str, Any]:
        try:
            dep: dict[str, Any] = t.api.call(t.op("get"), t.api.apps.read_namespaced_deployment,
                                             t.name, t.namespace)
        except KubernetesProblem as e:
            if e.kind == "not_found":
                raise KubernetesProblem(
                    f'Deployment "{t.name}" not found in namespace "{t.namespace}" of '
                    f"{t.environment} ({self._clients.describe(t.environment)}); check "
                    f"services.{self.service}.kubernetes (deployment, namespaces)",
                    kind="not_found") from e
            raise
        return dep

    def _images(self, t: _Target, dep: Mapping[str, Any]) -> dict[str, str]:
        """The configured containers' images; every one must exist."""
        have = {str(c.get("name")): str(c.get("image") or "") for c in _containers(dep)}
        missing = [c for c in self.containers if c not in have]
        if missing:
            raise KubernetesProblem(
                f'Deployment "{t.name}" in namespace "{t.namespace}" has no container named '
                + ", ".join(f'"{c}"' for c in missing)
                + f" (it has {', '.join(sorted(have)) or 'none'}); check "
                f"services.{self.service}.kubernetes.containers", kind="config")
        return {c: have[c] for c in self.containers}

    def _patch(self, t: _Target, image: str, change_cause: str,
               deployment_id: int | None) -> tuple[dict[str, Any], datetime | None]:
        """PATCH the image in; the Deployment it answered and when (the API server's clock)."""
        annotations = {CHANGE_CAUSE: change_cause}
        if deployment_id is not None:
            annotations[DEPLOYMENT_ID] = str(deployment_id)
        body = {
            "metadata": {"annotations": annotations},
            # A strategic merge patch merges `containers` by name: only these change.
            "spec": {"template": {"spec": {"containers": [
                {"name": c, "image": image} for c in self.containers
            ]}}},
        }
        patched, at = t.api.call_dated(
            t.op("patch"), t.api.apps.patch_namespaced_deployment, t.name, t.namespace, body,
            _content_type=STRATEGIC_MERGE,
        )
        log.info("patched %s/%s to %s (%s)", t.namespace, t.name, image, change_cause)
        return dict(patched), at

    # -- following a rollout ---------------------------------------------------------------
    def _follow(self, t: _Target, start: Mapping[str, Any], image: str,
                progress: Callable[[str], None], patched_at: datetime | None = None) -> None:
        """Follow the rollout of `image` from `start` to its end. `patched_at`: when our
        patch was applied (the API server's clock), None when unknown (resumed): a
        ProgressDeadlineExceeded condition from before it is about an earlier rollout."""
        timing = self._timing
        pace = _Pace()
        now = self._monotonic
        began = now()
        deadline = began + self.config.progress_deadline.total_seconds()
        shown: list[Any] = [None, began]  # last text, when
        last_look = [began]  # when the pods were last looked at

        def report(text: str | None) -> None:
            if text is None:
                return
            at = now()
            if text != shown[0] or at - shown[1] >= timing.keepalive_every:
                shown[0], shown[1] = text, at
                progress(text)

        def step(dep: Mapping[str, Any], *, look: bool) -> bool:
            """True when the rollout is complete; raises when it failed."""
            changed = self._images(t, dep)
            if any(img != image for img in changed.values()):
                other = next(img for img in changed.values() if img != image)
                raise KubernetesProblem(
                    f'the Deployment "{t.name}" was changed to {other} while {image} was '
                    "rolling out (another deploy?); stopped following it", kind="rollout")
            st = rollout_status(dep)
            if st.done:
                report(st.text)
                return True
            if st.deadline is not None and self._deadline_counts(t, dep, st.deadline,
                                                                 patched_at):
                why = self._why_stuck(t, dep, image)
                raise KubernetesProblem(
                    f'the rollout of {image} to Deployment "{t.name}" in namespace '
                    f'"{t.namespace}" made no progress within its progress deadline '
                    f"(ProgressDeadlineExceeded: {st.deadline_exceeded})"
                    + (f"; {why}" if why else ""), kind="rollout")
            report(st.text)
            if look or now() - last_look[0] >= timing.resync_every:
                last_look[0] = now()
                fatal = self._pods_problem(t, dep, image)
                if fatal:
                    raise KubernetesProblem(fatal, kind="rollout")
            return False

        if step(start, look=False):
            return
        rv = str(_meta(start).get("resourceVersion") or "")
        failures = 0
        while True:
            left = deadline - now()
            if left <= 0:
                raise KubernetesProblem(
                    f'the rollout of {image} to Deployment "{t.name}" in namespace '
                    f'"{t.namespace}" did not finish within '
                    f"{_took(self.config.progress_deadline.total_seconds())} "
                    f"(services.{self.service}.kubernetes.progress_deadline); last seen: "
                    f"{shown[0] or 'not started'}", kind="rollout")
            try:
                for event in self._watch(t, rv, quiet_after=min(timing.resync_every, left),
                                         pace=pace):
                    failures = 0
                    kind, obj = event["type"], event["raw_object"]
                    if kind == "DELETED":
                        raise KubernetesProblem(
                            f'Deployment "{t.name}" in namespace "{t.namespace}" was deleted '
                            "during the rollout", kind="rollout")
                    rv = str(_meta(obj).get("resourceVersion") or rv)
                    if kind == "BOOKMARK":
                        continue
                    if step(obj, look=False):
                        return
                    if now() >= deadline:
                        break
                continue  # the stream ended (deadline): check it, watch on
            except _Quiet:
                pass  # look around below
            except KubernetesProblem as e:
                if e.kind == "gone":  # our resourceVersion was compacted away: list again
                    log.info("%s/%s: watch expired (%s); listing again", t.namespace, t.name, e)
                    dep, rv = self._list(t)
                    if step(dep, look=True):
                        return
                    continue
                if e.kind != "unreachable":
                    raise
                failures += 1
                if failures >= timing.backoff.attempts:
                    raise KubernetesProblem(f"{e} (gave up after {failures} attempts)",
                                            kind=e.kind) from e
                log.info("%s/%s: watch failed (%s); resuming from %s", t.namespace, t.name,
                         e, rv)
                self._sleep(timing.backoff.delay(failures))
                continue
            # Quiet: nothing changed for a while. Read it again (a missed event cannot hide
            # the end) and look at the new pods (a crash loop does not change the Deployment).
            # In a fiber this is every read, as often as every 50 ms while the rollout moves:
            # the pods are looked at when `resync_every` has passed since the last look, not
            # at each read (three requests a read would be the process's CPU at scale).
            dep = self._read(t)
            rv = str(_meta(dep).get("resourceVersion") or rv)
            if step(dep, look=not in_fiber()):
                return

    def _deadline_counts(self, t: _Target, dep: Mapping[str, Any], cond: Mapping[str, Any],
                         patched_at: datetime | None) -> bool:
        """deadline_counts for this Deployment, listing its ReplicaSets only when the
        condition's time does not settle it."""
        if deadline_is_stale(cond, patched_at=patched_at):
            log.debug("%s/%s: ProgressDeadlineExceeded from before the patch; waiting",
                      t.namespace, t.name)
            return False
        if _named_replica_set(cond) is None:
            return True
        rs = owning_replica_set(dep, self.replica_sets(t, dep), self.containers)
        counts = deadline_counts(cond, patched_at=patched_at,
                                 new_replica_set=str(_meta(rs).get("name")) if rs else None)
        if not counts:
            log.debug("%s/%s: ProgressDeadlineExceeded about another ReplicaSet (%s); waiting",
                      t.namespace, t.name, cond.get("message"))
        return counts

    def _watch(self, t: _Target, rv: str, *, quiet_after: float,
               list_fn: Callable[..., Any] | None = None, name: str | None = None,
               resource: str = "deployments.apps", pace: _Pace | None = None,
               ) -> Iterator[dict[str, Any]]:
        """Events on the Deployment (or the object `name` that `list_fn` lists) after `rv`.
        A watch the server closes is resumed by the client from the last version seen;
        errors come out as KubernetesProblem, a quiet stream as _Quiet. Inside a fiber
        there is no stream: the fiber waits (`pace`, at most as long as a quiet watch
        would; holding no thread), and the caller reads the object as after one."""
        if in_fiber():
            self._sleep((pace or _Pace()).after(rv, cap=max(quiet_after, _Pace.FIRST)))
            raise _Quiet()
        w = k8s_watch.Watch()  # type: ignore[no-untyped-call]
        op = t.op("watch", resource, named=False)
        kwargs: dict[str, Any] = {
            "namespace": t.namespace, "field_selector": f"metadata.name={name or t.name}",
            "allow_watch_bookmarks": True,
            "_request_timeout": (self._timing.connect_timeout, max(quiet_after, 0.05)),
        }
        if rv:
            kwargs["resource_version"] = rv
        stream = w.stream(  # type: ignore[no-untyped-call]
            list_fn or t.api.apps.list_namespaced_deployment, **kwargs)
        try:
            while True:
                try:
                    event = next(stream)
                except StopIteration:
                    return
                except urllib3.exceptions.ReadTimeoutError as e:
                    raise _Quiet() from e
                except Exception as e:
                    _transient, problem = t.api.problem(e, op)
                    raise problem from e
                if isinstance(event, dict):
                    yield event
        finally:
            w.stop()  # type: ignore[no-untyped-call]
            with contextlib.suppress(Exception):
                stream.close()

    def _list(self, t: _Target) -> tuple[dict[str, Any], str]:
        found = t.api.call(t.op("list", named=False), t.api.apps.list_namespaced_deployment,
                           t.namespace, field_selector=f"metadata.name={t.name}")
        items = found.get("items") or []
        if not items:
            raise KubernetesProblem(
                f'Deployment "{t.name}" in namespace "{t.namespace}" disappeared during the '
                "rollout", kind="rollout")
        dep: dict[str, Any] = items[0]
        return dep, str(_meta(found).get("resourceVersion") or _meta(dep)["resourceVersion"])

    # -- the new pods -------------------------------------------------------------------
    def replica_sets(self, t: _Target, dep: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The Deployment's ReplicaSets: those its selector matches that it owns (or that
        nothing owns), the new one and the old ones Kubernetes keeps."""
        match = ((dep.get("spec") or {}).get("selector") or {}).get("matchLabels")
        found = t.api.call(t.op("list", "replicasets.apps", named=False),
                           t.api.apps.list_namespaced_replica_set, t.namespace,
                           label_selector=_selector(match))
        uid = _meta(dep).get("uid")
        owned: list[dict[str, Any]] = []
        for rs in found.get("items") or []:
            owners = _meta(rs).get("ownerReferences") or []
            if uid and owners and not any(o.get("uid") == uid for o in owners):
                continue
            owned.append(rs)
        return owned

    def new_replica_set(self, t: _Target, dep: Mapping[str, Any],
                        image: str) -> dict[str, Any] | None:
        """The Deployment's newest ReplicaSet whose pods run `image` (None before the
        controller made it)."""
        revision = (_meta(dep).get("annotations") or {}).get(REVISION)
        best: tuple[int, dict[str, Any]] | None = None
        for rs in self.replica_sets(t, dep):
            meta = _meta(rs)
            images = {str(c.get("name")): c.get("image") for c in _containers(rs)}
            if any(images.get(c) != image for c in self.containers):
                continue
            rs_revision = (meta.get("annotations") or {}).get(REVISION)
            rank = int(rs_revision) if rs_revision and rs_revision.isdigit() else 0
            if revision and rs_revision == revision:
                return dict(rs)
            if best is None or rank > best[0]:
                best = (rank, rs)
        return best[1] if best else None

    def new_pods(self, t: _Target, dep: Mapping[str, Any],
                 image: str) -> list[dict[str, Any]]:
        rs = self.new_replica_set(t, dep, image)
        if rs is None:
            return []
        match = ((rs.get("spec") or {}).get("selector") or {}).get("matchLabels")
        found = t.api.call(t.op("list", "pods", named=False), t.api.core.list_namespaced_pod,
                           t.namespace,
                           label_selector=_selector(match))
        uid = _meta(rs).get("uid")
        pods: list[dict[str, Any]] = []
        for pod in found.get("items") or []:
            owners = _meta(pod).get("ownerReferences") or []
            if uid and owners and not any(o.get("uid") == uid for o in owners):
                continue
            pods.append(pod)
        return pods

    def _pods_problem(self, t: _Target, dep: Mapping[str, Any], image: str) -> str | None:
        return diagnose_pods(self.new_pods(t, dep, image))

    def _why_stuck(self, t: _Target, dep: Mapping[str, Any], image: str) -> str | None:
        try:
            pods = self.new_pods(t, dep, image)
        except KubernetesProblem:
            return None
        return diagnose_pods(pods) or unschedulable(pods)


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


def _took(seconds: float) -> str:
    s = int(seconds)
    if s % 3600 == 0 and s >= 3600:
        return f"{s // 3600}h"
    if s % 60 == 0 and s >= 60:
        return f"{s // 60}m"
    return f"{s}s"


# -- what deploybot may do (`deploybot doctor`) ----------------------------------------------

#: Every (verb, resource) the Kubernetes executor uses in a namespace it deploys to: exactly
#: the rules of deploy/kubernetes/base/rbac.yaml (tests/test_deploy_manifests.py keeps the
#: three in step with the client calls above).
REQUIRED_ACCESS: tuple[tuple[str, str], ...] = (
    ("get", "deployments.apps"), ("list", "deployments.apps"),
    ("watch", "deployments.apps"), ("patch", "deployments.apps"),
    # per-PR previews (github.pull_requests.per_pr): their own Deployment, made and removed
    ("create", "deployments.apps"), ("delete", "deployments.apps"),
    ("list", "replicasets.apps"),
    ("get", "pods"), ("list", "pods"), ("get", "pods/log"),
    ("create", "jobs.batch"), ("get", "jobs.batch"), ("list", "jobs.batch"),
    ("watch", "jobs.batch"),
)


class KubernetesAccessCheck:
    """The ClusterAccess port: one SelfSubjectAccessReview per permission in
    REQUIRED_ACCESS, asked with the credentials the executor uses for that environment."""

    def __init__(self, clients: KubeClients, *, timing: Timing | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._clients = clients
        self._timing = timing or Timing(backoff=Backoff(attempts=2))
        self._sleep = sleep

    def denied(self, environment: str, namespace: str) -> list[str]:
        try:
            api = _Api(self._clients.get(environment), environment=environment,
                       timing=self._timing, sleep=self._sleep)
            authz = AuthorizationV1Api(api.client)
            return [f"{verb} {resource}" for verb, resource in REQUIRED_ACCESS
                    if not self._allowed(api, authz, namespace, verb, resource)]
        except KubernetesProblem as e:
            raise _port_error(e) from e

    def _allowed(self, api: _Api, authz: Any, namespace: str, verb: str,
                 resource: str) -> bool:
        plural, _, group = resource.partition(".")
        plural, _, sub = plural.partition("/")
        attributes = {"namespace": namespace, "verb": verb, "group": group,
                      "resource": plural}
        if sub:
            attributes["subresource"] = sub
        body = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                "spec": {"resourceAttributes": attributes}}
        review = api.call(_Op("create", "selfsubjectaccessreviews.authorization.k8s.io",
                              namespace), authz.create_self_subject_access_review, body)
        return bool((review.get("status") or {}).get("allowed"))

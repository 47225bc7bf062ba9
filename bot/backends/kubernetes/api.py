"""Access to the Kubernetes API: the clients, the retried calls and the one error mapping.

`KubeClients` builds one ApiClient per environment (the in-cluster service account or a
kubeconfig context); `Api` makes the calls of one environment through it: JSON in and out,
transient errors (5xx, 429, timeouts, refused or reset connections) retried with a bounded
exponential backoff (`Backoff`, `Timing`), every other error a `KubernetesProblem` that says
in plain words what could not be done (404, RBAC's 403, 401, 410 Gone, bad config), and
`port_error` turns one into the error kinds the ports speak. The only module of the package
that builds the client and its API classes.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal

import urllib3
from kubernetes import client as k8s
from kubernetes import config as k8s_config

# The client imports its API classes lazily, on first use (`__getattr__` in
# kubernetes/client/__init__.py): CoreV1Api's module with the ~300 models it pulls in is 1-3 s
# of CPU. Named here, they load with this module, when the process builds its Kubernetes
# backend (bot/container/), not inside the first request that reads the cluster (the first
# `/rollback` of a process answered after more than 5 s on a loaded machine).
from kubernetes.client import (
    AppsV1Api,
    AuthorizationV1Api,
    BatchV1Api,
    CoreV1Api,
    CustomObjectsApi,
)
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from bot.config import KubernetesAccessConfig
from bot.errors import PermanentError, RetryableError

log = logging.getLogger(__name__)

_TRANSIENT_STATUS = frozenset({429, 500, 502, 503, 504})


# -- errors -------------------------------------------------------------------------------

ProblemKind = Literal["not_found", "forbidden", "unauthorized", "unreachable", "gone",
                      "config", "api", "rollout"]


class KubernetesProblem(Exception):
    """A Kubernetes call failed for good (after retries, if it was worth retrying);
    `str()` says why in plain words, `kind` says what sort of failure it was."""

    def __init__(self, text: str, *, kind: ProblemKind, status: int | None = None,
                 message: str = "") -> None:
        super().__init__(text)
        self.kind = kind
        #: the HTTP status the API answered and its Status object's message, when it did
        self.status = status
        self.message = message


def port_error(e: KubernetesProblem) -> RetryableError | PermanentError:
    """A read that failed, as the Cluster port says it: RetryableError when the API cannot
    be reached (try again), PermanentError otherwise (access, RBAC)."""
    return RetryableError(str(e)) if e.kind == "unreachable" else PermanentError(str(e))


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
class Op:
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


def _forbidden_text(e: ApiException, op: Op) -> str:
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


def _http_date(value: str | None) -> datetime | None:
    """An HTTP `Date` header ("Tue, 04 Mar 2025 10:00:07 GMT") as an aware UTC datetime."""
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).astimezone(UTC)
    except (TypeError, ValueError):
        return None


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


class Api:
    """Calls for one environment: JSON in and out, transient errors retried with backoff,
    the rest turned into a KubernetesProblem that says what could not be done."""

    def __init__(self, api: k8s.ApiClient, *, environment: str, timing: Timing,
                 sleep: Callable[[float], None]) -> None:
        self.client = api
        self.apps = AppsV1Api(api)
        self.core = CoreV1Api(api)
        self.batch = BatchV1Api(api)
        #: custom resources: the OpenFeature Operator's FeatureFlag (bot.backends.kubernetes.flags)
        self.custom = CustomObjectsApi(api)
        self.environment = environment
        self.timing = timing
        self._sleep = sleep

    @property
    def host(self) -> str:
        return str(self.client.configuration.host)

    def authorization(self) -> Any:
        """The authorization.k8s.io API (access reviews: bot.backends.kubernetes.access)."""
        return AuthorizationV1Api(self.client)

    def problem(self, e: BaseException, op: Op) -> tuple[bool, KubernetesProblem]:
        """(transient?, the problem in plain words) for an exception raised by a call."""
        if isinstance(e, ApiException):
            status = int(e.status or 0)
            message = _status_message(e)
            if status == 404:
                return False, KubernetesProblem(f"not found: {op} ({message})",
                                                kind="not_found")
            if status == 403:
                return False, KubernetesProblem(_forbidden_text(e, op), kind="forbidden",
                                                status=status, message=message)
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
                f"{message}", kind="api", status=status, message=message)
        if isinstance(e, urllib3.exceptions.HTTPError | ConnectionError | TimeoutError):
            return True, KubernetesProblem(
                f"the Kubernetes API of {self.environment} ({self.host}) is unreachable: "
                f"{_network_text(e)}", kind="unreachable")
        raise e

    def call(self, op: Op, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """`fn(*args, **kwargs)` as parsed JSON, with transient errors retried."""
        return self._retried(op, lambda r: json.loads(r.data), fn, *args, **kwargs)

    def call_dated(self, op: Op, fn: Callable[..., Any], *args: Any,
                   **kwargs: Any) -> tuple[Any, datetime | None]:
        """As `call`, with the API server's clock when it answered (its `Date` header, whole
        seconds; None when it sent none)."""
        result: tuple[Any, datetime | None] = self._retried(
            op, lambda r: (json.loads(r.data), _http_date(r.headers.get("Date"))), fn,
            *args, **kwargs)
        return result

    def text(self, op: Op, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> str:
        """`fn(*args, **kwargs)` as text (pod logs), with transient errors retried."""
        return str(self._retried(op, lambda r: bytes(r.data).decode("utf-8", "replace"), fn,
                                 *args, **kwargs))

    def data(self, op: Op, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> bytes:
        """`fn(*args, **kwargs)` as bytes (a pod's log), with transient errors retried."""
        return bytes(self._retried(op, lambda r: bytes(r.data), fn, *args, **kwargs))

    def _retried(self, op: Op, decode: Callable[[Any], Any], fn: Callable[..., Any],
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

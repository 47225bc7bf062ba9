"""A local fake of the Kubernetes API server, with a toy Deployment/Job controller.

This package owns :class:`FakeKubernetes`, a small stdlib HTTP server (``ThreadingHTTPServer``
on 127.0.0.1, in a daemon thread) that the *real* official ``kubernetes`` Python client talks
to over plain HTTP, plus a controller thread that moves rollouts and Jobs forward every
``tick`` seconds.  It serves the tests and the ``deploybot shell --cluster fake`` demo.

What it speaks (JSON; errors are ``Status`` objects with ``code``/``reason``/``message``):

* ``apps/v1`` Deployments: create (POST), get, list, watch, PATCH (strategic-merge with lists
  of containers, env, volumes... merged by name; JSON merge patch; JSON patch), PUT, DELETE.
* ``apps/v1`` ReplicaSets and ``v1`` Pods (created by the controller): get, list, watch, and
  ``pods/{name}/log`` (``container``, ``previous``, ``sinceSeconds``, ``tailLines``,
  ``limitBytes``, with the API server's and the kubelet's refusals) as text; what containers
  log is set with :meth:`~FakeKubernetes.set_logs`.
* ``v1`` Events, recorded where the real components record them (the deployment and
  ReplicaSet controllers' scaling, the scheduler's ``FailedScheduling``, the kubelet's image
  pulls and back-offs, with ``count``/``lastTimestamp`` or ``series``): list (``limit``,
  ``continue``) and get; not watched.
* ``batch/v1`` Jobs: create (``name`` or ``generateName``), get, list, watch, DELETE with a
  ``propagationPolicy``; the controller runs one pod per attempt and completes or fails them.
* ``labelSelector`` (equality- and set-based), ``fieldSelector`` (``metadata.name=...``),
  watches (``resourceVersion``, ``timeoutSeconds``, replay from a bounded history, 410 Gone
  after :meth:`FakeKubernetes.compact`), ``/version``, ``/api``, ``/apis`` discovery.
* ``v1`` ConfigMaps and ``core.openfeature.dev/v1beta1`` FeatureFlags (where flagd's flag
  definitions live): seeded with :meth:`~FakeKubernetes.seed`, get, list, PUT, PATCH;
  :meth:`~FakeKubernetes.write_concurrently` makes the next write lose a race to another
  writer (409 Conflict on its stale ``resourceVersion``).
* ``authorization.k8s.io/v1`` SelfSubjectAccessReviews (POST): allowed unless
  :meth:`~FakeKubernetes.forbid` forbids that verb on that resource in that namespace.

Its Deployment controller follows kube-controller-manager's (pkg/controller/deployment): the
first pass after a template change finds or creates the new ReplicaSet (getNewReplicaSet in
sync.go: NewReplicaSetCreated for a new one; a ReplicaSet rolled back to gets the next
revision and a ``revision-history`` annotation and no condition of its own) and writes the new
``observedGeneration`` with the Progressing condition the Deployment had, a stale
``ProgressDeadlineExceeded`` included; its pods come on the next passes, and the condition
moves as syncRolloutStatus (progress.go) moves it: ReplicaSetUpdated on progress,
NewReplicaSetAvailable when complete, ProgressDeadlineExceeded when stuck. Every timestamp it
writes, and the ``Date`` header of its answers, come from its ``clock`` (the real time by
default).

Like a real API server it omits zero replica counts from Deployment status (``omitempty``),
bumps a global ``resourceVersion`` on every write and ``metadata.generation`` on spec changes,
ignores ``status`` in writes to the main resource, and answers 409 on a stale
``resourceVersion``.  Faults are injected with :meth:`~FakeKubernetes.fail_next_rollout`,
:meth:`~FakeKubernetes.fail_rollouts_to`, :meth:`~FakeKubernetes.crash_after_ready`,
:meth:`~FakeKubernetes.set_job_outcome`, :meth:`~FakeKubernetes.hold_jobs`,
:meth:`~FakeKubernetes.fail_requests`, :meth:`~FakeKubernetes.forbid`,
:meth:`~FakeKubernetes.drop_watches`,
:meth:`~FakeKubernetes.compact` and :meth:`~FakeKubernetes.set_unreachable`; every request is
recorded as a :class:`Recorded`.

Tests can also read state directly (:meth:`~FakeKubernetes.deployment`,
:meth:`~FakeKubernetes.get`, :meth:`~FakeKubernetes.objects`, :meth:`~FakeKubernetes.pods`),
wait for it (:meth:`~FakeKubernetes.wait_until`) and see how many watches are open
(:attr:`~FakeKubernetes.open_watches`).

Point the client at it with ``kubernetes.config.load_kube_config(config_file=
fake.write_kubeconfig(path), client_configuration=cfg)``.  Stdlib only on purpose.

The parts, one concern a module (each a mixin over the state, put together in ``fake``):

* ``api`` — resources, ``Status`` errors, replies, discovery, the ``Recorded`` request;
* ``wire`` — the HTTP server and handler (chunked watch streams);
* ``routes`` — path parsing, RBAC (``forbid``), injected request failures, dispatch;
* ``verbs`` — get, list, create, update, patch, delete;
* ``writers`` — seeding objects and another writer racing an update (``write_concurrently``);
* ``logs`` — ``pods/{name}/log`` and ``set_logs``;
* ``events`` — events as the controllers, the scheduler and the kubelet record them;
* ``patches`` — strategic merge, JSON merge (RFC 7386) and JSON (RFC 6902) patches;
* ``selectors`` — label and field selectors;
* ``store`` and ``state`` — objects, resourceVersions, the event history, deletion;
* ``watch`` — watch streams (replay, 410 Gone, timeouts);
* ``rollouts`` — the Deployment controller (kube-controller-manager's rolling update);
* ``pods`` and ``jobs`` — the kubelet's view of pods, the Job controller;
* ``faults`` — fault injection;
* ``objects`` — shapes the controllers share (conditions, ownerReferences).
"""

from devtools.fake_k8s.api import FAKE_USER, FailureMode, Recorded
from devtools.fake_k8s.fake import FakeKubernetes

__all__ = ["FAKE_USER", "FailureMode", "FakeKubernetes", "Recorded"]

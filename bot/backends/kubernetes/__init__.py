"""The Kubernetes cluster: rollouts of a service's Deployment through the official client,
one module per concern. It never shells out to kubectl.

- `api`: the clients (one per environment: the in-cluster service account or a kubeconfig
  context), the calls with transient errors (5xx, 429, timeouts, refused or reset
  connections) retried with a bounded exponential backoff, and the one mapping of the
  client's errors to plain words (`KubernetesProblem`) and to the ports' error kinds;
  errors that retrying cannot fix (404, 403, 401, bad config) fail at once.
- `objects`: the annotations and labels deploybot writes and reads, and the readers of the
  API's JSON that every module shares.
- `workload`: one service's Deployment (or a per-PR instance's) and the reads the concerns
  share: the Deployment, its configured containers, its ReplicaSets, the new pods.
- `rollout`: a deploy: PATCH the image in (a strategic-merge patch naming only the
  configured containers) and follow the rollout to its end, failing at once on image pull
  errors and crash loops; `status`: where a rollout stands (`kubectl rollout status`'s
  rules, and whether a ProgressDeadlineExceeded condition is about this rollout);
  `watch`: the WATCH stream (paced reads inside a fiber) both rollouts and Jobs follow.
- `pods`: what is wrong with the new pods, during a rollout and after it (the Health
  capability, the bake-window watch).
- `jobs`: one-off Jobs in the service's image (migrations, the backup before them).
- `live`: what runs, since when and who put it there (`observe`), and the versions that
  ran before (`earlier_versions`, the Revisions capability, for `/rollback`).
- `previews`: the Deployment of a per-PR instance (`<deployment>-pr-7`), made from the
  shared one on its first deploy (the Previews capability).
- `troubleshoot`, `logs`, `events`: live reads for the troubleshooting commands (the
  Troubleshooting capability: `/rollout`, `/pods`, `/logs`, `/events`).
- `flags`: flagd's flag definitions in a `FeatureFlag` resource or a ConfigMap key (the
  FlagStore port), changed at the resourceVersion read, a lost race applied again.
- `access`: what deploybot may do in a namespace (`deploybot doctor`: the ClusterAccess
  port).
- `cluster`: `KubernetesCluster`, the Cluster port for one service, tying them together.

The only package that imports `kubernetes` (an import-linter contract keeps it so). Importing
it loads the client's API classes (bot.backends.kubernetes.api): the container imports it
only when a service's executor is `kubernetes`, so a web process without one never loads the
client. Exported here: what code outside the package imports (the container, the doctor, the
benchmarks and the tests).
"""

from bot.backends.kubernetes.access import (
    EXECUTOR_ACCESS,
    FLAG_ACCESS,
    REQUIRED_ACCESS,
    KubernetesAccessCheck,
)
from bot.backends.kubernetes.api import Backoff, KubeClients, Timing
from bot.backends.kubernetes.cluster import KubernetesCluster
from bot.backends.kubernetes.jobs import JOB_TTL_SECONDS
from bot.backends.kubernetes.objects import CHANGE_CAUSE, DEPLOYMENT_ID, MANAGED_BY, REVISION
from bot.backends.kubernetes.status import deadline_counts, rollout_status

__all__ = ["CHANGE_CAUSE", "DEPLOYMENT_ID", "EXECUTOR_ACCESS", "FLAG_ACCESS", "JOB_TTL_SECONDS",
           "MANAGED_BY", "REQUIRED_ACCESS", "REVISION", "Backoff", "KubeClients",
           "KubernetesAccessCheck", "KubernetesCluster", "Timing", "deadline_counts",
           "rollout_status"]

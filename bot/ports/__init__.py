"""The small interfaces the services need, by what stands behind them; backends and the
store implement them.

- executors: the Cluster that rolls versions out and its optional capabilities (Previews,
  Migrations, Health, RollsBack, Revisions), the checks after a rollout (Probes, Verifier),
  the simulated cluster's state
- github: SourceControl, RepositoryHeads, WorkflowRuns, CodeReview, ChecklistCards,
  DeploymentMirror
- slack: Notifier, Poster, Directory, HomeTab, DirectMessages, Modals, Changes,
  DeploymentWatcher, DeployRefusals, SlackAccess
- deployments: the deployments' repository by role (DeploymentWrites, DeploymentQueries,
  DeploymentDecisions, DeploymentSchedules, DeploymentLeases, DeploymentHistory) and
  DeploymentChanges, what a state change records
- store: Store and its Repositories (audit log, freezes, locks, announcements, …)
- alerts: Pager, Mailer
- ops: Metrics, Dependency (readiness), SchemaStatus, Holidays
- flags: FlagStore (flagd's definitions, read and changed) and FlagEvaluator (OFREP)
- troubleshooting: the Troubleshooting capability (rollout, pods, logs, events) and the
  values it answers with
- workflow_deploys: DeployRuns, a github-actions executor's latest deploy run (`/rollout`)

Every name is importable from `bot.ports` itself, as the services import them; the import
contracts treat the package as one layer.
"""

from __future__ import annotations

from bot.clock import Clock
from bot.ports.alerts import (
    Mailer,
    Pager,
)
from bot.ports.deployments import (
    DeploymentChanges,
    DeploymentDecisions,
    DeploymentHistory,
    DeploymentLeases,
    DeploymentQueries,
    DeploymentRepository,
    DeploymentSchedules,
    DeploymentWrites,
)
from bot.ports.executors import (
    AlreadyRunning,
    Cluster,
    ClusterAccess,
    FlagStorage,
    Health,
    JobKind,
    JobResult,
    Migrations,
    Previews,
    Probes,
    Revisions,
    RolloutFailed,
    RollsBack,
    SimulatedWorkload,
    SimulatedWorkloads,
    Superseded,
    Verifier,
    VerifyResult,
)
from bot.ports.flags import FlagEvaluator, FlagStore
from bot.ports.github import (
    ChecklistCards,
    CodeReview,
    DeploymentMirror,
    GitHubDeploymentState,
    RepositoryAccess,
    RepositoryHeads,
    SourceControl,
    WorkflowRuns,
)
from bot.ports.ops import (
    Dependency,
    Holidays,
    Metrics,
    NoMetrics,
    SchemaStatus,
)
from bot.ports.slack import (
    Changes,
    DeploymentWatcher,
    DeployRefusals,
    DirectMessages,
    Directory,
    HomeTab,
    MessageRefs,
    Modals,
    Notifier,
    Poster,
    Responses,
    SlackAccess,
    SlackIdentity,
    TriggerExpired,
)
from bot.ports.store import (
    AcknowledgedRequests,
    AnnouncementLog,
    AuditLog,
    ChecklistRepository,
    FaultyVersions,
    FreezeRepository,
    HomeViewers,
    LockRepository,
    Repositories,
    Store,
)
from bot.ports.troubleshooting import (
    Condition,
    EventView,
    LogQuery,
    LogTail,
    PodView,
    ReplicaSetView,
    RolloutView,
    Termination,
    Troubleshooting,
)
from bot.ports.workflow_deploys import DeployRuns

__all__ = [
    "AcknowledgedRequests",
    "AlreadyRunning",
    "AnnouncementLog",
    "AuditLog",
    "Changes",
    "ChecklistCards",
    "ChecklistRepository",
    "Clock",
    "Cluster",
    "ClusterAccess",
    "CodeReview",
    "Condition",
    "Dependency",
    "DeployRefusals",
    "DeployRuns",
    "DeploymentChanges",
    "DeploymentDecisions",
    "DeploymentHistory",
    "DeploymentLeases",
    "DeploymentMirror",
    "DeploymentQueries",
    "DeploymentRepository",
    "DeploymentSchedules",
    "DeploymentWatcher",
    "DeploymentWrites",
    "DirectMessages",
    "Directory",
    "EventView",
    "FaultyVersions",
    "FlagEvaluator",
    "FlagStorage",
    "FlagStore",
    "FreezeRepository",
    "GitHubDeploymentState",
    "Health",
    "Holidays",
    "HomeTab",
    "HomeViewers",
    "JobKind",
    "JobResult",
    "LockRepository",
    "LogQuery",
    "LogTail",
    "Mailer",
    "MessageRefs",
    "Metrics",
    "Migrations",
    "Modals",
    "NoMetrics",
    "Notifier",
    "Pager",
    "PodView",
    "Poster",
    "Previews",
    "Probes",
    "ReplicaSetView",
    "Repositories",
    "RepositoryAccess",
    "RepositoryHeads",
    "Responses",
    "Revisions",
    "RolloutFailed",
    "RolloutView",
    "RollsBack",
    "SchemaStatus",
    "SimulatedWorkload",
    "SimulatedWorkloads",
    "SlackAccess",
    "SlackIdentity",
    "SourceControl",
    "Store",
    "Superseded",
    "Termination",
    "TriggerExpired",
    "Troubleshooting",
    "Verifier",
    "VerifyResult",
    "WorkflowRuns",
]

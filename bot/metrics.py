"""Prometheus metrics: the registry of one bot (owned by its container) and what goes in it.

The only importer of prometheus_client. Services report through the `Metrics` port
(bot.ports); the web app observes Slack ack latency, the scheduler the lag of its jobs.
Every label is bounded: environments and services come from app.yaml, results are deployment
states, Slack request names are the ids deploybot registers (bot.presentation.ids; anything
else is "other"), job ids the scheduler's own. Never a user id, a version or a deployment id.

Exposed at GET /metrics (bot.web) in the text exposition format.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from bot.presentation import ids

#: Slack gives an ack 3 s; the buckets resolve the fast end and the deadline.
ACK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0)
#: An approval takes minutes to hours (production's requests expire after a few hours).
APPROVAL_BUCKETS = (30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0, 14400.0, 28800.0,
                    86400.0)
#: A rollout (migrations included) takes seconds to tens of minutes.
ROLLOUT_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0)
#: Jobs run every minute or so: lag matters from a fraction of a second to a few periods.
LAG_BUCKETS = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0)

OTHER = "other"

#: Every command, action and callback id deploybot registers: the only names an ack label
#: may carry (a request naming anything else is counted as "other").
KNOWN_SLACK_NAMES = frozenset(v for k, v in vars(ids).items()
                              if k.isupper() and isinstance(v, str))


def slack_request_labels(body: Mapping[str, Any], status: int) -> tuple[str, str]:
    """(kind, name) of a Slack request as Bolt parsed it: ("command", "/deploy"),
    ("block_actions", "deploy.approve"), ("view_submission", <callback id>), ("event",
    "app_home_opened"); ("rejected", "-") for one refused: not signed (401, 403), or
    signed but malformed (400: handlers.payloads) or too large (413)."""
    if status in (400, 401, 403, 413):
        return "rejected", "-"
    if isinstance(body.get("command"), str):
        return "command", _known(body["command"])
    kind = body.get("type")
    if kind == "block_actions":
        actions = body.get("actions") or [{}]
        first = actions[0] if isinstance(actions, list) and actions else {}
        return "block_actions", _known(first.get("action_id") if isinstance(first, dict)
                                       else None)
    if kind in ("view_submission", "view_closed"):
        view = body.get("view") or {}
        return str(kind), _known(view.get("callback_id") if isinstance(view, dict) else None)
    if kind == "event_callback":
        event = body.get("event") or {}
        return "event", _known(event.get("type") if isinstance(event, dict) else None)
    if kind in ("shortcut", "message_action", "block_suggestion", "url_verification"):
        return str(kind), _known(body.get("callback_id") or body.get("action_id"))
    return OTHER, OTHER


def _known(name: object) -> str:
    return name if isinstance(name, str) and name in KNOWN_SLACK_NAMES else OTHER


class DeploybotMetrics:
    """The metrics of one bot in its own CollectorRegistry (never the global default: tests
    and several containers in one process do not collide). Implements the Metrics port."""

    def __init__(self, *, environments: Collection[str] = (),
                 jobs: Collection[str] = ()) -> None:
        """`environments`, `jobs`: the label values allowed (others are "other"); empty:
        any."""
        self.registry = CollectorRegistry(auto_describe=True)
        self._environments = frozenset(environments)
        self._jobs = frozenset(jobs)
        self.deployments = Counter(
            "deploybot_deployments", "Deployments (deploys, rollbacks, migration runs) that "
            "ended, by environment and result (the final state)",
            ["environment", "result"], registry=self.registry)
        self.approval_wait = Histogram(
            "deploybot_approval_wait_seconds", "Time from a deployment's request to the "
            "approval that released it, by environment", ["environment"],
            buckets=APPROVAL_BUCKETS, registry=self.registry)
        self.rollout = Histogram(
            "deploybot_rollout_duration_seconds", "Time the runner spent carrying a "
            "deployment from start (migrations, rollout, watch) to its result, by environment "
            "and result", ["environment", "result"], buckets=ROLLOUT_BUCKETS,
            registry=self.registry)
        self.ack = Histogram(
            "deploybot_slack_ack_seconds", "Time from a Slack request's arrival to its ack "
            "(the HTTP response), by kind and command/action", ["kind", "name"],
            buckets=ACK_BUCKETS, registry=self.registry)
        self.scheduler_lag = Histogram(
            "deploybot_scheduler_lag_seconds", "From a job run's scheduled time to its end "
            "(executed, error) or to its being given up (missed)", ["job", "outcome"],
            buckets=LAG_BUCKETS, registry=self.registry)
        self.scheduler_runs = Counter(
            "deploybot_scheduler_jobs", "Scheduled job runs by job and outcome (executed, "
            "error, missed)", ["job", "outcome"], registry=self.registry)

    # -- the Metrics port (the services) ---------------------------------------------------
    def deployment_finished(self, environment: str, result: str) -> None:
        self.deployments.labels(self._env(environment), result).inc()

    def approval_waited(self, environment: str, seconds: float) -> None:
        self.approval_wait.labels(self._env(environment)).observe(max(0.0, seconds))

    def rollout_took(self, environment: str, result: str, seconds: float) -> None:
        self.rollout.labels(self._env(environment), result).observe(max(0.0, seconds))

    # -- the adapters ------------------------------------------------------------------------
    def acked(self, kind: str, name: str, seconds: float) -> None:
        self.ack.labels(kind, name).observe(seconds)

    def job_lag(self, job: str, outcome: str, seconds: float) -> None:
        self.scheduler_lag.labels(self._job(job), outcome).observe(max(0.0, seconds))

    def job_ran(self, job: str, outcome: str) -> None:
        self.scheduler_runs.labels(self._job(job), outcome).inc()

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type, for GET /metrics."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST

    def _env(self, environment: str) -> str:
        return environment if not self._environments or environment in self._environments \
            else OTHER

    def _job(self, job: str) -> str:
        return job if not self._jobs or job in self._jobs else OTHER

"""Which executor answers what, for the troubleshooting commands (`/rollout`, `/pods`,
`/logs`, `/events`) and the buttons after a failed rollout: one lookup shared by their
services (bot.services.troubleshooting, bot.services.logs), so that every command says the
same thing about the same service. Owned by the "commands" work of issue 16: edit it there.

- `executor_of`: the Cluster that runs a service (the router's, bot.backends.clusters
  ServiceClusters, hands each service to its own; any other Cluster runs them all).
- `troubleshooter`: that Cluster's Troubleshooting capability (the Kubernetes executor has
  it), else `DoesNotApply` saying plainly, per executor, what does not apply and what does.
- `executor_kind`: the service's `executor` in app.yaml, for the wording.
"""

from __future__ import annotations

from typing import Literal, Protocol, runtime_checkable

from bot.config import AppConfig
from bot.errors import UserError
from bot.ports import Cluster, Troubleshooting

#: The commands whose answer needs the Troubleshooting capability.
Command = Literal["/pods", "/logs", "/events"]


class DoesNotApply(UserError):
    """The command does not apply to the service's executor: the message says so plainly
    and what to use instead. Not a refusal of bad input: an information mark, not a warning."""

    icon = "\N{INFORMATION SOURCE}\ufe0f"


@runtime_checkable
class Routes(Protocol):
    """A Cluster that routes each service to its own (ServiceClusters)."""

    def for_service(self, service: str) -> Cluster: ...


def executor_of(cluster: Cluster, service: str) -> Cluster:
    """The Cluster that runs `service`: the router's route for it, else `cluster` itself.
    PermanentError (from the router) when no cluster is configured for it."""
    return cluster.for_service(service) if isinstance(cluster, Routes) else cluster


def executor_kind(config: AppConfig, service: str) -> str:
    """'kubernetes', 'github-actions' or 'simulated' (app.yaml's `services.<name>.executor`)."""
    return config.services[service].executor


_NO_SUCH = {
    "/pods": "it has no pods",
    "/logs": "deploybot keeps no logs of it",
    "/events": "it has no Kubernetes events",
}


def does_not_apply(config: AppConfig, service: str, command: Command) -> str:
    """Why `command` does not apply to `service`, in plain words, and what does."""
    kind = executor_kind(config, service)
    if kind == "github-actions":
        gh = config.services[service].github
        repo = f" of {gh.repository}" if gh is not None else ""
        what = {"/pods": "its pods", "/logs": "its logs",
                "/events": "its Kubernetes events"}[command]
        return (f"`{service}` is deployed by a GitHub Actions workflow{repo}: deploybot cannot "
                f"see {what}, only the workflow's runs. `/rollout` shows the latest deploy "
                "run's jobs (each linked to its log); `/ci &lt;version&gt;` shows a version's "
                "CI.")
    if kind == "kubernetes":
        return (f"`{service}`'s cluster cannot be asked for this here: {command} needs the "
                "Kubernetes executor's troubleshooting reads.")
    return (f"`{service}` runs on the simulated executor: {_NO_SUCH[command]}; `/rollout` "
            "shows what runs.")


def troubleshooter(config: AppConfig, cluster: Cluster, service: str,
                   command: Command) -> Troubleshooting:
    """The Troubleshooting capability of `service`'s executor; DoesNotApply (saying why,
    for `command`) when it has none."""
    executor = executor_of(cluster, service)
    if isinstance(executor, Troubleshooting):
        return executor
    raise DoesNotApply(does_not_apply(config, service, command))

"""One deployment per service and environment at a time, and the refusal that says so.

A deployment is in flight while it is queued, running or being verified (`State.active`).
The database holds at most one such deployment per environment and service (the partial
unique index `uq_deployments_one_active`), so two processes or two clicks can never start
two; `DeploymentBusy` is what the store raises when that index refuses a row, and what the
services raise when they see the deployment in the way before trying.
"""

from __future__ import annotations

from bot.domain.deployment import Deployment, Kind
from bot.domain.states import State
from bot.domain.text import channel_ref
from bot.errors import Conflict

_WHAT = {Kind.DEPLOY: "Deployment", Kind.ROLLBACK: "Rollback", Kind.MIGRATE: "Migration run",
         Kind.FLAG: "Flag change"}
_NOW = {State.QUEUED: "is about to start", State.RUNNING: "is running now",
        State.VERIFYING: "is being verified now"}


def busy_message(active: Deployment | None, *, environment: str, service: str) -> str:
    """"Deployment #12 of api to production is running now (requested by <@U0ALICE>); wait
    for it to finish, or follow it in <#C0DEPLOYS>." """
    if active is None:
        return (f"Another deployment of {service} to {environment} is under way; wait for it "
                "to finish, then try again.")
    what = _WHAT.get(active.kind, "Deployment")
    now = _NOW.get(active.state, "is under way")
    where = channel_ref(active.channel) if active.channel else "the deployments channel"
    return (f"{what} #{active.id} of {service} to {active.where} {now} (requested by "
            f"<@{active.requested_by}>); only one runs at a time per service and "
            f"environment. Wait for it to finish, or follow it in {where}.")


class DeploymentBusy(Conflict):
    """Another deployment of that service to that environment is in flight (`active`; None
    when it finished by the time we looked)."""

    def __init__(self, active: Deployment | None, *, environment: str, service: str,
                 prefix: str = "") -> None:
        super().__init__(prefix + busy_message(active, environment=environment,
                                               service=service))
        self.active = active
        self.environment = environment
        self.service = service

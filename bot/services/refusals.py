"""The refusals of a deployment request that offer a way on: a deploy window that is closed
(the reply offers to queue it for the next window, or, when that version is queued for it
already, names the queued deploy instead) and a downgrade not confirmed (the reply offers
the confirmation naming both versions); and the version that already runs there, read from
the executor now (nothing to deploy: `RunsAlready`, an automatic deploy announces it as a
skip). Raised by the request use cases, rendered by handlers/replies.py."""

from __future__ import annotations

from datetime import tzinfo
from zoneinfo import ZoneInfo

from bot.domain.admission import Downgrade
from bot.domain.commands import DeployArgs
from bot.domain.deployment import Deployment
from bot.domain.live import Live
from bot.domain.policy import PolicyDecision, local
from bot.domain.versions import named
from bot.errors import UserError
from bot.presentation.replies import already_queued

__all__ = ["AlreadyQueued", "DowngradeUnconfirmed", "RunsAlready", "WindowClosed"]

#: Where an executor's answer comes from, as the refusal says it.
_READ_FROM = {"kubernetes": "the cluster", "simulated": "the cluster",
              "github-actions": "its last GitHub Actions deploy run"}


class WindowClosed(UserError):
    """A deploy refused by the schedule or a freeze; carries what to offer instead."""

    def __init__(self, args: DeployArgs, decision: PolicyDecision, zone: tzinfo) -> None:
        self.request = args
        self.decision = decision
        nxt = (f" The next window opens {local(decision.next_allowed_at, zone)}."
               if decision.next_allowed_at else " No window opens in the next 60 days.")
        super().__init__(
            f"Not now: {args.service} {args.version} cannot go to {args.environment} — "
            + "; ".join(decision.reasons) + "." + nxt
        )


class AlreadyQueued(UserError):
    """A deploy refused by the window while the same version waits for that window already
    (`queued`): the answer names it — when it starts, how far its approval is — instead of
    offering to queue a second one."""

    icon = "🗓️"

    def __init__(self, queued: Deployment, zone: ZoneInfo, *, asked_by: str) -> None:
        self.queued = queued
        super().__init__(already_queued(queued, zone, asked_by=asked_by))


class RunsAlready(UserError):
    """A deploy of the version the executor says runs there now (read just now, settled:
    never deploybot's own record): there is nothing to deploy. `finding` is the fact alone
    (an automatic deploy announces it as a skip); the message adds, for Kubernetes, how to
    restart the pods — deploybot has no command for that, and `--force` is for a version
    marked faulty (a deploy of the same image changes nothing either way)."""

    def __init__(self, live: Live, zone: tzinfo, *, executor: str) -> None:
        self.live = live
        where = _READ_FROM.get(executor, "the executor")
        when = (f"since {local(live.since, zone)}, read from {where}" if live.since
                else f"read from {where}, which does not say since when")
        self.finding = (f"`{live.version}` already runs in {live.environment} ({when}): "
                        "nothing to deploy.")
        hint = (" To restart its pods, `kubectl rollout restart` its Deployment (deploybot "
                "has no command for that); a deploy of the same image changes nothing."
                if executor == "kubernetes" else "")
        super().__init__(self.finding + hint)


class DowngradeUnconfirmed(UserError):
    """A deploy of a version older than the live one, not confirmed as a downgrade by
    name; carries what the confirmation button repeats (the request, or the approval)."""

    icon = "⬇️"

    def __init__(self, dg: Downgrade, *, environment: str, service: str,
                 request: DeployArgs | None = None, deployment_id: int | None = None) -> None:
        self.downgrade = dg
        self.request = request
        self.deployment_id = deployment_id
        self.environment, self.service = environment, service
        what = (f"Deployment #{deployment_id} would" if deployment_id is not None
                else "This would")
        if dg.unknown is not None:  # a commit runs, and GitHub could not say its tag
            whether = (f"#{deployment_id}'s `{dg.version}`" if deployment_id is not None
                       else f"`{dg.version}`")
            super().__init__(
                f"I could not tell whether {whether} would downgrade {service} in "
                f"{environment}: it runs commit `{dg.live}`, and GitHub could not be asked "
                f"which tag that is ({dg.unknown.rstrip('.')}). Confirm with the button to "
                "deploy it over that commit anyway, or try again in a minute.")
            return
        super().__init__(
            f"{what} downgrade {service} in {environment}: `{dg.version}` is older than "
            f"{named(dg.live, dg.tag)}, which runs there now. Confirm the downgrade by name "
            "with the button, or deploy a newer version.")

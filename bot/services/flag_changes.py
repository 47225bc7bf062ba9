"""`/flag <environment> <name> on|off|<variant> ["reason"]` (issue 17): change a feature
flag where flagd reads the environment's flags, requested like a deploy and run by the
deployment runner (a deployment of Kind.FLAG: bot.services.runner.flag_runs).

- Who: the environment's deployers; where deploys there need approval, the flag change
  gets the same card, approvers, self-approval rule and expiry.
- When: a flag turned off follows the rollback rule (a closed window or a freeze does not
  block it; nor does someone else's lock); turned on or to a variant, the deploy schedule,
  freezes and locks (bot.domain.flag_changes.acts_as). A closed window refuses at once.
- Checked before a card is posted, each with its own message: an environment whose flags
  are only evaluated over OFREP ("read-only here"), one without flags, a flag that is not
  there (the flags there are listed), a variant it does not have (its variants listed),
  on/off of a flag that is not boolean.
- Which service and thread: a flag change is recorded against a service that declares the
  flag (`services.<name>.flags`) and deploys to the environment, and its end is also told
  in the thread of "the deployment that introduced the flag" (`rollback_of` of the flag
  change): the most recent deploy there whose record lists the flag (the flags read as its
  rollout started, bot.services.flag_snapshots), else the deployment deploybot put live
  there most recently of a service declaring it (`_owner`). The kill switch after
  a failed watch names the failed deployment instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.config.flags import kill_switch_flags
from bot.domain.deployment import Deployment, Kind, NewDeployment
from bot.domain.flag_changes import FlagArgs, FlagParsed, acts_as, flag_request_text, parse_flag
from bot.domain.flags import OFF, FlagChange
from bot.domain.states import State
from bot.errors import Conflict, NotFound, UserError
from bot.ports.flags import FlagStore
from bot.services.deploy_base import DeploymentsBase
from bot.services.runner.flag_runs import view_dict

#: how many of each declaring service's last deployments there are looked at for the one
#: whose record lists the flag
_LOOK_BACK = 10


class FlagsReadOnly(UserError):
    """The environment's flags are evaluated over OFREP only: nothing deploybot can write."""


class FlagChangeService(DeploymentsBase):
    def __init__(self, *, flags: Mapping[str, FlagStore], **kwargs: Any) -> None:
        """`flags`: environment → where its flag definitions are kept (container.flags)."""
        super().__init__(**kwargs)
        self._flags = dict(flags)
        self._kill_switches = kill_switch_flags(self._config)

    def parse(self, text: str) -> FlagParsed:
        return parse_flag(text, environments=self._config.environments.keys())

    def _store_of(self, environment: str) -> FlagStore:
        store = self._flags.get(environment)
        if store is not None:
            return store
        source = self._config.flags.get(environment)
        if source is not None and source.ofrep is not None:
            raise FlagsReadOnly(
                f"The flags of {environment} are read-only here: deploybot evaluates them "
                f"over OFREP ({source.ofrep.url}) but does not know where flagd keeps their "
                f"definitions. Set `flags.{environment}.flagd` in app.yaml to change them "
                "from Slack, or change them where they are kept.")
        raise NotFound(f"No feature flags are configured for {environment}: set "
                       f"`flags.{environment}` in app.yaml.")

    def _declared_by(self, environment: str, flag: str) -> list[str]:
        cfg = self._config
        return [name for name in cfg.services_in(environment)
                if any(ref.name == flag for ref in cfg.services[name].flags)]

    def _owner(self, environment: str, flag: str) -> tuple[str, int | None]:
        """(the service the change is recorded against, the deployment whose thread hears
        of it): the most recent deploy there, of a service declaring the flag, whose record
        lists the flag ("Feature flags set", the flags read as its rollout started); else,
        of the services declaring it, the one deploybot put live there most recently, and
        that deployment; else the first declaring one (no thread)."""
        services = self._declared_by(environment, flag)
        if not services:
            raise UserError(
                f"No service that deploys to {environment} declares flag `{flag}`: declare "
                f"it in app.yaml (`services.<name>.flags`) so that its change is checked "
                "against that service's locks and told in its deployment's thread.")
        with self._store.transaction() as r:
            recent = sorted((d for svc in services for d in r.deployments.history(
                limit=_LOOK_BACK, environment=environment, service=svc)
                if d.kind is Kind.DEPLOY and d.instance is None),
                key=lambda d: d.id, reverse=True)
            for d in recent:
                reading = r.flag_snapshots.get(d.id)
                if reading is not None and any(f.name == flag for f in reading.flags):
                    return d.service, d.id
            live = [(rec.at, rec.deployment_id, svc) for svc in services
                    if (rec := r.deployments.last_put_live(environment, svc)) is not None]
        if not live:
            return sorted(services)[0], None
        _, deployment_id, service = max(live)
        return service, deployment_id

    def kill_switch(self, value: str, *, user_id: str,
                    slack_channel: str | None = None) -> Deployment:
        """"Turn <flag> off" on the card of a deployment whose watch failed (`value`:
        "<deployment id>:<flag>"): `/flag <env> <flag> off "kill switch after failed deploy
        #N"` requested by the clicker, under the same rules (approval where deploys need
        it; off is allowed in a freeze), told in that deployment's thread."""
        number, _, flag = value.partition(":")
        if not number.isdigit() or not flag:
            raise UserError("That button is not one deploybot made.")
        with self._store.transaction() as r:
            failed = self._get(r, int(number))
        if flag not in self._kill_switches.get((failed.service, failed.environment), ()):
            raise UserError(f"`{failed.service}` does not declare `{flag}` as a kill switch in "
                            f"{failed.environment} any more (services.{failed.service}.flags "
                            "in app.yaml).")
        args = FlagArgs(environment=failed.environment, flag=flag, value=OFF,
                        reason=f"kill switch after failed deploy #{failed.id}")
        return self.request_change(args, user_id=user_id, slack_channel=slack_channel,
                                   after=failed)

    def request_change(self, args: FlagArgs, *, user_id: str,
                       slack_channel: str | None = None,
                       after: Deployment | None = None) -> Deployment:
        """Check, record, post the card, and hand it to approval or the runner. `after`:
        the failed deployment whose kill switch this is (its service and thread)."""
        env, flag = args.environment, args.flag
        store = self._store_of(env)
        self._check_may_deploy(user_id, env)
        # The flag as it is now; unknown flag or variant, or on/off of a flag that is not
        # boolean, are refused here with the store's own words (the lists of what exists).
        now = FlagChange(flag, args.value).apply(store.read(), where=store.where)
        thread: int | None
        if after is not None:
            service, thread = after.service, after.id
        else:
            service, thread = self._owner(env, flag)
        at = self._clock.now()
        rule = acts_as(Kind.FLAG, args.value)
        prefix = f"Flag `{flag}` cannot be turned {args.value} in {env} now: "
        self._check_free(env, service, user_id=user_id, at=at, kind=rule, prefix=prefix)
        off = args.value == OFF
        window = (self._policy.check_rollback(env, service, at=at) if off
                  else self._policy.check(env, service, at=at))
        if not window.allowed:
            raise Conflict(f"Not now: turning a flag on (or to a variant) in {env} follows the "
                           f"deploy window, and it is closed — {'; '.join(window.reasons)}. "
                           f"Turning it off is allowed: `/flag {env} {flag} off`.")
        required, expires_at = self._approval_needed(env, emergency=False, service=service,
                                                     kind=rule)
        details: dict[str, object] = {
            "flag": flag, "to": args.value, "reason": args.reason, "where": store.where,
            "service": service, "thread_of": thread, "before": view_dict(now.before),
            "command": flag_request_text(args)}
        if window.reasons:  # off during a freeze or a closed window: overridden, said so
            details["overrides"] = list(window.reasons)
        if after is not None:
            details["kill_switch_after"] = after.id
        with self._store.transaction() as r:
            d = r.deployments.add(NewDeployment(
                service=service, environment=env, version=args.value,
                previous_version=now.before.default_variant,
                state=State.AWAITING_APPROVAL if required else State.QUEUED,
                requested_by=user_id, requested_at=at, approvals_required=required,
                expires_at=expires_at, kind=Kind.FLAG, target=flag, rollback_of=thread))
            r.audit.record("flag.requested", actor=user_id, at=at, deployment_id=d.id,
                           details=details, slack_channel=slack_channel, environment=env)
        d = self._post_card(d)
        if d.state is State.QUEUED:
            self._runner.submit(d.id)
        return d

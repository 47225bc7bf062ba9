"""The use case of `/flags <environment> [service]`: the feature flags the service declares,
as they are where the environment's flags live (bot.services.flag_reads), for the
environment's deployers, every look recorded in the audit log (`flags.viewed`).

A store or flag service deploybot may not read (RBAC 403, a refused token, not flagd's
format) is a PermanentError, told to the user as `Unreadable` with what it was told, as
`/rollout` tells it; one that cannot be reached this time is a RetryableError (try again).
Either is recorded. Callers run this off Slack's ack path."""

from __future__ import annotations

from bot.config import AppConfig
from bot.domain.flag_status import FlagReading
from bot.domain.flags_command import FlagsArgs, FlagsHelpArgs, parse_flags
from bot.errors import Forbidden, PermanentError
from bot.ports import Clock, Store
from bot.services.access import Access
from bot.services.flag_reads import FlagReader
from bot.services.troubleshooting import Unreadable


class FlagsService:
    def __init__(self, *, config: AppConfig, store: Store, access: Access, clock: Clock,
                 reader: FlagReader) -> None:
        self._config = config
        self._store = store
        self._access = access
        self._clock = clock
        self._reader = reader

    def parse(self, text: str) -> FlagsArgs | FlagsHelpArgs:
        cfg = self._config
        return parse_flags(
            text, environments=cfg.environments.keys(),
            services_in={env: cfg.services_in(env) for env in cfg.environments},
            services=cfg.services.keys(), flag_environments=cfg.flags.keys(),
            declaring=[name for name, svc in cfg.services.items() if svc.flags])

    def look(self, args: FlagsArgs, *, user_id: str,
             slack_channel: str | None = None) -> FlagReading:
        env, service = args.environment, args.service
        if not self._access.may_deploy(user_id, env):
            roles = ", ".join(f"`{r}`" for r in self._config.environments[env].deployers)
            raise Forbidden(f"You may not see the feature flags of `{service}` in {env}: that "
                            f"needs the {roles or 'deployers'} role (the environment's "
                            "deployers). Ask a platform admin to add you in app.yaml.")
        details: dict[str, object] = {"service": service, "environment": env}
        try:
            reading = self._reader.read(env, service)
        except Exception as err:
            self._record(user_id, slack_channel, env, details | {
                "ok": False, "error": str(err)[:500]})
            if isinstance(err, PermanentError):
                raise Unreadable(f"deploybot cannot read the feature flags of `{service}` in "
                                 f"{env}: {err}. Nothing was changed. deploybot's own access "
                                 "is set up by the platform team (deploy/, docs/flags.md)."
                                 ) from err
            raise
        if reading is None:  # parse checked both: app.yaml changed under a running bot
            raise PermanentError(f"no flag store nor flag service is built for {env}")
        self._record(user_id, slack_channel, env, details | {
            "ok": True, "source": reading.source, "where": reading.where,
            "missing": reading.missing, "wrong": [f.name for f in reading.wrong]})
        return reading

    def _record(self, user_id: str, slack_channel: str | None, environment: str,
                details: dict[str, object]) -> None:
        with self._store.transaction() as r:
            r.audit.record("flags.viewed", actor=user_id, at=self._clock.now(),
                           slack_channel=slack_channel, environment=environment,
                           details=details)

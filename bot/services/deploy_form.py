"""The `/deploy` form (`/deploy` with no text): opening it with the versions to offer, and
reading a submission into the deploy the typed command would request.

The versions offered for a service with `github:` are its repository's newest tags (as
`bot.services.versions` checks a version against); for the others, or when GitHub does not
answer, the versions deploybot deployed of it lately. The form is opened on the background
pool with the command's trigger_id, which Slack takes for 3 seconds only: a spent trigger is
TriggerExpired (a UserError: the user is told to run the command again).
"""

from __future__ import annotations

import logging

from bot.config import AppConfig
from bot.domain.commands import DeployArgs
from bot.domain.deploy_form import MAX_OFFERED, FormChoices, FormInput, read_form
from bot.errors import PermanentError, RetryableError
from bot.ports import Modals, SourceControl, Store
from bot.presentation.deploy_form_views import deploy_form

log = logging.getLogger("deploybot.deploy_form")

#: How many of a service's last deployments are read for the versions to offer.
HISTORY_READ = 50


class DeployForm:
    def __init__(self, *, config: AppConfig, store: Store, modals: Modals,
                 source: SourceControl | None = None) -> None:
        self._config = config
        self._store = store
        self._modals = modals
        self._source = source

    def open(self, trigger_id: str | None, *, channel_id: str | None) -> str:
        """Open the form for the user whose command sent `trigger_id`; its view id."""
        view = deploy_form(self.choices(), channel_id=channel_id)
        return self._modals.open_modal(trigger_id or "", view)

    def choices(self) -> FormChoices:
        cfg = self._config
        versions: dict[str, tuple[str, ...]] = {}
        versions_from: dict[str, str] = {}
        limit = max(1, min(MAX_OFFERED, 100 // max(1, len(cfg.services))))
        for name, svc in cfg.services.items():
            if svc.github is not None and self._source is not None:
                try:
                    versions[name] = tuple(self._source.tags(svc.github.repository,
                                                             limit=limit))[:limit]
                    versions_from[name] = "tags"
                    continue
                except (RetryableError, PermanentError) as e:
                    log.warning("the form offers %s's deployed versions: GitHub did not "
                                "list its tags (%s)", name, e)
            versions[name] = self._deployed(name, limit)
            versions_from[name] = "history"
        return FormChoices(services=tuple(cfg.services), environments=tuple(cfg.environments),
                           versions=versions, versions_from=versions_from)

    def _deployed(self, service: str, limit: int) -> tuple[str, ...]:
        with self._store.transaction() as r:
            found = r.deployments.history(limit=HISTORY_READ, service=service)
        seen: list[str] = []
        for d in found:
            if d.version and d.version not in seen:
                seen.append(d.version)
        return tuple(seen[:limit])

    def read(self, form: FormInput) -> DeployArgs:
        """The deploy a submission asks for (pure); FormProblems names each bad field."""
        cfg = self._config
        return read_form(
            form, services=cfg.services.keys(), environments=cfg.environments.keys(),
            deploys_to={name: svc.environments or list(cfg.environments)
                        for name, svc in cfg.services.items()},
            version_patterns={k: v.version_pattern for k, v in cfg.services.items()})

"""The `/deploy` form (`/deploy` with no text): opening it with the versions to offer, and
reading a submission into the deploy the typed command would request.

The versions offered for a service with `github:` are its repository's newest tags (as
`bot.services.versions` lists and keeps them for a minute); for the others, or when GitHub
did not list them in time or failed to, the versions deploybot deployed of it lately, and
the form says which services' tags are missing and why. The version can always be typed.
The form is opened on the background pool with the command's trigger_id, which Slack takes
for 3 seconds only, so GitHub is waited for FORM_TAGS_DEADLINE seconds at most, all
repositories at once (bot.services.form_tags; a late answer is kept for the next form). A
spent trigger is TriggerExpired (a UserError: the user is told to run the command again).
"""

from __future__ import annotations

from bot.config import AppConfig
from bot.domain.commands import DeployArgs
from bot.domain.deploy_form import (
    MAX_OFFERED,
    TAGS_FAILED,
    TAGS_LATE,
    FormChoices,
    FormInput,
    read_form,
)
from bot.ports import Modals, Store
from bot.presentation.deploy_form_views import deploy_form
from bot.services.form_tags import FORM_TAGS_DEADLINE, FormTags
from bot.services.versions import VersionCheck

#: How many of a service's last deployments are read for the versions to offer.
HISTORY_READ = 50


class DeployForm:
    """`versions`: the services' repositories (None: no service has `github:`); `deadline`:
    the seconds GitHub's tag lists are waited for, in all (None: FORM_TAGS_DEADLINE)."""

    def __init__(self, *, config: AppConfig, store: Store, modals: Modals,
                 versions: VersionCheck | None = None,
                 deadline: float | None = None) -> None:
        self._config = config
        self._store = store
        self._modals = modals
        self._tags = (FormTags(versions, deadline=deadline or FORM_TAGS_DEADLINE)
                      if versions is not None else None)

    def open(self, trigger_id: str | None, *, channel_id: str | None) -> str:
        """Open the form for the user whose command sent `trigger_id`; its view id."""
        view = deploy_form(self.choices(), channel_id=channel_id)
        return self._modals.open_modal(trigger_id or "", view)

    def choices(self) -> FormChoices:
        cfg = self._config
        versions: dict[str, tuple[str, ...]] = {}
        versions_from: dict[str, str] = {}
        missing: dict[str, str] = {}
        limit = max(1, min(MAX_OFFERED, 100 // max(1, len(cfg.services))))
        repos = {name: svc.github.repository for name, svc in cfg.services.items()
                 if svc.github is not None}
        tags = self._tags.read(set(repos.values())) if self._tags and repos else {}
        for name in cfg.services:
            listed = tags.get(repos[name]) if name in repos else None
            if isinstance(listed, tuple):
                versions[name], versions_from[name] = listed[:limit], "tags"
                continue
            if name in repos and self._tags is not None:
                missing[name] = TAGS_LATE if listed is None else TAGS_FAILED
            versions[name], versions_from[name] = self._deployed(name, limit), "history"
        return FormChoices(services=tuple(cfg.services), environments=tuple(cfg.environments),
                           versions=versions, versions_from=versions_from,
                           tags_missing=missing)

    def settle(self, timeout: float | None = None) -> bool:
        """Wait until GitHub's late tag lists are in (kept for the next form); False on
        `timeout`."""
        return self._tags.settle(timeout) if self._tags is not None else True

    def shutdown(self) -> None:
        if self._tags is not None:
            self._tags.shutdown()

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

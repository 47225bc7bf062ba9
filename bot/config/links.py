"""The schema of `links:` (issue 16), the same under `services.<name>` and
`environments.<name>`: link name → URL template, e.g. `dashboard:
https://grafana.acme.test/d/svc?var-service={service}&var-env={environment}`. Names and
templates are checked when app.yaml is loaded (bot.domain.links says what they may hold), so
an unknown placeholder stops the bot at start with the file, the key and why."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from pydantic import AfterValidator, Field

from bot.config.base import keyed
from bot.domain.links import LinkCatalog, name_problem, template_problem

if TYPE_CHECKING:  # app.py imports this module (through services and environments)
    from bot.config.app import AppConfig


def _template(v: str) -> str:
    problem = template_problem(v)
    if problem is not None:
        raise ValueError(problem)
    return v


def _names(v: dict[str, str]) -> dict[str, str]:
    for name in v:
        problem = name_problem(str(name))
        if problem is not None:
            raise ValueError(problem)
    return v


LinkTemplate = Annotated[str, AfterValidator(_template)]
Links = Annotated[dict[str, LinkTemplate], AfterValidator(_names)]


def links_field(where: str) -> Any:
    """The `links:` field of a service or an environment (`where` says whose)."""
    return Field(
        default_factory=dict,
        description=f"{where}: name -> URL (http or https) shown on the card, in the "
        "record's post-deployment section, in failure announcements and in alerts "
        "(PagerDuty, the alert channels, the daily summary). dashboard, runbook and logs "
        "come first in that order, any other name after them alphabetically; {service}, "
        "{environment} and {version} are replaced by the deployment's (URL-encoded), any "
        "other {…} is refused at load (write a literal brace as %7B / %7D); a service's "
        "link overrides its environment's of the same name",
        json_schema_extra=keyed("link"),
    )


def link_catalog(config: AppConfig) -> LinkCatalog:
    """Every `links:` of app.yaml, for bot.domain.links to resolve."""
    return LinkCatalog(
        environments={name: env.links for name, env in config.environments.items()
                      if env.links},
        services={name: svc.links for name, svc in config.services.items() if svc.links},
    )

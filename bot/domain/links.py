"""A service's links (issue 16), pure: the dashboard, runbook, logs and any named link
app.yaml gives a service and an environment, with `{service}`, `{environment}` and
`{version}` placeholders.

This module owns:

- what a link template may hold (`template_problem`): an http(s) URL whose only `{…}` are
  the three placeholders (a literal brace is written %7B / %7D, as a URL writes it);
- `LinkCatalog.resolve`: the links of one service in one environment at one version — the
  environment's links (for every service there), a service's own link of the same name
  overriding one — in a stable order (dashboard, runbook, logs, then the others by name),
  each placeholder replaced by its value URL-encoded (`v1.2.3+build` → `v1.2.3%2Bbuild`).

The card, the record, the failure announcements and the alerts show what `resolve` gives
(bot.presentation.link_views says how).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

PLACEHOLDERS = ("service", "environment", "version")
#: The links every service may have, first and in this order; any other name follows.
STANDARD = ("dashboard", "runbook", "logs")
_LABELS = {"dashboard": "Dashboard", "runbook": "Runbook", "logs": "Logs"}

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
_BRACED = re.compile(r"\{([^{}]*)\}")
_PLACEHOLDER = re.compile(r"\{(" + "|".join(PLACEHOLDERS) + r")\}")
_SPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f\x7f]")


def name_problem(name: str) -> str | None:
    """Why `name` cannot name a link (None: it can)."""
    if _NAME.match(name):
        return None
    return (f"{name!r} is not a link name (lowercase letters, digits, - and _, at most 40; "
            "e.g. dashboard, runbook, logs, error_budget)")


def template_problem(template: str) -> str | None:
    """Why `template` is not a link (None: it is): an http or https URL with a host, no
    spaces, and no placeholder but {service}, {environment} and {version}."""
    for m in _BRACED.finditer(template):
        if m.group(1) not in PLACEHOLDERS:
            return (f"unknown placeholder {{{m.group(1)}}} in {template!r} (use {{service}}, "
                    "{environment} or {version}; write a literal brace as %7B or %7D)")
    rest = _BRACED.sub("", template)
    if "{" in rest or "}" in rest:
        return (f"a brace that opens no placeholder in {template!r} (placeholders are "
                "{service}, {environment} and {version}; write a literal brace as %7B or "
                "%7D)")
    if _SPACE_OR_CONTROL.search(template):
        return f"{template!r} is not a URL: it has a space or a control character"
    try:
        parts = urlsplit(_PLACEHOLDER.sub("x", template))
    except ValueError as e:
        return f"{template!r} is not a URL: {e}"
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return f"{template!r} is not an http:// or https:// URL"
    return None


def label(name: str) -> str:
    """How a link is called where it is shown: Dashboard, Runbook, Logs; another name with
    its first letter capitalised and - or _ as spaces (error_budget → Error budget)."""
    if name in _LABELS:
        return _LABELS[name]
    words = name.replace("_", " ").replace("-", " ")
    return words[:1].upper() + words[1:]


@dataclass(frozen=True)
class Link:
    name: str  # as app.yaml names it: dashboard, runbook, logs, error_budget, …
    url: str  # the placeholders replaced

    @property
    def label(self) -> str:
        return label(self.name)


def _order(name: str) -> tuple[int, str]:
    return (STANDARD.index(name), "") if name in STANDARD else (len(STANDARD), name)


def fill(template: str, values: Mapping[str, str]) -> str:
    """`template` with each placeholder replaced by its value, URL-encoded (every character
    but letters, digits and `-._~` percent-encoded, so a value never changes the URL's
    structure)."""
    return _PLACEHOLDER.sub(lambda m: quote(values[m.group(1)], safe=""), template)


@dataclass(frozen=True)
class LinkCatalog:
    """Every link template app.yaml holds: by environment (for every service there) and by
    service (in every environment)."""

    environments: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    services: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def resolve(self, service: str, environment: str,
                version: str | None) -> tuple[Link, ...]:
        """The links of `service` in `environment` at `version`, in order (dashboard,
        runbook, logs, then the others by name). Without a version (a deploy request a lock
        refused: nothing was deployed), a link that needs {version} is left out."""
        templates = {**self.environments.get(environment, {}),
                     **self.services.get(service, {})}
        values = {"service": service, "environment": environment}
        if version is not None:
            values["version"] = version
        out: list[Link] = []
        for name in sorted(templates, key=_order):
            template = templates[name]
            if version is None and "{version}" in template:
                continue
            out.append(Link(name, fill(template, values)))
        return tuple(out)


#: No links anywhere (a config without `links:`, and the default of everything shown).
NO_LINKS = LinkCatalog()

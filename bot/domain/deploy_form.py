"""The `/deploy` form (the modal `/deploy` with no text opens): what it offers and how a
submission reads. Pure: the submission's fields (already taken out of Slack's payload) are
checked as the typed `/deploy <service> <environment> <version> --emergency "reason"` is,
and each problem is named against the field it is about (Slack shows it under the field).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from bot.domain.commands import MAX_REASON, MAX_VERSION, DeployArgs
from bot.domain.forms import REASON, FormProblems
from bot.domain.text import clip
from bot.domain.versions import leading_zero_problem, two_spellings

#: The most versions a form offers for one service (Slack: 100 options in a select at most).
MAX_OFFERED = 10

#: Why a service with `github:` offers its deployed versions instead of its tags: GitHub did
#: not answer within the form's deadline, or answered with an error.
TAGS_LATE, TAGS_FAILED = "late", "failed"

#: The form's fields, named as the submission's problems are keyed.
SERVICE, ENVIRONMENT, VERSION, VERSION_TYPED, EMERGENCY = (
    "service", "environment", "version", "version_typed", "emergency")


@dataclass(frozen=True)
class FormChoices:
    """What the form offers: the services, the environments, and per service the versions
    (its repository's tags, newest first, or the versions deploybot deployed lately — for a
    service with `github:`, only when its tags did not come: `tags_missing` says why)."""

    services: tuple[str, ...]
    environments: tuple[str, ...]
    versions: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    versions_from: Mapping[str, str] = field(default_factory=dict)  # "tags" | "history"
    # a service with `github:` whose tags are not offered: why (TAGS_LATE | TAGS_FAILED)
    tags_missing: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FormInput:
    """A submission's fields, as typed or picked (None: left empty)."""

    service: str | None
    environment: str | None
    picked_version: str | None  # "<service> <version>", the value of an offered version
    typed_version: str | None
    emergency: bool
    reason: str | None


def picked_value(service: str, version: str) -> str:
    """The value of an offered version: which service's list it is from, and the version."""
    return f"{service} {version}"


def read_form(form: FormInput, *, services: Collection[str], environments: Collection[str],
              deploys_to: Mapping[str, Collection[str]],
              version_patterns: Mapping[str, str]) -> DeployArgs:
    """The deploy the form asks for, or FormProblems naming each bad field."""
    problems: dict[str, str] = {}
    service = (form.service or "").strip()
    environment = (form.environment or "").strip()
    if service not in services:
        problems[SERVICE] = ("Pick a service." if not service
                             else f"{_quoted(service)} is not a service.")
    if environment not in environments:
        problems[ENVIRONMENT] = ("Pick an environment." if not environment
                                 else f"{_quoted(environment)} is not an environment.")
    elif service in services and environment not in deploys_to[service]:
        envs = ", ".join(sorted(deploys_to[service]))
        problems[ENVIRONMENT] = (f"{service} is not deployed to {environment} "
                                 f"(it deploys to {envs}).")
    version = _version(form, service, problems, version_patterns)
    reason = (form.reason or "").strip() or None
    if form.emergency and reason is None:
        problems[REASON] = "An emergency deploy needs its reason (it is announced and audited)."
    elif reason is not None and not form.emergency:
        problems[REASON] = "A reason is for an emergency deploy: tick Emergency or clear it."
    elif reason is not None and len(reason) > MAX_REASON:
        problems[REASON] = (f"The reason is {len(reason)} characters long; "
                            f"the limit is {MAX_REASON}.")
    if problems:
        raise FormProblems(problems)
    assert version is not None
    return DeployArgs(service=service, environment=environment, version=version,
                      emergency_reason=reason if form.emergency else None)


def _quoted(value: str) -> str:
    """User input in a field's error: Slack shows those as plain text (no mrkdwn to escape),
    so only clipped and kept on one line."""
    return "\u201c" + clip(" ".join(value.split()), 40) + "\u201d"


_VERSION_WORD = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")


def _version(form: FormInput, service: str, problems: dict[str, str],
             patterns: Mapping[str, str]) -> str | None:
    typed = (form.typed_version or "").strip()
    picked = (form.picked_version or "").strip()
    if typed and picked:
        problems[VERSION_TYPED] = "Pick a version or type one, not both."
        return None
    if picked:
        from_service, _, version = picked.partition(" ")
        if service and from_service != service:
            problems[VERSION] = (f"{_quoted(version)} is a version of {from_service}; pick one "
                                 f"of {service}'s or type it.")
            return None
        where = VERSION
    elif typed:
        version, where = typed, VERSION_TYPED
    else:
        problems[VERSION_TYPED] = "Pick a version or type one."
        return None
    if len(version) > MAX_VERSION:
        problems[where] = (f"The version is {len(version)} characters long; "
                           f"the limit is {MAX_VERSION}.")
    elif not _VERSION_WORD.match(version):
        problems[where] = (f"{_quoted(version)} is not a version: only letters, digits and "
                           ". _ + - are allowed.")
    elif service in patterns and not re.fullmatch(patterns[service], version):
        problems[where] = (f"{_quoted(version)} is not a valid version for {service} (expected "
                           f"a match of {patterns[service]}, e.g. v1.2.3).")
    elif service in patterns and (canonical := two_spellings(version,
                                                             patterns[service])) is not None:
        problems[where] = leading_zero_problem(version, canonical, quote="“")
    else:
        return version
    return None

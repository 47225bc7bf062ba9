"""The /deploy form's submission read as the typed command is checked (bot.domain.deploy_form):
pure, each problem keyed by its field."""

from __future__ import annotations

from typing import Any

import pytest

from bot.domain.commands import DeployArgs
from bot.domain.deploy_form import FormInput, read_form
from bot.domain.forms import FormProblems

KNOWN: dict[str, Any] = {
    "services": ("api", "web"), "environments": ("staging", "production"),
    "deploys_to": {"api": ("staging", "production"), "web": ("staging",)},
    "version_patterns": {"api": r"v\d+\.\d+\.\d+", "web": r"w\d+"},
}


def form(**kw: Any) -> FormInput:
    fields: dict[str, Any] = {"service": "api", "environment": "production",
                              "picked_version": None, "typed_version": "v1.2.3",
                              "emergency": False, "reason": None}
    fields.update(kw)
    return FormInput(**fields)


def problems(f: FormInput) -> dict[str, str]:
    with pytest.raises(FormProblems) as e:
        read_form(f, **KNOWN)
    return e.value.problems


def test_a_typed_version_and_a_picked_one_read_as_the_deploy() -> None:
    assert read_form(form(), **KNOWN) == DeployArgs("api", "production", "v1.2.3")
    assert read_form(form(picked_version="api v1.2.2", typed_version=None), **KNOWN) == \
        DeployArgs("api", "production", "v1.2.2")
    assert read_form(form(emergency=True, reason="  db down "), **KNOWN) == \
        DeployArgs("api", "production", "v1.2.3", emergency_reason="db down")


def test_every_bad_field_is_named_at_once() -> None:
    found = problems(form(service=None, environment=None, typed_version=None,
                          emergency=True))
    assert set(found) == {"service", "environment", "version_typed", "reason"}


@pytest.mark.parametrize(("f", "field", "says"), [
    (form(service="db"), "service", "“db” is not a service."),
    (form(service="web", typed_version="w1"), "environment",
     "web is not deployed to production (it deploys to staging)."),
    (form(picked_version="web w1", typed_version=None), "version",
     "“w1” is a version of web; pick one of api's or type it."),
    (form(typed_version="<!channel>"), "version_typed", "is not a version"),
    (form(typed_version="v01.2.3"), "version_typed",
     "“v01.2.3” writes a number with a leading zero, which a semantic version does not "
     "(semver.org §2): did you mean “v1.2.3”? Both would name one version."),
    (form(reason="x"), "reason", "tick Emergency"),
    (form(emergency=True, reason="x" * 301), "reason", "301 characters long"),
])
def test_a_bad_field_says_what_is_wrong(f: FormInput, field: str, says: str) -> None:
    found = problems(f)
    assert list(found) == [field]
    assert says in found[field]

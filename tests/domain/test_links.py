"""bot.domain.links: a link template's problems, and the links of a service in an
environment at a version — in a stable order, placeholders URL-encoded, a service's link
overriding its environment's."""

from __future__ import annotations

import pytest

from bot.domain.links import Link, LinkCatalog, label, name_problem, template_problem

CATALOG = LinkCatalog(
    environments={"production": {
        "logs": "https://logs.acme.test/{environment}/{service}",
        "zeta": "https://zeta.acme.test/",
        "dashboard": "https://grafana.acme.test/d/x?svc={service}&v={version}",
    }},
    services={"api": {
        "alpha": "https://alpha.acme.test/{service}",
        "runbook": "https://runbooks.internal.com/{service}",
        "logs": "https://kibana.acme.test/app/discover#/?q=version:{version}",
    }},
)


def test_the_order_is_dashboard_runbook_logs_then_the_others_by_name() -> None:
    assert [x.name for x in CATALOG.resolve("api", "production", "v1")] == [
        "dashboard", "runbook", "logs", "alpha", "zeta"]


def test_a_services_link_overrides_its_environments_of_the_same_name() -> None:
    links = {x.name: x.url for x in CATALOG.resolve("api", "production", "v1.2.3")}
    assert links["logs"] == "https://kibana.acme.test/app/discover#/?q=version:v1.2.3"
    other = {x.name: x.url for x in CATALOG.resolve("web", "production", "v1.2.3")}
    assert other["logs"] == "https://logs.acme.test/production/web"


def test_placeholder_values_are_url_encoded() -> None:
    (dashboard, *_) = CATALOG.resolve("api", "production", "v1.2.3+build.7/x&y=1 #2")
    assert dashboard.url == ("https://grafana.acme.test/d/x?svc=api"
                             "&v=v1.2.3%2Bbuild.7%2Fx%26y%3D1%20%232")


def test_without_a_version_a_link_needing_one_is_left_out() -> None:
    # a deploy request a lock refused: nothing was deployed, there is no version
    assert [x.name for x in CATALOG.resolve("api", "production", None)] == [
        "runbook", "alpha", "zeta"]


def test_no_links_for_a_service_and_environment_nobody_configured() -> None:
    assert CATALOG.resolve("web", "staging", "v1") == ()
    assert LinkCatalog().resolve("api", "production", "v1") == ()


def test_labels() -> None:
    assert [label(n) for n in ("dashboard", "runbook", "logs", "error_budget", "on-call")] \
        == ["Dashboard", "Runbook", "Logs", "Error budget", "On call"]
    assert Link("sentry", "https://s.test").label == "Sentry"


@pytest.mark.parametrize("template", [
    "https://grafana.acme.test/d/{service}?env={environment}&v={version}",
    "http://localhost:3000/",
    "https://{environment}.grafana.acme.test/",
    "https://grafana.acme.test/explore?expr=%7Bjob%3D%22api%22%7D",
])
def test_good_templates(template: str) -> None:
    assert template_problem(template) is None


@pytest.mark.parametrize(("template", "problem"), [
    ("https://g.test/{svc}", "unknown placeholder {svc}"),
    ("https://g.test/{}", "unknown placeholder {}"),
    ("https://g.test/{service}}", "a brace that opens no placeholder"),
    ("https://g.test/{{service}}", "a brace that opens no placeholder"),
    ("mailto:oncall@acme.test", "is not an http:// or https:// URL"),
    ("javascript:alert(1)", "is not an http:// or https:// URL"),
    ("/relative/{service}", "is not an http:// or https:// URL"),
    ("https://g.test/a\tb", "has a space or a control character"),
    ("https://[::1/", "is not a URL"),
])
def test_bad_templates(template: str, problem: str) -> None:
    found = template_problem(template)
    assert found is not None and problem in found, found


@pytest.mark.parametrize(("name", "ok"), [
    ("dashboard", True), ("error_budget", True), ("on-call2", True),
    ("Dashboard", False), ("", False), ("-x", False), ("a" * 41, False), ("two words", False),
])
def test_link_names(name: str, ok: bool) -> None:
    assert (name_problem(name) is None) is ok

"""`links:` of services and environments (issue 16): checked when app.yaml is loaded — an
http(s) URL, only {service} {environment} {version}, a link name — each problem naming the
file, the key and the reason; resolved with a service's link overriding its environment's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.config import ConfigError, load_config, parse_config
from bot.config.links import link_catalog
from bot.domain.links import Link
from tests.conftest import base_config

APP_YAML = Path(__file__).resolve().parents[2] / "app.yaml"


def with_links(*, service: dict[str, str] | None = None,
               production: dict[str, str] | None = None) -> dict[str, Any]:
    envs: dict[str, Any] = {"staging": {}, "production": {}}
    if production is not None:
        envs["production"] = {"links": production}
    return base_config(environments=envs,
                       services={"api": {"links": service} if service is not None else {},
                                 "web": {}})


def load_error(tmp_path: Path, data: dict[str, Any]) -> ConfigError:
    path = tmp_path / "app.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.path == str(path)
    assert "\n" not in str(info.value)
    return info.value


def test_links_load_and_resolve_with_the_services_overriding_the_environments() -> None:
    cfg = parse_config(with_links(
        production={"dashboard": "https://grafana.acme.test/d/prod?var-service={service}",
                    "runbook": "https://wiki.acme.test/runbooks/prod"},
        service={"runbook": "https://runbooks.internal.com/{service}",
                 "sentry": "https://sentry.acme.test/{service}?environment={environment}",
                 "logs": "https://logs.acme.test/?q=version:{version}",
                 "alerts": "http://alertmanager.acme.test/#/alerts?receiver={service}"}))
    links = link_catalog(cfg)
    assert links.resolve("api", "production", "v1.2.3") == (
        Link("dashboard", "https://grafana.acme.test/d/prod?var-service=api"),
        Link("runbook", "https://runbooks.internal.com/api"),  # the service's wins
        Link("logs", "https://logs.acme.test/?q=version:v1.2.3"),
        Link("alerts", "http://alertmanager.acme.test/#/alerts?receiver=api"),
        Link("sentry", "https://sentry.acme.test/api?environment=production"),
    )
    # the environment's links are every service's there; none in staging for `web`
    assert links.resolve("web", "production", "v2.0.0") == (
        Link("dashboard", "https://grafana.acme.test/d/prod?var-service=web"),
        Link("runbook", "https://wiki.acme.test/runbooks/prod"),
    )
    assert links.resolve("web", "staging", "v2.0.0") == ()


def test_no_links_is_the_default() -> None:
    cfg = parse_config(base_config())
    assert cfg.services["api"].links == {} and cfg.environments["staging"].links == {}
    assert link_catalog(cfg).resolve("api", "production", "v1.2.3") == ()


def test_the_shipped_app_yaml_has_a_dashboard_a_runbook_and_logs() -> None:
    links = link_catalog(load_config(APP_YAML))
    assert [(x.label, x.url) for x in links.resolve("api", "production", "v1.2.4")] == [
        ("Dashboard", "https://grafana.example.com/d/deploys?var-service=api&var-env=production"),
        ("Runbook", "https://runbooks.internal.com/api"),
        ("Logs", "https://grafana.example.com/explore?service=api&env=production&version=v1.2.4"),
    ]


@pytest.mark.parametrize(("data", "key", "reason"), [
    (with_links(service={"dashboard": "https://grafana.acme.test/d/{svc}"}),
     "services.api.links.dashboard", "unknown placeholder {svc}"),
    (with_links(production={"logs": "https://logs.acme.test/{Service}"}),
     "environments.production.links.logs", "unknown placeholder {Service}"),
    (with_links(service={"logs": "https://logs.acme.test/?q={service"}),
     "services.api.links.logs", "a brace that opens no placeholder"),
    (with_links(service={"dashboard": "grafana.acme.test/d/api"}),
     "services.api.links.dashboard", "is not an http:// or https:// URL"),
    (with_links(service={"dashboard": "ftp://files.acme.test/{service}"}),
     "services.api.links.dashboard", "is not an http:// or https:// URL"),
    (with_links(service={"dashboard": "https:///no-host"}),
     "services.api.links.dashboard", "is not an http:// or https:// URL"),
    (with_links(service={"runbook": "https://wiki.acme.test/run book"}),
     "services.api.links.runbook", "has a space or a control character"),
    (with_links(service={"Grafana Board": "https://grafana.acme.test/"}),
     "services.api.links", "'Grafana Board' is not a link name"),
])
def test_a_bad_link_names_the_file_the_key_and_why(tmp_path: Path, data: dict[str, Any],
                                                    key: str, reason: str) -> None:
    err = load_error(tmp_path, data)
    assert err.key == key
    assert reason in err.reason, err.reason


def test_the_unknown_placeholder_message_says_what_may_be_used(tmp_path: Path) -> None:
    err = load_error(tmp_path, with_links(service={"dashboard": "https://g.test/{env}"}))
    assert err.reason == ("unknown placeholder {env} in 'https://g.test/{env}' (use "
                          "{service}, {environment} or {version}; write a literal brace as "
                          "%7B or %7D)")


def test_a_literal_brace_is_written_percent_encoded() -> None:
    cfg = parse_config(with_links(
        service={"logs": "https://grafana.acme.test/explore?expr=%7Bapp%3D%22{service}%22%7D"}))
    (link,) = link_catalog(cfg).resolve("api", "staging", "v1.2.3")
    assert link.url == "https://grafana.acme.test/explore?expr=%7Bapp%3D%22api%22%7D"

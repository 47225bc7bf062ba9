"""examples/: each configuration is complete (it loads as app.yaml would) and says what its
comments say; the GitHub Actions workflow declares what the config dispatches it with. The
shipped app.yaml stays the short guide: what these examples add is off there."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.backends.github.executor import RUN_NAME
from bot.config import AppConfig, load_config
from bot.config.links import link_catalog
from bot.domain.severity import Severity

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
CONFIGS = sorted(EXAMPLES.glob("*.yaml"))


def example(name: str) -> AppConfig:
    return load_config(EXAMPLES / name)


def test_the_examples_are_there() -> None:
    assert [p.name for p in CONFIGS] == ["alerts.yaml", "feature-flags.yaml",
                                         "github-actions.yaml", "kubernetes.yaml"]


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_each_example_is_a_complete_config(path: Path) -> None:
    cfg = load_config(path)
    assert cfg.timezone == "America/New_York"
    assert cfg.slack.deployments_channel == "#deployments"
    assert cfg.services, "an example deploys something"


def test_the_kubernetes_example() -> None:
    cfg = example("kubernetes.yaml")
    assert (cfg.kubernetes.in_cluster, cfg.kubernetes.contexts) == (
        False, {"staging": "staging-cluster", "production": "prod-cluster"})
    web = cfg.services["web"]
    assert web.executor == "kubernetes" and web.kubernetes is not None
    assert web.kubernetes.image == "ghcr.io/acme/web:{version}"
    assert web.kubernetes.namespaces == {"production": "web-prod"}
    assert web.kubernetes.progress_deadline == timedelta(minutes=10)
    assert web.kubernetes.jobs.service_account == "web-migrator"
    assert web.kubernetes.jobs.env == {"DJANGO_SETTINGS_MODULE": "web.settings_migrate"}
    # the migrations Job, /migrations and /migrate, and the production backup
    assert web.migrations is not None
    assert web.migrations.status_command == ["python", "manage.py", "showmigrations"]
    assert web.migrations.command_to(("orders", "0042")) == [
        "python", "manage.py", "migrate", "orders", "0042"]
    assert web.migrations.backup_in("production") is not None
    assert web.migrations.backup_in("staging") is None
    # automatic deploys of main to staging, a preview per pull request in development
    assert web.github is not None and web.github.repository == "acme/web"
    assert web.github.auto_deploy == {"main": "staging"}
    assert web.github.pull_requests is not None and web.github.per_pr
    assert web.github.pull_requests.environment == "development"
    # the guide's watch of production: 5 minutes, smoke test, error rate, automatic rollback
    prod = cfg.environments["production"]
    assert (prod.bake, prod.auto_rollback) == (timedelta(minutes=5), True)
    assert [(c.url, c.expect_status) for c in prod.verify.smoke] == [
        ("https://api.example.com/healthz", 200)]
    assert prod.verify.prometheus is not None and prod.verify.prometheus.max == 0.05
    assert prod.promote_from == "staging"


def _workflow() -> dict[Any, Any]:
    data = yaml.safe_load((EXAMPLES / "workflows" / "deploy.yml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_the_github_actions_example() -> None:
    cfg = example("github-actions.yaml")
    worker = cfg.services["worker"]
    assert worker.executor == "github-actions" and worker.github is not None
    actions = worker.github.actions
    assert actions is not None
    assert (worker.github.repository, actions.workflow, actions.ref) == (
        "acme/worker", "deploy.yml", "main")
    assert actions.inputs == {"environment": "{environment}", "version": "{version}",
                              "deploybot_run": "{run_key}"}
    assert (actions.timeout, actions.poll_every) == (timedelta(minutes=30),
                                                     timedelta(seconds=10))
    # the checklist: the guide's CI stages are the required checks
    assert worker.github.required_checks == ["build", "test", "security", "quality"]
    assert worker.github.migration_paths == ["migrations/"]
    assert cfg.checklist is not None
    assert [str(i) for i in cfg.checklist.items] == [
        "tests", "reviews", "migrations", "feature_flags", "monitoring", "rollback_plan"]
    assert {str(k): v for k, v in cfg.checklist.required_in.items()} == {
        "monitoring": ["production"], "tests": ["staging", "production"]}
    assert cfg.environments["production"].checklist_attestation == "approver"
    # a GitHub App's installation; polling only where webhooks cannot arrive
    assert cfg.github.app is not None and cfg.github.app.installation_id == 12345678
    assert (cfg.github.poll, cfg.github.poll_every) == ("auto", timedelta(seconds=60))


def test_the_example_workflow_takes_what_the_github_actions_example_dispatches() -> None:
    actions = example("github-actions.yaml").services["worker"].github.actions  # type: ignore[union-attr]
    assert actions is not None
    wf = _workflow()
    # PyYAML reads the key `on` as the boolean true (YAML 1.1); GitHub reads it as "on".
    trigger = wf["on"] if "on" in wf else wf[True]
    assert set(trigger["workflow_dispatch"]["inputs"]) == set(actions.inputs)
    # the title deploybot finds its run by, and reads the environment from
    assert wf["run-name"] == RUN_NAME


def test_the_alerts_example_routes_as_the_guide_says() -> None:
    cfg = example("alerts.yaml")
    assert {sev: [str(d) for d in ds] for sev, ds in cfg.alerts.destinations().items()} == {
        Severity.CRITICAL: ["pagerduty", "slack:#ops-alerts"],
        Severity.HIGH: ["slack:#ops-alerts"], Severity.MEDIUM: ["slack:#engineering"],
        Severity.LOW: ["summary"]}
    assert cfg.alerts.pagerduty.source == "deploybot"
    assert cfg.alerts.pagerduty.events_url == "https://events.pagerduty.com/v2/enqueue"
    assert cfg.alerts.email is not None
    assert cfg.alerts.email.send_at.isoformat() == "17:00:00"
    assert cfg.alerts.email.to == ["engineering@example.com"]
    assert (cfg.alerts.attempts, cfg.alerts.backoff) == (4, timedelta(seconds=2))
    assert cfg.announcements.mentions == {Severity.CRITICAL: "<!subteam^S0ONCALL>",
                                          Severity.HIGH: "<!here>"}
    # production by its flag, not its name
    assert cfg.production_environments() == frozenset({"prod"})


def test_the_alerts_example_links_each_alert_to_the_dashboards_runbook_and_logs() -> None:
    links = link_catalog(example("alerts.yaml"))
    # prod's dashboard for every service there; api's own links in every environment
    assert [(x.label, x.url) for x in links.resolve("api", "prod", "v1.2.3")] == [
        ("Dashboard", "https://grafana.example.com/d/prod?var-service=api"),
        ("Runbook", "https://runbooks.internal.com/api"),
        ("Logs", "https://logs.example.com/search?q=service:api+env:prod"),
        ("Error budget", "https://slo.example.com/prod/api"),
    ]
    assert [x.name for x in links.resolve("api", "staging", "v1.2.3")] == [
        "runbook", "logs", "error_budget"]


def test_the_feature_flags_example_keeps_flags_where_flagd_reads_them() -> None:
    cfg = example("feature-flags.yaml")
    production, staging = cfg.flags["production"], cfg.flags["staging"]
    assert production.flagd is not None and production.flagd.feature_flag is not None
    assert (production.flagd.feature_flag.name,
            production.flagd.feature_flag.namespace) == ("checkout-flags", "production")
    assert production.ofrep is not None and production.ofrep.token_env == "FLAGS_PROD_TOKEN"
    assert staging.flagd is not None and staging.flagd.configmap is not None
    assert staging.flagd.configmap.key == "flags.json" and staging.ofrep is None
    flags = cfg.services["checkout"].flags
    assert [(f.name, f.expect, f.kill_switch) for f in flags] == [
        ("new-checkout", None, False), ("checkout-v2-payments", "off", True),
        ("banner-color", "blue", False)]


def test_the_shipped_app_yaml_leaves_the_examples_extras_off() -> None:
    cfg = load_config(ROOT / "app.yaml")
    assert cfg.flags == {}
    assert cfg.alerts.routes == {} and cfg.alerts.email is None
    assert cfg.checklist is None
    assert [s.executor for s in cfg.services.values()] == ["simulated"]

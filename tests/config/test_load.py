"""app.yaml: the shipped file loads; every problem names the file, the key and the reason."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.config import (
    DEFAULT_VERSION_PATTERN,
    AppConfig,
    ConfigError,
    SeverityConfig,
    load_config,
    parse_config,
    parse_duration,
)
from bot.domain.schedule import guide_schedule
from bot.domain.severity import DEFAULT_SEVERITY, Outcome, Severity
from tests.conftest import base_config

APP_YAML = Path(__file__).resolve().parents[2] / "app.yaml"


def write(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "app.yaml"
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data), encoding="utf-8")
    return path


def load_error(tmp_path: Path, data: Any) -> ConfigError:
    path = write(tmp_path, data)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    err = info.value
    assert err.path == str(path)
    assert str(err).startswith(f"{path}: ")
    assert "\n" not in str(err)
    return err


# -- the shipped file ----------------------------------------------------------------------

def test_the_shipped_app_yaml_loads() -> None:
    cfg = load_config(APP_YAML)
    assert isinstance(cfg, AppConfig)
    assert cfg.timezone == "America/New_York"
    assert cfg.zone.key == "America/New_York"
    assert cfg.slack.deployments_channel == "#deployments"
    assert cfg.roles == {"deployers": ["U0ALICE", "U0BOB", "U0CAROL"],
                         "approvers": ["U0BOB", "U0CAROL"],
                         "emergency_approvers": ["U0CAROL"],
                         "freeze_managers": ["U0CAROL"],
                         "auditors": ["U0CAROL"],
                         "log_viewers": ["U0BOB", "U0CAROL"]}
    assert cfg.audit.viewers == ["auditors"]
    # production logs (/logs) for the log viewers only, and never into the channel
    assert cfg.environments["production"].logs.viewers == ["log_viewers"]
    assert cfg.environments["production"].logs.in_thread is False
    assert cfg.environments["staging"].logs.viewers is None  # its deployers
    # the promotion gate: production takes only what succeeded in staging
    assert cfg.environments["production"].promote_from == "staging"
    assert cfg.environments["staging"].promote_from is None
    # the guide's schedule, for production only
    assert cfg.schedule_for("production") == guide_schedule(cfg.zone)
    assert cfg.schedule_for("staging") is None
    assert cfg.schedule_for("development") is None
    assert cfg.environments["production"].rollbacks.ignore_windows is True
    assert cfg.locks.max_duration == timedelta(days=7)
    assert (cfg.emergency.approvers, cfg.emergency.required, cfg.emergency.allow_self_approval,
            cfg.emergency.expires_after) == (["emergency_approvers"], 1, False,
                                             timedelta(hours=1))
    assert cfg.freezes.managers == ["freeze_managers"]
    (holidays,) = cfg.freezes.holidays
    assert (holidays.country, holidays.names, holidays.environments) == (
        "US", ["New Year's Day", "Independence Day", "Thanksgiving Day", "Christmas Day"],
        ["production"])
    assert cfg.freezes.black_friday_cyber_monday is not None
    assert cfg.freezes.black_friday_cyber_monday.environments == ["production"]
    (window,) = cfg.freezes.windows
    frozen = cfg.freeze_window(window)
    assert (frozen.name, frozen.start, frozen.end, frozen.environments) == (
        "Year-end maintenance window",
        datetime(2026, 12, 29, 20, tzinfo=cfg.zone), datetime(2026, 12, 30, 2, tzinfo=cfg.zone),
        frozenset({"production"}))
    assert list(cfg.environments) == ["development", "staging", "production"]
    assert cfg.environments["development"].approval is None
    assert cfg.environments["staging"].approval is None
    prod = cfg.environments["production"].approval
    assert prod is not None
    assert (prod.required, prod.approvers, prod.allow_self_approval, prod.expires_after) == (
        1, ["approvers"], False, timedelta(hours=2))
    assert list(cfg.services) == ["api"]
    assert cfg.services["api"].executor == "simulated"
    assert cfg.services_in("production") == ["api"]
    assert cfg.simulated.fail_versions == "-bad$"
    assert cfg.simulated.initial_version == "v1.2.2"
    assert cfg.runner.lease == timedelta(seconds=60)
    assert cfg.runner.poll_every == timedelta(seconds=10)
    assert cfg.expiry_check_every == timedelta(seconds=30)


def test_defaults_for_what_is_left_out() -> None:
    cfg = parse_config({"slack": {"deployments_channel": "C0DEPLOYS"},
                        "roles": {"deployers": ["U0ALICE"]},
                        "environments": {"staging": {}}, "services": {"api": {}}})
    assert cfg.timezone == "UTC"
    assert cfg.environments["staging"].deployers == ["deployers"]
    assert cfg.services["api"].version_pattern == DEFAULT_VERSION_PATTERN
    assert cfg.services["api"].environments is None
    assert cfg.runner.workers == 4
    assert cfg.expiry_check_every == timedelta(seconds=30)


def test_services_in_respects_a_service_environment_list() -> None:
    cfg = parse_config(base_config(services={
        "api": {}, "worker": {"environments": ["staging"]}}))
    assert cfg.services_in("staging") == ["api", "worker"]
    assert cfg.services_in("production") == ["api"]


def test_github_is_optional_and_defaults_to_github_com() -> None:
    cfg = parse_config(base_config())
    assert cfg.services["api"].github is None
    assert cfg.github.api_url == "https://api.github.com"
    cfg = parse_config(base_config(
        services={"api": {"github": {"repository": "acme/api.v2"}}},
        github={"api_url": "https://ghe.example.com/api/v3"}))
    assert cfg.services["api"].github is not None
    assert cfg.services["api"].github.repository == "acme/api.v2"
    assert cfg.github.api_url == "https://ghe.example.com/api/v3"


def test_config_is_frozen() -> None:
    cfg = parse_config(base_config())
    with pytest.raises(Exception, match="frozen"):
        cfg.timezone = "UTC"  # type: ignore[misc]


# -- each problem: file, key, reason ---------------------------------------------------------

def _set(path: str, value: Any, **base: Any) -> dict[str, Any]:
    """base_config() with the dotted `path` set to `value`."""
    cfg = base_config(**base)
    node = cfg
    *parents, last = path.split(".")
    for p in parents:
        node = node.setdefault(p, {})
    node[last] = value
    return cfg


CASES = [
    pytest.param(_set("timezone", "Mars/Olympus_Mons"), "timezone",
                 "unknown IANA time zone 'Mars/Olympus_Mons'", id="unknown-time-zone"),
    pytest.param(_set("environments.production.approval.expires_after", "soon"),
                 "environments.production.approval.expires_after",
                 "'soon' is not a duration (use e.g. 2h, 90m, 30s)", id="bad-duration"),
    pytest.param(_set("runner.lease", "5 minutes"), "runner.lease",
                 "'5 minutes' is not a duration (use e.g. 2h, 90m, 30s)",
                 id="bad-duration-runner"),
    pytest.param(_set("environments.production.deployers", ["release-managers"]),
                 "environments.production.deployers",
                 "'release-managers' is neither a role in roles nor a Slack user/group id",
                 id="unknown-role-in-deployers"),
    pytest.param(_set("environments.production.approval.approvers", ["leads"]),
                 "environments.production.approval.approvers",
                 "'leads' is neither a role in roles nor a Slack user/group id",
                 id="unknown-role-in-approvers"),
    pytest.param(_set("roles.approvers", ["U0BOB", "bob"]), "roles",
                 "role 'approvers': 'bob' is not a Slack user id (U…/W…) or user group id (S…)",
                 id="bad-slack-id-in-role"),
    pytest.param(_set("roles.approvers", ["C0CHANNEL"]), "roles",
                 "role 'approvers': 'C0CHANNEL' is not a Slack user id (U…/W…) or user "
                 "group id (S…)", id="channel-id-in-role"),
    pytest.param(_set("services.api.version_pattern", "v(\\d+"),
                 "services.api.version_pattern",
                 "not a regular expression: missing ), unterminated subpattern at position 1",
                 id="bad-version-regex"),
    pytest.param(_set("simulated.fail_versions", "[bad"), "simulated.fail_versions",
                 "not a regular expression: unterminated character set at position 0",
                 id="bad-fail-versions-regex"),
    pytest.param(_set("services.api.environments", ["staging", "prod"]),
                 "services.api.environments", "unknown environment 'prod'",
                 id="unknown-environment-in-service"),
    pytest.param(_set("environments.production.promote_from", "stagin"),
                 "environments.production.promote_from", "unknown environment 'stagin'",
                 id="promote-from-unknown-environment"),
    pytest.param(_set("environments.production.promote_from", "production"),
                 "environments.production.promote_from",
                 "an environment cannot promote from itself", id="promote-from-itself"),
    pytest.param(_set("services.api.environments", []), "services.api.environments",
                 "List should have at least 1 item after validation, not 0",
                 id="empty-service-environments"),
    pytest.param(base_config(environments={}), "environments",
                 "define at least one environment", id="no-environments"),
    pytest.param(base_config(services={}), "services", "define at least one service",
                 id="no-services"),
    pytest.param(base_config(deploy_on_fridays=True), "deploy_on_fridays",
                 "Extra inputs are not permitted", id="unknown-top-level-key"),
    pytest.param(_set("environments.production.approval.requierd", 2),
                 "environments.production.approval.requierd",
                 "Extra inputs are not permitted", id="misspelt-nested-key"),
    pytest.param(_set("slack.deployments_channel", "deployments"), "slack.deployments_channel",
                 "use a channel id such as C0123456789 or a name such as #deployments",
                 id="bad-channel"),
    pytest.param(_set("environments.production.approval.required", 0),
                 "environments.production.approval.required",
                 "Input should be greater than or equal to 1", id="zero-approvals"),
    pytest.param(base_config(environments={"Production": {}}), "environments",
                 "'Production' is not a valid name (lowercase letters, digits, - and _)",
                 id="bad-environment-name"),
    pytest.param(_set("services.api.executor", "docker"), "services.api.executor",
                 "Input should be 'simulated', 'kubernetes' or 'github-actions'",
                 id="unknown-executor"),
    pytest.param(_set("services.api.executor", "kubernetes"), "services.api.kubernetes.image",
                 "required with executor: kubernetes (e.g. image: ghcr.io/acme/api:{version})",
                 id="kubernetes-without-image"),
    pytest.param(_set("services.api.migrations", {"command": ["python", "manage.py", "migrate"],
                                                  "backup_required_in": ["production"]}),
                 "services.api.migrations.backup_required_in",
                 "production requires a backup before migrating, but "
                 "services.api.migrations.backup.command is not set",
                 id="backup-required-without-backup"),
    pytest.param(_set("services.api.migrations", {"command": ["migrate"],
                                                  "backup": {"command": ["backup"],
                                                             "environments": ["staging"]},
                                                  "backup_required_in": ["production"]}),
                 "services.api.migrations.backup_required_in",
                 "production requires a backup before migrating, but "
                 "services.api.migrations.backup.environments does not include it",
                 id="backup-required-where-it-does-not-run"),
    pytest.param(_set("services.api.migrations", {"command": ["migrate"],
                                                  "backup_required_in": ["prod"]}),
                 "services.api.migrations.backup_required_in", "unknown environment 'prod'",
                 id="backup-required-in-unknown-environment"),
    pytest.param(_set("services.api.migrations", {"command": []}),
                 "services.api.migrations.command",
                 "List should have at least 1 item after validation, not 0",
                 id="empty-migration-command"),
    pytest.param(_set("services.api.migrations", {"command": ["migrate"], "timeout": "0s"}),
                 "services.api.migrations.timeout", "must be longer than 0s",
                 id="zero-migration-timeout"),
    pytest.param(_set("announcements.severity", {"failed": "urgent"}),
                 "announcements.severity.failed",
                 "Input should be 'critical', 'high', 'medium' or 'low'",
                 id="unknown-severity"),
    pytest.param(_set("announcements.severity", {"production_fails": "critical"}),
                 "announcements.severity.production_fails", "Extra inputs are not permitted",
                 id="unknown-severity-outcome"),
    pytest.param(_set("announcements.mentions", {"urgent": "<!here>"}),
                 "announcements.mentions.urgent",
                 "Input should be 'critical', 'high', 'medium' or 'low'",
                 id="mention-for-unknown-severity"),
    pytest.param(_set("announcements.mentions", {"critical": "@oncall"}),
                 "announcements.mentions.critical",
                 "'@oncall' is not a Slack mention (use <!here>, <!channel>, a user group "
                 "<!subteam^S…> or a user <@U…>, several separated by spaces)",
                 id="mention-not-a-slack-mention"),
    pytest.param(_set("announcements.mentions", {"high": "<!here> and <!channel>"}),
                 "announcements.mentions.high",
                 "'<!here> and <!channel>' is not a Slack mention (use <!here>, <!channel>, "
                 "a user group <!subteam^S…> or a user <@U…>, several separated by spaces)",
                 id="mention-with-words"),
    pytest.param(_set("services.api.migrations", {"command": ["migrate"],
                                                  "target_command": ["alembic", "downgrade"]}),
                 "services.api.migrations.target_command",
                 "must contain the word '{target}' (where the target goes)",
                 id="target-command-without-target"),
    pytest.param(_set("services.api.kubernetes", {"image": "x/api:{version}",
                                                  "jobs": {"env": {"1BAD": "x"}}}),
                 "services.api.kubernetes.jobs.env",
                 "'1BAD' is not an environment variable name (letters, digits, "
                 "'_', '-', '.'; not starting with a digit)",
                 id="job-env-bad-name"),
    pytest.param(_set("services.api.kubernetes", {"image": "x/api:{version}",
                                                  "jobs": {"container": "Api_Main"}}),
                 "services.api.kubernetes.jobs.container",
                 "'Api_Main' is not a valid Kubernetes name (lowercase letters, digits and -, "
                 "at most 63 characters)",
                 id="job-container-bad-name"),
    pytest.param(_set("services.api.github", {"repository": "acme"}),
                 "services.api.github.repository",
                 "'acme' is not a GitHub repository (use owner/name, e.g. "
                 "acme/api)",
                 id="github-repository-not-owner-name"),
    pytest.param(_set("services.api.github", {}),
                 "services.api.github.repository", "Field required",
                 id="github-repository-missing"),
    pytest.param(_set("github.api_url", "api.github.com"),
                 "github.api_url", "String should match pattern '^https?://\\S+$'",
                 id="github-api-url-not-a-url"),
    pytest.param(_set("environments.staging.production", "maybe"),
                 "environments.staging.production",
                 "Input should be a valid boolean, unable to interpret input",
                 id="production-not-a-boolean"),
]


@pytest.mark.parametrize(("data", "key", "reason"), CASES)
def test_each_problem_names_file_key_and_reason(tmp_path: Path, data: dict[str, Any],
                                                key: str, reason: str) -> None:
    err = load_error(tmp_path, data)
    assert (err.key, err.reason) == (key, reason)
    assert str(err) == f"{err.path}: {key}: {reason}"


def test_parse_config_names_its_source() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(_set("timezone", "Nowhere/Land"), source="test config")
    assert str(info.value) == "test config: timezone: unknown IANA time zone 'Nowhere/Land'"


def test_several_problems_report_the_first_and_count_the_rest(tmp_path: Path) -> None:
    err = load_error(tmp_path, {"timezone": "Nowhere/Land"})
    assert err.key == "timezone"
    assert err.reason == "unknown IANA time zone 'Nowhere/Land' (and 3 more problem(s))"


def test_missing_required_section(tmp_path: Path) -> None:
    data = base_config()
    del data["slack"]
    err = load_error(tmp_path, data)
    assert (err.key, err.reason) == ("slack", "Field required")


def test_bad_yaml_names_the_line(tmp_path: Path) -> None:
    text = ("timezone: UTC\n"
            "slack:\n"
            "  deployments_channel: '#deployments'\n"
            "environments: {staging: {}\n"
            "services:\n"
            "  api: {}\n")
    err = load_error(tmp_path, text)
    assert err.key == "line 5"
    assert err.reason.startswith("not valid YAML: ")
    assert "Traceback" not in str(err)


def test_bad_yaml_with_a_tab(tmp_path: Path) -> None:
    err = load_error(tmp_path, "timezone: UTC\nslack:\n\tdeployments_channel: C0X\n")
    assert err.key == "line 3"
    assert err.reason.startswith("not valid YAML: ")


@pytest.mark.parametrize("text", ["", "# only a comment\n", "- a\n- list\n", "just text\n"])
def test_not_a_mapping(tmp_path: Path, text: str) -> None:
    err = load_error(tmp_path, text)
    assert (err.key, err.reason) == ("", "expected a mapping at the top level")


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "app.yaml"
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.path == str(path)
    assert info.value.reason == "file not found (set DEPLOYBOT_CONFIG or pass a path)"
    assert str(info.value) == f"{path}: file not found (set DEPLOYBOT_CONFIG or pass a path)"


def test_a_directory_is_not_a_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    assert info.value.path == str(tmp_path)
    assert info.value.reason.startswith("cannot read: ")


# -- durations -------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2h", timedelta(hours=2)),
        ("90m", timedelta(minutes=90)),
        ("45s", timedelta(seconds=45)),
        ("1d", timedelta(days=1)),
        ("1d 12h", timedelta(days=1, hours=12)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        (" 2h 5m 3s ", timedelta(hours=2, minutes=5, seconds=3)),
        ("0s", timedelta(0)),
        (30, timedelta(seconds=30)),
        (1.5, timedelta(seconds=1.5)),
        (timedelta(minutes=3), timedelta(minutes=3)),
    ],
)
def test_parse_duration(value: object, expected: timedelta) -> None:
    assert parse_duration(value) == expected


@pytest.mark.parametrize("value", ["", "   ", "soon", "2", "2x", "h", "m2", "2h 1d", "-5m",
                                   None, [1], True, False])
def test_parse_duration_refuses(value: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(value)


def test_a_number_of_seconds_in_yaml_is_a_duration() -> None:
    cfg = parse_config(_set("expiry_check_every", 45))
    assert cfg.expiry_check_every == timedelta(seconds=45)


def test_verify_defaults_follow_the_approval_rule_and_can_be_set() -> None:
    cfg = base_config()
    cfg["environments"]["staging"] = {"verify": {
        "bake": "90s", "smoke": [{"url": "http://api.staging/healthz"}],
        "prometheus": {"url": "http://prom:9090", "query": "errors"}}}
    config = parse_config(cfg)
    prod, staging = config.environments["production"], config.environments["staging"]
    assert (prod.bake, prod.auto_rollback) == (timedelta(minutes=5), True)
    assert (staging.bake, staging.auto_rollback) == (timedelta(seconds=90), False)
    assert staging.verify.smoke[0].expect_status == 200
    assert staging.verify.prometheus is not None and staging.verify.prometheus.max == 0.05
    cfg["environments"]["production"]["verify"] = {"bake": 0, "auto_rollback": False}
    prod = parse_config(cfg).environments["production"]
    assert (prod.bake, prod.auto_rollback) == (timedelta(0), False)


# -- announcements: severity and mentions ----------------------------------------------------

def test_the_shipped_app_yaml_says_how_loud_each_result_is() -> None:
    cfg = load_config(APP_YAML)
    assert cfg.production_environments() == frozenset({"production"})
    assert cfg.announcements.severity.mapping == dict(DEFAULT_SEVERITY)
    assert cfg.announcements.mentions == {Severity.CRITICAL: "<!subteam^S0ONCALL>"}


def test_severity_defaults_are_the_guides_and_nobody_is_mentioned() -> None:
    cfg = parse_config(base_config())
    assert cfg.announcements.severity.mapping == dict(DEFAULT_SEVERITY)
    assert cfg.announcements.severity.mapping == {
        Outcome.PRODUCTION_FAILED: Severity.CRITICAL, Outcome.AUTO_ROLLED_BACK: Severity.CRITICAL,
        Outcome.ROLLED_BACK: Severity.HIGH,
        Outcome.VERIFICATION_FAILED: Severity.HIGH, Outcome.FAILED: Severity.MEDIUM,
        Outcome.SUCCEEDED: Severity.LOW, Outcome.LOCK_BLOCKED: Severity.HIGH,
        Outcome.APPROVAL_EXPIRED: Severity.MEDIUM}
    assert cfg.announcements.mentions == {}
    # every outcome has its key in announcements.severity
    assert set(SeverityConfig.model_fields) == {o.value for o in Outcome}


@pytest.mark.parametrize(("alerts", "key", "reason"), [
    ({"routes": {"high": ["slack:ops"]}}, "alerts.routes.high.0", "is not a destination"),
    ({"routes": {"urgent": ["pagerduty"]}}, "alerts.routes.urgent", "Input should be"),
    ({"routes": {"low": ["summary"]}}, "alerts", "`summary` needs alerts.email"),
    ({"email": {"to": ["ops"], "from": "bot@acme.test"}}, "alerts.email.to.0",
     "'ops' is not an email address"),
    ({"email": {"to": ["o@acme.test"], "from": "bot@acme.test", "send_at": "5pm"}},
     "alerts.email.send_at", "'5pm' is not a time of day"),
])
def test_alerts_config_problems_name_the_key(tmp_path: Path, alerts: dict[str, Any], key: str,
                                             reason: str) -> None:
    err = load_error(tmp_path, base_config(alerts=alerts))
    assert err.key == key
    assert reason in err.reason


def test_severity_overrides_keep_the_defaults_they_leave_out() -> None:
    cfg = parse_config(_set("announcements.severity", {"failed": "high", "succeeded": "medium"}))
    assert cfg.announcements.severity.mapping == {
        **DEFAULT_SEVERITY, Outcome.FAILED: Severity.HIGH, Outcome.SUCCEEDED: Severity.MEDIUM}


@pytest.mark.parametrize("mention", [
    "<!here>", "<!channel>", "<!subteam^S0ONCALL>", "<@U0CAROL>", "<@W0CAROL>",
    "<!subteam^S0ONCALL> <@U0CAROL>", "  <!here>  ",
])
def test_mentions_accept_slack_mentions(mention: str) -> None:
    cfg = parse_config(_set("announcements.mentions", {"critical": mention, "low": "<!here>"}))
    assert cfg.announcements.mentions == {Severity.CRITICAL: mention.strip(),
                                          Severity.LOW: "<!here>"}


@pytest.mark.parametrize("mention", [
    "", "here", "@here", "<!everyone>", "<!subteam^oncall>", "<#C0DEPLOYS>", "<@U0CAROL",
    "<!subteam^S0ONCALL>,<@U0CAROL>",
])
def test_mentions_refuse_anything_else(tmp_path: Path, mention: str) -> None:
    err = load_error(tmp_path, _set("announcements.mentions", {"critical": mention}))
    assert err.key == "announcements.mentions.critical"
    assert "is not a Slack mention" in err.reason


def test_production_defaults_to_the_environment_named_production_and_can_be_set() -> None:
    cfg = parse_config(base_config())
    assert cfg.production_environments() == frozenset({"production"})
    assert cfg.environments["production"].production is None  # the default, by its name
    data = base_config(environments={"staging": {}, "prod": {}, "prod-eu": {}})
    assert parse_config(data).production_environments() == frozenset()
    data["environments"]["prod"] = {"production": True}
    data["environments"]["prod-eu"] = {"production": True}
    assert parse_config(data).production_environments() == frozenset({"prod", "prod-eu"})
    # and an environment named production can say it is not
    data = base_config()
    data["environments"]["production"]["production"] = False
    assert parse_config(data).production_environments() == frozenset()

"""The schema of what deploybot tells people: announcements in the deployments channel
(`announcements:` warnings, each result's severity and mention) and alert routing by
severity (`alerts:` PagerDuty, other Slack channels, the daily summary email)."""

from __future__ import annotations

import re
from datetime import time, timedelta
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from bot.config.base import Duration, PositiveDuration, _Model, keyed
from bot.domain.alerts import Destination, parse_destination
from bot.domain.severity import DEFAULT_SEVERITY, Outcome, Severity

_MENTION = r"(?:<!here>|<!channel>|<!subteam\^S[A-Z0-9]{2,}>|<@[UW][A-Z0-9]{2,}>)"


def _mention(v: str) -> str:
    if not re.fullmatch(rf"{_MENTION}(?: +{_MENTION})*", v.strip()):
        raise ValueError(f"{v!r} is not a Slack mention (use <!here>, <!channel>, a user "
                         "group <!subteam^S…> or a user <@U…>, several separated by spaces)")
    return v.strip()


Mention = Annotated[str, AfterValidator(_mention)]


class SeverityConfig(_Model):
    """The severity of each outcome of a deployment (announcements.severity); the defaults
    are the guide's (see bot.domain.severity)."""

    production_failed: Severity = Field(
        default=DEFAULT_SEVERITY[Outcome.PRODUCTION_FAILED],
        description="a deploy to a production environment failed, failed its watch, or was "
        "rolled back")
    auto_rolled_back: Severity = Field(
        default=DEFAULT_SEVERITY[Outcome.AUTO_ROLLED_BACK],
        description="elsewhere: a deploy failed its watch and was rolled back automatically")
    rolled_back: Severity = Field(
        default=DEFAULT_SEVERITY[Outcome.ROLLED_BACK],
        description="a rollback someone asked for (button or /rollback)")
    verification_failed: Severity = Field(
        default=DEFAULT_SEVERITY[Outcome.VERIFICATION_FAILED],
        description="elsewhere: a deploy failed its watch and is still live")
    failed: Severity = Field(
        default=DEFAULT_SEVERITY[Outcome.FAILED],
        description="elsewhere: any other failure (rollout, migrations)")
    succeeded: Severity = Field(
        default=DEFAULT_SEVERITY[Outcome.SUCCEEDED],
        description="live, or already running: routine")
    lock_blocked: Severity = Field(
        default=DEFAULT_SEVERITY[Outcome.LOCK_BLOCKED],
        description="a deploy refused by a lock (or cancelled by one before it ran)")
    approval_expired: Severity = Field(
        default=DEFAULT_SEVERITY[Outcome.APPROVAL_EXPIRED],
        description="nobody approved the request in time")

    @property
    def mapping(self) -> dict[Outcome, Severity]:
        return {outcome: getattr(self, outcome.value) for outcome in Outcome}


class AnnouncementsConfig(_Model):
    """Announcements in the deployments channel (`announcements:`). Each is posted once,
    whichever process sees it first, even across restarts."""

    freeze_warnings: list[Duration] = Field(
        default_factory=lambda: [timedelta(hours=24), timedelta(hours=1)],
        description="how long before each freeze starts to warn (it is also announced "
        "when it starts and ends)",
    )
    window_closing_warning: Duration | None = Field(
        default=timedelta(hours=1), description="warn this long before a schedule closes "
        "(e.g. the Friday 14:00 cut-off); null: no warning"
    )
    grace: Duration = Field(
        default=timedelta(minutes=10),
        description="an announcement later than this (bot was down) is skipped, not replayed",
    )
    check_every: PositiveDuration = Field(
        default=timedelta(minutes=1),
        description="how often each process looks for announcements that are due",
    )
    severity: SeverityConfig = Field(
        default=SeverityConfig(),
        description="the severity of each outcome of a deployment (the guide's alert "
        "levels: critical, high, medium, low); an outcome left out keeps its default",
    )
    mentions: dict[Severity, Mention] = Field(
        default_factory=dict,
        description="severity -> Slack mention at the top of a result of that severity, "
        "so on-call is paged in Slack: <!here>, <!channel>, a user group <!subteam^S…> or a "
        "user <@U…> (several: space-separated), e.g. critical: \"<!subteam^S0ONCALL>\"",
        json_schema_extra=keyed("severity"),
    )


def _time_of_day(value: object) -> time:
    """'17:00' (24-hour clock) -> time."""
    if isinstance(value, time):
        return value
    m = re.match(r"^\s*([01]?\d|2[0-3]):([0-5]\d)\s*$", str(value))
    if not m:
        raise ValueError(f"{value!r} is not a time of day (use e.g. 17:00)")
    return time(int(m.group(1)), int(m.group(2)))


def _destination(value: str) -> str:
    parse_destination(value)  # ValueError: the key and the reason
    return value.strip()


def _email(value: str) -> str:
    if not re.match(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$", value):
        raise ValueError(f"{value!r} is not an email address")
    return value


SUMMARY_DESTINATION = "summary"
Email = Annotated[str, AfterValidator(_email)]


class PagerDutyConfig(_Model):
    """PagerDuty Events API v2 (alerts.pagerduty). The routing key (integration key) comes
    from PAGERDUTY_ROUTING_KEY in the environment, never from this file."""

    events_url: str = Field(
        default="https://events.pagerduty.com/v2/enqueue",
        description="the Events API v2 endpoint (a test points it at a local server)",
        pattern=r"^https?://\S+$",
    )
    source: str = Field(default="deploybot", min_length=1,
                        description="the events' `source` (shown in the incident)")


class SummaryEmailConfig(_Model):
    """The daily summary email (alerts.email), sent over SMTP: SMTP_HOST, SMTP_PORT,
    SMTP_USERNAME, SMTP_PASSWORD, SMTP_STARTTLS / SMTP_SSL from the environment."""

    to: list[Email] = Field(min_length=1, description="recipients' email addresses")
    sender: Email = Field(alias="from", description="the From address")
    send_at: Annotated[time, BeforeValidator(_time_of_day)] = Field(
        default=time(17, 0),
        description="when to send it, in the team's time zone (`timezone`); it covers the "
        "24 hours up to then",
    )
    subject: str = Field(default="deploybot daily summary", min_length=1,
                         description="the email's subject")


class AlertsConfig(_Model):
    """Where each severity's alerts go (alerts.routes): `pagerduty`, `slack:#channel` (or a
    channel id), `summary` (the daily summary email). A severity not listed goes nowhere
    beyond the deployments channel."""

    routes: dict[Severity, list[Annotated[str, AfterValidator(_destination)]]] = Field(
        default_factory=dict,
        description="severity -> destinations besides the deployments channel: pagerduty, "
        "slack:#channel (or slack:C…; invite the bot there), summary; e.g. critical: "
        "[pagerduty, \"slack:#ops-alerts\"]",
        json_schema_extra=keyed("severity"))
    pagerduty: PagerDutyConfig = Field(default=PagerDutyConfig(),
                                       description="the `pagerduty` destination")
    email: SummaryEmailConfig | None = Field(
        default=None, description="the daily summary email (the `summary` destination)")
    attempts: int = Field(default=4, ge=1, le=10,
                          description="tries per destination before giving up (logged)")
    backoff: Duration = Field(default=timedelta(seconds=2),
                              description="wait before the first retry, doubled each time")

    @model_validator(mode="after")
    def _summary_needs_email(self) -> AlertsConfig:
        for severity, destinations in self.routes.items():
            if SUMMARY_DESTINATION in destinations and self.email is None:
                raise ValueError(f"routes.{severity.value}: `summary` needs alerts.email "
                                 "(to, from, send_at)")
        return self

    def destinations(self) -> dict[Severity, tuple[Destination, ...]]:
        return {severity: tuple(parse_destination(d) for d in ds)
                for severity, ds in self.routes.items()}

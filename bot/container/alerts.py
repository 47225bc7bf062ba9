"""The alerting the config asks for, built for the composition root (bot.container): alert
routing by severity (alerts.routes, PagerDuty when its key is set: httpx is loaded only then)
and the daily summary email (alerts.email, over SMTP)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from bot.backends.slack import SlackNotifier
from bot.backends.smtp import SmtpMailer, SmtpSettings
from bot.clock import Clock
from bot.config import AppConfig
from bot.config.links import link_catalog
from bot.services.alerts import AlertRouter
from bot.services.daily_summary import DailySummary
from bot.services.locks import LockService
from bot.settings import SettingsError
from bot.store.db import Database

if TYPE_CHECKING:  # built only where PagerDuty is used (below): imported there
    from bot.backends.pagerduty import PagerDutyEvents


def build_alerts(config: AppConfig, *, store: Database, notifier: SlackNotifier,
                 clock: Clock, locks: LockService,
                 ) -> tuple[AlertRouter | None, DailySummary | None]:
    """Alert routing by severity (alerts.routes) and the daily summary email (alerts.email).
    Secrets and servers come from the environment: PAGERDUTY_ROUTING_KEY, SMTP_*."""
    router = None
    if config.alerts.routes:
        key = os.environ.get("PAGERDUTY_ROUTING_KEY") or None
        pager: PagerDutyEvents | None = None
        if key:  # httpx is loaded only where PagerDuty is used
            from bot.backends.pagerduty import PagerDutyEvents
            pager = PagerDutyEvents(routing_key=key,
                                    events_url=config.alerts.pagerduty.events_url)
        router = AlertRouter(config=config.alerts,
                             production=config.production_environments(),
                             severity=config.announcements.severity.mapping, store=store,
                             poster=notifier, pager=pager, permalink=notifier.permalink,
                             clock=clock, links=link_catalog(config))
        notifier.watch(router)  # every deployment's end
        locks.watch(router)  # every deploy request a lock refuses
    summary = None
    if config.alerts.email is not None:
        try:
            smtp = SmtpSettings.from_env(os.environ)
        except ValueError as e:  # one line at start, like every other setting
            raise SettingsError(str(e)) from e
        summary = DailySummary(config=config, store=store, clock=clock,
                               mailer=SmtpMailer(smtp) if smtp is not None else None)
    return router, summary

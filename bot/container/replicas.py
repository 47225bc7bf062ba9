"""This process among the bot's replicas, built for the composition root (bot.container): its
instance id (runner leases, the acknowledged record), each Slack request handled once in
any replica (`SlackRequests`), and the record of requests acked but not answered yet, whose
lost ones another process tells (`AcknowledgedRequests`, with its grace)."""

from __future__ import annotations

import os
import socket
import uuid
from datetime import timedelta

from slack_sdk import WebClient

from bot.backends.slack import SlackNotifier
from bot.backends.slack.responses import SlackResponses
from bot.clock import Clock
from bot.config import AppConfig
from bot.services.acknowledged import AcknowledgedRequests
from bot.services.slack_requests import SlackRequests
from bot.store.db import Database


def instance_name() -> str:
    """host:pid:random — a new one at every start (tests/test_roles.py reads the pid)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def answer_grace(config: AppConfig) -> timedelta:
    """How long an acknowledged request may stay unanswered before another process takes
    its own for lost: `runner.answer_grace`, or longer than the longest `/migrations`
    status Job may run (services.*.migrations.timeout, on the `jobs` pool) plus a minute."""
    jobs = [svc.migrations.timeout + timedelta(minutes=1)
            for svc in config.services.values() if svc.migrations is not None]
    return max([config.runner.answer_grace, *jobs])


def build_slack_requests(database: Database, *, clock: Clock) -> SlackRequests:
    # SQLite is one process's: its keys stay in memory (cheap acks).
    return SlackRequests(store=database, clock=clock,
                         shared=database.engine.dialect.name != "sqlite")


def build_acknowledged(config: AppConfig, database: Database, *, clock: Clock, instance: str,
                       slack: WebClient, notifier: SlackNotifier) -> AcknowledgedRequests:
    return AcknowledgedRequests(
        store=database, clock=clock, instance=instance, grace=answer_grace(config),
        zone=config.zone, channel=config.slack.deployments_channel,
        responses=SlackResponses(slack), direct=notifier)

"""`/deploys [environment] [service]`: the last deployments; `/deploys stats …`: the DORA
measures over the last 30 days.

The listener parses (pure, in memory) and acks, so a bad environment or service is answered
at once; the one service call and its rendering run on the container's background pool.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond

from bot.container import Container
from bot.domain.history_commands import USAGE, HistoryArgs, HistoryHelpArgs, HistoryParsed
from bot.errors import UserError
from bot.presentation import ids
from bot.presentation.history_views import history_view, stats_view
from handlers.payloads import command_of
from handlers.replies import ephemeral, ephemeral_ack, refusal, reporting


def register(app: App, container: Container) -> None:
    service = container.history
    zone = container.config.zone

    def deploys(ack: Ack, body: dict[str, Any], context: BoltContext,
                respond: Respond) -> None:
        invoked = command_of(body, context)  # well-formed: handlers.payloads saw to it
        try:
            args = service.parse(invoked.text)
        except UserError as e:
            ack(**refusal(e))
            return
        if isinstance(args, HistoryHelpArgs):
            ack(**ephemeral_ack(USAGE))
            return
        ack()
        container.background.submit(lambda: run(args, respond))

    def run(args: HistoryParsed, respond: Respond) -> None:
        with reporting(respond, zone):
            if isinstance(args, HistoryArgs):
                h = service.history(args)
                respond(**ephemeral(history_view(h.deployments, zone,
                                                 environment=h.environment,
                                                 service=h.service, limit=h.limit)))
            elif not isinstance(args, HistoryHelpArgs):
                st = service.stats(args)
                respond(**ephemeral(stats_view(st.overall, zone, environments=st.environments,
                                               service=st.service,
                                               default_scope=st.default_scope,
                                               per_environment=st.per_environment)))

    app.command(ids.DEPLOYS_COMMAND)(deploys)

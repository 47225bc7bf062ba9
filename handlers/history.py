"""`/deploys [environment] [service]`: the last deployments; `/deploys stats …`: the DORA
measures over the last 30 days.

The listener parses (pure, in memory) and acks, so a bad environment or service is answered
at once; the one service call and its rendering run on the container's background pool
(handlers.listeners.slash_command).
"""

from __future__ import annotations

from slack_bolt import App

from bot.container import Container
from bot.domain.history_commands import USAGE, HistoryArgs, HistoryHelpArgs, StatsArgs
from bot.presentation import ids
from bot.presentation.history_views import history_view, stats_view
from handlers.listeners import Answer, slash_command
from handlers.payloads import Command
from handlers.replies import ephemeral


def register(app: App, container: Container) -> None:
    service = container.history
    zone = container.config.zone

    def answer(args: HistoryArgs | StatsArgs, invoked: Command) -> Answer:
        if isinstance(args, HistoryArgs):
            h = service.history(args)
            return ephemeral(history_view(h.deployments, zone, environment=h.environment,
                                          service=h.service, limit=h.limit))
        st = service.stats(args)
        return ephemeral(stats_view(st.overall, zone, environments=st.environments,
                                    service=st.service, default_scope=st.default_scope,
                                    per_environment=st.per_environment))

    slash_command(app, container, ids.DEPLOYS_COMMAND, parse=service.parse,
                  help=HistoryHelpArgs, usage=USAGE, answer=answer)

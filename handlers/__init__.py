"""The Slack adapter: Bolt listeners that parse, call one service, and render (the two
shapes they take, a slash command and a button click, are handlers.listeners).

`build_app` makes the Bolt App and registers each listener kind with its `register`.
"""

from __future__ import annotations

from slack_bolt import App

from bot.container import Container
from handlers import (
    abort,
    approvals,
    audit,
    busy,
    checklist,
    ci,
    commands,
    deploy_form,
    flag_change,
    flags_command,
    freeze,
    history,
    home,
    locks,
    logs,
    migrations,
    once,
    payloads,
    reject_reason,
    replies,
    rollback,
    troubleshooting,
    windows,
)
from handlers.lean import lean


def build_app(
    container: Container,
    *,
    signing_secret: str | None,
    verify_requests: bool = True,
) -> App:
    app = App(
        client=container.slack,
        signing_secret=signing_secret,
        process_before_response=True,
        request_verification_enabled=verify_requests,
        token_verification_enabled=True,
        ignoring_self_events_enabled=True,
    )
    # first: a malformed request is refused (400) before anything reads it, Bolt's
    # listener matching included
    payloads.register(app)
    busy.register(app, container)  # then: a flood is refused before anything is taken
    once.register(app, container)  # then: a retry of a handled request stops here
    audit.register(app, container)  # then: its middleware notes every request
    replies.keep_replies_alive(app, container.slack)  # `respond` over kept connections
    commands.register(app, container)
    deploy_form.register(app, container)
    history.register(app, container)
    approvals.register(app, container)
    reject_reason.register(app, container)
    windows.register(app, container)
    abort.register(app, container)
    checklist.register(app, container)
    freeze.register(app, container)
    migrations.register(app, container)
    locks.register(app, container)
    rollback.register(app, container)
    ci.register(app, container)
    troubleshooting.register(app, container)
    logs.register(app, container)
    flag_change.register(app, container)
    flags_command.register(app, container)
    home.register(app, container)
    return lean(app)  # Bolt calls each of them with just its arguments (handlers.lean)

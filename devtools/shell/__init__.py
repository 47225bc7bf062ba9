"""`deploybot shell`: try the bot locally, in the tradition of Hubot's shell and Errbot's text mode.

This package owns the local adapter: the shell's input language (slash commands, `as`,
`click`, `submit`, `cancel`, `messages`, `home`, `wait`, `advance`, `at`, `help`, `quit`:
devtools.shell.session; the forms the bot opens, filled in and submitted:
devtools.shell.forms; the scheduler's jobs run on the shell's clock: devtools.shell.timeline),
the in-process dispatch of Slack requests to the real Bolt app (`app.dispatch(BoltRequest(...))`
with bodies from `devtools.slack_requests`), the rendering of what the bot sends to Slack as
readable text (`render_text`, `mrkdwn_to_text`: devtools.shell.render; each call and ack as
people see it: devtools.shell.slack_view; printed by devtools.shell.transcript) and a
session's start and end (`run_shell`: devtools.shell.run).

Everything behind the Bolt app is production code: the handlers, the services, the store
(upgraded with Alembic first) and the runner built by `build_container`. Only Slack itself is
faked: a `FakeSlack` Web API server in this process records the bot's calls, keeps message
state (so buttons can be clicked) and reports each call to the shell, which prints it.
The services run on the simulated cluster, or with `cluster="fake"` (`--cluster fake`) on
the Kubernetes executor against a fake Kubernetes API server (`devtools.fake_cluster`)
that lives as long as the shell.

It lives in devtools/, beside the fakes it drives, not in the product: `deploybot shell`
(bot.cli) loads it by name and, where devtools is not installed (the Docker image), says what
to install.
"""

from devtools.shell.render import button_name, mrkdwn_to_text, render_text
from devtools.shell.run import run_shell
from devtools.shell.session import Shell
from devtools.shell.transcript import Transcript

__all__ = [
    "Shell", "Transcript", "button_name", "mrkdwn_to_text", "render_text",
    "run_shell",
]

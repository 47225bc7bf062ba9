"""One shell session (`Shell`): the shell's input language (slash commands, `as`, `click`,
`submit`, `cancel`, `messages`, `home`, `wait`, `advance`, `at`, `help`, `quit`) and the
in-process dispatch of Slack requests to the real Bolt app (`app.dispatch(BoltRequest(...))`
with bodies from devtools.slack_requests), waiting until what each sets off has been shown.
What people would see in Slack of each Web API call the fake Slack reports (`on_call`) and
of each ack is devtools.shell.slack_view's; the forms the bot opens, filled in and
submitted, devtools.shell.forms'. Moving time runs the scheduler's jobs
(devtools.shell.timeline); replies only one person sees are kept so their buttons can be
clicked (devtools.shell.ephemeral); which button a `click` means, devtools.shell.clicks; the
`help` text, devtools.shell.help_text.
"""

from __future__ import annotations

import contextvars
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse

from bot.config import AppConfig
from bot.container import Container
from devtools.fake_repos import FakeRepositories
from devtools.fake_slack import Call, FakeSlack
from devtools.shell.clicks import HOME_VIEW, button_list, click_lines, clickable, find_button
from devtools.shell.ephemeral import EPHEMERAL_USER, Ephemerals
from devtools.shell.forms import Forms
from devtools.shell.help_text import HELP
from devtools.shell.merges import merge
from devtools.shell.render import (
    USER_ID,
    Button,
    dm_channel,
    render_text,
    with_prefix,
)
from devtools.shell.slack_view import SlackView, channel_lines
from devtools.shell.timeline import TimeError, Timeline, parse_at, parse_duration
from devtools.shell.transcript import Transcript
from devtools.slack_requests import (
    DEFAULT_CHANNEL_ID,
    app_home_opened_event,
    block_actions_body,
    event_callback_body,
    slash_command_body,
)

FORM_HEADERS: dict[str, str | Sequence[str]] = {
    "content-type": ["application/x-www-form-urlencoded"],
}
JSON_HEADERS: dict[str, str | Sequence[str]] = {"content-type": ["application/json"]}
# How long the fake Slack must be quiet before the shell shows the next prompt, and the
# longest it waits for that in interactive mode (a rollout keeps posting progress).
SETTLE_SECONDS = 0.3
INTERACTIVE_MAX_WAIT = 5.0
# In script mode every line waits for quiet *and* an idle runner, at most this long.
SCRIPT_MAX_WAIT = 120.0


class Shell:
    """One shell session: the current user, the line interpreter and the output of the bot."""

    def __init__(
        self,
        *,
        config: AppConfig,
        transcript: Transcript,
        user: str,
        settle: float = SETTLE_SECONDS,
        scripted: bool = False,
    ) -> None:
        self.config = config
        self.transcript = transcript
        self.user = user
        self.settle_seconds = settle
        self.scripted = scripted
        channel = config.slack.deployments_channel
        self.channel = channel
        # Slash commands are sent from the deployments channel (a made-up id for a #name).
        self.channel_id = channel if channel[:1] in ("C", "G") else DEFAULT_CHANNEL_ID
        self.channel_name = channel.lstrip("#") if channel.startswith("#") else None
        self._lock = threading.Lock()
        self._last_event = time.monotonic()
        self._shown = 0  # how many of the bot's calls printed something
        self._ephemerals = Ephemerals()
        self._slack = SlackView(lambda: self.fake, self._ephemerals,
                                current_user=lambda: self.user, channel=self.channel,
                                channel_id=self.channel_id)
        self._home_opened: set[str] = set()  # users whose App Home `home` showed
        self._fake: FakeSlack | None = None
        self._app: App | None = None
        self._container: Container | None = None
        self._timeline: Timeline | None = None
        self._repos: FakeRepositories | None = None

    def attach(self, fake: FakeSlack, app: App, container: Container,
               timeline: Timeline | None = None,
               repos: FakeRepositories | None = None) -> None:
        self._fake, self._app, self._container = fake, app, container
        self._forms = Forms(fake, say=self.transcript.say, submit=self._submit_form)
        self._timeline = timeline
        self._repos = repos  # the fake GitHub (`--github fake`): `merge`

    @property
    def fake(self) -> FakeSlack:
        assert self._fake is not None, "attach() first"
        return self._fake

    @property
    def app(self) -> App:
        assert self._app is not None, "attach() first"
        return self._app

    @property
    def container(self) -> Container:
        assert self._container is not None, "attach() first"
        return self._container

    @property
    def prompt(self) -> str:
        return f"{self.user}> "

    # -- what the bot sends (runs on the fake's threads) ----------------------------------
    def on_call(self, call: Call) -> None:
        """FakeSlack's callback: print what people would see in Slack."""
        with self._lock:  # held while printing, so calls are shown in the order they came
            self._last_event = time.monotonic()
            lines = self._slack.lines_for(call)
            if lines:
                self._shown += 1
                self.transcript.background(lines)

    # -- waiting for the bot -------------------------------------------------------------
    def _touch(self) -> None:
        with self._lock:
            self._last_event = time.monotonic()

    def _quiet_for(self) -> float:
        with self._lock:
            return time.monotonic() - self._last_event

    def settle(self, *, until_idle: bool, max_wait: float) -> bool:
        """Wait until the background listener work has answered and the fake Slack has been
        quiet for a moment; with `until_idle`, also until no deployment is running. False when
        `max_wait` seconds were not enough."""
        deadline = time.monotonic() + max_wait
        runner = self.container.runner
        while True:
            for pool in (self.container.background, self.container.jobs):
                if not pool.wait_idle(timeout=max(deadline - time.monotonic(), 0)):
                    return False
            while (quiet := self._quiet_for()) < self.settle_seconds:
                if time.monotonic() >= deadline:
                    return False
                time.sleep(min(self.settle_seconds - quiet, 0.05) + 0.005)
            if not until_idle or runner.wait_idle(timeout=0):
                return True
            if not runner.wait_idle(timeout=max(deadline - time.monotonic(), 0)):
                return False
            self._touch()  # the runner's last messages: give them a moment to arrive

    def after_request(self) -> None:
        if self.scripted:
            if not self.settle(until_idle=True, max_wait=SCRIPT_MAX_WAIT):
                self.transcript.say([f"(still busy after {SCRIPT_MAX_WAIT:.0f}s; going on)"])
        else:
            self.settle(until_idle=False, max_wait=INTERACTIVE_MAX_WAIT)

    # -- dispatching requests to the Bolt app ---------------------------------------------
    def _dispatch(self, body: str, key: str, what: str,
                  fields: Mapping[str, str] | None = None) -> BoltResponse:
        """Send `body` to the Bolt app as the current user and show its ack (a refused form's
        messages under its `fields`, block id → label) and what it sets off."""
        with self._lock:
            self._slack.answered_by(key, self.user)
        self.transcript.hold()
        first: list[str] = []
        try:
            response = self._deliver(BoltRequest(body=body, headers=FORM_HEADERS))
            first = self._slack.ack_lines(response, what, fields)
        finally:
            self._touch()
            self.transcript.release(first)
        self.after_request()
        return response

    def slash(self, line: str) -> None:
        command, _, text = line.strip().partition(" ")
        key = self.fake.new_response_key("shell")
        body = slash_command_body(
            command, text.strip(), user_id=self.user, channel_id=self.channel_id,
            channel_name=self.channel_name, response_url=self.fake.response_url(key),
            trigger_id=self._forms.trigger(self.user),
        )
        before = self._forms.opened()
        self._dispatch(body, key, command)
        self._forms.after(before, user_id=self.user, typed=None)

    def click(self, words: list[str]) -> None:
        if not words:
            self.transcript.say(button_list(self._all_buttons()))
            return
        in_home = words[0].lower() == "home" and len(words) > 1  # `click home approve #2`
        if in_home:
            words = words[1:]
        name = words[0].lower()
        value = words[1].lstrip("#") if len(words) > 1 else None
        typed = " ".join(words[2:]) or None  # what a form the click opens asks for
        if (typed is not None and not (value or "").isdigit()) or (
                value is not None and not value):
            self.transcript.say(["Usage: click <button> [#N] [reason], e.g. `click approve` "
                                 "or `click reject #3 the migration is not reviewed`."])
            return
        button = find_button(self._all_buttons(), name, value, in_home=in_home)
        if button is None:
            where = f" for #{value}" if value else ""
            self.transcript.say([f"No message has a `{name}` button{where}. "
                                 "Type `click` to list the buttons you can press."])
            return
        msg = button.message
        ephemeral = EPHEMERAL_USER in msg
        view = msg.get(HOME_VIEW)
        self.transcript.say(click_lines(button))
        key = self.fake.new_response_key("shell")
        if view is not None:  # in the App Home tab: Slack sends the view, no response_url
            body = block_actions_body(user_id=self.user, action_id=button.action_id,
                                      value=button.value, block_id=button.block_id,
                                      response_url=None, view=view,
                                      trigger_id=self._forms.trigger(self.user))
        else:
            self._ephemerals.clicked(key, msg)
            body = block_actions_body(
                user_id=self.user, action_id=button.action_id, value=button.value,
                block_id=button.block_id, message=self._ephemerals.slack_message(msg),
                response_url=self.fake.response_url(key), ephemeral=ephemeral,
                trigger_id=self._forms.trigger(self.user),
            )
        before = self._forms.opened()
        self._dispatch(body, key, f"the {button.label} button")
        self._forms.after(before, user_id=self.user, typed=typed)

    def _submit_form(self, body: str, fields: Mapping[str, str]) -> BoltResponse:
        return self._dispatch(body, self.fake.new_response_key("shell"), "the form", fields)

    def _all_buttons(self) -> list[Button]:
        """The buttons on the current user's App Home (once opened: `home`), on the messages
        everyone sees, then on the current user's replies (the later, the likelier a bare
        `click approve` means it)."""
        view = self.fake.home_view(self.user) if self.user in self._home_opened else None
        return clickable(view, self.fake.messages(), self._ephemerals.of(self.user))

    # -- shell commands -------------------------------------------------------------------
    def become(self, words: list[str]) -> None:
        if len(words) != 1 or not USER_ID.match(words[0].upper()):
            self.transcript.say(["Usage: as <Slack user id>, e.g. `as U0BOB`."])
            return
        self.user = words[0].upper()
        roles = [r for r, members in self.config.roles.items() if self.user in members]
        what = f" ({', '.join(roles)})" if roles else " (in no role of app.yaml)"
        self.transcript.say([f"You are now {self.user}{what}."])

    def messages(self, words: list[str]) -> None:
        channel = self.channel
        if words:
            target = words[0].upper() if USER_ID.match(words[0].upper()) else words[0]
            channel = dm_channel(target) if USER_ID.match(target) else target
        self.transcript.say(channel_lines(channel, self.fake.messages(channel)))

    def wait(self) -> None:
        runner = self.container.runner
        if not runner.wait_idle(timeout=0):
            self.transcript.say(["(waiting for the running deployments to finish…)"])
            if not self.settle(until_idle=True, max_wait=SCRIPT_MAX_WAIT):
                self.transcript.say([f"(still running after {SCRIPT_MAX_WAIT:.0f}s; "
                                     "`wait` again to keep waiting)"])
                return
        else:
            self.settle(until_idle=False, max_wait=INTERACTIVE_MAX_WAIT)
        self.transcript.say(["(no deployment is running)"])

    def _deliver(self, request: BoltRequest) -> BoltResponse:
        """Dispatch a request to the Bolt app in a context of its own: Slack's requests reach
        the bot on its server's threads, and what one marks in the logging context (the
        deployment a click is about: bot.logs.mark_deployment) must not stay on the shell's
        thread, which goes on running the scheduler's jobs (and, in tests, other tests)."""
        return contextvars.copy_context().run(self.app.dispatch, request)

    def home(self) -> None:
        """Open the current user's App Home tab: the `app_home_opened` event as Slack sends it
        (devtools.slack_requests), then the view the bot published, as text."""
        published = len(self.fake.calls("views.publish"))
        body = event_callback_body(app_home_opened_event(
            self.user, view=self.fake.home_view(self.user)))
        response = self._deliver(BoltRequest(body=body, headers=JSON_HEADERS))
        self.after_request()
        view = self.fake.home_view(self.user)
        if response.status != 200 or view is None or \
                len(self.fake.calls("views.publish")) == published:
            self.transcript.say([f"(deploybot published no App Home for {self.user}: "
                                 f"HTTP {response.status} {response.body[:200]})"])
            return
        self._home_opened.add(self.user)
        lines = render_text(view.get("blocks"), None)
        self.transcript.say(with_prefix(f"[App Home of {self.user}] ", lines))

    # -- time -----------------------------------------------------------------------------
    def move(self, target_of: Callable[[datetime], datetime]) -> None:
        """`advance` / `at`: move the shell's clock to `target_of(now)`, running the
        scheduler's jobs that fall due on the way (devtools.shell.timeline)."""
        timeline = self._timeline
        if timeline is None:
            self.transcript.say(["(this shell has no scheduler: time cannot be moved)"])
            return
        if not self.container.runner.wait_idle(timeout=0):
            self.wait()  # a rollout moves the clock itself: let it finish first
        clock = self.container.clock
        try:
            target = target_of(clock.now())
            timeline.move_to(target, self._tick)
        except TimeError as e:
            self.transcript.say([str(e)])
            return
        self.transcript.say([f"(it is now {self._when(clock.now())})"])

    def _when(self, at: datetime) -> str:
        return f"{at.astimezone(self.config.zone):%a %Y-%m-%d %H:%M %Z}"

    def _tick(self, job_id: str, at: datetime, call: Callable[[], Any]) -> None:
        """Run one scheduler job; when it shows something, say when, and let it settle."""
        with self._lock:
            shown = self._shown
        self.transcript.hold()
        first: list[str] = []
        failed: list[str] = []
        try:
            call()
        except Exception as e:  # a job's bug: the scheduler would log it and carry on
            failed = [f"(the scheduler's {job_id} job failed: {e!r})"]
        finally:
            with self._lock:
                busy = self._shown != shown
            busy = busy or bool(failed) or not self.container.runner.wait_idle(timeout=0) \
                or not self.container.background.wait_idle(timeout=0)
            if busy:
                first = [f"({self._when(at)} · the scheduler runs {job_id})", *failed]
            self.transcript.release(first)
        if busy:
            self.after_request()

    def handle(self, line: str) -> bool:
        """Run one line; False when the shell should stop."""
        text = line.strip()
        if not text or text.startswith("#"):
            return True
        words = text.split()
        head, rest = words[0].lower(), words[1:]
        if text.startswith("/"):
            self.slash(text)
        elif head == "as":
            self.become(rest)
        elif head == "click":
            self.click(rest)
        elif head == "submit":
            self._forms.submit(self.user, text[len(words[0]):].strip())
        elif head == "cancel":
            self._forms.cancel(self.user)
        elif head == "messages":
            self.messages(rest)
        elif head == "wait":
            self.wait()
        elif head == "home":
            self.home()
        elif head == "advance":
            self.move(lambda now: now + parse_duration(" ".join(rest)))
        elif head == "at":
            self.move(lambda now: parse_at(" ".join(rest), self.config.zone))
        elif head == "merge":
            self.transcript.say(merge(self._repos, rest, user=self.user))
        elif head in ("help", "?"):
            self.transcript.say(HELP.splitlines())
        elif head in ("quit", "exit"):
            return False
        else:
            self.transcript.say([f"Unknown input {words[0]!r}: type a slash command such as "
                                 "`/deploy help`, or `help` for the shell's commands."])
        return True


"""`run_shell`: a session from start to end. The store upgraded with Alembic, the fake Slack
(and with `cluster="fake"` the fake Kubernetes API, devtools.fake_cluster) started, the real
container and Bolt app built on them, the lines read (a terminal's, with readline, or a
script's, echoed) and run, and everything stopped in reverse order however the session ends.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal, TextIO

from bot.clock import Clock, ManualClock, OffsetClock, SystemClock
from bot.config import AppConfig
from bot.container import Container, build_container
from bot.scheduling import jobs
from bot.store.schema import upgrade_schema
from devtools.fake_cluster import TICK, FakeCluster, fake_kubernetes
from devtools.fake_repos import FakeRepositories, fake_github
from devtools.fake_slack import FakeSlack
from devtools.shell.merges import poll_github_due
from devtools.shell.render import USER_ID, mask_url
from devtools.shell.session import INTERACTIVE_MAX_WAIT, SETTLE_SECONDS, Shell
from devtools.shell.timeline import Timeline
from devtools.shell.transcript import Transcript
from handlers import build_app

log = logging.getLogger(__name__)

EXIT_OK = 0
#: The session ran, but Slack would have refused (or cut) something the bot sent.
EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
SHELL_TOKEN = "xoxb-shell"
DEFAULT_USER = "U0ME"
#: Where the services run: the simulated cluster, or a fake Kubernetes API server.
ClusterKind = Literal["simulated", "fake"]
#: Where the services' repositories are: nowhere, or a fake GitHub (devtools.fake_repos).
GitHubKind = Literal["none", "fake"]
# How often the card shows a rollout's progress. Simulated: build_container's default. Fake:
# every change ("2/3 pods updated, 3 available") — the Kubernetes backend reports only
# changes, the fake Slack has no rate limit to respect, and a throttle measured on a
# ManualClock (tests) would never let one through.
PROGRESS_EVERY: dict[ClusterKind, timedelta] = {
    "simulated": timedelta(seconds=2),
    "fake": timedelta(0),
}


def _first_user(config: AppConfig) -> str:
    for members in config.roles.values():
        for m in members:
            if USER_ID.match(m):
                return m
    return DEFAULT_USER


def _not_announced(container: Container, at: datetime) -> list[str]:
    """The session begins at `at` (`--at`, or now): what was due to be announced too long
    before then for the bot to post it late (bot.services.announcements' grace) is let go
    quietly — nobody was down — and said here in one line, instead of the bot's warning."""
    stale = container.announcements.skip_stale(at=at)
    if not stale:
        return []
    last, zone = stale[-1], container.config.zone
    whole = last.text.splitlines()[0]
    what = whole.split("; ")[0]  # its first clause ("… in 1 hour (Fri … 14:00 EST)")
    what = what if len(what) <= 80 else what[:80].rsplit(" ", 1)[0]
    what += "…" if what != whole else ""
    due = f"{last.due_at.astimezone(zone):%a %Y-%m-%d %H:%M %Z}"
    head = ("(not announced, as it was due before this session began" if len(stale) == 1
            else f"(not announced, as they were due before this session began: "
                 f"{len(stale)} announcements, the last")
    return [f"{head}: “{what}”, due {due}; start the session before then to see it)"]


def _banner(config: AppConfig, *, config_path: str | None, database_url: str,
            user: str, scripted: bool, cluster: FakeCluster | None = None,
            github: FakeRepositories | None = None) -> list[str]:
    source = f"{config_path} · " if config_path else ""
    lines = [
        "deploybot shell: your lines go to the real handlers and services; Slack is faked "
        "locally.",
        f"  {source}channel {config.slack.deployments_channel} · database "
        f"{mask_url(database_url)}",
    ]
    if cluster is not None:
        lines += cluster.describe()
    if github is not None:
        lines += github.describe()
    for role, members in config.roles.items():
        lines.append(f"  {role}: {', '.join(members) or '(nobody)'}")
    if not scripted:
        lines.append(f"You are {user}. Type help for the commands.")
    else:
        lines.append(f"You are {user}. (Type help in an interactive shell for the commands.)")
    return lines


@contextmanager
def _quiet_logging() -> Iterator[Callable[[], None]]:
    """Keep library INFO chatter (Alembic, Bolt's unhandled-request advice) out of the
    transcript; the returned function quiets Bolt's loggers, which Bolt sets when the app
    is built. Levels are restored at the end."""
    saved: dict[str, int] = {}

    def set_level(name: str, level: int) -> None:
        logger = logging.getLogger(name)
        saved.setdefault(name, logger.level)
        logger.setLevel(level)

    def quiet_bolt() -> None:
        for name in ("slack_bolt", "slack_bolt.App", "slack_sdk"):
            set_level(name, logging.ERROR)

    set_level("alembic", logging.WARNING)
    # The fake GitHub's server (werkzeug) logs every request it answers.
    set_level("werkzeug", logging.WARNING)
    # The transcript shows each result as Slack would; the runner's own INFO line about it
    # would repeat it, stamped with the real clock rather than the shell's.
    set_level("bot.services.runner", logging.WARNING)
    set_level("bot.backends.kubernetes", logging.WARNING)  # "patched …": the card says it
    # The scheduler's jobs (`advance`, `at`): "announced …", "released lock …" — the
    # transcript shows each as Slack would.
    set_level("bot.services", logging.WARNING)
    try:
        yield quiet_bolt
    finally:
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


def _script_lines(source: TextIO) -> Iterator[str]:
    for line in source:
        yield line.rstrip("\r\n")


def _typed_lines(shell: Shell, transcript: Transcript, source: TextIO) -> Iterator[str]:
    """Lines typed at a terminal: `input()` (with readline editing) when it is stdin."""
    line_buffer: Callable[[], str] | None = None
    if source is sys.stdin:
        try:
            import readline  # line editing and history for input()

            line_buffer = readline.get_line_buffer
        except ImportError:  # pragma: no cover - e.g. Windows
            pass
    while True:
        with transcript.at_prompt(shell.prompt, line_buffer):
            if source is sys.stdin:
                try:
                    line = input(shell.prompt)
                except EOFError:
                    line = None
            else:
                transcript.say_partial(shell.prompt)
                read = source.readline()
                line = read.rstrip("\r\n") if read else None
        if line is None:
            transcript.say([""])
            return
        yield line


def _user_groups(config: AppConfig) -> dict[str, list[str]]:
    """Every user group named in the roles, empty: the fake Slack answers for them."""
    return {m: [] for members in config.roles.values() for m in members if m.startswith("S")}


def run_shell(
    config: AppConfig,
    *,
    database_url: str,
    script: str | None,
    out: TextIO = sys.stdout,
    inp: TextIO | None = None,
    config_path: str | None = None,
    settle: float = SETTLE_SECONDS,
    clock: Clock | None = None,
    cluster: ClusterKind = "simulated",
    fake_tick: float = TICK,
    github: GitHubKind = "none",
) -> int:
    """Run the shell until `quit`, the end of the input or the end of `script` (a path, or
    "-" for `inp`, default stdin). Interactive (a prompt, output as it comes) when reading a
    terminal; otherwise each line is echoed after the prompt and everything it sets off,
    rollouts included, is printed before the next line runs. `clock` defaults to the
    system clock (tests pass a fixed one). `cluster="fake"` runs every service on the
    Kubernetes executor against a fake Kubernetes API server (its controller steps every
    `fake_tick` seconds) started for the session and stopped at its end, however it ends.
    `github="fake"` puts every service on a repository of a fake GitHub started for the
    session (devtools.fake_repos; `merge` in the shell). Returns the exit code: 1 when Slack
    would have refused (or cut) a message the bot sent (devtools/fake_slack_blocks.py)."""
    source = inp if inp is not None else sys.stdin
    script_file: TextIO | None = None
    if script is not None and script != "-":
        try:
            script_file = Path(script).open(encoding="utf-8")  # noqa: SIM115 - closed below
        except OSError as e:
            print(f"deploybot: cannot read the script {script}: {e.strerror}", file=sys.stderr)
            return EXIT_USAGE
        source = script_file
    interactive = script is None and source.isatty()
    transcript = Transcript(out)
    user = _first_user(config)
    shell = Shell(config=config, transcript=transcript, user=user, settle=settle,
                  scripted=not interactive)
    try:
        # Stopped in reverse order, however the session ends: the container first (the
        # deployments in flight finish against the fakes), then Slack, then the cluster.
        with _quiet_logging() as quiet_bolt, ExitStack() as stack:
            upgrade_schema(database_url)
            # Real time (from --at, if given) with a time-lapse: a post-deploy watch of
            # several minutes passes in a moment (build_container's manual_sleep).
            if not isinstance(clock, ManualClock | OffsetClock):
                base = clock or SystemClock()
                clock = OffsetClock(base.now(), base)
            k8s: FakeCluster | None = None
            if cluster == "fake":
                # The fake cluster keeps the shell's time: its ReplicaSets, conditions and
                # Date header agree with the session's clock ("since" times, the deadline
                # rule's comparison with our patch), time-lapse included.
                k8s = stack.enter_context(fake_kubernetes(
                    config, tick=fake_tick, source=config_path or "app.yaml",
                    clock=clock.now))
                config = k8s.config
            repos: FakeRepositories | None = None
            if github == "fake":
                repos = stack.enter_context(fake_github(
                    config, source=config_path or "app.yaml"))
                config = repos.config
            fake = stack.enter_context(
                FakeSlack(usergroups=_user_groups(config), on_call=shell.on_call))
            container = build_container(
                config, database_url=database_url, slack_token=SHELL_TOKEN,
                slack_api_url=fake.base_url, clock=clock,
                kubeconfig=k8s.kubeconfig if k8s is not None else None,
                progress_every=PROGRESS_EVERY[cluster],
                github_token=repos.token if repos is not None else None,
                github_api_url=repos.url if repos is not None else None)
            stack.callback(container.close)
            # The real scheduler's jobs, run on the shell's clock when time is moved
            # (`advance`, `at`); stopped before the container.
            timeline = Timeline(container, clock, next_due=None if repos is None else {
                jobs.poll_github: poll_github_due(repos, container)})
            stack.callback(timeline.close)
            app = build_app(container, signing_secret=None, verify_requests=False)
            quiet_bolt()
            shell.attach(fake, app, container, timeline, repos)
            transcript.say(_banner(config, config_path=config_path,
                                   database_url=database_url, user=user,
                                   scripted=not interactive, cluster=k8s, github=repos))
            if repos is not None and container.github_polling is not None:
                # The bot has been watching the repositories: its first look is a
                # baseline (what is there is not deployed), so a merge in the session is new.
                container.github_polling.poll()
            transcript.say(_not_announced(container, clock.now()))
            resumed = container.runner.resume()
            if resumed:
                transcript.say([f"(resuming {resumed} unfinished deployment(s))"])
                shell.after_request()
            _run_lines(shell, transcript,
                       _typed_lines(shell, transcript, source) if interactive
                       else _script_lines(source), echo=not interactive)
            container.background.wait_idle(timeout=INTERACTIVE_MAX_WAIT)  # answers in flight
            if not container.runner.wait_idle(timeout=0):
                transcript.say(["(letting the running deployments finish…)"])
        refused = fake.refusals()  # the deployments in flight have finished (stack closed)
        if refused:
            transcript.say([f"⚠️ Slack would have refused {len(refused)} of the bot's "
                            "messages (shown above with ⚠️): a bug in deploybot."])
            return EXIT_REFUSED
    except KeyboardInterrupt:
        transcript.say(["", "(interrupted)"])
        return EXIT_INTERRUPTED
    finally:
        if script_file is not None:
            script_file.close()
    return EXIT_OK


def _run_lines(shell: Shell, transcript: Transcript, lines: Iterable[str], *,
               echo: bool) -> None:
    for line in lines:
        if echo:
            text = line.strip()
            # Comments and blank lines are echoed as they are: they narrate a script.
            transcript.say([line.rstrip() if not text or text.startswith("#")
                            else shell.prompt + text])
        try:
            if not shell.handle(line):
                return
        except Exception as e:  # a bug in the shell itself: say so, keep the session
            log.debug("shell line failed", exc_info=True)
            transcript.say([f"(the shell could not run that line: {e!r})"])

"""Structured logs: JSON lines that parse, the deployment id on every line logged while
working on a deployment (the runner's threads, a click's work), and secrets masked wherever
they appear (message, arguments, exception text)."""

from __future__ import annotations

import io
import json
import logging
import re
import threading
from collections.abc import Iterator
from datetime import UTC
from typing import Any

import pytest

from bot.cli import main
from bot.domain.states import State
from bot.logs import (
    QUIET_LIBRARIES,
    DeploymentFilter,
    JsonFormatter,
    RedactFilter,
    Redactor,
    TextFormatter,
    configure_logging,
    make_handler,
    working_on,
)
from tests.conftest import APPROVER, RunningBot
from tests.handlers.spine import click_reply, request, run_to_end

SLACK_TOKEN = "xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOp"
APP_TOKEN = "xapp-1-A0123456789-1234567890123-abcdef0123456789"
GITHUB_TOKEN = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
GITHUB_PAT = "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz0123456789"
SIGNING_SECRET = "8f14e45fceea167a5a36dedd4bea2543"
ROUTING_KEY = "R0UT1NGKEY0123456789abcdef012345"
SMTP_PASSWORD = "correct horse battery staple"
DB_PASSWORD = "s3cr3t-db-pw"


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger of its own writing JSON lines to a buffer, secrets of a test environment."""
    buf = io.StringIO()
    env = {"SLACK_SIGNING_SECRET": SIGNING_SECRET, "PAGERDUTY_ROUTING_KEY": ROUTING_KEY,
           "SMTP_PASSWORD": SMTP_PASSWORD, "HOME": "/home/deploybot", "PORT": "3000",
           "DATABASE_URL": f"postgresql://deploybot:{DB_PASSWORD}@db:5432/deploybot"}
    handler = make_handler("json", stream=buf, redactor=Redactor.from_env(env))
    logger = logging.getLogger("tests.logs.captured")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    try:
        yield logger, buf
    finally:
        logger.removeHandler(handler)


def lines(buf: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buf.getvalue().splitlines()]


def test_json_lines_parse_with_time_level_logger_message_and_exception(
        captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, buf = captured
    logger.info("deployment of %s to %s", "api", "staging")
    try:
        raise ValueError("the rollout\nbroke")
    except ValueError:
        logger.exception("it failed")
    with working_on(42):
        logger.warning("with an id")
    first, second, third = lines(buf)
    assert first["level"] == "INFO"
    assert first["logger"] == "tests.logs.captured"
    assert first["message"] == "deployment of api to staging"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", first["time"])
    assert "deployment_id" not in first and "exception" not in first
    assert second["level"] == "ERROR"
    assert "Traceback" in second["exception"] and "ValueError: the rollout" in \
        second["exception"]
    assert third["deployment_id"] == 42
    # One object per line, even with a newline in the exception text.
    assert len(buf.getvalue().splitlines()) == 3


def test_tokens_and_secret_values_are_masked_in_messages_args_and_exceptions(
        captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, buf = captured
    logger.info("slack %s and app %s", SLACK_TOKEN, APP_TOKEN)
    logger.info(f"github {GITHUB_TOKEN} and {GITHUB_PAT}")
    logger.info("headers: %s", {"Authorization": "Bearer abc.DEF-123_xyz"})
    logger.info("signing secret %s, routing key %s, smtp %r", SIGNING_SECRET, ROUTING_KEY,
                SMTP_PASSWORD)
    logger.info("connecting to postgresql+psycopg://deploybot:%s@db:5432/x", DB_PASSWORD)
    logger.info("a password in any URL: https://user:hunter2hunter2@example.com/path")
    logger.info("key: -----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA0Z3VS\n"
                "-----END RSA PRIVATE KEY-----")
    try:
        raise RuntimeError(f"auth failed for {SLACK_TOKEN}")
    except RuntimeError:
        logger.exception("request failed with token=%s", GITHUB_TOKEN)
    out = buf.getvalue()
    for secret in (SLACK_TOKEN, APP_TOKEN, GITHUB_TOKEN, GITHUB_PAT, "abc.DEF-123_xyz",
                   SIGNING_SECRET, ROUTING_KEY, SMTP_PASSWORD, DB_PASSWORD, "hunter2hunter2",
                   "MIIEpAIBAAKCAQEA0Z3VS"):
        assert secret not in out, secret
    got = lines(buf)
    assert got[0]["message"] == "slack *** and app ***"
    assert got[2]["message"] == "headers: {'Authorization': 'Bearer ***'}"
    assert got[4]["message"] == "connecting to postgresql+psycopg://deploybot:***@db:5432/x"
    assert got[6]["message"] == "key: ***"
    assert "RuntimeError: auth failed for ***" in got[7]["exception"]
    # Ordinary values of the environment are left alone.
    logger.info("home is /home/deploybot on port 3000")
    assert lines(buf)[-1]["message"] == "home is /home/deploybot on port 3000"


def test_text_format_names_the_deployment() -> None:
    buf = io.StringIO()
    handler = logging.StreamHandler(buf)
    handler.addFilter(DeploymentFilter())
    handler.addFilter(RedactFilter(Redactor()))
    handler.setFormatter(TextFormatter())
    logger = logging.getLogger("tests.logs.text")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        with working_on(7):
            logger.warning("token %s", SLACK_TOKEN)
        logger.warning("no deployment")
    finally:
        logger.removeHandler(handler)
    first, second = buf.getvalue().splitlines()
    assert first.endswith("WARNING tests.logs.text: token *** [deployment #7]")
    assert second.endswith("WARNING tests.logs.text: no deployment")
    assert isinstance(JsonFormatter(), logging.Formatter)


@pytest.fixture
def root_json() -> Iterator[io.StringIO]:
    """JSON lines of everything the bot logs at INFO and above, as `deploybot run` has it."""
    buf = io.StringIO()
    handler = make_handler("json", stream=buf, redactor=Redactor())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield buf
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def test_every_line_logged_while_working_on_a_deployment_carries_its_id(
        bot: RunningBot, root_json: io.StringIO) -> None:
    ok = request(bot, "staging v1.2.3")
    assert run_to_end(bot, ok) is State.SUCCEEDED
    bad = request(bot, "staging v1.2.4-bad")
    assert run_to_end(bot, bad) is State.FAILED
    prod = request(bot, "production v1.2.3")
    # The card cannot be updated after the click: the click's own work logs a warning,
    # and so may the runner's next update.
    bot.slack.fail_next("chat.update", error="internal_error", times=2)
    click_reply(bot, prod, APPROVER)
    assert run_to_end(bot, prod) is State.SUCCEEDED

    got = lines(root_json)
    ended = {line["deployment_id"]: line["message"] for line in got
             if line["logger"] == "bot.services.runner" and "ended" in line["message"]}
    assert set(ended) == {ok, bad, prod}
    for deployment_id, message in ended.items():
        assert message.startswith(f"deployment {deployment_id} of api to ")
    # Whatever the runner's threads logged names the deployment they worked on.
    on_runner = [line for line in got if line["thread"].startswith("deploy")]
    assert on_runner and all("deployment_id" in line for line in on_runner), on_runner
    # The click named the deployment: its work on the listener pool logged with the id.
    card = [line for line in got if "could not update the Slack card" in line["message"]]
    assert any(line["thread"].startswith("listener") for line in card), card
    assert all(line["deployment_id"] == prod for line in card)
    # Lines logged outside any deployment's work do not name one.
    assert all(line.get("deployment_id") in (None, ok, bad, prod) for line in got)


def test_an_unknown_log_format_is_refused(monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("LOG_FORMAT", "xml")
    assert main(["check-config", "app.yaml"]) == 2
    assert "LOG_FORMAT: 'xml' is not a log format (text or json)" in capsys.readouterr().err


@pytest.fixture
def root_text() -> Iterator[io.StringIO]:
    """configure_logging on the root logger, writing text to a buffer; the root's and the
    quieted libraries' loggers restored afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    quiet = {name: logging.getLogger(name).level for name in QUIET_LIBRARIES}
    buf = io.StringIO()
    configure_logging("text", level=logging.INFO, stream=buf, env={}, force=True)
    try:
        yield buf
    finally:
        for h in list(root.handlers):
            root.removeHandler(h)
        for h in handlers:
            root.addHandler(h)
        root.setLevel(level)
        for name, lvl in quiet.items():
            logging.getLogger(name).setLevel(lvl)


def test_apscheduler_logs_only_warnings_and_errors_not_every_job_run(
        root_text: io.StringIO) -> None:
    from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED
    from apscheduler.schedulers.background import BackgroundScheduler

    def fine() -> None:
        logging.getLogger("bot.scheduling.jobs").info("the job did its work")

    def broken() -> None:
        raise RuntimeError("the job broke")

    done = threading.Semaphore(0)
    scheduler = BackgroundScheduler(timezone=UTC)
    scheduler.add_listener(lambda _: done.release(), EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
    scheduler.start()  # its start is logged at INFO too
    try:
        scheduler.add_job(fine, id="fine")  # no trigger: run once, now
        scheduler.add_job(broken, id="broken")
        assert done.acquire(timeout=10) and done.acquire(timeout=10)
    finally:
        scheduler.shutdown(wait=True)
    text = root_text.getvalue()
    assert "INFO bot.scheduling.jobs: the job did its work" in text  # the bot's own line
    assert "ERROR apscheduler.executors.default: Job \"" in text  # a job that raised
    assert "RuntimeError: the job broke" in text
    # APScheduler's INFO chatter ("Added job", "Running job", "executed successfully",
    # "Scheduler started") is not.
    assert [line for line in text.splitlines() if " INFO apscheduler" in line] == []
    assert "executed successfully" not in text and "Running job" not in text


def test_at_debug_apscheduler_shows_everything(root_text: io.StringIO) -> None:
    configure_logging("text", level=logging.DEBUG, stream=root_text, env={}, force=True)
    logging.getLogger("apscheduler.scheduler").info("Scheduler started")
    assert "INFO apscheduler.scheduler: Scheduler started" in root_text.getvalue()

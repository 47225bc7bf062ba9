"""`/logs` text parsing: the forms, the flags, and each bad input's own message."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.domain.log_commands import (
    DEFAULT_TAIL,
    LogsArgs,
    LogsHelpArgs,
    LogsUsageError,
    duration_text,
    parse_logs,
)

ENVS = ("staging", "production")
IN = {"staging": ["api", "web"], "production": ["api"]}
ALL = ("api", "web", "batch")


def parse(text: str) -> object:
    return parse_logs(text, environments=ENVS, services_in=IN, services=ALL)


@pytest.mark.parametrize(("text", "expected"), [
    ("production", LogsArgs("production", "api")),
    ("staging api", LogsArgs("staging", "api")),
    ("staging api api-7d9c5b-x2x4q", LogsArgs("staging", "api", pod="api-7d9c5b-x2x4q")),
    ("production api-7d9c5b-x2x4q", LogsArgs("production", "api", pod="api-7d9c5b-x2x4q")),
    ("staging web --previous", LogsArgs("staging", "web", previous=True)),
    ("staging api --since 10m --tail 50",
     LogsArgs("staging", "api", since=timedelta(minutes=10), tail=50)),
    ("staging api --since=1h30m --tail=5000",
     LogsArgs("staging", "api", since=timedelta(minutes=90), tail=5000)),
    ('staging --grep "connection refused" api',
     LogsArgs("staging", "api", grep="connection refused")),
    ("staging api --grep=\u201cpool timeout\u201d",
     LogsArgs("staging", "api", grep="pool timeout")),
    ("staging api --grep can't", LogsArgs("staging", "api", grep="can't")),
    ("staging api --grep '--retry'", LogsArgs("staging", "api", grep="--retry")),
    ("production --previous --grep ERROR",
     LogsArgs("production", "api", previous=True, grep="ERROR")),
])
def test_the_forms(text: str, expected: LogsArgs) -> None:
    assert parse(text) == expected


def test_help_and_the_defaults() -> None:
    assert parse("help") == LogsHelpArgs()
    args = parse("production")
    assert isinstance(args, LogsArgs)
    assert (args.tail, args.since, args.grep, args.previous) == (DEFAULT_TAIL, None, None, False)
    assert args.flags == "--tail 200"
    full = parse('staging api --previous --since 2h --tail 20 --grep "x y"')
    assert isinstance(full, LogsArgs)
    assert full.flags == '--previous --since 2h --tail 20 --grep "x y"'
    assert duration_text(timedelta(days=1, minutes=5)) == "1d5m"


@pytest.mark.parametrize(("text", "message"), [
    ("", "Which environment?"),
    ("qa api", "Unknown environment `qa`. Known environments: `production`, `staging`."),
    ("api staging", "Put the environment first: `/logs staging api`."),
    ("--previous", "Which environment? Name it before the options"),
    ("staging", "Which service? Name one of `api`, `web` after the environment, e.g. "
                "`/logs staging api`."),
    ("staging nope", "Unknown service `nope`. Services in `staging`: `api`, `web`; to name a "
                     "pod, put its service first: `/logs staging api nope`."),
    ("staging NOPE", "Unknown service `NOPE`. Services in `staging`: `api`, `web`."),
    ("production web", "`web` is not deployed to `production` (it deploys to `staging`)."),
    ("production batch", "`batch` is not deployed to `production` (it deploys to none)."),
    ("staging api Api_Pod", "`Api_Pod` is not a pod name"),
    ("staging api pod extra", "Too many words: `extra` was not expected"),
    ("staging api --follow", "Unknown option `--follow`. `/logs` posts a tail; it cannot "
                             "follow a log"),
    ("staging api --lines 5", "Unknown option `--lines`. The options are `--previous`, "
                              "`--since`, `--tail`, `--grep`."),
    ("staging api --previous=yes", "`--previous` takes no value."),
    ("staging api --tail 5 --tail 6", "`--tail` is given twice."),
    ("staging api --since", "`--since` needs a value, e.g. `--since 10m`."),
    ("staging api --since 10x", "`10x` is not a duration for `--since`: write e.g. `30s`"),
    ("staging api --since 0m", "`--since 0m` is no time at all"),
    ("staging api --since 8d", "`--since 8d` goes back further than 7 days"),
    ("staging api --tail", "`--tail` needs a value, e.g. `--tail 200`."),
    ("staging api --tail -5", "`-5` is not a number of lines for `--tail`"),
    ("staging api --tail 0", "`0` is not a number of lines for `--tail`: give a positive"),
    ("staging api --tail ten", "`ten` is not a number of lines for `--tail`"),
    ("staging api --tail 5001", "`--tail 5001` is too many lines: at most 5000"),
    ("staging api --grep", "`--grep` needs the text to look for"),
    ('staging api --grep ""', "`--grep` needs the text to look for"),
    ("staging api --grep --previous", "`--grep` needs the text to look for"),
    ('staging api --grep "unclosed text', "The quote `\"unclosed text` is not closed"),
    ("staging api --grep " + "x" * 201, "The `--grep` text is 201 characters long"),
    ('staging "api"', "`api`: only the `--grep` text may be quoted."),
    ("staging a<b", "`a&lt;b` is not a name"),
    ("x" * 501, "That command is 501 characters long"),
])
def test_bad_input_gets_its_own_message(text: str, message: str) -> None:
    with pytest.raises(LogsUsageError) as e:
        parse(text)
    assert message in str(e.value)

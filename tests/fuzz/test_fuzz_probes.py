"""The GET endpoints (`/healthz`, `/readyz`, `/metrics`) with arbitrary query strings, over
real HTTP: each answers as it does without one (200, its usual body), without a traceback in
any log, and changes nothing. (How long an answer takes is benchmarks/ack_budget.py's.)
"""

from __future__ import annotations

import json

from hypothesis import given, note, settings
from hypothesis import strategies as st

from tests.fuzz.harness import Served, changed
from tests.fuzz.profiles import scaled
from tests.fuzz.strategies import query_strings

PROBES = ("/healthz", "/readyz", "/metrics")


@settings(max_examples=scaled(0.5))  # three small handlers: fewer examples cover them
@given(path=st.sampled_from(PROBES), query=query_strings)
def test_a_probe_answers_the_same_whatever_its_query(served: Served, path: str,
                                                     query: str) -> None:
    served.settle()
    served.logs.clear()
    before = served.snapshot()
    slack_calls = len(served.bot.slack.calls())

    answer = served.get(f"{path}?{query}")
    note(f"answer={answer.status} {answer.body[:300]!r} in {answer.elapsed:.3f}s")
    served.settle()
    tracebacks = served.logs.tracebacks()

    assert answer.status == 200, answer.body[:300]
    assert tracebacks == [], tracebacks
    if path == "/metrics":
        assert answer.headers["content-type"].startswith("text/plain")
        assert b"deploybot_slack_ack_seconds" in answer.body
    else:
        assert json.loads(answer.body)["ok"] is True
    assert changed(before, served.snapshot()) == {}
    # /readyz asks Slack whether the token works (auth.test), nothing else
    assert {c.method for c in served.bot.slack.calls()[slack_calls:]} <= {"auth.test"}

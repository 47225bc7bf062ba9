"""bot.backends.ofrep against a local flag service answering as the OFREP OpenAPI document
says (devtools/fake_ofrep.py): success, a flag not found, an evaluation failure, 401 and
403, 429 and 5xx, unreachable, and the bulk endpoint."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.backends.ofrep import OfrepEvaluator
from bot.domain.flags import Evaluation, UnknownFlag
from bot.errors import PermanentError, RateLimited, RetryableError
from devtools.fake_ofrep import FakeOfrep
from tests.domain.test_flags import document

TOKEN = "ofrep-token-1"


@pytest.fixture
def ofrep() -> Iterator[FakeOfrep]:
    with FakeOfrep() as fake:
        fake.set_flag("new-checkout", False, variant="off", reason="TARGETING_MATCH",
                      metadata={"owner": "payments"})
        fake.set_flag("banner-color", "#0d507b", variant="blue")
        yield fake


def evaluator(ofrep: FakeOfrep, token: str | None = None) -> OfrepEvaluator:
    return OfrepEvaluator(ofrep.url + "/", token=token, token_env="OFREP_TOKEN", timeout=2.0)


def test_a_flag_is_evaluated_with_the_context_sent(ofrep: FakeOfrep) -> None:
    result = evaluator(ofrep).evaluate("new-checkout", {"targetingKey": "u1", "plan": "beta"})
    assert result == Evaluation(key="new-checkout", value=False, variant="off",
                                reason="TARGETING_MATCH", metadata={"owner": "payments"})
    [request] = ofrep.requests
    assert request.path == "/ofrep/v1/evaluate/flags/new-checkout"
    assert request.body == {"context": {"targetingKey": "u1", "plan": "beta"}}
    assert request.authorization is None


def test_a_flag_the_service_does_not_have_is_an_unknown_flag(ofrep: FakeOfrep) -> None:
    with pytest.raises(UnknownFlag) as info:
        evaluator(ofrep).evaluate("nope")
    assert info.value.message == (
        f"There is no flag `nope` in the flag service at {ofrep.url}.")


def test_an_evaluation_failure_is_the_flags_answer(ofrep: FakeOfrep) -> None:
    ofrep.set_flag("by-user", True, variant="on", needs_targeting_key=True)
    ofrep.set_error("broken", "PARSE_ERROR", "targeting rule is not valid JsonLogic")
    result = evaluator(ofrep).evaluate("by-user", {})
    assert (result.ok, result.error_code) == (False, "TARGETING_KEY_MISSING")
    broken = evaluator(ofrep).evaluate("broken")
    assert (broken.error_code, broken.error_details) == (
        "PARSE_ERROR", "targeting rule is not valid JsonLogic")


def test_the_token_is_sent_as_a_bearer_token(ofrep: FakeOfrep) -> None:
    ofrep.require_token(TOKEN)
    assert evaluator(ofrep, TOKEN).evaluate("banner-color").value == "#0d507b"
    assert ofrep.requests[-1].authorization == f"Bearer {TOKEN}"


def test_401_says_which_variable_to_set(ofrep: FakeOfrep) -> None:
    ofrep.require_token(TOKEN)
    with pytest.raises(PermanentError) as info:
        evaluator(ofrep).evaluate("banner-color")
    assert str(info.value) == (
        f"the flag service at {ofrep.url} refused deploybot's credentials to evaluate "
        "`banner-color` (401 Unauthorized); it wants a token: set OFREP_TOKEN")
    with pytest.raises(PermanentError, match="set OFREP_TOKEN to a token it accepts"):
        evaluator(ofrep, "wrong").evaluate("banner-color")


def test_403_says_the_token_needs_access(ofrep: FakeOfrep) -> None:
    ofrep.require_token(TOKEN, "read-nothing")
    ofrep.forbid_token("read-nothing")
    with pytest.raises(PermanentError, match=r"does not let the token in OFREP_TOKEN evaluate "
                                             r"`banner-color` \(403 Forbidden\)"):
        evaluator(ofrep, "read-nothing").evaluate("banner-color")


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_is_try_again(ofrep: FakeOfrep, status: int) -> None:
    ofrep.fail_next(status)
    with pytest.raises(RetryableError) as info:
        evaluator(ofrep).evaluate("banner-color")
    assert not isinstance(info.value, RateLimited)
    assert str(info.value) == (
        f"the flag service at {ofrep.url} answered {status} to evaluate `banner-color`: "
        f"injected failure {status} (fake OFREP): try again")
    assert evaluator(ofrep).evaluate("banner-color").variant == "blue"  # the next one is fine


def test_429_is_rate_limited_until_retry_after(ofrep: FakeOfrep) -> None:
    ofrep.fail_next(429, retry_after="2024-02-07T12:00:00Z")  # the OpenAPI's own example
    with pytest.raises(RateLimited) as info:
        evaluator(ofrep).evaluate("banner-color")
    assert info.value.reset_at == datetime(2024, 2, 7, 12, tzinfo=UTC)
    ofrep.fail_next(429, retry_after="30")
    with pytest.raises(RateLimited) as info:
        evaluator(ofrep).evaluate("banner-color")
    assert info.value.retry_after == timedelta(seconds=30)


def test_an_unreachable_service_is_try_again(ofrep: FakeOfrep) -> None:
    ofrep.stop()
    with pytest.raises(RetryableError, match=r"is unreachable \(ConnectError") as info:
        evaluator(ofrep).evaluate("banner-color")
    assert str(info.value).startswith(f"the flag service at {ofrep.url} is unreachable")
    ofrep.start()
    assert evaluator(ofrep).evaluate("banner-color").value == "#0d507b"


def test_bulk_evaluation_returns_every_flag_with_failures_in_place(ofrep: FakeOfrep) -> None:
    ofrep.load_flagd(document())  # banner-color is DISABLED there: flagd has no such flag
    ofrep.set_error("broken", "GENERAL", "boom")
    results = {e.key: e for e in evaluator(ofrep).evaluate_all({"targetingKey": "u1"})}
    assert sorted(results) == ["broken", "new-checkout", "simple"]
    assert (results["new-checkout"].value, results["new-checkout"].variant) == (True, "on")
    assert results["new-checkout"].metadata == {"owner": "payments", "ticket": "PAY-12"}
    assert (results["broken"].ok, results["broken"].error_code) == (False, "GENERAL")
    assert ofrep.requests[-1].path == "/ofrep/v1/evaluate/flags"

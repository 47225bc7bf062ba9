"""The flag definitions deploybot writes, evaluated by flagd's own Python evaluation: the
OpenFeature SDK with `openfeature-provider-flagd` in its in-process FILE mode
(`offline_flag_source_path`, the provider's README "File mode") reading the JSON
bot.domain.flags wrote — proof it is flagd configuration, not our reading of it. Each file is
read by a fresh provider (the file watcher only polls for changes)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openfeature import api
from openfeature.contrib.provider.flagd import FlagdProvider
from openfeature.contrib.provider.flagd.config import ResolverType
from openfeature.evaluation_context import EvaluationContext
from openfeature.flag_evaluation import Reason

from bot.domain.flags import FlagChange, FlagDocument
from tests.domain.test_flags import WHERE, document

_domains = itertools.count()
BETA = EvaluationContext("u1", {"plan": "beta", "email": "ann@example.com"})
STAFF = EvaluationContext("u2", {"plan": "free", "email": "bob@acme.test"})
ANYONE = EvaluationContext("u3", {"plan": "free", "email": "cat@example.com"})


class Flagd:
    """flagd's in-process evaluation of one file, through the OpenFeature SDK."""

    def __init__(self, path: Path) -> None:
        self.domain = f"deploybot-test-{next(_domains)}"
        self.provider = FlagdProvider(resolver_type=ResolverType.FILE,
                                      offline_flag_source_path=str(path))
        api.set_provider_and_wait(self.provider, domain=self.domain)
        self.client = api.get_client(self.domain)

    def boolean(self, key: str, default: bool, ctx: EvaluationContext) -> tuple[Any, ...]:
        d = self.client.get_boolean_details(key, default, ctx)
        return d.value, d.variant, d.reason, d.error_code

    def string(self, key: str, default: str, ctx: EvaluationContext) -> tuple[Any, ...]:
        d = self.client.get_string_details(key, default, ctx)
        return d.value, d.variant, d.reason, d.error_code


@pytest.fixture
def flagd(tmp_path: Path) -> Iterator[Any]:
    opened: list[Flagd] = []

    def evaluate(doc: FlagDocument) -> Flagd:
        path = tmp_path / f"flags-{len(opened)}.json"
        path.write_text(doc.to_json(), encoding="utf-8")
        opened.append(Flagd(path))
        return opened[-1]

    yield evaluate
    for f in opened:
        f.provider.shutdown()


def test_off_serves_false_to_everyone_the_targeting_does_not_match(flagd: Any) -> None:
    before = flagd(FlagDocument.parse(document(), where=WHERE))
    assert before.boolean("new-checkout", False, ANYONE) == (True, "on", Reason.DEFAULT, None)
    assert before.boolean("new-checkout", False, STAFF)[:3] == (False, "off",
                                                                Reason.TARGETING_MATCH)

    off = FlagChange("new-checkout", "off").apply(FlagDocument.parse(document(), where=WHERE),
                                                  where=WHERE)
    after = flagd(off.document)
    assert after.boolean("new-checkout", True, ANYONE) == (False, "off", Reason.DEFAULT, None)
    # as the change's caveat says: the kept targeting (a $ref into $evaluators) still decides
    assert after.boolean("new-checkout", False, BETA)[:3] == (True, "on",
                                                              Reason.TARGETING_MATCH)

    on = FlagChange("new-checkout", "on").apply(off.document, where=WHERE)
    assert flagd(on.document).boolean("new-checkout", False, ANYONE)[:2] == (True, "on")


def test_a_flag_without_targeting_turned_off_is_static_false(flagd: Any) -> None:
    doc = FlagDocument.parse(document(), where=WHERE)
    assert flagd(doc).boolean("simple", False, ANYONE) == (True, "yes", Reason.STATIC, None)
    off = FlagChange("simple", "off").apply(doc, where=WHERE)
    assert flagd(off.document).boolean("simple", True, ANYONE) == (False, "no", Reason.STATIC,
                                                                    None)


def test_disabled_gives_the_callers_default_and_a_variant_change_enables_it(
        flagd: Any) -> None:
    """Why "off" is not state DISABLED: a DISABLED flag answers the code's own default."""
    doc = FlagDocument.parse(document(), where=WHERE)
    value, _variant, reason, _error = flagd(doc).string("banner-color", "code-default", ANYONE)
    assert (value, reason) == ("code-default", Reason.DISABLED)
    blue = FlagChange("banner-color", "blue").apply(doc, where=WHERE)
    assert flagd(blue.document).string("banner-color", "code-default", ANYONE) == (
        "#0d507b", "blue", Reason.STATIC, None)

"""The forms deploybot opens, filled in from `deploybot shell` (issue 18): `/deploy` alone
opens the deploy form, shown with its fields; `submit name=value …` sends the
view_submission Slack would send, a refusal is shown under its field and leaves the form
open, `cancel` closes it; a checklist item's "not applicable…" takes its reason after the
button. What the submissions carried is read back from the database the session used and,
for the payload's shape, through the handlers' own reading of it."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from pytest_httpserver import HTTPServer

from bot.domain.deploy_form import FormChoices, FormInput
from bot.presentation import ids
from bot.presentation.deploy_form_views import deploy_form
from devtools.fake_github import TOKEN, FakeGitHub
from devtools.fake_github.review import FakeReview
from devtools.shell.form_fields import FormError, fields_of, fill
from devtools.shell.forms import view_closed_body
from devtools.slack_requests import view_submission_body
from handlers.deploy_form import form_input
from handlers.payloads.clicks import click_of
from tests.shell_checks import in_order
from tests.test_shell import flat, shell


def rows(tmp_path: Path, sql: str) -> list[tuple[Any, ...]]:
    """What the session stored (its SQLite file), once it has ended."""
    with sqlite3.connect(tmp_path / "shell.db") as db:
        return db.execute(sql).fetchall()


def deployments(tmp_path: Path) -> list[tuple[Any, ...]]:
    return rows(tmp_path, "SELECT id, service, environment, version, requested_by, "
                          "emergency_reason FROM deployments ORDER BY id")


def test_deploy_alone_opens_the_form_and_submit_requests_the_deploy(tmp_path: Path) -> None:
    out = shell(tmp_path, """\
/deploy staging v1.2.3
/deploy
submit environment=production version=v1.2.3
""")
    form = out[out.index("U0ALICE> /deploy\n"):]
    assert ("(Slack opens the form “Deploy”: Service, Environment, Version, Or type the version, "
            "Emergency, Emergency reason)") in form
    # Its fields, the name `submit` takes them by, and their choices.
    assert "    service=        Service: api (chosen)" in form
    assert "    environment=    Environment: staging · production" in form
    assert "    version=        Version (optional): v1.2.3 — Deployed lately, newest first." in form
    assert "    version_typed=  Or type the version (optional): text" in form
    assert "    emergency=      Emergency (optional): ☐ Emergency deploy" in form
    assert "[ Request deploy ] → submit <field>=<value> …" in form
    assert "(the bot called Slack's views.open)" not in out  # the form is what is shown
    in_order(form,
             "U0ALICE> submit environment=production version=v1.2.3",
             "(you submit the form “Deploy”: Service “api” · Environment “production” · "
             "Version “v1.2.3”)",
             "[#C0DEPLOYS] Deploy #2 api v1.2.3 → production",
             "[ Approve ] [ Reject ]   → click approve #2 · click reject #2",
             "[DM to U0ALICE] 📝 Deployment #2 requested")
    assert "⚠️" not in form
    assert deployments(tmp_path)[-1] == (2, "api", "production", "v1.2.3", "U0ALICE", None)


def test_a_refused_field_is_shown_under_it_and_the_form_stays_open_for_a_corrected_submit(
        tmp_path: Path) -> None:
    out = shell(tmp_path, """\
/deploy
submit environment=production version=v1.2.3! emergency=yes
submit version=v1.2.3
submit reason="the checkout is down"
submit
""")
    in_order(out,
             "(you submit the form “Deploy”: Service “api” · Environment “production” · "
             "Version “v1.2.3!” · Emergency “☑ Emergency deploy”)",
             # Both refusals under their fields (no versions offered yet: the typed one is
             # labelled Version), the form still open.
             "(only you) ⚠️ under “Version”: “v1.2.3!” is not a version",
             "⚠️ under “Emergency reason”: An emergency deploy needs its reason",
             "(the form “Deploy” stays open with what you filled in: `submit` what to change, "
             "or `cancel`)",
             # What was filled in stays: only the version changes.
             "U0ALICE> submit version=v1.2.3\n(you submit the form “Deploy”: Service “api” · "
             "Environment “production” · Version “v1.2.3” · Emergency “☑ Emergency deploy”)",
             "U0ALICE> submit reason=",
             "[#C0DEPLOYS] 🚨 EMERGENCY deploy #1 api v1.2.3 → production",
             "Emergency reason: the checkout is down",
             # Accepted, the form closed.
             "U0ALICE> submit\nNo form is open to submit: the form “Deploy” closed when you "
             "submitted it; `/deploy` alone opens it again.")
    assert flat(out).count("is not a version") == 1
    assert deployments(tmp_path) == [
        (1, "api", "production", "v1.2.3", "U0ALICE", "the checkout is down")]


def test_submit_and_cancel_without_a_form_and_cancel_closing_one(tmp_path: Path) -> None:
    out = shell(tmp_path, """\
submit environment=staging
cancel
/deploy
as U0BOB
submit environment=staging version=v1.2.3
as U0ALICE
submit nonsense=1
submit environment=qa
cancel
submit environment=staging version=v1.2.3
""")
    nothing = ("No form is open to submit: a command or a button opens one (e.g. `/deploy` "
               "alone opens the deploy form).")
    assert out.count(nothing) == 2  # none yet; and Bob's: Alice's form is hers
    assert "No form is open to cancel: a command or a button opens one" in out
    assert ("The form has no field “nonsense”; its fields: service, environment, "
            "version_typed, emergency, reason. (nothing was sent; the form “Deploy” is still "
            "open)") in out
    assert ("“qa” is not offered for Environment: pick one of staging, production. (nothing "
            "was sent; the form “Deploy” is still open)") in out
    in_order(out,
             "U0ALICE> cancel\n(you close the form “Deploy”; Slack tells deploybot nothing: the "
             "form does not ask to be notified on close)",
             "U0ALICE> submit environment=staging version=v1.2.3\nNo form is open to submit: "
             "the form “Deploy” closed when you cancelled it; `/deploy` alone opens it again.")
    assert deployments(tmp_path) == []


# -- the checklist's "not applicable…" ---------------------------------------------------
@pytest.fixture
def github(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> FakeGitHub:
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)  # the shell's GitHub token: the environment's
    monkeypatch.delenv("GITHUB_API_URL", raising=False)
    fake = FakeGitHub(httpserver, {"acme/api": []})
    history = FakeReview(fake, "acme/api")
    history.commit("initial", pr=1)
    history.tag("v1.2.2")
    history.commit("Add login page", author="dana", pr=12, files=["app/login.py"])
    history.tag("v1.2.3")
    history.check("v1.2.3", "build", "success")
    return fake


def test_not_applicable_takes_its_reason_after_the_button_or_from_submit(
        tmp_path: Path, github: FakeGitHub) -> None:
    config: dict[str, Any] = {
        "services": {"api": {"executor": "simulated", "github": {
            "repository": "acme/api", "required_checks": ["build"]}}},
        "github": {"api_url": github.url},
        "checklist": {"items": ["tests", "monitoring", "rollback_plan"]},
    }
    out = shell(tmp_path, """\
/deploy production v1.2.3
click
click na-rollback_plan #1 config only, nothing to roll back
click na-monitoring #1
submit
submit reason="the dashboards cover it"
""", **config)
    # Each item's button is named after the item.
    assert ("[ Monitoring alerts set up: not applicable… ]   → click na-monitoring #1"
            in out)
    assert "click na-rollback_plan #1   [ Rollback plan documented: not applicable… ]" in out
    in_order(out,
             "U0ALICE> click na-rollback_plan #1 config only, nothing to roll back",
             "(you type the reason “config only, nothing to roll back” and submit the form)",
             "⏭️ Rollback plan documented — not applicable: config only, nothing to roll back",
             "U0ALICE> click na-monitoring #1",
             "(Slack opens the form “Not applicable”: Why does it not apply?)",
             "Mark Monitoring alerts set up not applicable to deployment #1?",
             "    reason=  Why does it not apply?: text, e.g. “a word, e.g. no new flags”",
             'e.g. `submit reason="no new flags"`',
             "U0ALICE> submit\n(you submit the form “Not applicable”: every field empty)",
             "(only you) ⚠️ under “Why does it not apply?”:",
             "(the form “Not applicable” stays open",
             "(you submit the form “Not applicable”: Why does it not apply? “the dashboards "
             "cover it”)",
             "⏭️ Monitoring alerts set up — not applicable: the dashboards cover it")
    # The reasons the submissions carried, as the audit log kept them, each for its item.
    marked = rows(tmp_path, "SELECT details FROM audit_events WHERE action = "
                            "'checklist.not_applicable' ORDER BY id")
    assert [(d["item"], d["reason"]) for d in (json.loads(r[0]) for r in marked)] == [
        ("rollback_plan", "config only, nothing to roll back"),
        ("monitoring", "the dashboards cover it")]


# -- what a submission carries, as the handlers read it -----------------------------------
def _submitted(view: dict[str, Any], text: str) -> FormInput:
    fields = fields_of(view)
    filled: dict[str, dict[str, Any]] = {}
    fill(fields, filled, text)
    values = {f.block_id: {f.action_id: filled.get(f.block_id) or f.initial()}
              for f in fields}
    body = view_submission_body({**view, "id": "VM1"}, values, user_id="U0ALICE")
    payload = json.loads(parse_qs(body)["payload"][0])
    for block, state in payload["view"]["state"]["values"].items():
        (element,) = state.values()
        kind = element["type"]  # Slack's shapes: every input block, filled in or empty
        assert set(element) == {"plain_text_input": {"type", "value"},
                                "static_select": {"type", "selected_option"},
                                "checkboxes": {"type", "selected_options"}}[kind], block
    return form_input(click_of(payload))


TWO = FormChoices(services=("api", "web"), environments=("staging", "production"),
                  versions={"api": ("v1.2.3", "v1.2.2"), "web": ("v1.2.3",)})


def test_a_submission_carries_what_was_typed_in_slacks_shapes() -> None:
    view = deploy_form(TWO, channel_id="C0DEPLOYS")
    # An offered version is picked, from the group of the service chosen (both offer v1.2.3).
    assert _submitted(view, "service=web Environment=production version=v1.2.3") == FormInput(
        service="web", environment="production", picked_version="web v1.2.3",
        typed_version=None, emergency=False, reason=None)
    # One not offered is typed; `emergency="why"` ticks the box and gives the reason.
    assert _submitted(view, 'service=api environment=staging version=v9.9.9 '
                            'emergency="the checkout is down"') == FormInput(
        service="api", environment="staging", picked_version=None, typed_version="v9.9.9",
        emergency=True, reason="the checkout is down")
    # Labels work as names; words run on until the next name; empty fields stay empty.
    assert _submitted(view, 'Emergency=yes "Emergency reason"=it is down') == FormInput(
        service=None, environment=None, picked_version=None, typed_version=None,
        emergency=True, reason="it is down")


def test_what_cannot_go_in_the_form_is_refused_before_anything_is_sent() -> None:
    fields = fields_of(deploy_form(TWO, channel_id=None))
    for text, message in [
        ("color=blue", "The form has no field “color”"),
        ("service=db", "“db” is not offered for Service: pick one of api, web."),
        ("version=v1.2.3", "“v1.2.3” is offered more than once for Version"),
        ('reason="unclosed', "Cannot read that"),
        ("just words", "Name the field"),
    ]:
        with pytest.raises(FormError, match=message):
            fill(fields, {}, text)


def test_cancel_sends_view_closed_as_slack_does_when_the_view_asks() -> None:
    view = {**deploy_form(TWO, channel_id="C1"), "id": "VM7", "notify_on_close": True}
    payload = json.loads(parse_qs(view_closed_body(view, {}, user_id="U0BOB"))["payload"][0])
    assert payload["type"] == "view_closed" and payload["is_cleared"] is False
    assert "trigger_id" not in payload
    closed = click_of(payload)
    assert closed.type == "view_closed" and closed.user_id == "U0BOB"
    assert closed.view is not None and closed.view.callback_id == ids.DEPLOY_FORM

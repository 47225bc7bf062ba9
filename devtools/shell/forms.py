"""Modals in the shell (`Forms`): the forms deploybot opens (views.open on the fake Slack),
shown with their fields and choices; filled in and submitted as Slack would (`submit`: a
view_submission whose `state.values` holds every input block's element in the shape Slack
sends, https://docs.slack.dev/reference/interaction-payloads/view-interactions-payload);
closed with the ✕ (`cancel`: Slack sends view_closed only when the view has
`notify_on_close`, the modal view object's reference,
https://docs.slack.dev/reference/views/modal-views).

How `submit name=value …` names the fields and fills them in is devtools.shell.form_fields';
how a form is shown, devtools.shell.form_display. A one-reason form (Reject's, a checklist
item's "not applicable") also takes the reason after the button that opens it
(`click reject #3 the migration is not reviewed`) or after `submit` alone.

A field nobody filled in is sent empty (or with its initial value), as Slack sends it. A
refused submission (`response_action: errors`, shown under each field by
devtools.shell.slack_view) leaves the form open with what was filled in, as Slack does, so
`submit` names only what to change; any other answer closes it. Each user has their own
open form (`as` switches). The shell's requests carry trigger ids the fake issued, so
views.open takes them as Slack takes a fresh one.
"""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode

from slack_bolt import BoltResponse

from bot.presentation import ids
from devtools.fake_slack import FakeSlack
from devtools.shell.form_display import shown, summary
from devtools.shell.form_fields import Field, FormError, fields_of, fill
from devtools.shell.render import object_text
from devtools.slack_requests import text_value, view_submission_body

_counter = itertools.count(1)

#: What opens each of deploybot's forms again.
_REOPEN = {
    ids.DEPLOY_FORM: "`/deploy` alone opens it again",
    ids.REJECT_FORM: "the Reject button opens it again",
    ids.NA_FORM: "the item's “not applicable…” button opens it again",
}


@dataclass
class _Open:
    """A form open for one user, and what they filled in so far (block id → state)."""

    view_id: str
    callback_id: str
    title: str
    filled: dict[str, dict[str, Any]] = field(default_factory=dict)


class Forms:
    def __init__(self, fake: FakeSlack, *, say: Callable[[list[str]], None],
                 submit: Callable[[str, Mapping[str, str]], BoltResponse | None]) -> None:
        self._fake = fake
        self._say = say
        # Dispatches a view_submission (or view_closed) body as the current user, shows the
        # ack (a refusal under the fields labelled as given) and returns the response.
        self._submit = submit
        self._open: dict[str, _Open] = {}  # user → their open form
        self._closed: dict[str, tuple[_Open, str]] = {}  # user → the form that closed, how

    def trigger(self, user_id: str) -> str:
        """A trigger id for a request of `user_id`, issued by the fake Slack."""
        n = next(_counter)
        trigger_id = f"{2_000_000_000_000 + n}.{2_000_000_000_000 + n}.{uuid.uuid4().hex}"
        self._fake.issue_trigger(trigger_id, user_id)
        return trigger_id

    def opened(self) -> int:
        return len(self._fake.open_views())

    def after(self, before: int, *, user_id: str, typed: str | None) -> None:
        """Show the forms opened since `before` (each now the open form of the user it was
        opened for); a one-reason form is submitted at once with `typed` as the reason."""
        for opened in self._fake.open_views()[before:]:
            view = opened.view
            owner = opened.user_id or user_id
            form = _Open(view_id=str(view.get("id")), callback_id=str(view.get("callback_id")),
                         title=object_text(view.get("title")))
            self._open[owner] = form
            texts = [f for f in fields_of(view) if f.kind == "plain_text_input"]
            if typed and len(fields_of(view)) == 1 and texts:
                self._say([f"(you type the reason “{typed}” and submit the form)"])
                form.filled[texts[0].block_id] = text_value(typed)
                self._send(owner, form, view)
                continue
            self._say(shown(view))

    # -- `submit` and `cancel` ------------------------------------------------------------
    def submit(self, user_id: str, text: str) -> None:
        """`submit name=value …`: fill the user's open form in and submit it."""
        form = self._current(user_id, "submit")
        if form is None:
            return
        view = self._view(form)
        try:
            fill(fields_of(view), form.filled, text)
        except FormError as e:
            self._say([f"{e} (nothing was sent; the form “{form.title}” is still open)"])
            return
        self._say([f"(you submit the form “{form.title}”: {summary(view, form.filled)})"])
        self._send(user_id, form, view)

    def cancel(self, user_id: str) -> None:
        """Close the user's open form with its ✕ (or Cancel)."""
        form = self._current(user_id, "cancel")
        if form is None:
            return
        view = self._view(form)
        del self._open[user_id]
        self._closed[user_id] = (form, "you cancelled it")
        if not view.get("notify_on_close"):
            self._say([f"(you close the form “{form.title}”; Slack tells deploybot nothing: "
                       "the form does not ask to be notified on close)"])
            return
        self._say([f"(you close the form “{form.title}”; Slack tells deploybot: view_closed)"])
        self._submit(view_closed_body(view, _values(fields_of(view), form.filled),
                                      user_id=user_id), _labels(view))

    def _current(self, user_id: str, verb: str) -> _Open | None:
        form = self._open.get(user_id)
        if form is not None:
            return form
        closed = self._closed.get(user_id)
        if closed is None:
            self._say([f"No form is open to {verb}: a command or a button opens one "
                       "(e.g. `/deploy` alone opens the deploy form)."])
        else:
            was, how = closed
            again = _REOPEN.get(was.callback_id, "open it again")
            self._say([f"No form is open to {verb}: the form “{was.title}” closed when "
                       f"{how}; {again}."])
        return None

    def _view(self, form: _Open) -> dict[str, Any]:
        """The form's view as the fake has it now (after any views.update)."""
        for opened in self._fake.open_views():
            if opened.view.get("id") == form.view_id:
                return opened.view
        raise LookupError(f"the fake Slack has no view {form.view_id}")

    def _send(self, user_id: str, form: _Open, view: dict[str, Any]) -> None:
        values = _values(fields_of(view), form.filled)
        body = view_submission_body(view, values, user_id=user_id,
                                    trigger_id=self.trigger(user_id))
        response = self._submit(body, _labels(view))
        if response is None or response.status != 200 or _refused(response):
            # Slack keeps the modal open, with what was filled in, on a refusal or an error.
            self._say([f"(the form “{form.title}” stays open with what you filled in: "
                       "`submit` what to change, or `cancel`)"])
            return
        self._open.pop(user_id, None)
        self._closed[user_id] = (form, "you submitted it")


def _refused(response: BoltResponse) -> bool:
    try:
        data = json.loads(response.body or "{}")
    except ValueError:
        return False
    return isinstance(data, dict) and data.get("response_action") == "errors"


def _labels(view: Mapping[str, Any]) -> dict[str, str]:
    return {f.block_id: f.label for f in fields_of(view)}


def _values(fields: list[Field], filled: Mapping[str, dict[str, Any]]
            ) -> dict[str, dict[str, dict[str, Any]]]:
    """`state.values`: every input block's element, filled in or as it started."""
    return {f.block_id: {f.action_id: filled.get(f.block_id) or f.initial()} for f in fields}


def view_closed_body(view: dict[str, Any], values: dict[str, dict[str, dict[str, Any]]], *,
                     user_id: str) -> str:
    """Form body of a `view_closed` payload (the view-interactions payload reference: type,
    team, user, api_app_id, view, `is_cleared`; no trigger_id), from the view_submission
    devtools.slack_requests builds (not changed here: another module owns it)."""
    body = view_submission_body(view, values, user_id=user_id)
    payload = json.loads(parse_qs(body)["payload"][0])
    for key in ("trigger_id", "response_urls"):
        payload.pop(key, None)
    payload.update({"type": "view_closed", "is_cleared": False})
    return urlencode({"payload": json.dumps(payload, separators=(",", ":"))})

"""Modals in the shell (`Forms`): the forms deploybot opens (views.open on the fake Slack),
shown with their fields and choices; filled in and submitted as Slack would (`submit`: a
view_submission whose `state.values` holds every input block's element in the shape Slack
sends, https://docs.slack.dev/reference/interaction-payloads/view-interactions-payload);
closed with the ✕ (`cancel`: Slack sends view_closed only when the view has
`notify_on_close`, the modal view object's reference,
https://docs.slack.dev/reference/views/modal-views).

`submit environment=production version=v1.2.3` names each field by its label or block id
(case-insensitive; a value with spaces quoted, or running on until the next `name=`); a
select's value is one of its options' values or texts. A value a select does not offer
goes to the text input named like it (the /deploy form's "Or type the version"); a checkbox
given text that is none of its options ticks its one option and the text goes to the text
input named after it (`emergency="the checkout is down"` → Emergency reason). A one-reason
form (Reject's, a checklist item's "not applicable") also takes the reason after the button
that opens it (`click reject #3 the migration is not reviewed`) or after `submit` alone.

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
import re
import shlex
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode

from slack_bolt import BoltResponse

from bot.presentation import ids
from devtools.fake_slack import FakeSlack
from devtools.shell.render import object_text, render_text, with_prefix
from devtools.slack_requests import option_value, text_value, view_submission_body

_counter = itertools.count(1)

#: An example of filling each of deploybot's forms in (by callback_id).
_HINTS = {
    ids.DEPLOY_FORM: ("e.g. `submit environment=production version=v1.2.3`, with "
                      '`emergency="why"` for an emergency (or type the command whole instead, '
                      "e.g. `/deploy production v1.2.3`)"),
    ids.REJECT_FORM: ('e.g. `submit reason="not before the review"` (or give the reason after '
                      "the button: `click reject #N <reason>`)"),
    ids.NA_FORM: ('e.g. `submit reason="no new flags"` (or give the reason after the button: '
                  "`click na-<item> #N <reason>`)"),
}
#: What opens each of deploybot's forms again.
_REOPEN = {
    ids.DEPLOY_FORM: "`/deploy` alone opens it again",
    ids.REJECT_FORM: "the Reject button opens it again",
    ids.NA_FORM: "the item's “not applicable…” button opens it again",
}
_YES = frozenset({"yes", "y", "true", "on", "x", "1", "checked", "ticked"})
_NO = frozenset({"no", "n", "false", "off", "0", "", "unchecked"})
_FILLABLE = frozenset({"plain_text_input", "static_select", "checkboxes"})


class FormError(ValueError):
    """What the user typed cannot be put in the form (nothing is sent)."""


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text.lower()).split())


@dataclass(frozen=True)
class Field:
    """One input block of a form: the names `submit` knows it by, and its element."""

    block_id: str
    label: str
    element: dict[str, Any]
    optional: bool
    hint: str = ""

    @property
    def name(self) -> str:
        """The short name shown: the last dotted part of the block id."""
        return self.block_id.rsplit(".", 1)[-1]

    @property
    def kind(self) -> str:
        return str(self.element.get("type") or "")

    @property
    def action_id(self) -> str:
        return str(self.element.get("action_id") or "")

    def named(self, name: str) -> bool:
        wanted = _norm(name)
        return wanted in {_norm(self.label), _norm(self.block_id), _norm(self.name),
                          _norm(self.action_id), _norm(self.action_id.rsplit(".", 1)[-1])}

    def mentions(self, name: str) -> bool:
        """A word of its label or name is `name` (a text input beside a select or checkbox)."""
        words = set(_norm(self.label).split()) | set(_norm(self.name).split())
        return self.kind == "plain_text_input" and _norm(name) in words

    def options(self) -> list[tuple[dict[str, Any], str]]:
        """(option, its group's label or "") of a select or checkboxes."""
        found = [(o, "") for o in self.element.get("options") or []]
        for group in self.element.get("option_groups") or []:
            found += [(o, object_text(group.get("label"))) for o in group.get("options") or []]
        return found

    def initial(self) -> dict[str, Any]:
        """Its state before anyone fills it in (an initial value, else empty)."""
        el = self.element
        if self.kind == "plain_text_input":
            return text_value(el.get("initial_value") or None)
        if self.kind == "static_select":
            chosen = el.get("initial_option")
            return _selected(chosen)
        if self.kind == "checkboxes":
            return _boxes(list(el.get("initial_options") or []))
        return {"type": self.kind}


def _selected(option: dict[str, Any] | None) -> dict[str, Any]:
    if option is None:
        return option_value(None)
    return option_value(str(option.get("value")), object_text(option.get("text")))


def _boxes(options: list[dict[str, Any]]) -> dict[str, Any]:
    """A checkboxes element's state: the option objects ticked, whole (text, value and any
    description), as Slack sends them."""
    return {"type": "checkboxes", "selected_options": options}


def fields_of(view: Mapping[str, Any]) -> list[Field]:
    return [Field(block_id=str(b.get("block_id") or ""), label=object_text(b.get("label")),
                  element=b.get("element") or {}, optional=bool(b.get("optional")),
                  hint=object_text(b.get("hint")))
            for b in view.get("blocks") or []
            if isinstance(b, dict) and b.get("type") == "input"]


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


# -- filling a form in --------------------------------------------------------------------
def assignments(text: str) -> list[tuple[str | None, str]]:
    """`name=value …` as (name, value) pairs; words without `=` run on the value before
    them, or (first) are one unnamed value."""
    try:
        words = shlex.split(text)
    except ValueError as e:
        raise FormError(f"Cannot read that: {e} (quote a value with spaces: "
                        '`reason="not yet"`).') from None
    pairs: list[tuple[str | None, list[str]]] = []
    for word in words:
        name, eq, value = word.partition("=")
        if eq and name and re.fullmatch(r"[\w .-]+", name):
            pairs.append((name, [value] if value else []))
        elif pairs:
            pairs[-1][1].append(word)
        else:
            pairs.append((None, [word]))
    return [(name, " ".join(parts)) for name, parts in pairs]


def fill(fields: list[Field], filled: dict[str, dict[str, Any]], text: str) -> None:
    """Put what `text` says into `filled` (block id → state); FormError when it cannot be."""
    pairs = assignments(text)
    given = {v.casefold() for _, v in pairs}  # and the options chosen before:
    given |= {str(state["selected_option"].get("value")).casefold()
              for state in filled.values() if state.get("selected_option")}
    for name, value in pairs:
        if name is None:
            texts = [f for f in fields if f.kind == "plain_text_input"]
            if len(fields) != 1 or not texts:
                raise FormError(f"Name the field: `submit <field>=<value> …` "
                                f"({', '.join(f.name for f in fields)}).")
            filled[texts[0].block_id] = text_value(value or None)
            continue
        target = next((f for f in fields if f.named(name)), None)
        if target is None:
            raise FormError(f"The form has no field “{name}”; its fields: "
                            f"{', '.join(f.name for f in fields)}.")
        if target.kind not in _FILLABLE:
            raise FormError(f"The shell cannot fill {target.label} (a {target.kind}).")
        if target.kind == "plain_text_input":
            filled[target.block_id] = text_value(value or None)
        elif target.kind == "static_select":
            _pick(fields, filled, target, name, value, given)
        else:
            _tick(fields, filled, target, name, value)


def _pick(fields: list[Field], filled: dict[str, dict[str, Any]], target: Field, name: str,
          value: str, given: set[str]) -> None:
    if not value:
        filled[target.block_id] = option_value(None)
        return
    options = target.options()
    found = [(o, g) for o, g in options if value.casefold() in
             (str(o.get("value")).casefold(), object_text(o.get("text")).casefold())]
    if len(found) > 1:  # the same text in several groups: the group another field names
        found = [(o, g) for o, g in found if g and g.split()[0].casefold() in given] or found
    if len(found) == 1:
        filled[target.block_id] = _selected(found[0][0])
        return
    typed = next((f for f in fields if f is not target and f.mentions(name)), None)
    if not found and typed is not None:  # not offered: typed instead
        filled[target.block_id] = option_value(None)
        filled[typed.block_id] = text_value(value)
        return
    offered = [object_text(o.get("text")) + (f" ({g})" if g else "") for o, g in
               (found or options)]
    more = f" and {len(offered) - 10} more" if len(offered) > 10 else ""
    if found:
        raise FormError(f"“{value}” is offered more than once for {target.label}: "
                        f"{', '.join(offered)}; give the option's value, e.g. "
                        f'{target.name}="{found[0][0].get("value")}".')
    raise FormError(f"“{value}” is not offered for {target.label}: pick one of "
                    f"{', '.join(offered[:10])}{more}.")


def _tick(fields: list[Field], filled: dict[str, dict[str, Any]], target: Field, name: str,
          value: str) -> None:
    options = [o for o, _ in target.options()]
    if value.casefold() in _NO:
        filled[target.block_id] = _boxes([])
        return
    if value.casefold() in _YES and len(options) == 1:
        filled[target.block_id] = _boxes(options)
        return
    wanted = [w.strip().casefold() for w in value.split(",")]
    ticked = [o for o in options if str(o.get("value")).casefold() in wanted
              or object_text(o.get("text")).casefold() in wanted]
    if len(ticked) == len(wanted):
        filled[target.block_id] = _boxes(ticked)
        return
    beside = next((f for f in fields if f is not target and f.mentions(name)), None)
    if len(options) == 1 and beside is not None:  # `emergency="why"`: ticked, and why
        filled[target.block_id] = _boxes(options)
        filled[beside.block_id] = text_value(value)
        return
    names = ", ".join(object_text(o.get("text")) for o in options)
    raise FormError(f"{target.label} has no box “{value}”: tick {names} "
                    f"(`{target.name}=yes`), or clear it (`{target.name}=no`).")


# -- showing a form ---------------------------------------------------------------------
def summary(view: Mapping[str, Any], filled: Mapping[str, dict[str, Any]]) -> str:
    """What the submission carries, field by field (those left empty left out)."""
    shown: list[str] = []
    for f in fields_of(view):
        state = filled.get(f.block_id) or f.initial()
        value: str | None = None
        if f.kind == "plain_text_input":
            value = state.get("value")
        elif f.kind == "static_select" and state.get("selected_option"):
            value = object_text(state["selected_option"].get("text"))
        elif f.kind == "checkboxes" and state.get("selected_options"):
            value = "☑ " + ", ".join(object_text(o.get("text"))
                                     for o in state["selected_options"])
        if value:
            shown.append(f"{f.label} “{value}”")
    return " · ".join(shown) or "every field empty"


def _field_line(f: Field) -> str:
    optional = " (optional)" if f.optional else ""
    hint = f.hint
    if f.kind == "static_select":
        chosen = f.element.get("initial_option")
        groups: dict[str, list[str]] = {}
        for o, g in f.options():
            groups.setdefault(g, []).append(object_text(o.get("text")))
        what = "; ".join((f"{g}: " if g else "") + " · ".join(texts)
                         for g, texts in groups.items())
        if chosen is not None:
            what += " (chosen)" if len(f.options()) == 1 else \
                f" (chosen: {object_text(chosen.get('text'))})"
    elif f.kind == "checkboxes":
        what = " ".join(
            "☐ " + object_text(o.get("text"))
            + (f" ({object_text(o.get('description'))})" if o.get("description") else "")
            for o, _ in f.options())
    elif f.kind == "plain_text_input":
        placeholder = object_text(f.element.get("placeholder"))
        what = "text" + (f", e.g. “{placeholder}”" if placeholder else "")
    else:
        what = f"a {f.kind} (the shell cannot fill it)"
    return f"{f.label}{optional}: {what}" + (f" — {hint}" if hint else "")


def shown(view: Mapping[str, Any]) -> list[str]:
    """The form as the shell shows it when it opens: its fields (with the name `submit`
    takes) and choices, its other text, and how to fill it in."""
    fields = fields_of(view)
    title = object_text(view.get("title"))
    lines = [f"(Slack opens the form “{title}”: {', '.join(f.label for f in fields)})"]
    width = max((len(f.name) for f in fields), default=0) + 3
    by_block = {f.block_id: f for f in fields}
    for block in view.get("blocks") or []:
        if not isinstance(block, dict):
            continue
        f = by_block.get(str(block.get("block_id") or "")) if block.get("type") == "input" \
            else None
        if f is not None:
            lines += with_prefix(f"    {f.name + '=':<{width}}", [_field_line(f)])
        else:
            lines += with_prefix("    ", render_text([block]))
    submit = object_text(view.get("submit")) or "Submit"
    close = object_text(view.get("close")) or "Cancel"
    hint = _HINTS.get(str(view.get("callback_id")), "e.g. `submit " + " ".join(
        f"{f.name}=…" for f in fields if not f.optional) + "`")
    lines += with_prefix("    ", [f"[ {submit} ] → submit <field>=<value> …, {hint} · "
                                 f"[ {close} ] → cancel"])
    return lines

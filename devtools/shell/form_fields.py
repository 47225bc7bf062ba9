"""A form's input blocks in the shell and how `submit` fills them in: `fields_of` reads a
view's input blocks as `Field`s (the names `submit` knows each by, its options, its state
before anyone fills it in), and `fill` puts what `submit name=value …` says into the state
Slack would send (https://docs.slack.dev/reference/interaction-payloads/view-interactions-payload),
or raises `FormError` saying why it cannot (nothing is sent then).

`submit environment=production version=v1.2.3` names each field by its label or block id
(case-insensitive; a value with spaces quoted, or running on until the next `name=`); a
select's value is one of its options' values or texts. A value a select does not offer
goes to the text input named like it (the /deploy form's "Or type the version"); a checkbox
given text that is none of its options ticks its one option and the text goes to the text
input named after it (`emergency="the checkout is down"` → Emergency reason).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from devtools.shell.render import object_text
from devtools.slack_requests import option_value, text_value

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

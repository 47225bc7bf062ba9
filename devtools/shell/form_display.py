"""How the shell shows a form: `shown`, the lines printed when Slack opens it (its fields with
the name `submit` takes and their choices, its other text, its buttons and an example of
filling it in), and `summary`, what a submission carries, field by field.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.presentation import ids
from devtools.shell.form_fields import Field, fields_of
from devtools.shell.render import object_text, render_text, with_prefix

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

"""The buttons `click` can press in the shell: those on the current user's App Home (marked
`HOME_VIEW`), on the messages everyone sees and on the replies only that user sees
(`clickable`); the one a `click <name> [#N]` means (`find_button`); the list a bare `click`
shows (`button_list`); and what the shell says when one is pressed, with Slack's
confirmation dialog when the button has one (`click_lines`). Sending the click is
devtools.shell.session's.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from devtools.shell.ephemeral import EPHEMERAL_USER
from devtools.shell.render import (
    Button,
    buttons,
    channel_label,
    click_words,
    object_text,
    render_text,
)

#: Marks a button holder as the App Home view (the view itself).
HOME_VIEW = "_home_view"


def clickable(home_view: dict[str, Any] | None, messages: Iterable[dict[str, Any]],
              replies: Iterable[dict[str, Any]]) -> list[Button]:
    """The buttons on the App Home view (when given), on `messages`, then on `replies` (the
    later, the likelier a bare `click approve` means it)."""
    home: list[dict[str, Any]] = []
    if home_view is not None:
        home = [{"blocks": home_view.get("blocks"), "text": None, HOME_VIEW: home_view}]
    return [b for m in [*home, *messages, *replies] for b in buttons(m)]


def find_button(found: list[Button], name: str, value: str | None, *,
                in_home: bool = False) -> Button | None:
    """The latest of `found` named `name` (its action id, its short name or its label) and,
    when `value` is given, for that value or deployment number."""
    for b in reversed(found):
        if in_home and HOME_VIEW not in b.message:
            continue
        short, ref = click_words(b.action_id, b.value)
        names = {b.action_id.lower(), short.lower(), b.label.lower()}
        if name in names and (value is None or value in (b.value, ref)):
            return b
    return None


def button_list(found: list[Button]) -> list[str]:
    """What a bare `click` shows: each button, how to press it and where it is."""
    if not found:
        return ["No message has buttons right now."]
    lines = ["Buttons you can press:"]
    for b in found:
        title = render_text(b.message.get("blocks"), b.message.get("text"))[0]
        short, number = click_words(b.action_id, b.value)
        ref = f" #{number}" if number else ""
        home = HOME_VIEW in b.message
        mine = "your reply " if EPHEMERAL_USER in b.message else \
            "your App Home " if home else ""
        lines.append(f"  click {'home ' if home else ''}{short}{ref}   "
                     f"[ {b.label} ] on {mine}“{title}”")
    return lines


def click_lines(button: Button) -> list[str]:
    """What the shell says when `button` is pressed (and Slack's confirmation, confirmed)."""
    msg = button.message
    ephemeral = EPHEMERAL_USER in msg
    view = msg.get(HOME_VIEW)
    title = render_text(msg.get("blocks"), msg.get("text"))[0]
    where = "your reply" if ephemeral else "your App Home" if view is not None \
        else channel_label(str(msg["channel"]))
    lines = [f"(you click [ {button.label} ] on {where} “{title}”)"]
    if button.confirm is not None:
        c = button.confirm
        ok = object_text(c.get("confirm")) or "Yes"
        lines.append(f"(Slack asks: {object_text(c.get('title'))} — "
                     f"{object_text(c.get('text'))}  [ {ok} ] → you confirm)")
    return lines

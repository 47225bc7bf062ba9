"""What an automatic deploy's cause reads as (pure): "Automatic: `main` moved to
`3f2a9c1d0e4b` — 'Fix checkout totals' by octocat", or "Automatic: pull request #7
`feature-x` opened by octocat — 'Add the feature x'". One wording for the card, the record,
the result announcement and the `/deploys` history line.

The branch, the commit message (its first line, or a pull request's title) and the author
are anyone's text: the branch is shown as code (`shown`), the message and the author escaped
with their links kept and cut at a word (`reason_text`: `<!channel>` and `<@U…>` never
fire). What GitHub did not give is left out.
"""

from __future__ import annotations

from bot.domain.cause import PUSH, Cause
from bot.domain.text import reason_text, shown

#: The most of a commit message's first line (or a title) shown, and of a branch's name.
SHOWN_MESSAGE = 100
SHOWN_BRANCH = 60
SHOWN_AUTHOR = 60
#: What a pull request's action did to it, as said after its name.
_DONE = {"opened": "opened", "reopened": "reopened"}


def _by(c: Cause) -> str:
    if c.author is None:
        return ""
    return f" by {reason_text(c.author, limit=SHOWN_AUTHOR)}"


def _said(c: Cause) -> str:
    return f"'{reason_text(c.message, limit=SHOWN_MESSAGE)}'" if c.message else ""


def cause_text(c: Cause) -> str:
    """What moved, without the label: "`main` moved to `3f2a9c1d0e4b` — 'Fix checkout
    totals' by octocat"; "pull request #7 `feature-x` opened by octocat — 'Add x'" (pushed
    to: "moved to `<commit>`"; seen by a poll, which knows no action: "at `<commit>`")."""
    branch = shown(c.branch, limit=SHOWN_BRANCH)
    said = _said(c)
    if c.event == PUSH:
        return (f"{branch} moved to `{c.commit}`" + (f" — {said}" if said else "")
                + _by(c))
    done = _DONE.get(c.action or "") or (
        f"moved to `{c.commit}`" if c.action == "synchronize" else f"at `{c.commit}`")
    number = f" #{c.pull_request}" if c.pull_request is not None else ""
    return f"pull request{number} {branch} {done}{_by(c)}" + (f" — {said}" if said else "")


def cause_line(c: Cause) -> str:
    """The cause as a line of its own: "Automatic: …"."""
    return f"Automatic: {cause_text(c)}"

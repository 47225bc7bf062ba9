"""`/flag <environment> <name> on|off|<variant> ["reason"]` (issue 17), pure: parsing its
text, and the rules a flag change follows as a deployment of kind FLAG.

A flag change is requested like a deploy (the environment's deployers, its approvals) and
run by the deployment runner. Which rules it follows depends on where it goes:

- turning a flag **off** is a fix, like a rollback: a closed deploy window, a freeze or
  someone else's lock never blocks it (`acts_as` answers ROLLBACK);
- turning it **on**, or to another variant, ships behaviour, like a deploy: the deploy
  schedule, freezes and locks apply (`acts_as` answers DEPLOY). There is no `--emergency`
  for a flag change: turning the flag off is the emergency lane.

"off" here is the word `off` as typed; naming the off variant by its own name is treated as
turning the flag to a variant (the stricter rule).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

from bot.domain.deployment import Deployment, Kind
from bot.domain.flags import OFF
from bot.domain.text import shown
from bot.errors import CommandUsageError

MAX_REASON = 300
# `&lt;` `&gt;`: Slack reads a bare <…> as a link or mention
FLAG_USAGE = (
    "*Usage*\n"
    "• `/flag &lt;environment&gt; &lt;flag&gt; on|off|&lt;variant&gt; [\"reason\"]` — e.g. "
    "`/flag production new-checkout off \"checkout errors\"`\n"
    "• `/flag help` — this message\n"
    "It sets the flag's default variant where flagd reads the environment's flags; it needs "
    "the environment's deployers role, and its approvals where deploys there need them. "
    "Turning a flag off is allowed in a closed deploy window or a freeze (like a rollback); "
    "turning it on follows the deploy schedule."
)
_FLAG = re.compile(r"^\S{1,200}$")
_VALUE = re.compile(r"^[A-Za-z0-9_.:+-]{1,64}$")
# a reason in straight or curly quotes, at the end
_REASON = re.compile(r'\s+["“”](?P<r>[^"“”]*)["“”]\s*$')


class FlagUsageError(CommandUsageError):
    """Bad `/flag` text; the message names the problem, then shows the usage."""

    usage = FLAG_USAGE


@dataclass(frozen=True)
class FlagArgs:
    """Set flag `flag` in `environment` to `value` ("on", "off" or a variant's name)."""

    environment: str
    flag: str
    value: str
    reason: str | None = None

    @property
    def turns_off(self) -> bool:
        return self.value == OFF


@dataclass(frozen=True)
class FlagHelpArgs:
    pass


FlagParsed = FlagArgs | FlagHelpArgs


def _names(names: Collection[str]) -> str:
    return ", ".join(f"`{n}`" for n in sorted(names)) or "none"


def parse_flag(text: str, *, environments: Collection[str]) -> FlagParsed:
    """`/flag` text → its arguments; FlagUsageError naming the problem."""
    text = (text or "").strip()
    if text.lower() in ("", "help"):
        if not text:
            raise FlagUsageError("Which flag? Give the environment, the flag and on, off or "
                                 "a variant.")
        return FlagHelpArgs()
    reason: str | None = None
    m = _REASON.search(" " + text)
    if m is not None:
        reason = m.group("r").strip() or None
        text = (" " + text)[:m.start()].strip()
    elif any(q in text for q in '"“”'):
        raise FlagUsageError('The reason has no closing quote: `"reason"` at the end.')
    words = text.split()
    env = words[0]
    if env not in environments:
        raise FlagUsageError(f"Unknown environment {shown(env)}. Known environments: "
                             f"{_names(environments)}.")
    if len(words) < 2:
        raise FlagUsageError(f"Which flag in {env}? e.g. `/flag {env} new-checkout off`.")
    flag = words[1]
    if not _FLAG.match(flag):
        raise FlagUsageError(f"{shown(flag)} is not a flag key.")
    if len(words) < 3:
        raise FlagUsageError(f"Turn `{flag}` to what? Give `on`, `off` or one of its "
                             f"variants: `/flag {env} {flag} off`.")
    value = words[2]
    if not _VALUE.match(value):
        raise FlagUsageError(f"{shown(value)} is not `on`, `off` or a variant's name.")
    if len(words) > 3:
        raise FlagUsageError(f"Put the reason in quotes: `/flag {env} {flag} {value} "
                             '"…"`.')
    if reason is not None and len(reason) > MAX_REASON:
        raise FlagUsageError(f"The reason is too long (at most {MAX_REASON} characters).")
    return FlagArgs(environment=env, flag=flag, value=value, reason=reason)


def turns_off(d: Deployment) -> bool:
    """A flag change that turns its flag off (the rollback rule applies)."""
    return d.kind is Kind.FLAG and d.version == OFF


def acts_as(kind: Kind, value: str | None) -> Kind:
    """The kind whose window, freeze and lock rules a request follows: a flag turned off
    those of a rollback, one turned on (or to a variant) those of a deploy; other kinds
    their own."""
    if kind is not Kind.FLAG:
        return kind
    return Kind.ROLLBACK if value == OFF else Kind.DEPLOY


def flag_request_text(args: FlagArgs) -> str:
    """The command that asks for this change again (shown on cards and in the audit)."""
    reason = f' "{args.reason}"' if args.reason else ""
    return f"/flag {args.environment} {args.flag} {args.value}{reason}"

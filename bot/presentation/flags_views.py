"""What `/flags` shows (pure; Block Kit from a bot.domain.flag_status.FlagReading): the
acknowledgement while the flags are read, then a header saying where they were read (flagd's
definitions, or an OFREP flag service's evaluation, read only) and a section per declared
flag — ✅ as expected, ⚠️ not serving its `expect`, ❌ missing — with its state, default
variant and value, variants and a targeting summary (OFREP: the evaluated value, variant and
reason). Flag names, variants and values come from the store: escaped as /rollout escapes
the cluster's text. At most 50 blocks."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.domain.flag_status import FlagReading, FlagStatus
from bot.domain.flags_command import FlagsArgs
from bot.presentation.parts import Block, Message, when
from bot.presentation.sections import TEXT, fit
from bot.presentation.troubleshooting_views import esc

MAX_FLAGS = 45
MAX_VARIANTS = 8


def reading(args: FlagsArgs) -> str:
    """The acknowledgement while the flags are read."""
    return (f"⏳ Reading the feature flags of `{args.service}` in {args.environment}… "
            "(the answer follows here)")


def _code(text: str | None) -> str:
    return f"`{esc(text or '', 120)}`"


def _said(text: str) -> str:
    """A sentence bot.domain.flag_status wrote (its names in code spans), made safe."""
    return esc(text, 400).replace("'", "`")


def _served(f: FlagStatus) -> str:
    if f.state == "DISABLED":
        return "DISABLED — applications get their own code default"
    if f.variant is None:
        return (f"value {_code(f.value)}" if f.value is not None
                else "no default variant — applications get their own code default")
    return f"{_code(f.variant)}" + (f" = {_code(f.value)}" if f.value is not None else "")


def _flag_text(f: FlagStatus, source: str) -> str:
    name = f"*{_code(f.name)}*"
    expect = f" (expects {_code(f.expect)})" if f.expect else ""
    if not f.found:
        return f"❌ {name}{expect} — *missing*: there is no flag of that name there"
    if f.error is not None:
        return f"⚠️ {name}{expect} — could not be evaluated: {esc(f.error)}"
    mark = "⚠️" if f.wrong else "✅"
    lines = [f"{mark} {name}{expect}"]
    if f.wrong:
        lines.append(f"*expect does not hold:* {_said(f.wrong)}")
    if source == "flagd":
        lines.append(f"{esc(f.state or 'ENABLED')} · default {_served(f)}")
        if f.variants:
            shown = ", ".join(f"{_code(k)} = {_code(v)}" for k, v in f.variants[:MAX_VARIANTS])
            more = (f" and {len(f.variants) - MAX_VARIANTS} more"
                    if len(f.variants) > MAX_VARIANTS else "")
            lines.append(f"variants: {shown}{more}")
        lines.append(esc(f.targeting) if f.targeting else "no targeting: everyone gets the "
                     "default")
    else:
        lines.append(f"evaluated: {_served(f)}"
                     + (f" · reason {esc(f.reason)}" if f.reason else ""))
    return "\n".join(lines)


def flags_message(args: FlagsArgs, r: FlagReading, zone: ZoneInfo) -> Message:
    """The answer of `/flags`."""
    n = len(r.flags)
    bad = len(r.missing) + len(r.wrong)
    verdict = ("all as declared" if not bad
               else f"{len(r.missing)} missing, {len(r.wrong)} not as expected")
    if r.source == "flagd":
        source = f"From flagd's definitions in {esc(r.where)}"
    else:
        source = (f"Evaluated by {esc(r.where)} over OFREP, read only (no flagd store is "
                  "configured for this environment; evaluated for an empty context, so "
                  "targeting rules may answer differently for your users)")
    head = (f"*Feature flags of `{args.service}` in {args.environment}* — {n} declared, "
            f"{verdict}\n{source}, {when(r.at, zone)}.")
    blocks: list[Block] = [{"type": "section", "text": {"type": "mrkdwn", "text": head}}]
    for f in r.flags[:MAX_FLAGS]:
        blocks.append({"type": "section",
                       "text": {"type": "mrkdwn", "text": fit(_flag_text(f, r.source), TEXT)}})
    if n > MAX_FLAGS:
        blocks.append({"type": "context", "elements": [
            {"type": "mrkdwn", "text": f"and {n - MAX_FLAGS} more flags"}]})
    text = f"Feature flags of {args.service} in {args.environment}: {verdict}"
    return Message(text=text, blocks=blocks)

"""The pre-deployment checklist on a deployment's card (Block Kit, pure): each item with
✅/❌/⏳ (⏭️ not applicable, ⚪ not checked, ☑️ attested by the approvers), checkboxes for the
items ticked in Slack, a "not applicable…" button (it asks why in a modal), the commits and pull
requests since the running version; for a deploy deploybot does not check, the card says so
and whether approving attests the items."""

from __future__ import annotations

from typing import Any

from bot.domain.checklist import MANUAL, Checklist, ItemState, Mark
from bot.domain.checklist_facts import Comparison
from bot.domain.deployment import Deployment
from bot.domain.states import State
from bot.domain.text import clip, reason_text
from bot.presentation import ids
from bot.presentation.blocks import Message
from bot.presentation.sections import BUTTON, TEXT, fit

Block = dict[str, Any]

MARKS = {Mark.OK: "✅", Mark.FAILED: "❌", Mark.PENDING: "⏳", Mark.NOT_APPLICABLE: "⏭️",
         Mark.NOT_CHECKED: "⚪", Mark.ATTESTED: "☑️"}
SHOWN_COMMITS = 10  # the card lists this many commits, then "and N more" with a link


def item_block_id(deployment_id: int, item: str) -> str:
    return f"{ids.CHECKLIST_ITEM_BLOCK}.{deployment_id}.{item}"


def na_block_id(deployment_id: int, item: str) -> str:
    return f"{ids.CHECKLIST_NA_BLOCK}.{deployment_id}.{item}"


def parse_block_id(block_id: str, prefix: str) -> tuple[int, str] | None:
    """(deployment id, item) from a checklist block id; None when it is not one."""
    rest = block_id.removeprefix(prefix + ".")
    if rest == block_id:
        return None
    number, _, item = rest.partition(".")
    if not (number.isascii() and number.isdigit() and len(number) <= 18 and item):
        return None
    return int(number), item


def _github(text: str, limit: int = 100) -> str:
    """A commit's or pull request's title or author, as anyone on GitHub wrote it: one
    line, cut at a word, `& < >` escaped (a title `<!channel>` must not ping the channel)."""
    text = clip(" ".join(text.split()), limit)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _detail(state: ItemState) -> str:
    """An item's detail, escaped: a "not applicable" reason is typed text (it mentions
    nobody), but the mention of who gave it, which deploybot wrote, stays one."""
    text = reason_text(state.detail, limit=400)
    if state.tick is not None:
        who = state.tick.by
        text = text.replace(f"&lt;@{who}&gt;", f"<@{who}>")
    return text


def _text(s: str) -> Block:
    return {"type": "mrkdwn", "text": fit(s, TEXT)}


def _line(d: Deployment, state: ItemState, checklist: Checklist) -> str:
    mark = MARKS[state.mark]
    note = f" — {_detail(state)}" if state.detail else ""
    if checklist.skipped is not None and state.required and not state.green:
        mark, note = "⏭️", f"{note} · *skipped* (emergency: {checklist.skipped})"
    elif state.required and not state.green:
        note += " · _required_"
    return f"{mark} *{state.label}*{note}"


def _item_blocks(d: Deployment, state: ItemState, checklist: Checklist,
                 interactive: bool) -> list[Block]:
    block: Block = {"type": "section", "block_id": item_block_id(d.id, state.item),
                    "text": _text(_line(d, state, checklist))}
    if not (interactive and state.tickable):
        return [block]
    option = {"text": {"type": "plain_text", "text": "Reviewed" if state.item not in MANUAL
                       else "Done"}, "value": f"{d.id}.{state.item}"}
    checkbox: Block = {"type": "checkboxes", "action_id": ids.CHECKLIST_TICK,
                       "options": [option]}
    if state.tick is not None and state.tick.reason is None:
        checkbox["initial_options"] = [option]
    block["accessory"] = checkbox
    out = [block]
    if state.item in MANUAL and not state.green:  # asks why in a modal (checklist_form_views)
        out.append({"type": "actions", "block_id": na_block_id(d.id, state.item), "elements": [
            {"type": "button", "action_id": ids.CHECKLIST_NOT_APPLICABLE,
             "text": {"type": "plain_text", "text": fit(f"{state.label}: not applicable…", BUTTON)},
             "value": f"{d.id}.{state.item}"}]})
    return out


def changes_text(cmp: Comparison) -> str:
    """The commits and pull requests between the running version and the new one."""
    if not cmp.commits and cmp.total_commits == 0:
        return f"*Changes since `{cmp.base}`:* none"
    lines = [f"*Changes since `{cmp.base}`* ({cmp.total_commits} commit(s)):"]
    for c in cmp.commits[:SHOWN_COMMITS]:
        sha = f"<{c.url}|`{c.sha[:7]}`>" if c.url else f"`{c.sha[:7]}`"
        prs = ", ".join(
            f"<{p.url}|#{p.number}> {_github(p.title)} by {_github(p.author, 40)}"
            + ("" if p.merged and p.approved else " (not approved)" if p.merged
               else " (not merged)") for p in c.pulls) or "no pull request"
        lines.append(f"• {sha} {_github(c.title)} — {_github(c.author, 40)} · {prs}")
    more = cmp.total_commits - min(len(cmp.commits), SHOWN_COMMITS)
    if more > 0:
        link = f"<{cmp.url}|compare on GitHub>" if cmp.url else "compare on GitHub"
        lines.append(f"…and {more} more ({link})")
    return "\n".join(lines)


def checklist_blocks(d: Deployment, checklist: Checklist) -> list[Block]:
    interactive = d.state is State.AWAITING_APPROVAL
    facts = checklist.facts
    head = "*Pre-deployment checklist*"
    if facts.checked_at is not None:
        head += f" (GitHub asked at {facts.checked_at:%H:%M} UTC)"
    elif interactive:
        head += " (asking GitHub…)"
    out: list[Block] = [{"type": "section", "block_id": ids.CHECKLIST_BLOCK,
                         "text": _text(head)}]
    for state in checklist.items:
        out += _item_blocks(d, state, checklist, interactive)
    if checklist.skipped is not None and checklist.blocking:
        out.append({"type": "context", "elements": [_text(
            "⏭️ Emergency deploy: red items may be skipped; the skip is recorded in the "
            "audit log.")]})
    if facts.comparison is not None:
        out.append({"type": "section", "text": _text(changes_text(facts.comparison))})
    return out


def unevaluated_reminder(checklist: Checklist) -> Block:
    """The card's checklist while awaiting approval when deploybot does not check it: which
    items, why they are not checked, and whether approving attests them."""
    why = checklist.unevaluated
    # An item checked all the same (the declared feature flags) is shown with its mark.
    checked = [i for i in checklist.items if i.mark in (Mark.OK, Mark.FAILED, Mark.PENDING)]
    items = " · ".join(i.label[:1].lower() + i.label[1:] for i in checklist.items
                       if i not in checked)
    then = ("Approving attests them: the record names the approvers." if checklist.attestation
            else "Approving does not attest them: the record shows them as not checked.")
    lines = "".join(f"\n{MARKS[i.mark]} *{i.label}* — {_detail(i)}" for i in checked)
    return {"type": "context", "block_id": ids.CHECKLIST_BLOCK, "elements": [_text(
        f"Pre-deployment checklist, not checked by deploybot ({why}): {items}. {then}"
        f"{lines}")]}


def with_checklist(card: Message, d: Deployment, checklist: Checklist) -> Message:
    """The card with its checklist in place of the static reminder (or before the
    approval buttons, or at the end). A checklist deploybot does not evaluate only replaces
    the reminder (shown while awaiting approval), saying so."""
    blocks = list(card.blocks)
    at = next((i for i, b in enumerate(blocks) if b.get("block_id") == ids.CHECKLIST_BLOCK),
              None)
    if checklist.unevaluated is not None:
        if at is None:
            return card
        blocks[at] = unevaluated_reminder(checklist)
        return Message(text=card.text, blocks=blocks)
    new = checklist_blocks(d, checklist)
    if at is not None:
        blocks[at:at + 1] = new
    else:
        at = next((i for i, b in enumerate(blocks) if b.get("block_id") == ids.APPROVAL_BLOCK),
                  len(blocks))
        blocks[at:at] = new
    return Message(text=card.text, blocks=blocks)


def tick_reply(deployment_id: int, item: str, checklist: Checklist, *, checked: bool,
               reason: str | None = None) -> str:
    """The ephemeral answer to a tick, an untick or a "not applicable"."""
    state = checklist.get(item)
    label = state.label if state is not None else item
    if reason is not None:
        head = (f"⏭️ Marked “{label}” not applicable on deployment #{deployment_id}: "
                f"{reason_text(reason, limit=200)}.")
    elif checked:
        head = f"☑️ Ticked “{label}” on deployment #{deployment_id}."
    else:
        head = f"Unticked “{label}” on deployment #{deployment_id}."
    left = checklist.blocking
    if not left:
        return head + " Every required item is green."
    return head + " Still needed: " + ", ".join(i.label for i in left) + "."

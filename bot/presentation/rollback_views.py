"""Block Kit for `/rollback`: the plan to confirm (pure)."""

from __future__ import annotations

from bot.domain.record import short_tail
from bot.domain.rollback_plan import RollbackPlan
from bot.presentation import ids
from bot.presentation.parts import Message, _button, confirm_dialog
from bot.presentation.sections import context, section


def _esc(text: str) -> str:
    """Text in a code span: `& < >` escaped (Slack would read `<app>` as markup and drop
    it), backticks made quotes (they would end the span)."""
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("`", "'"))


def migration_warning(plan: RollbackPlan) -> str | None:
    """The guide's warning when the version being left ran database migrations."""
    m = plan.migrations
    if m is None:
        return None
    tail = _esc(short_tail(m.tail, lines=1))
    hint = (f" The guide's migration rollback for {plan.service}: `/migrate "
            f"{plan.environment} {plan.service} &lt;app&gt; &lt;previous_migration&gt;`"
            + (f" (runs `{_esc(plan.migrate_hint)}`)" if plan.migrate_hint else "") + ".")
    return (f"⚠️ `{plan.current}` ran database migrations (Job {m.job}"
            + (f": `{tail}`" if tail else "") + "). Rolling the code back does not undo "
            f"them, and deploybot will not run a down-migration by itself; if `{plan.target}` "
            "cannot run on the new schema, roll the database back first." + hint)


def rollback_confirmation(plan: RollbackPlan) -> Message:
    head = (f"↩️ Roll *{plan.service}* in *{plan.environment}* back from "
            f"{plan.named(plan.current)} to {plan.named(plan.target)}?")
    lines = [head, f"{plan.named(plan.current)} will be marked faulty there (deploying it "
                   "again needs `--force \"reason\"`)."]
    if plan.named_as is not None:  # the tag's commit ran there, not the tag itself
        lines.append(f"You named `{plan.named_as}`: it is commit `{plan.target}`, which ran in "
                     f"{plan.environment}; the rollback deploys that commit (the image that "
                     "ran there), not an image built for the tag.")
    others = [v for v in plan.candidates if v != plan.target][:5]
    if others:
        lines.append("Other versions you can name: " + ", ".join(plan.named(v) for v in others)
                     + f" (`/rollback {plan.environment} {plan.service} &lt;version&gt;`).")
    if plan.approvals_required:
        lines.append(f"Rollbacks in {plan.environment} need {plan.approvals_required} "
                     "approval(s); the request goes to the deployments channel.")
    blocks = [section("\n".join(lines))]
    warning = migration_warning(plan)
    if warning:
        blocks.append(section(warning))
    blocks.append({"type": "actions", "block_id": ids.ROLLBACK_BLOCK, "elements": [
        _button(f"Roll back to {dict(plan.tags).get(plan.target, plan.target)}",
                ids.ROLLBACK_CONFIRM, plan.value,
                style="danger", confirm=confirm_dialog(
                    "Roll back now?", f"`{plan.service}` in *{plan.environment}*: "
                    f"{plan.named(plan.current)} → {plan.named(plan.target)}.", "Roll back")),
    ]})
    blocks.append(context("Rollbacks are announced and audited."))
    return Message(text=head.replace("*", ""), blocks=blocks)

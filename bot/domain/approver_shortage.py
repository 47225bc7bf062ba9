"""Why nobody can approve a request: the approver group's known members, less the requester
when self-approval is off, are fewer than the approvals required. The refusal's words (who
could approve, why not enough, what to change in app.yaml); pure."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class ApproverRule:
    """The rule a request would wait on: `refs` as app.yaml names them (roles or ids),
    `prefix` the app.yaml key of its rule (`emergency`, `environments.production.approval`),
    `roles` the names in `refs` that are roles (the rest are ids)."""

    required: int
    allow_self_approval: bool
    refs: Sequence[str]
    roles: Collection[str]
    prefix: str
    emergency: bool


def shortage(rule: ApproverRule, members: Collection[str], *, requester: str,
             what: str) -> str | None:
    """The refusal when `members` (the group's known members) cannot give `rule.required`
    approvals to a request by `requester`; None when they can. `what`: the request, as in
    "this deploy to production"."""
    others = sorted(m for m in members if m != requester or rule.allow_self_approval)
    if len(others) >= rule.required:
        return None
    group = ", ".join(f"`{r}`" for r in rule.refs)
    title = "the emergency approvers" if rule.emergency else "the approvers"
    self_excluded = requester in members and not rule.allow_self_approval
    if others:
        who = "are only " + ", ".join(f"<@{m}>" for m in others)
        who += " besides you" if self_excluded else ""
    else:
        who = "are only you" if self_excluded else "have no members"
    why = (f", and self-approval is off (`{rule.prefix}.allow_self_approval`)"
           if self_excluded else "")
    keys = ", ".join(f"`roles.{r}`" if r in rule.roles else f"`{rule.prefix}.approvers`"
                     for r in dict.fromkeys(rule.refs))
    fix = f"Ask an admin to add an approver to {keys} in app.yaml"
    if self_excluded:
        fix += f", or to set `{rule.prefix}.allow_self_approval: true`"
    return (f"🚫 Nobody can approve {what}: it needs {rule.required} approval(s), and "
            f"{title} ({group}) {who}{why}. {fix}. Nothing was requested.")

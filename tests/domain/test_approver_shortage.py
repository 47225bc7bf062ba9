"""The refusal of a request nobody could approve (bot/domain/approver_shortage.py)."""

from __future__ import annotations

from bot.domain.approver_shortage import ApproverRule, shortage

PROD = "environments.production.approval"


def rule(required: int = 1, *, self_ok: bool = False) -> ApproverRule:
    return ApproverRule(required, self_ok, ["approvers"], {"approvers"}, PROD, emergency=False)


def test_enough_others_or_self_approval_allowed_refuse_nothing() -> None:
    what = "this deploy to production"
    assert shortage(rule(), {"U1", "U2"}, requester="U1", what=what) is None
    assert shortage(rule(self_ok=True), {"U1"}, requester="U1", what=what) is None
    assert shortage(rule(2), {"U1", "U2"}, requester="U3", what=what) is None


def test_too_few_besides_the_requester_are_named() -> None:
    text = shortage(rule(2), {"U1", "U2"}, requester="U1",
                    what="this migration run in production")
    assert text == (
        "🚫 Nobody can approve this migration run in production: it needs 2 approval(s), and "
        "the approvers (`approvers`) are only <@U2> besides you, and self-approval is off "
        f"(`{PROD}.allow_self_approval`). Ask an admin to add an approver to "
        f"`roles.approvers` in app.yaml, or to set `{PROD}.allow_self_approval: true`. "
        "Nothing was requested.")


def test_an_empty_group_has_no_members() -> None:
    text = shortage(rule(), set(), requester="U1", what="this deploy to production")
    assert text is not None
    assert "the approvers (`approvers`) have no members. Ask an admin" in text
    assert "allow_self_approval" not in text

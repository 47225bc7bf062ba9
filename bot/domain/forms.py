"""A modal's submission refused field by field (`FormProblems`): each message is shown under
its field (Slack's `response_action: errors`, bot.presentation's form views map the fields
to their blocks) and the modal stays open. Shared by the /deploy form, Reject's reason and
a checklist item's "not applicable" reason."""

from __future__ import annotations

from collections.abc import Mapping

#: The field a one-field form (a reason) names its problem by.
REASON = "reason"


class FormProblems(Exception):
    """The submission is refused: field → what is wrong with it."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        super().__init__("; ".join(problems.values()))
        self.problems = dict(problems)

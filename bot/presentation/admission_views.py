"""How a downgrade asks for its confirmation: the refusal, naming both versions, with the
button that repeats the request (or the approval) confirmed; and why the runner did not start
a deploy that would downgrade what went live since (`downgrade_at_start`)."""

from __future__ import annotations

from bot.domain.admission import Downgrade
from bot.domain.commands import DeployArgs, request_text
from bot.domain.versions import named
from bot.presentation import ids
from bot.presentation.parts import Message, _button, confirm_dialog
from bot.presentation.sections import section


def downgrade_prompt(text: str, dg: Downgrade, *, environment: str, service: str,
                     request: DeployArgs | None, deployment_id: int | None) -> Message:
    """`text` (the refusal) and a "Deploy v1.2.3 over v1.2.4" button: for a request it
    repeats the request confirmed, for an approval it approves confirmed."""
    live = dg.tag or dg.live  # a commit running is known by its tag
    if deployment_id is not None:
        action, value = ids.APPROVE_DOWNGRADE, f"{deployment_id}|{dg.live}"
        label = (f"Approve {dg.version} over {live}" if dg.unknown is not None
                 else f"Approve downgrade to {dg.version}")
    elif request is not None:
        action, value = ids.CONFIRM_DOWNGRADE, f"{dg.live}|{request_text(request)}"
        label = f"Deploy {dg.version} over {live}"
    else:
        return Message(text=text, blocks=[section(text)])
    what = (f"Replace commit `{dg.live}` of `{service}` in *{environment}* with "
            f"`{dg.version}`, which may be older." if dg.unknown is not None
            else f"Replace {named(dg.live, dg.tag)} of `{service}` in *{environment}* with "
                 f"the older `{dg.version}`. The record and the announcement will say "
                 "downgrade.")
    button = _button(label[:75], action, value[:2000], style="danger", confirm=confirm_dialog(
        "Downgrade?", what, "Downgrade" if dg.unknown is None else "Deploy"))
    return Message(text=text, blocks=[section(text), {
        "type": "actions", "block_id": ids.DOWNGRADE_BLOCK, "elements": [button]}])


def downgrade_at_start(dg: Downgrade) -> str:
    """Why the runner did not start a deploy (its error, on the card): a newer version went
    live after it was requested — a commit named by its tag — or a commit whose tag GitHub
    could not say, so the comparison could not be made; nobody confirmed either."""
    if dg.unknown is not None:
        return (f"not started: it runs commit `{dg.live}` there now, and GitHub could not be "
                f"asked which tag that is ({dg.unknown.rstrip('.')}), so whether "
                f"`{dg.version}` would downgrade it could not be told; nobody confirmed "
                "deploying over that commit. Request it again to confirm it.")
    return (f"not started: {named(dg.live, dg.tag)} runs there now, and `{dg.version}` would "
            "downgrade it; nobody confirmed that downgrade. Request it again to confirm it.")

"""The `/deploy` form as a Block Kit modal (https://docs.slack.dev/surfaces/modals): service,
environment, version (picked from those offered or typed), emergency and its reason; and a
refused submission's `response_action: errors` (each message under its input block:
https://docs.slack.dev/reference/interaction-payloads/view-interactions-payload). Pure.

Where the offered versions come from is said: each service's group (or the select's hint)
names the repository's tags or the versions deployed lately, and a note under the versions
names the services whose tags GitHub did not list (in time, or at all).
"""

from __future__ import annotations

from typing import Any

from bot.domain import deploy_form as form
from bot.domain.commands import MAX_REASON, MAX_VERSION
from bot.domain.deploy_form import TAGS_LATE, FormChoices, picked_value
from bot.domain.forms import REASON
from bot.presentation import ids
from bot.presentation.modal_parts import plain_text
from bot.presentation.sections import fit

#: The form's fields → their input blocks (a block's one element has the same action_id).
BLOCKS = {
    form.SERVICE: ids.FORM_SERVICE,
    form.ENVIRONMENT: ids.FORM_ENVIRONMENT,
    form.VERSION: ids.FORM_VERSION,
    form.VERSION_TYPED: ids.FORM_VERSION_TYPED,
    form.EMERGENCY: ids.FORM_EMERGENCY,
    REASON: ids.FORM_REASON,
}
EMERGENCY_VALUE = "emergency"


#: A static select's limits (https://docs.slack.dev/reference/block-kit/block-elements/
#: select-menu-element): 100 options, or 100 groups of 100; an option's text 75 characters
#: and its value 150 (the option object's reference).
MENU_OPTIONS = 100
OPTION_TEXT = 75
OPTION_VALUE = 150


def _option(text: str, value: str) -> dict[str, Any]:
    """An option showing `text` (cut between words with "…" past 75 characters); its
    `value` is whole (a caller never offers one longer than Slack takes)."""
    return {"text": plain_text(fit(text, OPTION_TEXT)), "value": value}


def _select(block_id: str, label: str, names: tuple[str, ...], *,
            placeholder: str) -> dict[str, Any]:
    """A required select of `names`; past 100 of them, in groups of 100 ("Services
    101 to 200"), so every one can be picked."""
    element: dict[str, Any] = {"type": "static_select", "action_id": block_id,
                               "placeholder": plain_text(placeholder)}
    options = [_option(n, n) for n in names]
    if len(options) <= MENU_OPTIONS:
        element["options"] = options
    else:
        element["option_groups"] = [
            {"label": plain_text(f"{label}s {i + 1} to {i + len(group)}"), "options": group}
            for i in range(0, min(len(options), MENU_OPTIONS ** 2), MENU_OPTIONS)
            for group in [options[i:i + MENU_OPTIONS]]]
    if len(names) == 1:
        element["initial_option"] = options[0]
    return {"type": "input", "block_id": block_id, "label": plain_text(label), "element": element}


def _offered(choices: FormChoices) -> list[tuple[str, tuple[str, ...]]]:
    """The services whose versions the menu lists, with those versions: at most 100
    services (a menu's groups), each version whose option value Slack takes."""
    offered = [(s, tuple(v for v in choices.versions.get(s, ())
                         if len(picked_value(s, v)) <= OPTION_VALUE))
               for s in choices.services]
    return [(s, v) for s, v in offered if v][:MENU_OPTIONS]


def _versions(choices: FormChoices) -> dict[str, Any] | None:
    """A select of the versions offered (grouped by service when there are several), or
    None when there are none (a select needs at least one option)."""
    offered = _offered(choices)
    if not offered:
        return None
    element: dict[str, Any] = {"type": "static_select", "action_id": ids.FORM_VERSION,
                               "placeholder": plain_text("A recent version")}
    if len(choices.services) == 1:
        service, versions = offered[0]
        element["options"] = [_option(v, picked_value(service, v)) for v in versions]
    else:
        element["option_groups"] = [
            {"label": plain_text(fit(f"{s} ({_source(choices, s)})", OPTION_TEXT)),
             "options": [_option(v, picked_value(s, v)) for v in versions]}
            for s, versions in offered]
    sources = {_source(choices, s) for s, _ in offered}
    hint = (f"{sources.pop().capitalize()}, newest first." if len(sources) == 1
            else "Newest first.")
    return {"type": "input", "block_id": ids.FORM_VERSION, "optional": True,
            "label": plain_text("Version"), "hint": plain_text(hint), "element": element}


def _source(choices: FormChoices, service: str) -> str:
    return ("the repository's tags" if choices.versions_from.get(service) == "tags"
            else "deployed lately")


def _names(services: list[str], most: int = 5) -> str:
    """"api", "api and web", "api, web and worker"; past `most`, "… and 12 more"."""
    if len(services) > most:
        return ", ".join(services[:most]) + f" and {len(services) - most} more"
    return (services[0] if len(services) == 1
            else ", ".join(services[:-1]) + " and " + services[-1])


def _unlisted_note(choices: FormChoices) -> dict[str, Any] | None:
    """What the versions menu leaves out and why (None: nothing): the versions of services
    past its 100 groups, and versions too long for an option's value."""
    offered = dict(_offered(choices))
    beyond = [s for s in choices.services if s not in offered and any(
        len(picked_value(s, v)) <= OPTION_VALUE for v in choices.versions.get(s, ()))]
    too_long = [s for s in choices.services if any(
        len(picked_value(s, v)) > OPTION_VALUE for v in choices.versions.get(s, ()))]
    said = ([f"the versions of {_names(beyond)} (a menu holds {MENU_OPTIONS} services)"]
            if beyond else []) + (
        [f"versions of {_names(too_long)} too long for a menu"] if too_long else [])
    if not said:
        return None
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": fit(
        "Not listed: " + "; ".join(said) + ". Type the version instead.", 3000)}]}


def _tags_note(choices: FormChoices) -> dict[str, Any] | None:
    """Why a service with `github:` offers no tags (None: every one does)."""
    missing = [s for s in choices.services if s in choices.tags_missing]
    if not missing:
        return None
    late = [s for s in missing if choices.tags_missing[s] == TAGS_LATE]
    failed = [s for s in missing if s not in late]
    said = ([f"GitHub did not answer in time for {_names(late)}"] if late else []) + (
        [f"GitHub could not list the tags of {_names(failed)}"] if failed else [])
    then = ("versions deployed lately are offered instead, or type the version"
            if any(choices.versions.get(s) for s in missing) else "type the version")
    again = " (`/deploy` again in a moment may list the tags)" if late else ""
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": fit(
        "; ".join(said) + f": {then}{again}.", 3000)}]}


def deploy_form(choices: FormChoices, *, channel_id: str | None) -> dict[str, Any]:
    """The modal; `channel_id` (where `/deploy` was typed) rides in private_metadata, so
    the deploy is requested from there as the typed command would be."""
    blocks: list[dict[str, Any]] = [
        _select(ids.FORM_SERVICE, "Service", choices.services, placeholder="Pick a service"),
        _select(ids.FORM_ENVIRONMENT, "Environment", choices.environments,
                placeholder="Pick an environment"),
    ]
    versions = _versions(choices)
    if versions is not None:
        blocks.append(versions)
    for note in (_tags_note(choices), _unlisted_note(choices)):
        if note is not None:
            blocks.append(note)
    blocks += [
        {"type": "input", "block_id": ids.FORM_VERSION_TYPED, "optional": True,
         "label": plain_text("Version" if versions is None else "Or type the version"),
         "hint": plain_text("A tag or release name, e.g. v1.2.3."),
         "element": {"type": "plain_text_input", "action_id": ids.FORM_VERSION_TYPED,
                     "max_length": MAX_VERSION}},
        {"type": "input", "block_id": ids.FORM_EMERGENCY, "optional": True,
         "label": plain_text("Emergency"),
         "element": {"type": "checkboxes", "action_id": ids.FORM_EMERGENCY, "options": [
             {"text": plain_text("Emergency deploy"), "value": EMERGENCY_VALUE,
              # an option's description: 75 characters at most (Block Kit's option object)
              "description": plain_text("Allowed in closed windows and freezes; emergency "
                                   "approvers decide")}]}},
        {"type": "input", "block_id": ids.FORM_REASON, "optional": True,
         "label": plain_text("Emergency reason"),
         "hint": plain_text("Required for an emergency deploy."),
         "element": {"type": "plain_text_input", "action_id": ids.FORM_REASON,
                     "max_length": MAX_REASON}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": (
            "The answer comes in your DM with deploybot; the card is posted as for "
            "`/deploy <environment> <version>`.").replace("<", "&lt;").replace(">", "&gt;")}]},
    ]
    return {"type": "modal", "callback_id": ids.DEPLOY_FORM, "title": plain_text("Deploy"),
            "submit": plain_text("Request deploy"), "close": plain_text("Cancel"),
            "private_metadata": channel_id or "", "blocks": blocks}


def form_errors(problems: dict[str, str]) -> dict[str, Any]:
    """The `ack` of a refused submission: Slack shows each message under its block."""
    return {"response_action": "errors",
            "errors": {BLOCKS[f]: fit(message, 150) for f, message in problems.items()}}

"""Per-pull-request environments ("previews"), pure: the instance a pull request deploys to,
how it is shown, and the claim key that makes its teardown happen once.

A deployment with `instance` None goes to the environment's main instance (what `/deploy`,
promotion gates, rollbacks and status are about). A pull request of a service configured with
`pull_requests: {environment: development, per_pr: true}` deploys to its own instance
`pr-<number>` of that environment instead, side by side with the main one and with the other
pull requests; closing the pull request removes it.
"""

from __future__ import annotations

import re

#: How a pull request's instance is named: `pr-7`.
_INSTANCE = re.compile(r"^pr-([1-9][0-9]{0,9})$")
#: The prefix of the claim keys of teardowns (one per instance and last deployment to it).
TEARDOWN_KEY_PREFIX = "preview-teardown:"


def instance_for(pull_request: int) -> str:
    """The instance pull request `pull_request` deploys to."""
    if pull_request < 1:
        raise ValueError(f"not a pull request number: {pull_request}")
    return f"pr-{pull_request}"


def pull_request_of(instance: str) -> int | None:
    """The pull request number of a per-PR instance (None: not one)."""
    m = _INSTANCE.match(instance)
    return int(m.group(1)) if m else None


def instance_label(instance: str) -> str:
    """How an instance is shown: `PR #7` (or the instance's name)."""
    number = pull_request_of(instance)
    return f"PR #{number}" if number is not None else instance


def where(environment: str, instance: str | None) -> str:
    """An environment and instance as people read it: `development (PR #7)`."""
    return environment if instance is None else f"{environment} ({instance_label(instance)})"


def github_environment(environment: str, instance: str | None) -> str:
    """The environment's name on GitHub (the Deployments API, the repository's Environments
    page): a preview is an environment of its own there, `development-pr-7`, so it never
    shows as what runs in development."""
    return environment if instance is None else f"{environment}-{instance}"


def teardown_key(environment: str, service: str, instance: str, last_deployment: int) -> str:
    """The claim key of one teardown: the instance as the deployment `last_deployment` left
    it. A duplicate delivery, or polling seeing the same close, claims the same key and does
    nothing; a pull request reopened, deployed again and closed again has a new last
    deployment, so it is torn down again."""
    return f"{TEARDOWN_KEY_PREFIX}{environment}:{service}:{instance}:{last_deployment}"

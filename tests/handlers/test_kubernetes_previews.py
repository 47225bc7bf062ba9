"""Per-PR previews end to end on the fake Kubernetes cluster: a signed `pull_request`
delivery deploys the pull request to Deployment `api-pr-7`, created from the shared `api`
(which keeps its image), through the runner; closing the pull request deletes it, once."""

from __future__ import annotations

from typing import Any

import pytest

from bot.domain.states import State
from devtools.fake_github import FakeGitHub
from devtools.fake_k8s import FakeKubernetes
from tests.conftest import RunningBot, base_config
from tests.handlers.kube import images
from tests.handlers.spine import announcements
from tests.handlers.test_github_webhook import deliver
from tests.handlers.test_previews import REPO, SHA7, bot, pull_request  # noqa: F401 - fixture


@pytest.fixture
def config_data(fake_k8s: FakeKubernetes, local_github: FakeGitHub) -> dict[str, Any]:
    return base_config(
        github={"api_url": local_github.url},
        services={"api": {
            "executor": "kubernetes", "kubernetes": {"image": "ghcr.io/acme/api:{version}"},
            "github": {"repository": REPO,
                       "pull_requests": {"environment": "staging", "per_pr": True}},
            "version_pattern": r"^(v?\d+\.\d+\.\d+|[0-9a-f]{12})$"}},
        kubernetes={"contexts": {"staging": "fake"}},
    )


def test_a_pull_request_gets_its_own_deployment_until_it_is_closed(
        bot: RunningBot, fake_k8s: FakeKubernetes) -> None:  # noqa: F811
    assert deliver(bot, pull_request(7, SHA7), delivery="d-7", event="pull_request") == 200
    assert bot.container.runner.wait_idle()
    d = bot.deployment(1)
    assert (d.instance, d.state) == ("pr-7", State.SUCCEEDED), d.error
    preview = fake_k8s.deployment("staging", "api-pr-7")
    assert preview["spec"]["replicas"] == 1
    assert preview["spec"]["template"]["spec"]["containers"][0]["image"] == (
        f"ghcr.io/acme/api:{SHA7[:12]}")
    assert images(fake_k8s)["api"] == "ghcr.io/acme/api:v1.2.2"  # the shared one is unchanged
    assert fake_k8s.recorded(method="PATCH", path_contains="/deployments/api") == []

    closed = pull_request(7, SHA7, "closed")
    assert deliver(bot, closed, delivery="d-c1", event="pull_request") == 200
    assert deliver(bot, closed, delivery="d-c2", event="pull_request") == 200
    with pytest.raises(KeyError):
        fake_k8s.deployment("staging", "api-pr-7")
    deletes = fake_k8s.recorded(method="DELETE", path_contains="/deployments/api-pr-7")
    assert len(deletes) == 1
    assert [m["text"] for m in announcements(bot) if "closed" in str(m["text"])] == [
        ":broom: PR #7 closed: preview of api in staging removed"]
    fake_k8s.deployment("staging", "api")  # the shared Deployment stays

"""Shared pieces of the end-to-end tests on a fake Kubernetes cluster (the `fake_k8s`
fixture lives in tests/handlers/conftest.py)."""

from __future__ import annotations

from bot.devtools.fake_k8s import FakeKubernetes

SIDECAR = {"name": "envoy", "image": "envoyproxy/envoy:v1.30.1"}


def images(fake: FakeKubernetes) -> dict[str, str]:
    """Container name → image of the staging `api` Deployment's pod template."""
    dep = fake.deployment("staging", "api")
    return {c["name"]: c["image"] for c in dep["spec"]["template"]["spec"]["containers"]}

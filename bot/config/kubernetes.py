"""The schema of a service on Kubernetes (`services.<name>.kubernetes`: image template,
Deployment, containers, namespaces, the Jobs' template) and of how deploybot reaches the
clusters (top-level `kubernetes:`), with the Kubernetes name rules they are checked by."""

from __future__ import annotations

import re
from datetime import timedelta

from pydantic import Field, field_validator

from bot.config.base import PositiveDuration, _Model, keyed

_K8S_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")  # namespaces, containers
_K8S_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
VERSION_PLACEHOLDER = "{version}"


def k8s_name_problem(name: str, *, subdomain: bool = False) -> str | None:
    """Why `name` is not a valid Kubernetes name (a DNS label, or subdomain), or None."""
    limit, pattern = (253, _K8S_SUBDOMAIN) if subdomain else (63, _K8S_LABEL)
    if len(name) > limit or not pattern.match(name):
        return (f"{name!r} is not a valid Kubernetes name (lowercase letters, digits and -, "
                f"at most {limit} characters)")
    return None


_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")

class JobTemplateConfig(_Model):
    """How the one-off Jobs (migrations, backup, migration status) differ from the
    Deployment's pod template they are copied from (services.<name>.kubernetes.jobs)."""

    container: str | None = Field(
        default=None, description="the pod template's container the Jobs copy (env, "
        "volumes, resources); default: the first of `containers`",
    )
    service_account: str | None = Field(
        default=None, description="run the Jobs under this service account (default: the "
        "pod template's)",
    )
    env: dict[str, str] = Field(
        default_factory=dict, description="environment variables added to (or replacing "
        "those of) the copied container, e.g. {DJANGO_SETTINGS_MODULE: web.settings_migrate}",
        json_schema_extra=keyed("variable"),
    )

    @field_validator("container")
    @classmethod
    def _container(cls, v: str | None) -> str | None:
        if v is not None and (problem := k8s_name_problem(v)):
            raise ValueError(problem)
        return v

    @field_validator("service_account")
    @classmethod
    def _service_account(cls, v: str | None) -> str | None:
        if v is not None and (problem := k8s_name_problem(v, subdomain=True)):
            raise ValueError(problem)
        return v

    @field_validator("env")
    @classmethod
    def _env(cls, v: dict[str, str]) -> dict[str, str]:
        for name in v:
            if not _ENV_NAME.match(name):
                raise ValueError(f"{name!r} is not an environment variable name (letters, "
                                 "digits, '_', '-', '.'; not starting with a digit)")
        return v


class KubernetesServiceConfig(_Model):
    """Where a service with `executor: kubernetes` runs (services.<name>.kubernetes):
    deploybot patches the image of the Deployment's named containers (sidecars keep theirs)
    and follows the rollout."""

    namespaces: dict[str, str] = Field(
        default_factory=dict, description="environment -> namespace (default: the "
        "environment's name)", json_schema_extra=keyed("environment"),
    )
    deployment: str | None = Field(
        default=None, description="the Deployment's name (default: the service name)")
    containers: list[str] | None = Field(
        default=None, min_length=1,
        description="containers whose image changes (default: [the service name]); "
        "sidecars keep theirs",
    )
    image: str | None = Field(
        default=None, description="image template, required: {version} is the deployed "
        "version, e.g. ghcr.io/acme/api:{version}"
    )
    progress_deadline: PositiveDuration = Field(
        default=timedelta(minutes=10),
        description="how long to follow a rollout at most (besides the Deployment's own "
        "progressDeadlineSeconds)",
    )
    jobs: JobTemplateConfig = Field(
        default_factory=JobTemplateConfig,
        description="how migration/backup/status Jobs differ from the pod template",
    )

    @field_validator("namespaces")
    @classmethod
    def _namespaces(cls, v: dict[str, str]) -> dict[str, str]:
        for env, ns in v.items():
            if problem := k8s_name_problem(ns):
                raise ValueError(f"{env}: {problem}")
        return v

    @field_validator("deployment")
    @classmethod
    def _deployment(cls, v: str | None) -> str | None:
        if v is not None and (problem := k8s_name_problem(v, subdomain=True)):
            raise ValueError(problem)
        return v

    @field_validator("containers")
    @classmethod
    def _containers(cls, v: list[str] | None) -> list[str] | None:
        for c in v or []:
            if problem := k8s_name_problem(c):
                raise ValueError(problem)
        if v is not None and len(set(v)) != len(v):
            raise ValueError("a container is named twice")
        return v

    @field_validator("image")
    @classmethod
    def _image(cls, v: str | None) -> str | None:
        if v is None:
            return v
        if v.count(VERSION_PLACEHOLDER) != 1:
            raise ValueError(f"{v!r} must contain {VERSION_PLACEHOLDER} exactly once "
                             "(e.g. ghcr.io/acme/api:{version})")
        rest = v.replace(VERSION_PLACEHOLDER, "")
        if "{" in rest or "}" in rest or any(c.isspace() for c in rest):
            raise ValueError(f"{v!r}: only {VERSION_PLACEHOLDER} may be in braces, and no spaces")
        return v

    def namespace(self, environment: str) -> str:
        return self.namespaces.get(environment, environment)

    def deployment_name(self, service: str) -> str:
        return self.deployment or service

    def container_names(self, service: str) -> list[str]:
        return list(self.containers or [service])

    def image_for(self, version: str) -> str:
        if self.image is None:
            raise ValueError("no image template")
        return self.image.replace(VERSION_PLACEHOLDER, version)

    def version_of(self, image: str) -> str | None:
        """The version in `image` according to the template, or None if it does not fit."""
        if self.image is None:
            return None
        head, _, tail = self.image.partition(VERSION_PLACEHOLDER)
        m = re.fullmatch(re.escape(head) + r"(?P<version>[^/@:\s]+)" + re.escape(tail), image)
        return m.group("version") if m else None


class KubernetesAccessConfig(_Model):
    """How deploybot reaches the clusters (top-level `kubernetes:`). KUBECONFIG comes from
    the environment, never from this file."""

    in_cluster: bool = Field(
        default=False, description="use the pod's service account (deploybot runs in the cluster)"
    )
    contexts: dict[str, str] = Field(
        default_factory=dict,
        description="environment -> kubeconfig context (default: the current context)",
        json_schema_extra=keyed("environment"),
    )

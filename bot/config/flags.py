"""The schema of feature flags (issue 17): where each environment's flags live (top-level
`flags.<environment>`: flagd's definitions in the OpenFeature Operator's `FeatureFlag`
resource or in a ConfigMap key flagd's file sync reads, and/or an OFREP flag service to
evaluate them), and the flags a service declares (`services.<name>.flags`: a name, or
`{name, expect, kill_switch}`). Checked at load: names as Kubernetes and flagd write them,
an OFREP URL, and (bot.config.checks) that every environment named exists."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from pydantic import Field, field_validator, model_validator

from bot.config.base import _Model
from bot.config.kubernetes import k8s_name_problem

if TYPE_CHECKING:  # app.py imports this module (through services)
    from bot.config.app import AppConfig

_ENV_VAR = re.compile(r"^[A-Z_][A-Z0-9_]*$")
_CONFIGMAP_KEY = re.compile(r"^[-._a-zA-Z0-9]{1,253}$")
#: The variable the OFREP token is read from unless `ofrep.token_env` names another.
DEFAULT_OFREP_TOKEN_ENV = "OFREP_TOKEN"


def _k8s_name(v: str, *, subdomain: bool) -> str:
    if problem := k8s_name_problem(v, subdomain=subdomain):
        raise ValueError(problem)
    return v


class _NamespacedObject(_Model):
    """A Kubernetes object by name and namespace, both checked as the API server would."""

    @field_validator("name", check_fields=False)
    @classmethod
    def _name(cls, v: str) -> str:
        return _k8s_name(v, subdomain=True)

    @field_validator("namespace", check_fields=False)
    @classmethod
    def _namespace(cls, v: str) -> str:
        return _k8s_name(v, subdomain=False)


class FeatureFlagResourceConfig(_NamespacedObject):
    """The OpenFeature Operator's `FeatureFlag` resource (core.openfeature.dev/v1beta1)
    holding the flags at `spec.flagSpec`."""

    name: str = Field(description="the FeatureFlag's name")
    namespace: str = Field(description="its namespace")


class FlagConfigMapConfig(_NamespacedObject):
    """A ConfigMap key holding flagd's JSON, mounted where flagd's file sync reads it."""

    name: str = Field(description="the ConfigMap's name")
    namespace: str = Field(description="its namespace")
    key: str = Field(default="flags.json",
                     description="the key (file name) holding the flag definitions")

    @field_validator("key")
    @classmethod
    def _key(cls, v: str) -> str:
        if not _CONFIGMAP_KEY.match(v):
            raise ValueError(f"{v!r} is not a ConfigMap key (letters, digits, -, _ and .)")
        return v


class FlagdStorageConfig(_Model):
    """Where flagd reads this environment's flag definitions: exactly one of
    `feature_flag` and `configmap`. deploybot reads and writes them there through the
    Kubernetes API, with the access `kubernetes:` gives it for the environment."""

    feature_flag: FeatureFlagResourceConfig | None = Field(
        default=None, description="a FeatureFlag resource (the OpenFeature Operator)")
    configmap: FlagConfigMapConfig | None = Field(
        default=None, description="a ConfigMap key (flagd's file sync)")

    @model_validator(mode="after")
    def _one(self) -> FlagdStorageConfig:
        if (self.feature_flag is None) == (self.configmap is None):
            raise ValueError("give exactly one of feature_flag and configmap")
        return self


class OfrepConfig(_Model):
    """A flag service speaking the OpenFeature Remote Evaluation Protocol (flagd, GO
    Feature Flag, …), read only."""

    url: str = Field(pattern=r"^https?://[^\s/]+(/\S*)?$",
                     description="its base URL; deploybot POSTs to <url>/ofrep/v1/evaluate/…")
    token_env: str | None = Field(
        default=None, description="the environment variable holding its bearer token "
        f"(default {DEFAULT_OFREP_TOKEN_ENV}; no token is sent when it is unset); never the "
        "token itself")
    timeout: float = Field(default=5.0, gt=0, le=60,
                           description="seconds to wait for an answer")

    @field_validator("token_env")
    @classmethod
    def _env(cls, v: str | None) -> str | None:
        if v is not None and not _ENV_VAR.match(v):
            raise ValueError(f"{v!r} is not an environment variable name (A-Z, 0-9, _)")
        return v


class FlagSourceConfig(_Model):
    """The flags of one environment (flags.<environment>): `flagd` where their definitions
    are kept (read and changed), `ofrep` a flag service that evaluates them (read only);
    at least one."""

    flagd: FlagdStorageConfig | None = Field(
        default=None, description="flagd's flag definitions, read and changed")
    ofrep: OfrepConfig | None = Field(
        default=None, description="an OFREP flag service, evaluated (read only)")

    @model_validator(mode="after")
    def _some(self) -> FlagSourceConfig:
        if self.flagd is None and self.ofrep is None:
            raise ValueError("give flagd (where the definitions are kept), ofrep (a flag "
                             "service), or both")
        return self


_FLAG_KEY = re.compile(r"^\S{1,200}$")


class FlagRefConfig(_Model):
    """A flag a service declares (services.<name>.flags): a name, or this."""

    name: str = Field(description="the flag's key, as flagd names it")
    expect: str | None = Field(
        default=None, description="the variant it must serve for a deploy to pass the "
        "checklist's \"Feature flags configured\" (`on`, `off` or a variant's name); "
        "default: it must only exist")
    kill_switch: bool = Field(
        default=False, description="turning it off is a fix for a failed deploy: the "
        "failure message offers \"Turn <flag> off\" next to Rollback")

    @field_validator("expect", mode="before")
    @classmethod
    def _on_off(cls, v: object) -> object:
        # YAML 1.1 reads a bare on/off as a boolean: `expect: off` means the variant "off".
        return ("on" if v else "off") if isinstance(v, bool) else v

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not _FLAG_KEY.match(v):
            raise ValueError(f"{v!r} is not a flag key (no spaces, at most 200 characters)")
        return v


def _flag_ref(v: Any) -> Any:
    return {"name": v} if isinstance(v, str) else v


def flag_refs(v: Any) -> Any:
    """`flags:` as written (strings or mappings), each a FlagRefConfig; a name twice is an
    error."""
    if not isinstance(v, list):
        return v
    refs = [_flag_ref(x) for x in v]
    names = [r.get("name") for r in refs if isinstance(r, dict)]
    twice = sorted({str(n) for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(f"flag {twice[0]!r} is declared twice")
    return refs


def check_flags(cfg: AppConfig) -> None:
    """`flags.<environment>` names environments, and a service that declares flags deploys
    to an environment whose flags deploybot can find. ValueError("key: reason")."""
    for env_name in cfg.flags:
        if env_name not in cfg.environments:
            raise ValueError(f"flags.{env_name}: unknown environment {env_name!r} (flags "
                             "are keyed by the environments in environments)")
    for svc_name, svc in cfg.services.items():
        if not svc.flags:
            continue
        envs = svc.environments or list(cfg.environments)
        if not any(env in cfg.flags for env in envs):
            raise ValueError(f"services.{svc_name}.flags: none of the environments "
                             f"{svc_name} deploys to ({', '.join(envs)}) says where its "
                             "flags live: add flags.<environment>")


def kill_switch_flags(cfg: AppConfig) -> dict[tuple[str, str], tuple[str, ...]]:
    """(service, environment) → the flags the service declares with `kill_switch: true`,
    for each environment it deploys to whose flags deploybot can change (flags.<env>.flagd):
    offered as "Turn <flag> off" after a failed watch."""
    out: dict[tuple[str, str], tuple[str, ...]] = {}
    for svc_name, svc in cfg.services.items():
        names = tuple(ref.name for ref in svc.flags if ref.kill_switch)
        if not names:
            continue
        for env in svc.environments or list(cfg.environments):
            source = cfg.flags.get(env)
            if source is not None and source.flagd is not None:
                out[(svc_name, env)] = names
    return out

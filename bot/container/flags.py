"""Feature flags, built for the composition root (bot.container): for each environment of
app.yaml's `flags:`, its FlagStore (flagd's definitions in a FeatureFlag resource or a
ConfigMap key, through the Kubernetes clients) and its FlagEvaluator (an OFREP flag
service, its token from the environment variable the config names, never from app.yaml).
The `kubernetes` client is imported only when an environment keeps its flags in the
cluster (tests/test_container_imports.py). `/flags`, the checklist and the record read
them through bot.services.flag_reads; `/flag` and the runner change flags through the
stores."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.backends.ofrep import OfrepEvaluator
from bot.config import AppConfig
from bot.config.flags import DEFAULT_OFREP_TOKEN_ENV
from bot.ports.flags import FlagEvaluator, FlagStore

if TYPE_CHECKING:
    from bot.backends.kubernetes import KubeClients, Timing


@dataclass
class Flags:
    """The flags of each environment: where their definitions are kept (`store`) and the
    flag service that evaluates them (`evaluator`); None where app.yaml gives none."""

    stores: dict[str, FlagStore] = field(default_factory=dict)
    evaluators: dict[str, FlagEvaluator] = field(default_factory=dict)
    #: Kubernetes clients built for the flags alone (no service's executor needed them)
    own_clients: KubeClients | None = None

    def store(self, environment: str) -> FlagStore | None:
        return self.stores.get(environment)

    def evaluator(self, environment: str) -> FlagEvaluator | None:
        return self.evaluators.get(environment)

    def close(self) -> None:
        if self.own_clients is not None:
            self.own_clients.close()


def build_flags(config: AppConfig, *, kube_clients: KubeClients | None,
                kubeconfig: str | None, environ: Mapping[str, str],
                timing: Timing | None = None,
                sleep: Callable[[float], None] = time.sleep) -> Flags:
    """One store and one evaluator per environment of `config.flags`. `kube_clients`: the
    executors' (shared when there are), else built here for the flags; `timing`: the
    Kubernetes calls' (a glance's short timeouts by default)."""
    flags = Flags()
    for env_name, source in config.flags.items():
        if source.ofrep is not None:
            token_env = source.ofrep.token_env or DEFAULT_OFREP_TOKEN_ENV
            flags.evaluators[env_name] = OfrepEvaluator(
                source.ofrep.url, token=environ.get(token_env) or None, token_env=token_env,
                timeout=source.ofrep.timeout)
        if source.flagd is None:
            continue
        from bot.backends.kubernetes import KubeClients
        from bot.backends.kubernetes.flags import ConfigMapFlagStore, FeatureFlagStore

        if kube_clients is None:
            kube_clients = flags.own_clients = KubeClients(config.kubernetes,
                                                           kubeconfig=kubeconfig)
        where = f"flags.{env_name}.flagd"
        glance = timing.glance() if timing is not None else None
        if source.flagd.feature_flag is not None:
            ff = source.flagd.feature_flag
            flags.stores[env_name] = FeatureFlagStore(
                kube_clients, environment=env_name, name=ff.name, namespace=ff.namespace,
                setting=f"{where}.feature_flag", timing=glance, sleep=sleep)
        elif source.flagd.configmap is not None:
            cm = source.flagd.configmap
            flags.stores[env_name] = ConfigMapFlagStore(
                kube_clients, key=cm.key, environment=env_name, name=cm.name,
                namespace=cm.namespace, setting=f"{where}.configmap", timing=glance,
                sleep=sleep)
    return flags

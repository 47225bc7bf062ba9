"""flagd's flag definitions kept in the cluster (issue 17): the FlagStore port over the
Kubernetes API, for the two places flagd reads them from —

- `FeatureFlagStore`: the OpenFeature Operator's `FeatureFlag` custom resource
  (core.openfeature.dev/v1beta1, plural `featureflags`; the flags at `spec.flagSpec`, per the
  operator's api/core/v1beta1/featureflag_types.go and its CRD), through CustomObjectsApi;
- `ConfigMapFlagStore`: a ConfigMap key holding flagd's JSON (flagd's file sync reads the
  mounted file), through CoreV1Api.

A change is optimistic: GET the object, apply the pure change (bot.domain.flags) to what it
holds, PUT it back with the `metadata.resourceVersion` it was read at. The API server refuses
a PUT whose resourceVersion is stale with 409 Conflict ("the object has been modified; please
apply your changes to the latest version and try again", API concepts: "Concurrency control
and consistency"); the change is then applied again to the fresh object, at most
`CONFLICT_ATTEMPTS` times, so two changes at once both land and neither is lost. Only the
changed flag's `state` and `defaultVariant` differ in what is written: the object's other
fields, the other flags, targeting and metadata go back as they were read.

RBAC: get and update on featureflags.core.openfeature.dev and configmaps
(deploy/kubernetes/base/rbac.yaml).
"""

from __future__ import annotations

import copy
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

from bot.backends.kubernetes.api import (
    Api,
    Backoff,
    KubeClients,
    KubernetesProblem,
    Op,
    Timing,
    port_error,
)
from bot.domain.flags import Changed, FlagChange, FlagDocument, InvalidFlagDocument
from bot.errors import PermanentError, RetryableError

log = logging.getLogger(__name__)

GROUP, VERSION, PLURAL = "core.openfeature.dev", "v1beta1", "featureflags"
#: Tries of a change in all when each write loses a race (409 Conflict) to another writer.
CONFLICT_ATTEMPTS = 5


class _ClusterFlagStore(ABC):
    """What both stores share: the calls of one environment, the read-modify-write loop and
    the errors as the port says them."""

    resource = ""

    def __init__(self, clients: KubeClients, *, environment: str, name: str, namespace: str,
                 setting: str, timing: Timing | None = None,
                 sleep: Callable[[float], None] = time.sleep,
                 conflict_attempts: int = CONFLICT_ATTEMPTS) -> None:
        self._clients = clients
        self.environment = environment
        self.name, self.namespace = name, namespace
        #: the app.yaml key that names the object, for messages
        self._setting = setting
        self._timing = timing or Timing(backoff=Backoff(attempts=2, cap=1.0))
        self._sleep = sleep
        self._attempts = max(1, conflict_attempts)

    @property
    def where(self) -> str:
        return f'{self.resource} "{self.name}" in namespace "{self.namespace}"'

    # -- what each store says differently ------------------------------------------------

    @abstractmethod
    def _get(self, api: Api) -> dict[str, Any]:
        ...

    @abstractmethod
    def _put(self, api: Api, obj: dict[str, Any]) -> None:
        ...

    @abstractmethod
    def _document(self, obj: dict[str, Any]) -> FlagDocument:
        ...

    @abstractmethod
    def _with_document(self, obj: dict[str, Any], doc: FlagDocument) -> dict[str, Any]:
        ...

    # -- the port ---------------------------------------------------------------------------

    def read(self) -> FlagDocument:
        api = self._api()
        return self._document(self._read(api))

    def change(self, change: FlagChange) -> Changed:
        api = self._api()
        for attempt in range(1, self._attempts + 1):
            obj = self._read(api)
            changed = change.apply(self._document(obj), where=self.where)
            if not changed.changed:
                return changed
            try:
                self._put(api, self._with_document(obj, changed.document))
            except KubernetesProblem as e:
                if e.status == 409:
                    log.info("flags: %s changed under deploybot (attempt %d of %d); "
                             "applying %s=%s again", self.where, attempt, self._attempts,
                             change.flag, change.target)
                    continue
                raise self._port_error(e) from e
            return changed
        raise RetryableError(
            f"{self.where} kept changing while deploybot wrote `{change.flag}` "
            f"({self._attempts} writes in a row lost to other writers): try again")

    # -- helpers ----------------------------------------------------------------------------

    def _api(self) -> Api:
        try:
            return Api(self._clients.get(self.environment), environment=self.environment,
                       timing=self._timing, sleep=self._sleep)
        except KubernetesProblem as e:
            raise port_error(e) from e

    def _read(self, api: Api) -> dict[str, Any]:
        try:
            return self._get(api)
        except KubernetesProblem as e:
            raise self._port_error(e) from e

    def _port_error(self, e: KubernetesProblem) -> RetryableError | PermanentError:
        if e.kind == "not_found":
            return PermanentError(
                f"{self.where} does not exist in the cluster of {self.environment}: create "
                f"it, or correct {self._setting} in app.yaml ({e})")
        return port_error(e)

    def _op(self, verb: str, resource: str) -> Op:
        return Op(verb, resource, self.namespace, self.name)


class FeatureFlagStore(_ClusterFlagStore):
    """The flags of one environment in an OpenFeature Operator `FeatureFlag` resource."""

    resource = "FeatureFlag"

    def _get(self, api: Api) -> dict[str, Any]:
        obj: dict[str, Any] = api.call(
            self._op("get", f"{PLURAL}.{GROUP}"), api.custom.get_namespaced_custom_object,
            GROUP, VERSION, self.namespace, PLURAL, self.name)
        return obj

    def _put(self, api: Api, obj: dict[str, Any]) -> None:
        api.call(self._op("update", f"{PLURAL}.{GROUP}"),
                 api.custom.replace_namespaced_custom_object,
                 GROUP, VERSION, self.namespace, PLURAL, self.name, obj)

    def _document(self, obj: dict[str, Any]) -> FlagDocument:
        spec = obj.get("spec")
        flag_spec = spec.get("flagSpec") if isinstance(spec, dict) else None
        if flag_spec is None:
            raise InvalidFlagDocument(f"{self.where} has no spec.flagSpec (the flags of a "
                                      "core.openfeature.dev/v1beta1 FeatureFlag)")
        return FlagDocument.parse(flag_spec, where=f"{self.where} (spec.flagSpec)")

    def _with_document(self, obj: dict[str, Any], doc: FlagDocument) -> dict[str, Any]:
        out = copy.deepcopy(obj)  # metadata.resourceVersion as read: the API's precondition
        out["spec"]["flagSpec"] = doc.to_dict()
        return out


class ConfigMapFlagStore(_ClusterFlagStore):
    """The flags of one environment in a ConfigMap key (flagd's file sync)."""

    resource = "ConfigMap"

    def __init__(self, clients: KubeClients, *, key: str, **kwargs: Any) -> None:
        super().__init__(clients, **kwargs)
        self.key = key

    @property
    def where(self) -> str:
        return f'key "{self.key}" of ConfigMap "{self.name}" in namespace "{self.namespace}"'

    def _get(self, api: Api) -> dict[str, Any]:
        obj: dict[str, Any] = api.call(self._op("get", "configmaps"),
                                       api.core.read_namespaced_config_map,
                                       self.name, self.namespace)
        return obj

    def _put(self, api: Api, obj: dict[str, Any]) -> None:
        api.call(self._op("update", "configmaps"), api.core.replace_namespaced_config_map,
                 self.name, self.namespace, obj)

    def _document(self, obj: dict[str, Any]) -> FlagDocument:
        text = (obj.get("data") or {}).get(self.key)
        if text is None:
            keys = ", ".join(sorted(obj.get("data") or {})) or "none"
            raise InvalidFlagDocument(f"{self.where} does not exist (its keys: {keys}); "
                                      f"correct {self._setting}.key in app.yaml")
        return FlagDocument.from_json(str(text), where=self.where)

    def _with_document(self, obj: dict[str, Any], doc: FlagDocument) -> dict[str, Any]:
        out = copy.deepcopy(obj)
        out["data"][self.key] = doc.to_json()
        return out

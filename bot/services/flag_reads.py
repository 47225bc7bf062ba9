"""Reading the flags a service declares where its environment's flags live (issue 17), for
`/flags`, the checklist's "Feature flags configured" and the record's "Feature flags set":
flagd's definitions through the environment's FlagStore when it has one (what is defined:
state, default variant, targeting), else each declared flag evaluated by its OFREP flag
service (read only; evaluated for an empty context, so targeting that needs one may not
answer). One read of the store, or one evaluation per declared flag.

`read` raises what the port raises (RetryableError: unreachable, 5xx; PermanentError: RBAC
403, a token refused, not flagd's format); `reading` turns that into a FlagReading that says
why it could not be read, for what is kept with a deployment."""

from __future__ import annotations

import logging
from collections.abc import Callable

from bot.config import AppConfig
from bot.domain.flag_status import (
    Declared,
    FlagReading,
    from_document,
    from_evaluations,
    unreadable,
)
from bot.domain.flags import Evaluation, UnknownFlag
from bot.errors import DeploybotError, UserError
from bot.ports import Clock, FlagEvaluator, FlagStore

log = logging.getLogger(__name__)


class FlagReader:
    def __init__(self, *, config: AppConfig, clock: Clock,
                 stores: Callable[[str], FlagStore | None],
                 evaluators: Callable[[str], FlagEvaluator | None]) -> None:
        """`stores` / `evaluators`: an environment's FlagStore / FlagEvaluator (None: it
        has none; bot.container.flags)."""
        self._config = config
        self._clock = clock
        self._stores = stores
        self._evaluators = evaluators

    def declared(self, service: str) -> list[Declared]:
        svc = self._config.services.get(service)
        return [] if svc is None else [Declared(f.name, f.expect, f.kill_switch)
                                       for f in svc.flags]

    def applies(self, environment: str, service: str) -> bool:
        """The service declares flags, and the environment says where flags live."""
        return bool(self.declared(service)) and (
            self._stores(environment) is not None or self._evaluators(environment) is not None)

    def read(self, environment: str, service: str) -> FlagReading | None:
        """The service's declared flags as they are in `environment` now; None when it
        declares none or the environment has no flag store nor flag service."""
        declared = self.declared(service)
        if not declared:
            return None
        store = self._stores(environment)
        if store is not None:
            document = store.read()
            return from_document(declared, document, where=store.where, at=self._clock.now())
        evaluator = self._evaluators(environment)
        if evaluator is None:
            return None
        found: dict[str, Evaluation | None] = {}
        for ref in declared:
            try:
                found[ref.name] = evaluator.evaluate(ref.name)
            except UnknownFlag:
                found[ref.name] = None
        return from_evaluations(declared, found, where=evaluator.where, at=self._clock.now())

    def reading(self, environment: str, service: str) -> FlagReading | None:
        """As `read`, never raising: a store or flag service that cannot be read gives a
        FlagReading saying why."""
        try:
            return self.read(environment, service)
        except DeploybotError as e:
            log.warning("flags of %s in %s: could not be read", service, environment,
                        exc_info=True)
            store = self._stores(environment)
            evaluator = self._evaluators(environment)
            where = (store.where if store is not None
                     else evaluator.where if evaluator is not None else environment)
            return unreadable("flagd" if store is not None else "ofrep", where,
                              at=self._clock.now(),
                              problem=e.message if isinstance(e, UserError) else str(e))

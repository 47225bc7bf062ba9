"""Feature flags (issue 17): where an environment's flag definitions are kept and changed
(`FlagStore`: flagd's definitions in a `FeatureFlag` resource or a ConfigMap), and how flags
evaluate for a context (`FlagEvaluator`: the OpenFeature Remote Evaluation Protocol). One
instance per environment (bot.container.flags builds them from app.yaml's `flags:`). The
values they speak are the domain's (bot.domain.flags), re-exported here.

Errors: UnknownFlag (a NotFound: the message lists the flags there) and UnknownVariant /
NotBoolean (UserError) for what the user named; RetryableError when the store or the flag
service cannot be reached or answers 5xx or 429; PermanentError when deploybot may not read
or write it (401/403: the message says what to grant or which token to set) or what it holds
is not flagd's format.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from bot.domain.flags import Changed, Evaluation, FlagChange, FlagDocument

__all__ = ["Changed", "Evaluation", "FlagChange", "FlagDocument", "FlagEvaluator",
           "FlagStore"]


@runtime_checkable
class FlagStore(Protocol):
    """The flag definitions of one environment, read and changed where flagd reads them."""

    @property
    def where(self) -> str:
        """Where the flags live, for messages: `FeatureFlag "app-flags" in namespace
        "production"`."""
        ...

    def read(self) -> FlagDocument:
        """Every flag of the environment, as stored now."""
        ...

    def change(self, change: FlagChange) -> Changed:
        """Apply `change` to the flag as stored now and write it, with optimistic concurrency:
        a write that lost a race (409 Conflict on the stale resourceVersion) is retried a
        bounded number of times on the fresh object, so two changes at once both land."""
        ...


@runtime_checkable
class FlagEvaluator(Protocol):
    """Read-only evaluation of flags for a context (a flag service speaking OFREP)."""

    @property
    def where(self) -> str:
        """The flag service, for messages (its URL)."""
        ...

    def evaluate(self, key: str, context: Mapping[str, Any] | None = None) -> Evaluation:
        """One flag; UnknownFlag when the service has none of that name."""
        ...

    def evaluate_all(self, context: Mapping[str, Any] | None = None) -> list[Evaluation]:
        """Every flag the service evaluates for `context` (errors per flag in the result)."""
        ...

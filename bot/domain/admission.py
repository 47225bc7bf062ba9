"""Admission rules that compare a request with what runs and with the other requests:
downgrades and supersession. Pure: the facts come in, a decision goes out.

- A deploy of a version older than the one live there is a *downgrade*: it needs an
  explicit confirmation naming both versions, by the requester (or the approver, or before
  it starts), recorded on the deployment (`downgrade_from`), and the record and the
  announcement say "downgrade". Versions compare by semantic-version precedence
  (semver.org §11); versions that are not semantic are never called a downgrade (nothing
  can tell).
- A newer request for the same service and environment (main instance) *supersedes* the
  older ones still waiting — for approval, or for their window: they end cancelled, saying
  by which one, so an approval click on a stale card cannot put an old version over a
  newer one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.domain.deployment import Deployment, Kind
from bot.domain.states import State
from bot.domain.versions import semver

#: The states a request waits in before it runs: a newer request supersedes these.
WAITING = (State.AWAITING_APPROVAL, State.SCHEDULED)


def _precedence_key(pre: str | None) -> tuple[int, tuple[tuple[int, int | str], ...]]:
    """semver.org §11: a release ranks above its pre-releases; pre-release identifiers
    compare numerically when numeric, else in ASCII order, numeric below alphanumeric."""
    if pre is None:
        return (1, ())
    parts: list[tuple[int, int | str]] = []
    for ident in pre.split("."):
        parts.append((0, int(ident)) if ident.isdigit() else (1, ident))
    return (0, tuple(parts))


def older(version: str, than: str) -> bool:
    """Whether `version` precedes `than` (both semantic versions; False otherwise)."""
    a, b = semver(version), semver(than)
    if a is None or b is None:
        return False
    if a[:3] != b[:3]:
        return a[:3] < b[:3]
    return _precedence_key(a[3]) < _precedence_key(b[3])


@dataclass(frozen=True)
class Downgrade:
    """`version` would replace the newer `live` version."""

    version: str
    live: str


def downgrade(kind: Kind, version: str, live: str | None, *,
              confirmed_from: str | None) -> Downgrade | None:
    """The unconfirmed downgrade a deploy of `version` over `live` would be; None when it is
    none (not older, a rollback — going back is its purpose —, nothing known live) or when
    the downgrade from exactly `live` was confirmed."""
    if kind is not Kind.DEPLOY or live is None or not older(version, live):
        return None
    if confirmed_from == live:
        return None
    return Downgrade(version=version, live=live)


def is_downgrade(d: Deployment) -> bool:
    """The deployment was confirmed as a downgrade (for the record and announcement)."""
    return d.kind is Kind.DEPLOY and d.downgrade_from is not None


def superseded(new: Deployment, others: Iterable[Deployment]) -> list[Deployment]:
    """The requests `new` supersedes: older deploys of the same service to the same
    environment and instance, still waiting for approval or their window."""
    if new.kind is not Kind.DEPLOY:
        return []
    return [o for o in others
            if o.id < new.id and o.kind is Kind.DEPLOY and o.state in WAITING
            and (o.environment, o.service, o.instance)
            == (new.environment, new.service, new.instance)]

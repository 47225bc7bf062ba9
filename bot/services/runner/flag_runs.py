"""A flag change (`/flag`, Kind.FLAG) carried out by the runner: the environment's
FlagStore changes the flag (bot.ports.flags: read, change, write with optimistic
concurrency), the result — the flag before and after, and the caveats (targeting that can
still serve another variant) — is audited and kept as the deployment's progress, and the
end is told in the thread of the deployment that introduced the flag (`rollback_of` of a
flag change, chosen when it was requested: bot.services.flag_changes).
"""

from __future__ import annotations

from bot.domain.deployment import Deployment, Kind
from bot.domain.flags import Changed, FlagChange, FlagView
from bot.domain.states import State
from bot.errors import DeploybotError, RetryableError
from bot.services.runner.base import log
from bot.services.runner.leases import Leases

#: the deployment's progress column holds this many characters (the summary is cut there;
#: the audit keeps it whole)
_PROGRESS = 255


def _variant(view: FlagView) -> str:
    variant = f"`{view.default_variant}`" if view.default_variant else "no default variant"
    return variant + ("" if view.enabled else f" ({view.state})")


def change_summary(changed: Changed) -> str:
    """"default variant `on` → `off`; ⚠️ its targeting … can serve `on` …" (plain words)."""
    if not changed.changed:
        text = f"already {_variant(changed.after)}: nothing changed"
    else:
        text = f"default variant {_variant(changed.before)} → {_variant(changed.after)}"
    for caveat in changed.caveats:
        text += f"; ⚠️ {caveat}"
    return text


def view_dict(view: FlagView) -> dict[str, object]:
    return {"state": view.state, "default_variant": view.default_variant,
            "default_value": view.default_value, "targeting": view.targeting}


class FlagRuns(Leases):
    def _change_flag(self, d: Deployment) -> None:
        """Change the flag through the environment's store; SUCCEEDED with what changed, or
        FAILED saying why (the flag gone, a variant removed, the store unreachable)."""
        store = self._flags.get(d.environment)
        flag, value = d.target or "", d.version
        if store is None:
            self._flag_failed(d, f"flags.{d.environment}.flagd is not configured any more",
                              retry=False)
            return
        try:
            changed = store.change(FlagChange(flag, value))
        except DeploybotError as e:
            self._flag_failed(d, str(e), retry=isinstance(e, RetryableError))
            return
        summary = change_summary(changed)
        with self._store.transaction() as r:
            r.audit.record("flag.changed", actor=d.requested_by, at=self._clock.now(),
                           deployment_id=d.id, environment=d.environment,
                           details={"flag": flag, "to": value, "where": store.where,
                                    "before": view_dict(changed.before),
                                    "after": view_dict(changed.after),
                                    "caveats": list(changed.caveats),
                                    "changed": changed.changed})
        cut = summary if len(summary) <= _PROGRESS else summary[:_PROGRESS - 1] + "…"
        self._move(d.id, State.SUCCEEDED, finished=True, progress=cut)

    def _flag_failed(self, d: Deployment, why: str, *, retry: bool) -> None:
        with self._store.transaction() as r:
            r.audit.record("flag.change_failed", actor="deploybot", at=self._clock.now(),
                           deployment_id=d.id, environment=d.environment,
                           details={"flag": d.target, "to": d.version, "error": why})
        again = "; try again" if retry else ""
        self._move(d.id, State.FAILED, finished=True, error=f"{why}{again}"[:2000])

    def _tell_flag_thread(self, final: Deployment) -> None:
        """A flag change's end, also in the thread of the deployment that introduced the
        flag (when one was found). Best effort: never raises."""
        if final.kind is not Kind.FLAG or final.rollback_of is None:
            return
        with self._store.transaction() as r:
            thread = r.deployments.get(final.rollback_of)
        if thread is None or thread.message_ts is None:
            return
        try:
            self._notifier.announce_flag_change(final, thread)
        except DeploybotError:
            log.warning("deployment %s: could not tell the thread of #%s", final.id,
                        thread.id, exc_info=True)


__all__ = ["FlagRuns", "change_summary"]

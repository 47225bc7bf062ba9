"""Who is who: roles from app.yaml resolved to Slack users, user groups expanded."""

from __future__ import annotations

from collections.abc import Iterable

from bot.config import AppConfig
from bot.errors import DeploybotError
from bot.ports import Directory


class Access:
    def __init__(self, config: AppConfig, directory: Directory) -> None:
        self._config = config
        self._directory = directory

    def _ids(self, refs: Iterable[str]) -> list[str]:
        out: list[str] = []
        for ref in refs:
            out.extend(self._config.roles.get(ref, [ref]))
        return out

    def is_member(self, user_id: str, refs: Iterable[str]) -> bool:
        ids = self._ids(refs)
        if user_id in ids:
            return True
        return any(
            user_id in self._directory.group_members(i) for i in ids if i.startswith("S")
        )

    def known_members(self, refs: Iterable[str]) -> frozenset[str] | None:
        """Everyone `refs` names: user ids, and the members of its user groups as Slack
        lists them (cached). None when a group's members cannot be read (Slack down)."""
        out: set[str] = set()
        for i in self._ids(refs):
            if not i.startswith("S"):
                out.add(i)
                continue
            try:
                out |= self._directory.group_members(i)
            except DeploybotError:
                return None
        return frozenset(out)

    def may_deploy(self, user_id: str, environment: str) -> bool:
        return self.is_member(user_id, self._config.environments[environment].deployers)

    def may_approve(self, user_id: str, environment: str, *, emergency: bool = False) -> bool:
        if emergency:
            return self.is_member(user_id, self._config.emergency.approvers)
        approval = self._config.environments[environment].approval
        return approval is not None and self.is_member(user_id, approval.approvers)

    def may_manage_freezes(self, user_id: str) -> bool:
        return self.is_member(user_id, self._config.freezes.managers)

    def may_view_audit(self, user_id: str) -> bool:
        return self.is_member(user_id, self._config.audit.viewers)

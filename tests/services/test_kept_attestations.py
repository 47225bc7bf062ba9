"""Attestations kept on approval, read back for the record where deploybot does not check
the checklist (UncheckedChecklists given the store), on a real database (SQLite, or
PostgreSQL from TEST_DATABASE_URL): what was kept decides, not the setting now."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest

from bot.config import AppConfig, parse_config
from bot.domain.checklist import ITEMS, Mark, Tick
from bot.domain.deployment import Deployment, NewDeployment
from bot.domain.states import State
from bot.services.checklist_attestations import UncheckedChecklists, attest_on_approval
from bot.store.db import Database
from tests.conftest import APPROVER, REQUESTER, WEDNESDAY, base_config


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database.from_url(database_url)
    try:
        yield database
    finally:
        database.dispose()


def config(*, attests: bool) -> AppConfig:
    cfg = base_config()
    if attests:
        cfg["environments"]["production"]["checklist_attestation"] = "approver"
    return parse_config(cfg, source="test config")


def approved(db: Database, *, attests: bool) -> Deployment:
    """A production deploy approved by APPROVER, its attestation kept as the approval
    transaction keeps it (where the setting says so then)."""
    at = WEDNESDAY + timedelta(minutes=5)
    with db.transaction() as r:
        d = r.deployments.add(NewDeployment(
            service="api", environment="production", version="v1.2.3",
            previous_version="v1.2.2", state=State.AWAITING_APPROVAL, requested_by=REQUESTER,
            requested_at=WEDNESDAY, approvals_required=1, expires_at=None))
        assert r.deployments.add_decision(d.id, APPROVER, approve=True, at=at)
        kept = attest_on_approval(config(attests=attests), r, d, evaluated=False,
                                  by=APPROVER, at=at)
        assert kept == ([Tick(i, APPROVER, at, attested=True) for i in ITEMS] if attests
                        else [])
        assert r.deployments.transition(d.id, State.QUEUED, at=at)
        got = r.deployments.get(d.id)
    assert got is not None
    return replace(got, state=State.SUCCEEDED)


@pytest.mark.parametrize("attests_then", [True, False])
def test_the_kept_attestation_decides_not_the_setting_now(db: Database,
                                                          attests_then: bool) -> None:
    d = approved(db, attests=attests_then)
    now = UncheckedChecklists(config(attests=not attests_then), store=db).card_checklist(d)
    assert now is not None
    assert {(i.mark, i.detail) for i in now.items} == (
        {(Mark.ATTESTED, f"attested by <@{APPROVER}> on approval")} if attests_then else
        {(Mark.NOT_CHECKED, "not checked: no GitHub repository configured for api")})

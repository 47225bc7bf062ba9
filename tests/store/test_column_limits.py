"""The columns that hold command text take their length from the domain's limit (one source):
what the parser lets through always fits (issue 14)."""

from __future__ import annotations

import pytest
from sqlalchemy import String

from bot.domain.commands import MAX_VERSION
from bot.domain.freeze_commands import MAX_NAME as MAX_FREEZE_NAME
from bot.store.models import (
    DeploymentRow,
    FaultyVersionRow,
    FreezeRow,
    SimulatedWorkloadRow,
)


def length(column: object) -> int | None:
    kind = column.type  # type: ignore[attr-defined]
    assert isinstance(kind, String)
    return kind.length


@pytest.mark.parametrize("column", [
    DeploymentRow.__table__.c.version, DeploymentRow.__table__.c.previous_version,
    DeploymentRow.__table__.c.downgrade_from, FaultyVersionRow.__table__.c.version,
    SimulatedWorkloadRow.__table__.c.version,
], ids=lambda c: f"{c.table.name}.{c.name}")
def test_version_columns_hold_the_longest_version_the_parsers_accept(column: object) -> None:
    assert length(column) == MAX_VERSION


def test_the_freeze_name_column_holds_the_longest_name_the_parser_accepts() -> None:
    assert length(FreezeRow.__table__.c.name) == MAX_FREEZE_NAME

"""one deployment in flight per service and environment

A partial unique index on deployments(environment, service) over the states of work in
flight (queued, running, verifying), so the database refuses a second one whatever the bot
processes do. Rows that would break it (only possible in a database written before this
revision) are ended first: of each group, the one furthest along (running or verifying
over queued, then the oldest) stays; a queued one is cancelled, a running one failed, each
saying why.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""
from collections.abc import Sequence

from alembic import op
import sqlalchemy as sa


revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIVE = "state IN ('queued', 'running', 'verifying')"
# Rank of a row in flight: running or verifying (1) goes before queued (0).
_RANK = "CASE {t}.state WHEN 'queued' THEN 0 ELSE 1 END"
_BEHIND_ANOTHER = (
    "EXISTS (SELECT 1 FROM deployments AS o WHERE o.environment = deployments.environment "
    "AND o.service = deployments.service AND o.id <> deployments.id AND o." + ACTIVE + " AND ("
    + _RANK.format(t="o") + " > " + _RANK.format(t="deployments") + " OR ("
    + _RANK.format(t="o") + " = " + _RANK.format(t="deployments") + " AND o.id < deployments.id)))"
)
_WHY = ("another deployment of this service to this environment was in flight when the "
        "database was upgraded to allow only one (revision 0006)")


def upgrade() -> None:
    # Ended in two steps, each against the rows still in flight: queued ones first.
    for state, target in (("queued", "cancelled"), ("running", "failed"),
                          ("verifying", "failed")):
        op.execute(sa.text(
            f"UPDATE deployments SET state = '{target}', "
            "finished_at = COALESCE(finished_at, updated_at), lease_owner = NULL, "
            f"lease_until = NULL, error = '{_WHY}' "
            f"WHERE state = '{state}' AND {_BEHIND_ANOTHER}"))
    op.create_index('uq_deployments_one_active', 'deployments', ['environment', 'service'],
                    unique=True, sqlite_where=sa.text(ACTIVE), postgresql_where=sa.text(ACTIVE))


def downgrade() -> None:
    op.drop_index('uq_deployments_one_active', table_name='deployments')

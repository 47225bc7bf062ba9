"""deployment_flags: the declared feature flags of a deployment as its rollout started

- one row a deployment (`deployment_id`, deleted with it): the FlagReading of the flags its
  service declares (bot.domain.flag_status, JSON) and when it was read; the record's
  "Feature flags set" shows it, whatever the flags are later.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        'deployment_flags',
        sa.Column('deployment_id', BigId, nullable=False),
        sa.Column('reading', sa.JSON(), nullable=False),
        sa.Column('read_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['deployment_id'], ['deployments.id'],
                                name=op.f('fk_deployment_flags_deployment_id_deployments'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('deployment_id', name=op.f('pk_deployment_flags')),
    )


def downgrade() -> None:
    op.drop_table('deployment_flags')

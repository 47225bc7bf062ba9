"""the simulated cluster's state: simulated_workloads

`executor: simulated` keeps what it runs in the database (it kept it in memory, so a restart
ran `simulated.initial_version` again): one row per version that went live on a workload
(environment, service, instance; NULL: the main instance), with when and the deployment
that put it there. The newest row of a workload is what it runs. A downgrade drops the
table: the simulated cluster then starts from `initial_version` again.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""
from collections.abc import Sequence

from alembic import op
import sqlalchemy as sa


revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        'simulated_workloads',
        sa.Column('id', BigId, autoincrement=True, nullable=False),
        sa.Column('environment', sa.String(length=63), nullable=False),
        sa.Column('service', sa.String(length=63), nullable=False),
        sa.Column('instance', sa.String(length=32), nullable=True),
        sa.Column('version', sa.String(length=128), nullable=False),
        sa.Column('went_live_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('deployment_id', sa.BigInteger(), nullable=True),
        sa.Column('requested_by', sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_simulated_workloads')),
    )
    op.create_index('ix_simulated_workloads_workload', 'simulated_workloads',
                    ['environment', 'service', 'instance', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_simulated_workloads_workload', table_name='simulated_workloads')
    op.drop_table('simulated_workloads')

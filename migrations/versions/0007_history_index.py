"""an index for the history of one environment (`/deploys <env>`)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""
from collections.abc import Sequence

from alembic import op


revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_deployments_environment_requested', 'deployments',
                    ['environment', 'requested_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_deployments_environment_requested', table_name='deployments')

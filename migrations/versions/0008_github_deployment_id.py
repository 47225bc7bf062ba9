"""deployments.github_deployment_id: the GitHub deployment mirroring a deployment

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('deployments', sa.Column('github_deployment_id', sa.BigInteger(),
                                           nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('deployments') as batch_op:
        batch_op.drop_column('github_deployment_id')

"""deployment kinds (deploy, rollback, migrate), the migration target, the deployment a
rollback replaces, and the recorded verification result

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""
from collections.abc import Sequence

from alembic import op
import sqlalchemy as sa


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table('deployments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=16), server_default='deploy',
                                      nullable=False))
        batch_op.add_column(sa.Column('target', sa.String(length=160), nullable=True))
        batch_op.add_column(sa.Column('rollback_of', BigId, nullable=True))
        batch_op.add_column(sa.Column('verification', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('deployments', schema=None) as batch_op:
        batch_op.drop_column('verification')
        batch_op.drop_column('rollback_of')
        batch_op.drop_column('target')
        batch_op.drop_column('kind')

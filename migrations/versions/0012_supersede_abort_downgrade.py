"""deployments: superseded_by, abort_requested_by/at, downgrade_from

- `superseded_by`: the newer request for the same service and environment that replaced
  this one while it awaited approval or its window (it ends cancelled).
- `abort_requested_by` / `abort_requested_at`: someone asked to abort it while it rolled
  out or was watched (set once, by a conditional update: concurrent clicks abort once).
- `downgrade_from`: the newer version it replaces, confirmed as a downgrade by name.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('deployments', sa.Column(
        'superseded_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))
    op.add_column('deployments', sa.Column('abort_requested_by', sa.String(length=32),
                                           nullable=True))
    op.add_column('deployments', sa.Column('abort_requested_at', sa.DateTime(timezone=True),
                                           nullable=True))
    op.add_column('deployments', sa.Column('downgrade_from', sa.String(length=128),
                                           nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('deployments') as batch_op:
        batch_op.drop_column('downgrade_from')
        batch_op.drop_column('abort_requested_at')
        batch_op.drop_column('abort_requested_by')
        batch_op.drop_column('superseded_by')

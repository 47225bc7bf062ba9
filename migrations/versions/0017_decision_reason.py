"""approval_decisions.reason: why an approver rejected a request (issue 18)

- nullable: approvals carry none, and decisions recorded before this revision have none. The
  Reject button asks for it in a modal; the card, the requester's DM and the audit show it.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('approval_decisions') as batch:
        batch.add_column(sa.Column('reason', sa.String(length=300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('approval_decisions') as batch:
        batch.drop_column('reason')

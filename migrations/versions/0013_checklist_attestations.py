"""checklist_ticks: attested

- `attested`: the row is not a tick given in Slack but an item nothing checked, attested by
  the approval that completed the deploy's approvals where its environment said so then
  (`checklist_attestation: approver`). Kept, so that the record shows the attestation made
  then, whatever the setting says later. Existing rows are ticks (false).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('checklist_ticks', sa.Column('attested', sa.Boolean(), nullable=False,
                                               server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('checklist_ticks') as batch_op:
        batch_op.drop_column('attested')

"""acknowledged_requests: Slack requests acknowledged and not answered yet

- one row per slash command, button click or form submission whose work was handed to the
  listener pool after the ack (`id`: a random key the process chose); deleted once the
  answer (or the error) was sent. A row left behind names a request whose process died
  first: `what` it was (the human description), who asked (`user_id`), the
  `response_url` to answer on (NULL for a form: the answer goes to the DM), the process
  that acked it (`instance`) and when (`created_at`). The scheduler's `tell-interrupted`
  job tells the person (bot/services/acknowledged.py).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0019'
down_revision: str | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'acknowledged_requests',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('what', sa.String(length=300), nullable=False),
        sa.Column('user_id', sa.String(length=32), nullable=False),
        sa.Column('response_url', sa.String(length=1000), nullable=True),
        sa.Column('instance', sa.String(length=255), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_acknowledged_requests')),
    )
    op.create_index('ix_acknowledged_requests_created_at', 'acknowledged_requests',
                    ['created_at'])


def downgrade() -> None:
    op.drop_index('ix_acknowledged_requests_created_at', table_name='acknowledged_requests')
    op.drop_table('acknowledged_requests')

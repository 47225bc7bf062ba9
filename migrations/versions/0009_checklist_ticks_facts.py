"""the pre-deployment checklist: ticks given in Slack, and what GitHub said

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26
"""
from collections.abc import Sequence

from alembic import op
import sqlalchemy as sa


revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        'checklist_ticks',
        sa.Column('id', BigId, autoincrement=True, nullable=False),
        sa.Column('deployment_id', BigId, nullable=False),
        sa.Column('item', sa.String(length=32), nullable=False),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.Column('ticked_by', sa.String(length=32), nullable=False),
        sa.Column('ticked_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['deployment_id'], ['deployments.id'],
                                name=op.f('fk_checklist_ticks_deployment_id_deployments'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_checklist_ticks')),
        sa.UniqueConstraint('deployment_id', 'item',
                            name=op.f('uq_checklist_ticks_deployment_id')),
    )
    op.create_table(
        'checklist_facts',
        sa.Column('deployment_id', BigId, nullable=False),
        sa.Column('facts', sa.JSON(), nullable=False),
        sa.Column('checked_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('next_check_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['deployment_id'], ['deployments.id'],
                                name=op.f('fk_checklist_facts_deployment_id_deployments'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('deployment_id', name=op.f('pk_checklist_facts')),
    )
    op.create_index('ix_checklist_facts_next_check_at', 'checklist_facts', ['next_check_at'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_checklist_facts_next_check_at', table_name='checklist_facts')
    op.drop_table('checklist_facts')
    op.drop_table('checklist_ticks')

"""deploy locks, faulty versions, App Home viewers, and the audit log's environment

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""
from collections.abc import Sequence

from alembic import op
import sqlalchemy as sa


revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _partial(where: str) -> dict[str, object]:
    return {"sqlite_where": sa.text(where), "postgresql_where": sa.text(where)}


def upgrade() -> None:
    op.create_table(
        'locks',
        sa.Column('id', BigId, autoincrement=True, nullable=False),
        sa.Column('environment', sa.String(length=63), nullable=False),
        sa.Column('service', sa.String(length=63), nullable=False),
        sa.Column('holder', sa.String(length=32), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('origin', sa.String(length=16), nullable=False),
        sa.Column('deployment_id', BigId, nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('released_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('released_by', sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_locks')),
    )
    op.create_index('uq_locks_active', 'locks', ['environment', 'service'], unique=True,
                    **_partial("released_at IS NULL"))
    op.create_index('ix_locks_expires_at', 'locks', ['expires_at'], unique=False)
    op.create_table(
        'faulty_versions',
        sa.Column('id', BigId, autoincrement=True, nullable=False),
        sa.Column('environment', sa.String(length=63), nullable=False),
        sa.Column('service', sa.String(length=63), nullable=False),
        sa.Column('version', sa.String(length=128), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('marked_by', sa.String(length=32), nullable=False),
        sa.Column('marked_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('deployment_id', BigId, nullable=True),
        sa.Column('cleared_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('cleared_by', sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_faulty_versions')),
    )
    op.create_index('uq_faulty_versions_active', 'faulty_versions',
                    ['environment', 'service', 'version'], unique=True,
                    **_partial("cleared_at IS NULL"))
    op.create_table(
        'app_home_viewers',
        sa.Column('user_id', sa.String(length=32), nullable=False),
        sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('user_id', name=op.f('pk_app_home_viewers')),
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('environment', sa.String(length=63), nullable=True))
    op.create_index('ix_audit_events_environment_at', 'audit_events', ['environment', 'at'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_audit_events_environment_at', table_name='audit_events')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_column('environment')
    op.drop_table('app_home_viewers')
    op.drop_index('uq_faulty_versions_active', table_name='faulty_versions')
    op.drop_table('faulty_versions')
    op.drop_index('ix_locks_expires_at', table_name='locks')
    op.drop_index('uq_locks_active', table_name='locks')
    op.drop_table('locks')

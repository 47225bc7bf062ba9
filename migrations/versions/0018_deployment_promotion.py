"""deployments.promoted_*: what the promotion gate found when a deploy was requested

- promoted_from: the environment it was promoted from (`promote_from` then); NULL: no gate
  (and every deployment recorded before this revision);
- promoted_deployment_id: the deployment that succeeded there (a plain id, as rollback_of:
  SQLite cannot add a foreign key in place); NULL with promoted_from set: an emergency
  skipped the gate;
- promoted_at: when that deployment finished there (history, not what runs there now);
- promoted_commit: the tag's commit (12 characters) that succeeded there when the version
  itself did not.
The approval card and the deployment record say why the version may go there from these.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column('deployments', sa.Column('promoted_from', sa.String(length=63),
                                           nullable=True))
    op.add_column('deployments', sa.Column('promoted_deployment_id', BigId, nullable=True))
    op.add_column('deployments', sa.Column('promoted_at', sa.DateTime(timezone=True),
                                           nullable=True))
    op.add_column('deployments', sa.Column('promoted_commit', sa.String(length=128),
                                           nullable=True))


def downgrade() -> None:
    # A batch on SQLite copies the table and drops the old one: migrations/env.py runs it with
    # foreign keys off, so the rows referencing deployments stay (tests/store/
    # test_schema_revisions_keep_rows.py).
    with op.batch_alter_table('deployments') as batch_op:
        batch_op.drop_column('promoted_commit')
        batch_op.drop_column('promoted_at')
        batch_op.drop_column('promoted_deployment_id')
        batch_op.drop_column('promoted_from')

"""deployments.cause: why an automatic deploy started

- cause (JSON, nullable): what moved on GitHub as the webhook delivery or the poll that saw
  it said it (bot.domain.cause.Cause.as_dict): the event (push or pull_request), the branch,
  the commit, who (the head commit's author, or the pull request's), the commit message's
  first line (or the pull request's title), the pull request's number and action. NULL: a
  person asked for the deploy (and every deployment recorded before this revision).
The card, the record, the result announcement and `/deploys` say it ("Automatic: `main`
moved to `3f2a9c1d0e4b` — 'Fix checkout totals' by octocat").

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0020'
down_revision: str | None = '0019'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('deployments', sa.Column('cause', sa.JSON(), nullable=True))


def downgrade() -> None:
    # A batch on SQLite copies the table and drops the old one: migrations/env.py runs it with
    # foreign keys off, so the rows referencing deployments stay (tests/store/
    # test_schema_revisions_keep_rows.py).
    with op.batch_alter_table('deployments') as batch_op:
        batch_op.drop_column('cause')

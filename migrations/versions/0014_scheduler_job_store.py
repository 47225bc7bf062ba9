"""apscheduler_jobs: the scheduler's job store, created by a migration

APScheduler 3's `SQLAlchemyJobStore.start` creates its table when it is missing
(`Table.create(checkfirst=True)`: a look, then a CREATE). Two worker processes starting at
once on a new PostgreSQL database both looked, both created, and the second died with
`DuplicateTable`. The table is now created here, once, under Alembic's own transaction, with
the schema APScheduler 3.x declares in `apscheduler/jobstores/sqlalchemy.py` (id
VARCHAR(191) primary key, next_run_time FLOAT(25) indexed, job_state a LargeBinary); the job
store then finds it and creates nothing. A database where APScheduler already created it is
left as it is. The table stays outside the ORM metadata and Alembic's drift check
(migrations/env.py `IGNORED_TABLES`): APScheduler owns its rows.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = 'apscheduler_jobs'  # bot.scheduling.scheduler.JOB_STORE_TABLE


def upgrade() -> None:
    # IF NOT EXISTS (not an inspection) so that the offline SQL (`--sql`) says the same.
    op.create_table(
        TABLE,
        sa.Column('id', sa.Unicode(191), primary_key=True),
        sa.Column('next_run_time', sa.Float(25)),
        sa.Column('job_state', sa.LargeBinary(), nullable=False),
        if_not_exists=True,
    )
    op.create_index(f'ix_{TABLE}_next_run_time', TABLE, ['next_run_time'], if_not_exists=True)


def downgrade() -> None:
    # Before 0014 the job store created its own table at start; 0013's schema does not have
    # it. Its jobs are rewritten from the code whenever a scheduler starts.
    op.drop_table(TABLE)

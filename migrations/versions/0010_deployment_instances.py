"""per-PR instances: deployments.instance, and one run in flight per instance

A deployment may go to a per-pull-request instance of its environment (`instance`, e.g.
"pr-7"; NULL: the environment's main instance, as every deployment before this revision).
The one-in-flight index of 0006 now covers the main instance only, and a second partial
unique index allows one run in flight per service, environment and per-PR instance, so pull
request previews block neither each other nor the shared deploys.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26
"""
from collections.abc import Sequence

from alembic import op
import sqlalchemy as sa


revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIVE = "state IN ('queued', 'running', 'verifying')"
MAIN = f"{ACTIVE} AND instance IS NULL"
INSTANCE = f"{ACTIVE} AND instance IS NOT NULL"
_WHY = ("a deployment of this service to a per-PR instance of this environment was in flight "
        "when the database was downgraded below revision 0010")


def upgrade() -> None:
    op.add_column('deployments', sa.Column('instance', sa.String(length=32), nullable=True))
    op.drop_index('uq_deployments_one_active', table_name='deployments')
    op.create_index('uq_deployments_one_active', 'deployments', ['environment', 'service'],
                    unique=True, sqlite_where=sa.text(MAIN), postgresql_where=sa.text(MAIN))
    op.create_index('uq_deployments_one_active_instance', 'deployments',
                    ['environment', 'service', 'instance'], unique=True,
                    sqlite_where=sa.text(INSTANCE), postgresql_where=sa.text(INSTANCE))


def downgrade() -> None:
    op.drop_index('uq_deployments_one_active_instance', table_name='deployments')
    op.drop_index('uq_deployments_one_active', table_name='deployments')
    # Runs on per-PR instances cannot share the old index with the main one: they end.
    op.execute(sa.text(
        "UPDATE deployments SET state = 'failed', finished_at = COALESCE(finished_at, "
        f"updated_at), lease_owner = NULL, lease_until = NULL, error = '{_WHY}' "
        f"WHERE instance IS NOT NULL AND {ACTIVE}"))
    with op.batch_alter_table('deployments') as batch_op:
        batch_op.drop_column('instance')
    op.create_index('uq_deployments_one_active', 'deployments', ['environment', 'service'],
                    unique=True, sqlite_where=sa.text(ACTIVE), postgresql_where=sa.text(ACTIVE))

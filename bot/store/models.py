"""SQLAlchemy 2.0 models: deployments, approval decisions and the audit log."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bot.domain.commands import MAX_VERSION  # what the command parsers let through
from bot.domain.freeze_commands import MAX_NAME as MAX_FREEZE_NAME

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# BigInteger keys that still autoincrement on SQLite.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


#: The states of a deployment in flight (bot.domain.states.State.active), for the partial
#: unique index that lets only one run per service and environment.
ACTIVE_STATES_SQL = "state IN ('queued', 'running', 'verifying')"
#: The two partial unique indexes (schema revision 0010): one run in flight per service on an
#: environment's main instance, and one per service and per-PR instance (so pull requests
#: block neither each other nor the main instance).
MAIN_ACTIVE_SQL = f"{ACTIVE_STATES_SQL} AND instance IS NULL"
INSTANCE_ACTIVE_SQL = f"{ACTIVE_STATES_SQL} AND instance IS NOT NULL"


class DeploymentRow(Base):
    __tablename__ = "deployments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    service: Mapped[str] = mapped_column(String(63))
    environment: Mapped[str] = mapped_column(String(63))
    version: Mapped[str] = mapped_column(String(MAX_VERSION))
    previous_version: Mapped[str | None] = mapped_column(String(MAX_VERSION))
    state: Mapped[str] = mapped_column(String(32))
    requested_by: Mapped[str] = mapped_column(String(32))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    approvals_required: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    channel: Mapped[str | None] = mapped_column(String(64))
    message_ts: Mapped[str | None] = mapped_column(String(32))
    record_ts: Mapped[str | None] = mapped_column(String(32))
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)
    progress: Mapped[str | None] = mapped_column(String(255))
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    row_version: Mapped[int] = mapped_column(Integer, default=0)
    emergency_reason: Mapped[str | None] = mapped_column(Text)
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime)
    prompted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    migrations: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    kind: Mapped[str] = mapped_column(String(16), default="deploy", server_default="deploy")
    target: Mapped[str | None] = mapped_column(String(160))
    # A plain id, not a foreign key: SQLite cannot add one to an existing table in place.
    rollback_of: Mapped[int | None] = mapped_column(BigId)
    verification: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The GitHub deployment mirroring it (issue 6, Deployments API), once created.
    github_deployment_id: Mapped[int | None] = mapped_column(BigInteger)
    # A per-PR instance ("pr-7", previews); NULL: the environment's main instance.
    instance: Mapped[str | None] = mapped_column(String(32))
    # The newer request that replaced it while it waited (it ended cancelled), schema revision 0012.
    superseded_by: Mapped[int | None] = mapped_column(BigId)
    # Someone asked to abort it during its rollout or watch (set once).
    abort_requested_by: Mapped[str | None] = mapped_column(String(32))
    abort_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The newer version it replaces, confirmed as a downgrade.
    downgrade_from: Mapped[str | None] = mapped_column(String(MAX_VERSION))
    # What the promotion gate found at request time (schema revision 0018): the environment
    # it was promoted from, the deployment that succeeded there (a plain id, as rollback_of;
    # NULL with promoted_from set: an emergency skipped the gate) and when it finished, and
    # the tag's commit that succeeded there when the version itself did not.
    promoted_from: Mapped[str | None] = mapped_column(String(63))
    promoted_deployment_id: Mapped[int | None] = mapped_column(BigId)
    promoted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    promoted_commit: Mapped[str | None] = mapped_column(String(MAX_VERSION))
    # Why an automatic deploy started (schema revision 0020): what moved on GitHub, as
    # bot.domain.cause.Cause.as_dict keeps it; NULL: a person asked for it.
    cause: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    __table_args__ = (
        Index("ix_deployments_env_service_requested", "environment", "service", "requested_at"),
        Index("ix_deployments_state", "state"),
        # `/deploy`: in flight, still waiting, last put live (one service in one environment)
        Index("ix_deployments_env_service_state", "environment", "service", "state"),
        Index("ix_deployments_requested_at", "requested_at"),
        # `/deploys <env>`: the last deployments of one environment without a sort
        Index("ix_deployments_environment_requested", "environment", "requested_at"),
        # One deployment in flight per service and environment (main instance), and per
        # service, environment and per-PR instance, whatever the processes do.
        Index("uq_deployments_one_active", "environment", "service", unique=True,
              sqlite_where=text(MAIN_ACTIVE_SQL), postgresql_where=text(MAIN_ACTIVE_SQL)),
        Index("uq_deployments_one_active_instance", "environment", "service", "instance",
              unique=True, sqlite_where=text(INSTANCE_ACTIVE_SQL),
              postgresql_where=text(INSTANCE_ACTIVE_SQL)),
    )


class LockRow(Base):
    """A deploy lock on a service in an environment (`/lock`, or set by a rollback); a
    release keeps the row. At most one unreleased lock per service and environment."""

    __tablename__ = "locks"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    environment: Mapped[str] = mapped_column(String(63))
    service: Mapped[str] = mapped_column(String(63))
    holder: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text, default="")
    origin: Mapped[str] = mapped_column(String(16), default="manual")  # bot.domain.locks
    deployment_id: Mapped[int | None] = mapped_column(BigId)  # the rollback that set it
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    released_by: Mapped[str | None] = mapped_column(String(32))

    __table_args__ = (
        Index("uq_locks_active", "environment", "service", unique=True,
              sqlite_where=text("released_at IS NULL"),
              postgresql_where=text("released_at IS NULL")),
        Index("ix_locks_expires_at", "expires_at"),
    )


class FaultyVersionRow(Base):
    """A version marked faulty in an environment (it was rolled back from); deploying it
    there again needs `--force` with a reason. Clearing keeps the row."""

    __tablename__ = "faulty_versions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    environment: Mapped[str] = mapped_column(String(63))
    service: Mapped[str] = mapped_column(String(63))
    version: Mapped[str] = mapped_column(String(MAX_VERSION))
    reason: Mapped[str] = mapped_column(Text, default="")
    marked_by: Mapped[str] = mapped_column(String(32))
    marked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deployment_id: Mapped[int | None] = mapped_column(BigId)  # the deployment rolled back
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cleared_by: Mapped[str | None] = mapped_column(String(32))

    __table_args__ = (
        Index("uq_faulty_versions_active", "environment", "service", "version", unique=True,
              sqlite_where=text("cleared_at IS NULL"),
              postgresql_where=text("cleared_at IS NULL")),
    )


class HomeViewerRow(Base):
    """Who opened deploybot's App Home tab, and when: their view is republished when
    something changes."""

    __tablename__ = "app_home_viewers"

    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DecisionRow(Base):
    __tablename__ = "approval_decisions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    deployment_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("deployments.id", ondelete="CASCADE")
    )
    user_id: Mapped[str] = mapped_column(String(32))
    approve: Mapped[bool]
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str | None] = mapped_column(String(300))  # a rejection's (schema 0017)

    __table_args__ = (UniqueConstraint("deployment_id", "user_id"),)


class AuditRow(Base):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    deployment_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("deployments.id", ondelete="SET NULL")
    )
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    slack_channel: Mapped[str | None] = mapped_column(String(64))
    slack_ts: Mapped[str | None] = mapped_column(String(32))
    environment: Mapped[str | None] = mapped_column(String(63))  # for `/audit <env>`

    __table_args__ = (
        Index("ix_audit_events_at", "at"),
        Index("ix_audit_events_environment_at", "environment", "at"),
        Index("ix_audit_events_deployment_id", "deployment_id"),
    )


class FreezeRow(Base):
    """A freeze added at run time from Slack (`/freeze add`); removal keeps the row."""

    __tablename__ = "freezes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(MAX_FREEZE_NAME))
    start: Mapped[datetime] = mapped_column(UTCDateTime)
    end: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(Text, default="")
    environments: Mapped[list[str] | None] = mapped_column(JSON)
    services: Mapped[list[str] | None] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    removed_by: Mapped[str | None] = mapped_column(String(32))
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_freezes_end", "end"),)


class AnnouncementRow(Base):
    """One row per scheduled announcement: whoever inserts the key posts it (exactly once)."""

    __tablename__ = "announcements"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    channel: Mapped[str | None] = mapped_column(String(64))
    ts: Mapped[str | None] = mapped_column(String(32))


class ChecklistTickRow(Base):
    """A pre-deployment checklist item ticked in Slack, or marked not applicable (`reason`),
    on one deployment: who and when. Unticking deletes the row (the audit log keeps both).
    `attested` (schema revision 0013): not a tick but an item nothing checked, attested by the
    approval that completed the approvals (`checklist_attestation: approver` then)."""

    __tablename__ = "checklist_ticks"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    deployment_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("deployments.id", ondelete="CASCADE"))
    item: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(Text)  # None: ticked; else not applicable
    ticked_by: Mapped[str] = mapped_column(String(32))
    ticked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attested: Mapped[bool] = mapped_column(default=False, server_default=false())

    __table_args__ = (UniqueConstraint("deployment_id", "item"),)


class ChecklistFactsRow(Base):
    """What GitHub last said about a deployment's version (checks, compared commits), as
    JSON, and when to ask again (backing off while GitHub cannot be asked)."""

    __tablename__ = "checklist_facts"

    deployment_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("deployments.id", ondelete="CASCADE"), primary_key=True)
    facts: Mapped[dict[str, Any]] = mapped_column(JSON)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    next_check_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_checklist_facts_next_check_at", "next_check_at"),)


class FlagSnapshotRow(Base):
    """The feature flags a deployment's service declares, as they were read when its rollout
    started (bot.domain.flag_status.FlagReading as JSON): the record's "Feature flags set".
    Written once; never changed by later changes of the flags."""

    __tablename__ = "deployment_flags"

    deployment_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("deployments.id", ondelete="CASCADE"), primary_key=True)
    reading: Mapped[dict[str, Any]] = mapped_column(JSON)
    read_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SimulatedWorkloadRow(Base):
    """A version that went live on the simulated cluster (`executor: simulated`), per
    environment, service and instance (NULL: the environment's main instance): the newest
    row of a workload is what it runs, since `went_live_at`; the rows before are its
    history. Removing a per-PR instance deletes its rows."""

    __tablename__ = "simulated_workloads"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    environment: Mapped[str] = mapped_column(String(63))
    service: Mapped[str] = mapped_column(String(63))
    instance: Mapped[str | None] = mapped_column(String(32))
    version: Mapped[str] = mapped_column(String(MAX_VERSION))
    went_live_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # A plain id, not a foreign key: the cluster's memory, not deploybot's history.
    deployment_id: Mapped[int | None] = mapped_column(BigInteger)
    requested_by: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_simulated_workloads_workload", "environment", "service", "instance", "id"),
    )


class AcknowledgedRequestRow(Base):
    """A Slack request acknowledged whose answer has not been sent yet (schema 0019): written
    just after the ack, deleted once the answer or the error went out. One left behind by a
    process that died is told to its person once (bot/services/acknowledged.py)."""

    __tablename__ = "acknowledged_requests"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # chosen by the process
    what: Mapped[str] = mapped_column(String(300))  # "/deploy api production v1.2.3"
    user_id: Mapped[str] = mapped_column(String(32))
    response_url: Mapped[str | None] = mapped_column(String(1000))  # None: a form's (DM)
    instance: Mapped[str] = mapped_column(String(255))  # the process (Container.instance)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_acknowledged_requests_created_at", "created_at"),)

"""Climate's tables, as SQLAlchemy 2.0 declarative models.

Times are naive UTC.  Alembic migrations in ``migrations/`` create exactly
these tables; a test compares the two.  A resource plugin defines the
tables of its reservations on the same ``Base`` in a module of its own
(``ResourcePlugin.models_module``), with its migrations in the same history.
"""

import datetime
import uuid

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from climate.common import dates

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
}


def _uuid():
    return str(uuid.uuid4())


class Base(DeclarativeBase):
    """Every table of Climate, the plugins' included."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class TimestampMixin:
    """``created_at`` and ``updated_at``, set by the ORM."""

    created_at: Mapped[datetime.datetime] = mapped_column(
        DateTime, default=dates.utcnow
    )
    updated_at: Mapped[datetime.datetime | None] = mapped_column(
        DateTime, onupdate=dates.utcnow
    )


class Lease(TimestampMixin, Base):
    __tablename__ = "leases"
    __table_args__ = (
        UniqueConstraint("project_id", "name"),
        # A project's leases, oldest first: the listing's order and marker.
        Index(None, "project_id", "created_at", "id"),
        # The scheduler's queue: the QUEUED leases, in order of arrival.
        Index(None, "status", "created_at"),
    )

    id: Mapped[str] = mapped_column(
        String(36), primary_key=True, default=_uuid
    )
    name: Mapped[str] = mapped_column(String(80))
    project_id: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str | None] = mapped_column(String(255))
    start_date: Mapped[datetime.datetime] = mapped_column(DateTime)
    end_date: Mapped[datetime.datetime] = mapped_column(DateTime)
    before_end_date: Mapped[datetime.datetime | None] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(20))
    status_reason: Mapped[str | None] = mapped_column(Text)
    degraded: Mapped[bool] = mapped_column(Boolean, default=False)
    trust_id: Mapped[str | None] = mapped_column(String(36))
    # advance | best_effort | preemptible (climate.states.LeaseKind).
    kind: Mapped[str] = mapped_column(String(16), default="advance")
    # A best-effort lease: how long it runs (seconds), the earliest start
    # its owner accepts, and its reservation requests as sent (JSON), kept
    # until the scheduler places it; then the scheduler's last estimate
    # of its start and its place in the queue.
    duration: Mapped[int | None] = mapped_column(Integer)
    not_before: Mapped[datetime.datetime | None] = mapped_column(DateTime)
    request: Mapped[str | None] = mapped_column(Text)
    earliest_start: Mapped[datetime.datetime | None] = mapped_column(DateTime)
    queue_position: Mapped[int | None] = mapped_column(Integer)
    # A preempted lease goes back to the queue instead of ending.
    requeue: Mapped[bool] = mapped_column(Boolean, default=False)

    reservations: Mapped[list["Reservation"]] = relationship(
        back_populates="lease",
        cascade="all, delete-orphan",
        order_by="Reservation.created_at, Reservation.id",
    )
    events: Mapped[list["Event"]] = relationship(
        back_populates="lease",
        cascade="all, delete-orphan",
        order_by="Event.time, Event.id",
    )


class Reservation(TimestampMixin, Base):
    __tablename__ = "reservations"

    id: Mapped[str] = mapped_column(
        String(36), primary_key=True, default=_uuid
    )
    lease_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("leases.id", ondelete="CASCADE"), index=True
    )
    resource_type: Mapped[str] = mapped_column(String(66))
    resource_id: Mapped[str | None] = mapped_column(String(36))
    status: Mapped[str] = mapped_column(String(13))
    missing_resources: Mapped[bool] = mapped_column(Boolean, default=False)
    resources_changed: Mapped[bool] = mapped_column(Boolean, default=False)

    lease: Mapped[Lease] = relationship(back_populates="reservations")


class Event(TimestampMixin, Base):
    __tablename__ = "events"
    __table_args__ = (Index(None, "status", "time"),)

    id: Mapped[str] = mapped_column(
        String(36), primary_key=True, default=_uuid
    )
    lease_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("leases.id", ondelete="CASCADE"), index=True
    )
    # Set for a plugin stage that runs per reservation (see
    # climate.stages); the core's stages run for the whole lease.
    reservation_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("reservations.id", ondelete="CASCADE")
    )
    event_type: Mapped[str] = mapped_column(String(66))
    time: Mapped[datetime.datetime] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(13))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # After a failed attempt, the event is not due again before this time.
    retry_at: Mapped[datetime.datetime | None] = mapped_column(DateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(255))
    # When the claim was taken or last renewed by its manager's heartbeat.
    claimed_at: Mapped[datetime.datetime | None] = mapped_column(DateTime)
    # The fencing token: raised by every claim, so a runner whose claim
    # was taken over (or that gave it up) cannot record a result.
    claim_token: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)

    lease: Mapped[Lease] = relationship(back_populates="events")


class IdempotencyKey(Base):
    """A write a client named with an ``Idempotency-Key``, and its result.

    Written in the same transaction as the write itself, so the key is
    recorded exactly when the write happened; a retry with the key gets
    ``result`` back instead of a second write, until ``expires_at``.
    """

    __tablename__ = "idempotency_keys"

    project_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    # The RPC method, and a digest of the request (method, path, body).
    operation: Mapped[str] = mapped_column(String(80))
    fingerprint: Mapped[str] = mapped_column(String(64))
    # The manager's answer as JSON, as it crossed the RPC layer.
    result: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime.datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime.datetime] = mapped_column(DateTime, index=True)


# The local compute driver's pools ------------------------------------------
# They belong to the compute layer (climate.compute.local), not to a
# resource plugin: the nova driver keeps the same pools in Nova.


class HostPool(TimestampMixin, Base):
    """A pool of hosts kept by the local compute driver.

    The free pool holds reservable hosts between leases; each active
    reservation has a pool named after its id.  (The nova driver keeps the
    same pools as host aggregates in Nova instead.)
    """

    __tablename__ = "host_pools"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    pool_metadata: Mapped[str] = mapped_column("metadata", Text, default="{}")


class HostPoolMember(Base):
    """A host in a pool of the local compute driver."""

    __tablename__ = "host_pool_members"

    pool_id: Mapped[int] = mapped_column(
        Integer,
        ForeignKey("host_pools.id", ondelete="CASCADE"),
        primary_key=True,
    )
    hostname: Mapped[str] = mapped_column(String(255), primary_key=True)

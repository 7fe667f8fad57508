"""Climate's tables, as SQLAlchemy 2.0 declarative models.

Times are naive UTC.  Alembic migrations in ``migrations/`` create exactly
these tables; a test compares the two.
"""

import datetime
import uuid

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
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
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class TimestampMixin:
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
    host_reservation: Mapped["ComputeHostReservation | None"] = relationship(
        uselist=False, cascade="all, delete-orphan", passive_deletes=True
    )


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


# Physical hosts -------------------------------------------------------------


class ComputeHost(TimestampMixin, Base):
    """A physical host Climate may reserve, with its base capabilities."""

    __tablename__ = "computehosts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hypervisor_hostname: Mapped[str] = mapped_column(String(255), unique=True)
    service_name: Mapped[str | None] = mapped_column(String(255))
    vcpus: Mapped[int] = mapped_column(Integer)
    memory_mb: Mapped[int] = mapped_column(Integer)
    local_gb: Mapped[int] = mapped_column(Integer)
    hypervisor_type: Mapped[str] = mapped_column(String(255))
    hypervisor_version: Mapped[int | None] = mapped_column(Integer)
    cpu_info: Mapped[str] = mapped_column(Text)
    availability_zone: Mapped[str | None] = mapped_column(String(255))
    reservable: Mapped[bool] = mapped_column(Boolean, default=True)

    capabilities: Mapped[list["ComputeHostCapability"]] = relationship(
        cascade="all, delete-orphan", order_by="ComputeHostCapability.name"
    )


class HostProperty(Base):
    """Settings of a capability name: whether tenants see it.

    A capability name exists as soon as a host has it; a row here only
    records settings an operator changed.
    """

    __tablename__ = "host_properties"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    private: Mapped[bool] = mapped_column(Boolean, default=False)


class ComputeHostCapability(Base):
    """A free-form capability of a host (gpu=a100, rack=12, ...).

    ``number`` holds the value as a number when it reads as one, so queries
    compare numbers as numbers.
    """

    __tablename__ = "computehost_extra_capabilities"
    __table_args__ = (
        UniqueConstraint("computehost_id", "name"),
        Index(None, "name", "value"),
        Index(None, "name", "number"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    computehost_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("computehosts.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(64))
    value: Mapped[str] = mapped_column(String(255))
    number: Mapped[float | None] = mapped_column(Float)


class ComputeHostReservation(Base):
    """The physical:host part of a reservation: how many hosts, which."""

    __tablename__ = "computehost_reservations"

    id: Mapped[str] = mapped_column(
        String(36), primary_key=True, default=_uuid
    )
    reservation_id: Mapped[str] = mapped_column(
        String(36),
        ForeignKey("reservations.id", ondelete="CASCADE"),
        unique=True,
    )
    count_min: Mapped[int] = mapped_column(Integer)
    count_max: Mapped[int] = mapped_column(Integer)
    hypervisor_properties: Mapped[str] = mapped_column(Text, default="")
    resource_properties: Mapped[str] = mapped_column(Text, default="")
    before_end: Mapped[str] = mapped_column(String(36), default="default")
    on_end: Mapped[str] = mapped_column(String(36), default="default")


class ComputeHostAllocation(Base):
    """A host held by a reservation for a window.

    The window includes the cleaning time around the lease, so "is host H
    free in [s, e)?" is one look-up in the (host, start, end) index.  The
    (host, end, start) index serves the same question from the allocations
    ending after ``s``, and "when does the previous allocation end?" in
    one step, so admission does not slow down as finished allocations
    pile up.
    """

    __tablename__ = "computehost_allocations"
    __table_args__ = (
        Index(None, "computehost_id", "start_date", "end_date"),
        Index(None, "computehost_id", "end_date", "start_date"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reservation_id: Mapped[str] = mapped_column(
        String(36),
        ForeignKey("reservations.id", ondelete="CASCADE"),
        index=True,
    )
    computehost_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("computehosts.id")
    )
    start_date: Mapped[datetime.datetime] = mapped_column(DateTime)
    end_date: Mapped[datetime.datetime] = mapped_column(DateTime)


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
    __tablename__ = "host_pool_members"

    pool_id: Mapped[int] = mapped_column(
        Integer,
        ForeignKey("host_pools.id", ondelete="CASCADE"),
        primary_key=True,
    )
    hostname: Mapped[str] = mapped_column(String(255), primary_key=True)

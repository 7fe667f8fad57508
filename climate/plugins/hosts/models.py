"""The physical:host plugin's tables: hosts, their capabilities, host
reservations and the allocations that hold hosts for a window.

Defined on Climate's ``Base`` (one metadata, one Alembic history); the
plugin's revisions are in ``migrations/versions``.
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
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from climate.db import models


def _uuid():
    return str(uuid.uuid4())


class ComputeHost(models.TimestampMixin, models.Base):
    """A physical host Climate may reserve, with its base capabilities."""

    __tablename__ = "computehosts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hypervisor_hostname: Mapped[str] = mapped_column(String(255), unique=True)
    service_name: Mapped[str | None] = mapped_column(String(255))
    # Unknown (null) when the compute driver cannot tell and the operator
    # did not say: a query on them matches no such host.
    vcpus: Mapped[int | None] = mapped_column(Integer)
    memory_mb: Mapped[int | None] = mapped_column(Integer)
    local_gb: Mapped[int | None] = mapped_column(Integer)
    hypervisor_type: Mapped[str] = mapped_column(String(255))
    hypervisor_version: Mapped[int | None] = mapped_column(Integer)
    cpu_info: Mapped[str] = mapped_column(Text)
    availability_zone: Mapped[str | None] = mapped_column(String(255))
    reservable: Mapped[bool] = mapped_column(Boolean, default=True)

    capabilities: Mapped[list["ComputeHostCapability"]] = relationship(
        cascade="all, delete-orphan", order_by="ComputeHostCapability.name"
    )


class HostProperty(models.Base):
    """Settings of a capability name: whether tenants see it.

    A capability name exists as soon as a host has it; a row here only
    records settings an operator changed.
    """

    __tablename__ = "host_properties"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    private: Mapped[bool] = mapped_column(Boolean, default=False)


class ComputeHostCapability(models.Base):
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


class ComputeHostReservation(models.Base):
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


class ComputeHostAllocation(models.Base):
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

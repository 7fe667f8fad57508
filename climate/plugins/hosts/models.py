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
    grace_period: Mapped[int] = mapped_column(Integer, default=0)


class ComputeHostAllocation(models.Base):
    """A host, or a share of it, held by a reservation for a window.

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
    # A share of the host (``shares``): what another plugin placed on it
    # (instance slots).  All null: the whole host.  Any allocation keeps
    # the host from being reserved whole; a whole one keeps shares off.
    vcpus: Mapped[int | None] = mapped_column(Integer)
    memory_mb: Mapped[int | None] = mapped_column(Integer)
    local_gb: Mapped[int | None] = mapped_column(Integer)


# Provisioning ---------------------------------------------------------------


class Image(models.TimestampMixin, models.Base):
    """An image hosts can be loaded with, managed by the operator.

    ``reference`` is what the provisioning driver loads (an Ironic
    ``image_source`` URL, ...), ``checksum`` the image's checksum if the
    driver checks one; ``default_load_time`` (seconds) is the
    operator's guess, used until loads teach better.
    """

    __tablename__ = "images"

    id: Mapped[str] = mapped_column(
        String(36), primary_key=True, default=_uuid
    )
    name: Mapped[str] = mapped_column(String(255), unique=True)
    reference: Mapped[str] = mapped_column(Text)
    checksum: Mapped[str | None] = mapped_column(String(255))
    default_load_time: Mapped[int] = mapped_column(Integer)


class HostProvisioning(models.Base):
    """How a host is loaded and what it carries now.

    ``driver`` and ``os_module`` are entry point names (None: the
    configured defaults); ``address`` is where users reach it, read again
    after each load; ``clean`` says the host carries ``current_image_id``
    as loaded, or only sanitized since, so a lease wanting that image
    needs no load; ``ready_at`` is when its last load or sanitize ended
    (a simulated lab's may end after the call returned).  ``projects``
    restricts who may reserve it (comma
    separated project ids; empty: anyone).
    """

    __tablename__ = "host_provisioning"

    computehost_id: Mapped[int] = mapped_column(
        Integer,
        ForeignKey("computehosts.id", ondelete="CASCADE"),
        primary_key=True,
    )
    driver: Mapped[str | None] = mapped_column(String(64))
    os_module: Mapped[str | None] = mapped_column(String(64))
    address: Mapped[str | None] = mapped_column(String(255))
    current_image_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("images.id", ondelete="SET NULL")
    )
    clean: Mapped[bool] = mapped_column(Boolean, default=False)
    ready_at: Mapped[datetime.datetime | None] = mapped_column(DateTime)
    projects: Mapped[str] = mapped_column(Text, default="")


class ReservationImage(models.Base):
    """The image a host reservation is prepared with, and its plan.

    ``prepare_lead`` (seconds before the start) is when the prepare stage
    falls, queue included; ``reclaim_for`` (seconds after the end) how
    long the reclaim stage is expected to hold the hosts; ``expected_at``
    when admission expected the hosts ready (after the start for a lease
    granted too close to it); ``ready_at``
    when the hosts are expected (then known) to be ready.
    """

    __tablename__ = "host_reservation_images"

    reservation_id: Mapped[str] = mapped_column(
        String(36),
        ForeignKey("reservations.id", ondelete="CASCADE"),
        primary_key=True,
    )
    image_id: Mapped[str] = mapped_column(String(36), ForeignKey("images.id"))
    block_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("host_blocks.id", ondelete="SET NULL")
    )
    prepare_lead: Mapped[int] = mapped_column(Integer)
    reclaim_for: Mapped[int] = mapped_column(Integer)
    expected_at: Mapped[datetime.datetime | None] = mapped_column(DateTime)
    ready_at: Mapped[datetime.datetime | None] = mapped_column(DateTime)


class HostLoad(models.Base):
    """One load of an image on a host: planned, or an attempt's outcome.

    Successful loads are the history the load time estimates learn from,
    so a row outlives its reservation (``reservation_id`` becomes NULL).
    ``kind`` is ``prepare`` (before a lease), ``reload`` or ``sanitize``
    (after one).
    """

    __tablename__ = "host_loads"
    __table_args__ = (
        Index(None, "image_id", "driver", "status", "finished_at"),
        Index(None, "driver", "status", "planned_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reservation_id: Mapped[str | None] = mapped_column(
        String(36),
        ForeignKey("reservations.id", ondelete="SET NULL"),
        index=True,
    )
    computehost_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("computehosts.id", ondelete="CASCADE")
    )
    image_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("images.id", ondelete="CASCADE")
    )
    driver: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")
    planned_at: Mapped[datetime.datetime | None] = mapped_column(DateTime)
    expected: Mapped[float | None] = mapped_column(Float)
    started_at: Mapped[datetime.datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime.datetime | None] = mapped_column(DateTime)
    duration: Mapped[float | None] = mapped_column(Float)


class Block(models.TimestampMixin, models.Base):
    """A block allocation: machines with one image for a group, in slots."""

    __tablename__ = "host_blocks"

    id: Mapped[str] = mapped_column(
        String(36), primary_key=True, default=_uuid
    )
    name: Mapped[str] = mapped_column(String(255))
    image_id: Mapped[str] = mapped_column(String(36), ForeignKey("images.id"))
    project_id: Mapped[str] = mapped_column(String(255))
    machine_count: Mapped[int] = mapped_column(Integer)
    ignore_privileges: Mapped[bool] = mapped_column(Boolean, default=False)


class BlockSlot(models.Base):
    """One time slot of a block and the lease that holds its machines."""

    __tablename__ = "host_block_slots"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    block_id: Mapped[str] = mapped_column(
        String(36),
        ForeignKey("host_blocks.id", ondelete="CASCADE"),
        index=True,
    )
    start_date: Mapped[datetime.datetime] = mapped_column(DateTime)
    end_date: Mapped[datetime.datetime] = mapped_column(DateTime)
    lease_id: Mapped[str | None] = mapped_column(String(36))
    allocated: Mapped[int] = mapped_column(Integer, default=0)
    warning: Mapped[str] = mapped_column(Text, default="")


# Power ----------------------------------------------------------------------


class HostPower(models.Base):
    """How a host is powered, and its power state as Climate last saw it.

    ``driver`` is an entry point name of ``climate.power.drivers`` (None:
    ``[power] default_driver``); ``address``, ``username`` and
    ``password`` reach its BMC — the API never shows the credentials,
    only the manager reads them.  ``state`` is ``on``, ``off``,
    ``powering_on`` or ``powering_off`` since ``state_since``; a change
    is claimed by moving ``state`` with a conditional update, so two
    managers never act on one host at once.  ``boot_time`` is the mean
    of the host's last boots (seconds), learned as load times are;
    ``health`` is ``ok``, ``warning``, ``critical`` or ``down`` (marked
    failed: not reservable until an operator says otherwise), after
    ``failures`` bad readings in a row.
    """

    __tablename__ = "host_power"

    computehost_id: Mapped[int] = mapped_column(
        Integer,
        ForeignKey("computehosts.id", ondelete="CASCADE"),
        primary_key=True,
    )
    driver: Mapped[str | None] = mapped_column(String(64))
    address: Mapped[str | None] = mapped_column(String(255))
    username: Mapped[str | None] = mapped_column(String(255))
    password: Mapped[str | None] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(16), default="on")
    state_since: Mapped[datetime.datetime | None] = mapped_column(DateTime)
    requested_at: Mapped[datetime.datetime | None] = mapped_column(DateTime)
    boot_time: Mapped[float | None] = mapped_column(Float)
    boots: Mapped[int] = mapped_column(Integer, default=0)
    cycles: Mapped[int] = mapped_column(Integer, default=0)
    health: Mapped[str] = mapped_column(String(16), default="ok")
    failures: Mapped[int] = mapped_column(Integer, default=0)
    #: Since when the host waits, out of the free pool, for the servers
    #: a recycled lease left on it to go (None: not recycling).
    recycling_since: Mapped[datetime.datetime | None] = mapped_column(DateTime)

"""The virtual:instance plugin's tables: instance reservations and the
private flavors the ``local`` compute driver keeps for them.

Defined on Climate's ``Base`` (one metadata, one Alembic history); the
plugin's revisions are in ``migrations/versions``.  The slots themselves
are shares of hosts, held in the physical:host plugin's allocations
(``climate.plugins.hosts.shares``).
"""

import datetime
import uuid

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from climate.db import models


def _uuid():
    return str(uuid.uuid4())


class InstanceReservation(models.Base):
    """The virtual:instance part of a reservation: ``amount`` instances
    of one size, where (``affinity``, ``resource_properties``), what
    happens to its servers at the end, and its flavor once started."""

    __tablename__ = "instance_reservations"

    id: Mapped[str] = mapped_column(
        String(36), primary_key=True, default=_uuid
    )
    reservation_id: Mapped[str] = mapped_column(
        String(36),
        ForeignKey("reservations.id", ondelete="CASCADE"),
        unique=True,
    )
    amount: Mapped[int] = mapped_column(Integer)
    vcpus: Mapped[int] = mapped_column(Integer)
    memory_mb: Mapped[int] = mapped_column(Integer)
    disk_gb: Mapped[int] = mapped_column(Integer)
    # True: all on one host; False: each on its own; null: anywhere.
    affinity: Mapped[bool | None] = mapped_column(Boolean)
    resource_properties: Mapped[str] = mapped_column(Text, default="")
    on_end: Mapped[str] = mapped_column(String(36), default="delete")
    before_end: Mapped[str] = mapped_column(String(36), default="default")
    flavor_id: Mapped[str | None] = mapped_column(String(36))


class InstanceFlavor(models.Base):
    """A reservation's private flavor, kept by Climate for the ``local``
    compute driver: made at the lease's start, gone at its end."""

    __tablename__ = "instance_flavors"

    id: Mapped[str] = mapped_column(
        String(36), primary_key=True, default=_uuid
    )
    name: Mapped[str] = mapped_column(String(255))
    reservation_id: Mapped[str] = mapped_column(
        String(36),
        ForeignKey("reservations.id", ondelete="CASCADE"),
        unique=True,
    )
    project_id: Mapped[str] = mapped_column(String(255))
    vcpus: Mapped[int] = mapped_column(Integer)
    memory_mb: Mapped[int] = mapped_column(Integer)
    disk_gb: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime.datetime] = mapped_column(DateTime)


# The tables of the reserved-server form and of the snapshots taken.
from climate.plugins.instances import (  # noqa: E402, F401
    server_models,
    snapshot_models,
)

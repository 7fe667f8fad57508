"""The reserved-server form's table: which server a virtual:instance
reservation wakes up at its start, and where that server is.

Imported by ``climate.plugins.instances.models`` (the plugin's
``models_module``), so it is in the one metadata and the one Alembic
history (revision ``0010_instance_servers``).
"""

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from climate.db import models

#: Recorded by admission, not shelved yet: the ``reserve_server`` stage
#: shelves it once the lease is committed (or the start does, if that
#: stage could not).  Nothing was done to the server in Nova.
PENDING = "PENDING"
#: The server is shelved and offloaded until the lease starts.
RESERVED = "RESERVED"
#: Unshelved on the reservation's host.
ACTIVE = "ACTIVE"
#: The lease ended: handled by the reservation's on_end.
ENDED = "ENDED"


class InstanceServer(models.Base):
    """A reserved server: one per reservation, one reservation per
    server."""

    __tablename__ = "instance_servers"

    reservation_id: Mapped[str] = mapped_column(
        String(36),
        ForeignKey("reservations.id", ondelete="CASCADE"),
        primary_key=True,
    )
    server_id: Mapped[str] = mapped_column(String(255), unique=True)
    state: Mapped[str] = mapped_column(String(36), default=PENDING)

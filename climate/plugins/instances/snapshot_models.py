"""The snapshots Climate asked Nova for: which server each stage of a
virtual:instance reservation snapshotted, and the image Nova made.

A stage that fails part-way is retried by the event runner; this table
is how the retry knows which servers already have their image
(``NovaCapacity``).  Imported by ``climate.plugins.instances.models``
(the plugin's ``models_module``): one metadata, one Alembic history
(revision ``0011_instance_snapshots``).
"""

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from climate.db import models

#: ``before_end = snapshot``, at the lease's ``before_end_date``.
BEFORE_END = "before_end"
#: ``on_end = snapshot_then_delete``, at the end (or a deletion).
END = "end"


class InstanceSnapshot(models.Base):
    """One snapshot: a server, by one stage of one reservation."""

    __tablename__ = "instance_snapshots"

    reservation_id: Mapped[str] = mapped_column(
        String(36),
        ForeignKey("reservations.id", ondelete="CASCADE"),
        primary_key=True,
    )
    stage: Mapped[str] = mapped_column(String(36), primary_key=True)
    server_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    # Nova's answer to createImage (2.45 and later); null if it gave none.
    image_id: Mapped[str | None] = mapped_column(String(255))

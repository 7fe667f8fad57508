"""The virtual:instance plugin's database facade.

Verb-first functions that open (or join) a reader or writer transaction
of ``climate.db.engine``, take and return plain dicts.  Inside a lease's
transaction they join it.
"""

import sqlalchemy as sa

from climate.common import dates
from climate.db import engine
from climate.db import models as core
from climate.db.engine import reader, writer  # noqa: F401
from climate.plugins.instances import models

IR = models.InstanceReservation
F = models.InstanceFlavor

_FIELDS = (
    "amount",
    "vcpus",
    "memory_mb",
    "disk_gb",
    "affinity",
    "resource_properties",
    "on_end",
    "before_end",
    "flavor_id",
)


def instance_reservation_create(values):
    """Insert the instance part of a reservation; return it."""
    with engine.writer() as session:
        row = IR(**values)
        session.add(row)
        session.flush()
        return {c.key: getattr(row, c.key) for c in IR.__table__.columns}


def instance_reservation_update(reservation_id, values):
    """Change the instance part of a reservation."""
    with engine.writer() as session:
        session.execute(
            sa.update(IR)
            .where(IR.reservation_id == reservation_id)
            .values(**values)
        )


def instance_reservation_fields(reservation_ids):
    """The virtual:instance fields of many reservations, in one query:
    ``{reservation_id: {field: value}}``."""
    reservation_ids = list(reservation_ids)
    if not reservation_ids:
        return {}
    with engine.reader() as session:
        rows = session.execute(
            sa.select(
                IR.reservation_id, *(getattr(IR, f) for f in _FIELDS)
            ).where(IR.reservation_id.in_(reservation_ids))
        )
        found = {}
        for row in rows:
            found[row.reservation_id] = {f: getattr(row, f) for f in _FIELDS}
        return found


def instance_amounts_by_lease(lease_ids):
    """How many instances the reservations of each lease hold, in one
    query: ``{lease_id: amount}``."""
    if not lease_ids:
        return {}
    with engine.reader() as session:
        rows = session.execute(
            sa.select(core.Reservation.lease_id, sa.func.sum(IR.amount))
            .join(IR, IR.reservation_id == core.Reservation.id)
            .where(core.Reservation.lease_id.in_(list(lease_ids)))
            .group_by(core.Reservation.lease_id)
        )
        return {lease_id: int(total) for lease_id, total in rows}


def flavor_ensure(reservation_id, values):
    """The reservation's private flavor, made unless it exists."""
    with engine.writer() as session:
        row = session.scalar(
            sa.select(F).where(F.reservation_id == reservation_id)
        )
        if row is None:
            row = F(
                reservation_id=reservation_id,
                created_at=dates.utcnow(),
                **values,
            )
            session.add(row)
            session.flush()
        return {c.key: getattr(row, c.key) for c in F.__table__.columns}


def flavor_get(flavor_id):
    """A flavor by id, or None."""
    with engine.reader() as session:
        row = session.get(F, flavor_id)
        if row is None:
            return None
        return {c.key: getattr(row, c.key) for c in F.__table__.columns}


def flavor_delete(reservation_id):
    """Drop a reservation's flavor; none is not an error."""
    with engine.writer() as session:
        session.execute(sa.delete(F).where(F.reservation_id == reservation_id))

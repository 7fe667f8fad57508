"""Host reservations: the physical:host fields of a reservation, and what
lease reads and usage limits need of them.  Re-exported by ``api``.
"""

import sqlalchemy as sa

from climate import states
from climate.db import engine, models
from climate.plugins.hosts import models as host_models

A = host_models.ComputeHostAllocation
HR = host_models.ComputeHostReservation


def host_reservation_create(values):
    """Insert the host part of a reservation; return it."""
    with engine.writer() as session:
        row = HR(**values)
        session.add(row)
        session.flush()
        return {c.key: getattr(row, c.key) for c in HR.__table__.columns}


def host_reservation_update(reservation_id, values):
    """Change the host part of a reservation."""
    with engine.writer() as session:
        session.execute(
            sa.update(HR)
            .where(HR.reservation_id == reservation_id)
            .values(**values)
        )


def host_reservation_fields(reservation_ids):
    """The physical:host fields of many reservations, in one query.

    :returns: ``{reservation_id: {"min", "max", "hypervisor_properties",
        "resource_properties", "before_end", "on_end"}}``; a reservation
        without a host row is left out.
    """
    if not reservation_ids:
        return {}
    with engine.reader() as session:
        rows = session.execute(
            sa.select(
                HR.reservation_id,
                HR.count_min,
                HR.count_max,
                HR.hypervisor_properties,
                HR.resource_properties,
                HR.before_end,
                HR.on_end,
                HR.grace_period,
            ).where(HR.reservation_id.in_(list(reservation_ids)))
        )
        return {
            row.reservation_id: {
                "min": row.count_min,
                "max": row.count_max,
                "hypervisor_properties": row.hypervisor_properties,
                "resource_properties": row.resource_properties,
                "before_end": row.before_end,
                "on_end": row.on_end,
                "grace_period": row.grace_period,
            }
            for row in rows
        }


def host_counts_by_lease(lease_ids):
    """How many hosts the reservations of each lease hold, in one query.

    :returns: ``{lease_id: count}``; leases holding none are left out.
    """
    if not lease_ids:
        return {}
    with engine.reader() as session:
        rows = session.execute(
            sa.select(models.Reservation.lease_id, sa.func.count(A.id))
            .join(A, A.reservation_id == models.Reservation.id)
            .where(
                models.Reservation.lease_id.in_(list(lease_ids)),
                A.vcpus.is_(None),  # whole hosts, not shares of one
            )
            .group_by(models.Reservation.lease_id)
        )
        return dict(rows.all())


def reservation_hosts(reservation_ids):
    """The hosts many reservations hold, with their capabilities that
    are not private, in two queries: what a lease's owner may see.

    :returns: ``{reservation_id: [{"name", "capabilities": {name:
        value}}]}``, hosts by name; reservations holding none left out.
    """
    reservation_ids = list(reservation_ids)
    if not reservation_ids:
        return {}
    H = host_models.ComputeHost
    C = host_models.ComputeHostCapability
    P = host_models.HostProperty
    with engine.reader() as session:
        held = session.execute(
            sa.select(
                A.reservation_id, A.computehost_id, H.hypervisor_hostname
            )
            .join(H, H.id == A.computehost_id)
            .where(A.reservation_id.in_(reservation_ids))
            .order_by(A.reservation_id, H.hypervisor_hostname)
        ).all()
        if not held:
            return {}
        private = sa.select(P.name).where(P.private.is_(True))
        capabilities = {}
        for host_id, name, value in session.execute(
            sa.select(C.computehost_id, C.name, C.value)
            .where(
                C.computehost_id.in_({row[1] for row in held}),
                C.name.not_in(private),
            )
            .order_by(C.computehost_id, C.name)
        ):
            capabilities.setdefault(host_id, {})[name] = value
        out = {}
        for reservation_id, host_id, name in held:
            out.setdefault(reservation_id, []).append(
                {"name": name, "capabilities": capabilities.get(host_id, {})}
            )
        return out


def reservations_to_hand_over():
    """The active host reservations whose hosts were swapped (healing):
    their replacement hosts may still wait to be handed over.

    :returns: ``[(reservation_id, lease_id)]``.
    """
    R = models.Reservation
    with engine.reader() as session:
        return [
            tuple(row)
            for row in session.execute(
                sa.select(R.id, R.lease_id)
                .join(HR, HR.reservation_id == R.id)
                .where(
                    R.status == states.ReservationStatus.ACTIVE,
                    R.resources_changed.is_(True),
                )
                .order_by(R.id)
            )
        ]

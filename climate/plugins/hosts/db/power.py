"""Hosts' power rows: driver, BMC credentials, state and health.

Credentials leave the database through ``host_power_target`` and
``host_power_overview`` only, which the manager calls; every other read
(the API's) omits them.  A power
change is claimed with ``host_power_move``: a conditional update from
the states the decision was made in, so of two managers deciding at once
one wins and the other leaves the host alone.
"""

import sqlalchemy as sa

from climate.db import engine
from climate.plugins.hosts import models as host_models
from climate.plugins.hosts.db import allocations

H = host_models.ComputeHost
A = host_models.ComputeHostAllocation
W = host_models.HostPower

#: What a reader other than the manager may see of a power row.
PUBLIC = (
    "driver",
    "address",
    "state",
    "state_since",
    "requested_at",
    "boot_time",
    "boots",
    "cycles",
    "health",
    "failures",
    "recycling_since",
)
#: What a host without a power row shows.
DEFAULT = {
    "driver": None,
    "address": None,
    "state": "on",
    "state_since": None,
    "requested_at": None,
    "boot_time": None,
    "boots": 0,
    "cycles": 0,
    "health": "ok",
    "failures": 0,
    "recycling_since": None,
}


def _public(row):
    return {k: getattr(row, k) for k in PUBLIC}


def power_rows(session, host_ids):
    """``{host id: public power fields}`` (inside a session)."""
    if not host_ids:
        return {}
    return {
        row.computehost_id: _public(row)
        for row in session.scalars(
            sa.select(W).where(W.computehost_id.in_(list(host_ids)))
        )
    }


def host_power_get(host_ids):
    """``{host id: power fields}`` without credentials; hosts without a
    row show ``DEFAULT``."""
    host_ids = list(host_ids)
    with engine.reader() as session:
        found = power_rows(session, host_ids)
    return {h: found.get(h, dict(DEFAULT)) for h in host_ids}


def host_power_set(host_id, values):
    """Create or change a host's power row."""
    with engine.writer() as session:
        row = session.get(W, host_id)
        if row is None:
            row = W(computehost_id=host_id, **{**DEFAULT, **values})
            session.add(row)
        else:
            for key, value in values.items():
                setattr(row, key, value)
        session.flush()


def host_power_target(host_id):
    """A host's name, power driver, address and credentials (the manager
    only), or None without a power row."""
    with engine.reader() as session:
        row = session.execute(
            sa.select(
                H.hypervisor_hostname,
                W.driver,
                W.address,
                W.username,
                W.password,
            )
            .join(W, W.computehost_id == H.id)
            .where(H.id == host_id)
        ).first()
    return None if row is None else row._asdict()


def host_power_move(host_id, from_states, values):
    """Change a power row only if its state is one of ``from_states``;
    whether it did (the claim on the change)."""
    with engine.writer() as session:
        result = session.execute(
            sa.update(W)
            .where(W.computehost_id == host_id, W.state.in_(from_states))
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1


def host_power_overview(now):
    """Every host with a power row, and what the energy policy needs:
    ``id``, ``name``, ``reservable``, the power fields with the BMC's
    ``username`` and ``password`` (for the manager's power task only),
    ``busy``
    (an allocation holds it now), ``next_start`` (its next allocation's
    start, after now) and ``last_end`` (when its last allocation
    ended)."""
    with engine.reader() as session:
        busy = set(
            session.scalars(
                sa.select(A.computehost_id)
                .where(A.start_date <= now, A.end_date > now)
                .distinct()
            )
        )
        next_start = dict(
            session.execute(
                sa.select(A.computehost_id, sa.func.min(A.start_date))
                .where(A.start_date > now)
                .group_by(A.computehost_id)
            ).all()
        )
        last_end = dict(
            session.execute(
                sa.select(A.computehost_id, sa.func.max(A.end_date))
                .where(A.end_date <= now)
                .group_by(A.computehost_id)
            ).all()
        )
        rows = session.execute(
            sa.select(H.id, H.hypervisor_hostname, H.reservable, W)
            .join(W, W.computehost_id == H.id)
            .order_by(H.id)
        ).all()
        return [
            {
                "id": host_id,
                "name": name,
                "reservable": reservable,
                **_public(row),
                "username": row.username,
                "password": row.password,
                "busy": host_id in busy,
                "next_start": next_start.get(host_id),
                "last_end": last_end.get(host_id),
            }
            for host_id, name, reservable, row in rows
        ]


def host_allocations_meeting(host_id, start, end):
    """Whether an allocation of the host meets ``[start, end)``."""
    with engine.reader() as session:
        return (
            session.scalar(
                sa.select(A.id)
                .where(
                    A.computehost_id == host_id,
                    allocations._overlapping(start, end),
                )
                .limit(1)
            )
            is not None
        )


def host_allocations_of_host(host_id, after):
    """The whole-host allocations of a host that end after ``after``:
    id, reservation id, host id, window; by start.  (Shares of the host
    belong to the plugins that placed them.)"""
    with engine.reader() as session:
        rows = session.execute(
            sa.select(
                A.id,
                A.reservation_id,
                A.computehost_id,
                A.start_date,
                A.end_date,
            )
            .where(
                A.computehost_id == host_id,
                A.end_date > after,
                A.vcpus.is_(None),
            )
            .order_by(A.start_date)
        )
        return [row._asdict() for row in rows]

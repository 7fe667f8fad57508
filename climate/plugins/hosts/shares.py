"""The seam for plugins that place parts of hosts (``virtual:instance``).

The physical:host plugin owns the host inventory and what holds each
host when (``computehost_allocations``).  A plugin that places smaller
things on those hosts takes *shares* of them through this module only,
never through the host plugin's other modules: a share is a window's
vCPUs, memory and disk on one host, kept in the same table as
whole-host allocations, so each admission sees the other's promises and
both lock the same host rows (``db/shares.py``).
"""

from climate.common import host_query
from climate.plugins.hosts.db import api as host_db

#: A share's sizes, as the host columns name them.
SIZES = ("vcpus", "memory_mb", "local_gb")


def parse_query(text, field_name):
    """A host query (``resource_properties``) parsed, checked against
    the capabilities hosts have; None for an empty one.

    :raises InvalidInput: malformed, or naming a field no host has.
    """
    tree = host_query.parse(text, field_name)
    if tree is not None:
        host_db.host_query_check_fields([tree], field_name)
    return tree


def largest(project_id):
    """The largest vCPUs, memory and disk of the reservable hosts the
    project may reserve (each on its own; None when unknown)."""
    return host_db.host_share_largest(
        host_db.host_access_condition(project_id)
    )


def allocate(
    reservation_id,
    project_id,
    start,
    end,
    size,
    amount,
    affinity,
    trees,
    ignore_reservation=None,
    prefer=(),
):
    """Hold ``amount`` shares of ``size`` for ``[start, end)``, inside
    the caller's transaction; ``{host id: shares}``, on the ``prefer``
    hosts first where they have room.  See
    ``db.shares.host_share_allocate``."""
    return host_db.host_share_allocate(
        reservation_id,
        start,
        end,
        size,
        amount,
        affinity,
        [t for t in trees if t is not None],
        where=host_db.host_access_condition(project_id),
        ignore_reservation=ignore_reservation,
        prefer=prefer,
    )


def timeline(project_id, trees, after, ignore_reservations=()):
    """The matching hosts the project may reserve, with their sizes, and
    every allocation on them ending after ``after``: what an
    availability search of shares reads.  See
    ``db.shares.host_share_timeline``."""
    return host_db.host_share_timeline(
        [t for t in trees if t is not None],
        host_db.host_access_condition(project_id),
        after,
        ignore_reservations,
    )


def held(reservation_ids):
    """``{reservation_id: [share]}``: the shares many reservations hold
    (host id and name, sizes, window), in one query."""
    return host_db.host_shares_of(reservation_ids)


def release(reservation_id):
    """Drop every share a reservation holds."""
    host_db.host_allocations_delete(reservation_id)


#: Open or join the writer transaction (admission runs in the lease's).
writer = host_db.writer

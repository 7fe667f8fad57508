"""Shares of hosts: part of a host (vCPUs, memory, disk) held by a
reservation for a window.  Re-exported by ``api``.

Shares live in ``computehost_allocations`` beside whole-host allocations
(their sizes null), so one table says what holds a host when: a host with
any allocation in a window cannot be reserved whole then (the whole-host
admission already reads every row), and a host reserved whole in a
window takes no share then.  Both admissions lock the host rows they
choose and check again, so neither over-commits a host.
"""

import sqlalchemy as sa
from sqlalchemy import orm

from climate import exceptions
from climate.db import engine
from climate.plugins.hosts import models as host_models
from climate.plugins.hosts.db.allocations import (
    _MAX_ROUNDS,
    _lock_hosts,
    _overlapping,
)
from climate.plugins.hosts.db.hosts import compile_query

H = host_models.ComputeHost
A = host_models.ComputeHostAllocation

#: The size of one share, as a host's columns name it.
SIZES = ("vcpus", "memory_mb", "local_gb")


def _others(ignore_reservation, table=A):
    if ignore_reservation is None:
        return []
    return [table.reservation_id != ignore_reservation]


def _held_whole(start, end, ignore_reservation):
    """The host is held whole in some part of ``[start, end)``."""
    return (
        sa.select(A.id)
        .where(
            A.computehost_id == H.id,
            A.vcpus.is_(None),
            _overlapping(start, end),
            *_others(ignore_reservation),
        )
        .exists()
    )


def _shared(start, end, ignore_reservation):
    """Per host, the most each size is shared at any moment of
    ``[start, end)``.

    What a host holds changes only when a share starts or ends, so its
    busiest moments in the window are among the window's start and the
    starts of the shares in it: each share meeting the window names one
    moment (its start, or the window's if it began earlier), and the
    shares running then are summed.  Shares that meet the window but not
    each other never count together.  Sizes peak independently; as a fit
    is the smallest over the sizes and the moments, the free room at
    each size's own peak gives the same fit.
    """
    moment_of = orm.aliased(A)
    running = orm.aliased(A)
    moment = sa.case(
        (moment_of.start_date > start, moment_of.start_date), else_=start
    )
    per_moment = (
        sa.select(
            moment_of.computehost_id,
            *(sa.func.sum(getattr(running, s)).label(s) for s in SIZES),
        )
        .join(
            running,
            sa.and_(
                running.computehost_id == moment_of.computehost_id,
                running.vcpus.is_not(None),
                running.start_date <= moment,
                running.end_date > moment,
                *_others(ignore_reservation, running),
            ),
        )
        .where(
            moment_of.vcpus.is_not(None),
            _overlapping(start, end, moment_of),
            *_others(ignore_reservation, moment_of),
        )
        .group_by(moment_of.id, moment_of.computehost_id)
        .subquery()
    )
    return (
        sa.select(
            per_moment.c.computehost_id,
            *(sa.func.max(getattr(per_moment.c, s)).label(s) for s in SIZES),
        )
        .group_by(per_moment.c.computehost_id)
        .subquery()
    )


def _sized(condition):
    """Hosts matching ``condition`` whose sizes are all known."""
    return sa.and_(
        H.reservable.is_(True),
        condition,
        *(getattr(H, s).is_not(None) for s in SIZES),
    )


def _free_query(
    condition, start, end, ignore_reservation, size, least, prefer=()
):
    """Hosts with room for ``least`` shares of ``size`` in the window,
    with what is free on them: ``prefer`` first (the hosts a reservation
    being changed holds), then those already sharing (they can no longer
    be reserved whole), then the tightest fit."""
    used = _shared(start, end, ignore_reservation)
    free = {
        s: getattr(H, s) - sa.func.coalesce(getattr(used.c, s), 0)
        for s in SIZES
    }
    return (
        sa.select(
            H.id,
            *(free[s].label(s) for s in SIZES),
        )
        .outerjoin(used, used.c.computehost_id == H.id)
        .where(
            _sized(condition),
            sa.not_(_held_whole(start, end, ignore_reservation)),
            *(free[s] >= least * size[s] for s in SIZES),
        )
        .order_by(
            *([H.id.not_in(list(prefer))] if prefer else []),
            used.c.vcpus.is_(None),
            free["vcpus"],
            H.id,
        )
    )


def _fit(row, size):
    """How many shares of ``size`` fit in ``row``'s free room."""
    return min(getattr(row, s) // size[s] for s in SIZES)


def host_share_allocate(
    reservation_id,
    start,
    end,
    size,
    amount,
    affinity,
    trees,
    where=None,
    ignore_reservation=None,
    prefer=(),
):
    """Hold ``amount`` shares of ``size`` on free matching hosts.

    Candidates are reservable hosts of known sizes matching every query
    tree (and ``where``), not held whole in ``[start, end)``, whose size
    less the most its shares hold together at any moment of the window
    leaves room; found in one query (a few rounds under contention,
    never one per host).  ``affinity`` True puts every share on one
    host, False each on its own host, None anywhere.  On PostgreSQL and
    MariaDB the chosen host rows are locked, as the whole-host admission
    locks them, and checked again.  Call inside ``writer()``.

    :param size: ``{"vcpus", "memory_mb", "local_gb"}`` of one share.
    :param prefer: host ids to fill first where they have room (those
        of a reservation being changed: it stays where it is if it can).
    :returns: ``{host id: shares}``.
    :raises NotEnoughResourcesAvailable: they do not fit; the message
        says how many could ever fit on the matching hosts when fewer
        than ``amount`` could, else how many fit in the window.
    """
    condition = sa.and_(
        sa.true(),
        *(compile_query(t) for t in trees),
        *([] if where is None else [where]),
    )
    least = amount if affinity is True else 1
    with engine.writer() as session:
        locking = session.bind.dialect.name != "sqlite"
        query = _free_query(
            condition, start, end, ignore_reservation, size, least, prefer
        )
        chosen, passed_over = {}, set()
        for _ in range(_MAX_ROUNDS):
            remaining = amount - sum(chosen.values())
            limit = 1 if affinity is True else remaining
            round_query = query
            if passed_over:
                round_query = query.where(H.id.not_in(list(passed_over)))
            rows = session.execute(round_query.limit(limit)).all()
            if not rows:
                break
            ids = [row.id for row in rows]
            passed_over.update(ids)
            if locking:
                _lock_hosts(session, ids)
                # Our snapshot may predate a competitor's commit.
                rows = session.execute(query.where(H.id.in_(ids))).all()
            for row in rows:
                if remaining <= 0:
                    break
                take = (
                    1 if affinity is False else min(_fit(row, size), remaining)
                )
                if take < least and affinity is True:
                    continue
                chosen[row.id] = take
                remaining -= take
            if remaining <= 0 or not locking:
                break
        if sum(chosen.values()) < amount:
            raise _not_enough(
                session,
                condition,
                start,
                end,
                size,
                amount,
                affinity,
                ignore_reservation,
            )
        session.execute(
            sa.insert(A),
            [
                {
                    "reservation_id": reservation_id,
                    "computehost_id": host_id,
                    "start_date": start,
                    "end_date": end,
                    **{s: count * size[s] for s in SIZES},
                }
                for host_id, count in chosen.items()
            ],
        )
        return chosen


def _total(fits, affinity):
    """How many shares the per-host ``fits`` hold together."""
    fits = [f for f in fits if f > 0]
    if affinity is True:
        return max(fits, default=0)
    if affinity is False:
        return len(fits)
    return sum(fits)


def _not_enough(
    session, condition, start, end, size, amount, affinity, ignore_reservation
):
    hosts = session.execute(
        sa.select(H.id, *(getattr(H, s) for s in SIZES)).where(
            _sized(condition)
        )
    ).all()
    ever = _total((_fit(row, size) for row in hosts), affinity)
    placing = {
        True: "all on one host",
        False: "each on its own host",
        None: "",
    }[affinity]
    placing = f" ({placing})" if placing else ""
    if not hosts:
        found = "no reservable host of known size matches the request"
    elif ever < amount:
        found = (
            f"at most {ever} fit{placing} on the {len(hosts)} reservable "
            "host(s) matching the request, even with nothing else on them"
        )
    else:
        free = session.execute(
            _free_query(condition, start, end, ignore_reservation, size, 1)
        ).all()
        now = _total((_fit(row, size) for row in free), affinity)
        found = (
            f"{now} fit{placing} from {start:%Y-%m-%d %H:%M} to "
            f"{end:%Y-%m-%d %H:%M} beside what the hosts already hold "
            f"(at most {ever} with nothing else on them)"
        )
    return exceptions.NotEnoughResourcesAvailable(
        reason=f"{amount} instance(s) of {size['vcpus']} vCPU(s), "
        f"{size['memory_mb']} MB of memory and {size['local_gb']} GB of disk "
        f"needed; {found}"
    )


def host_share_largest(where=None):
    """The largest vCPUs, memory and disk of any reservable host (and
    ``where``), each on its own: ``{"vcpus", "memory_mb", "local_gb"}``,
    values None when no host has that size known."""
    with engine.reader() as session:
        row = session.execute(
            sa.select(
                *(sa.func.max(getattr(H, s)).label(s) for s in SIZES)
            ).where(
                H.reservable.is_(True),
                *([] if where is None else [where]),
            )
        ).one()
        return {s: getattr(row, s) for s in SIZES}


def host_shares_of(reservation_ids):
    """The shares many reservations hold, in one query.

    :returns: ``{reservation_id: [{"computehost_id",
        "hypervisor_hostname", "vcpus", "memory_mb", "local_gb",
        "start_date", "end_date"}]}``, hosts by name.
    """
    reservation_ids = list(reservation_ids)
    if not reservation_ids:
        return {}
    with engine.reader() as session:
        rows = session.execute(
            sa.select(
                A.reservation_id,
                A.computehost_id,
                H.hypervisor_hostname,
                A.vcpus,
                A.memory_mb,
                A.local_gb,
                A.start_date,
                A.end_date,
            )
            .join(H, H.id == A.computehost_id)
            .where(A.reservation_id.in_(reservation_ids), A.vcpus.is_not(None))
            .order_by(A.reservation_id, H.hypervisor_hostname)
        )
        found = {}
        for row in rows:
            values = row._asdict()
            found.setdefault(values.pop("reservation_id"), []).append(values)
        return found


def host_share_timeline(trees, where, after, ignore_reservations=()):
    """What the availability search of shares reads, in two queries
    whatever the number of hosts: the reservable hosts of known size
    matching every query tree (and ``where``) with their sizes, and every
    allocation on them ending after ``after`` (whole or a share).

    :param ignore_reservations: reservation ids whose allocations do not
        count.
    :returns: ``({host id: {"vcpus", "memory_mb", "local_gb"}},
        [(host id, start, end, (vcpus, memory_mb, local_gb) or None for
        a whole host)])``, the allocations by start.
    """
    condition = _sized(
        sa.and_(
            sa.true(),
            *(compile_query(t) for t in trees),
            *([] if where is None else [where]),
        )
    )
    others = (
        [A.reservation_id.not_in(list(ignore_reservations))]
        if ignore_reservations
        else []
    )
    with engine.reader() as session:
        connection = session.connection()
        hosts = {
            row.id: {s: getattr(row, s) for s in SIZES}
            for row in connection.execute(
                sa.select(H.id, *(getattr(H, s) for s in SIZES)).where(
                    condition
                )
            ).all()
        }
        if not hosts:
            return hosts, []
        rows = connection.execute(
            sa.select(
                A.computehost_id,
                A.start_date,
                A.end_date,
                *(getattr(A, s) for s in SIZES),
            )
            .where(
                A.computehost_id.in_(sa.select(H.id).where(condition)),
                A.end_date > after,
                *others,
            )
            .order_by(A.start_date)
        ).all()
        return hosts, [
            (
                row.computehost_id,
                row.start_date,
                row.end_date,
                None
                if row.vcpus is None
                else (row.vcpus, row.memory_mb, row.local_gb),
            )
            for row in rows
        ]

"""Allocations of hosts to reservations: admission without double
booking.  Re-exported by ``api``.
"""

import sqlalchemy as sa
from sqlalchemy import orm

from climate import exceptions
from climate.db import engine, models
from climate.plugins.hosts import models as host_models
from climate.plugins.hosts.db.hosts import compile_query, get_host

H = host_models.ComputeHost
A = host_models.ComputeHostAllocation


def _overlapping(start, end, table=A):
    """Allocations whose window meets half-open ``[start, end)``.

    The one overlap test of the code base: windows are half-open, so an
    allocation ending at 10:00 and one starting at 10:00 do not meet.
    """
    return sa.and_(table.start_date < end, table.end_date > start)


def _busy(start, end, ignore_reservation):
    """The host has an allocation (not of ``ignore_reservation``) meeting
    ``[start, end)``."""
    conditions = [A.computehost_id == H.id, _overlapping(start, end)]
    if ignore_reservation is not None:
        conditions.append(A.reservation_id != ignore_reservation)
    # EXISTS over the id, not *: SQLite then answers from the (host,
    # start, end) index alone, without reading each allocation's row.
    return sa.select(A.id).where(*conditions).exists()


def host_allocate(
    reservation_id,
    start,
    end,
    count_min,
    count_max,
    trees,
    exclude=(),
    ignore_reservation=None,
    held=0,
    where=None,
    prefer_powered_on=False,
):
    """Allocate between ``count_min`` and ``count_max`` free matching hosts.

    ``[start, end)`` is the window to block (the lease plus its cleaning
    time).  Candidates are reservable hosts matching every query tree with
    no allocation meeting the window, found in one query.  Among them the
    query prefers the tightest fit: hosts whose previous allocation ends
    closest before the window, then whose next one starts soonest after
    it.  Filling the gaps between existing allocations first keeps long
    free stretches intact for long requests.

    On PostgreSQL and MariaDB the chosen host rows are then locked (see
    ``_lock_hosts``) and checked again, as a request that committed
    meanwhile may have taken one; lost hosts are replaced in a further
    round.  SQLite's single writer makes that unnecessary.  Call inside
    ``writer()``.

    :param exclude: host ids not to choose (already held).
    :param ignore_reservation: allocations of this reservation do not
        count as busy (an update moving its own window).
    :param held: how many hosts the reservation keeps besides these, for
        the message of a refusal.
    :param where: a further SQL condition on the host (who may reserve
        it).
    :param prefer_powered_on: hosts powered on first (a window starting
        before a host that is off could boot), then the tightest fit.
    :returns: the ids of the allocated hosts.
    :raises NotEnoughResourcesAvailable: fewer than ``count_min`` hosts.
    """
    if count_max <= 0:
        return []
    with engine.writer() as session:
        condition = sa.and_(
            H.reservable.is_(True),
            *(compile_query(t) for t in trees),
            *([] if where is None else [where]),
        )
        locking = session.bind.dialect.name != "sqlite"
        free = sa.not_(_busy(start, end, ignore_reservation))
        chosen, passed_over = [], set(exclude)
        for _ in range(_MAX_ROUNDS):
            query = _candidates(
                condition,
                free,
                start,
                end,
                passed_over,
                session.bind.dialect,
                prefer_powered_on,
            )
            found = session.scalars(query.limit(count_max - len(chosen))).all()
            if not found:
                break
            passed_over.update(found)
            if locking:
                _lock_hosts(session, found)
                # Our snapshot may predate a competitor's commit.
                still_free = set(
                    session.scalars(
                        sa.select(H.id).where(H.id.in_(found), free)
                    )
                )
                found = [host_id for host_id in found if host_id in still_free]
            chosen.extend(found)
            if not locking or len(chosen) >= count_max:
                break
        if len(chosen) < count_min:
            raise _not_enough(
                session,
                condition,
                start,
                end,
                count_min,
                ignore_reservation,
                held,
            )
        if not chosen:
            # count_min is 0; an empty executemany would insert one
            # row of defaults.
            return chosen
        session.execute(
            sa.insert(A),
            [
                {
                    "reservation_id": reservation_id,
                    "computehost_id": host_id,
                    "start_date": start,
                    "end_date": end,
                }
                for host_id in chosen
            ],
        )
        return chosen


# Rounds of "find, lock, re-check" before giving up on hosts that
# concurrent requests keep taking.
_MAX_ROUNDS = 4


def _lock_hosts(session, host_ids):
    """Lock host rows, waiting for them, in id order (PostgreSQL, MariaDB).

    A competitor holds a host row only while its own request's transaction
    runs, so waiting costs milliseconds, and a competitor that booked
    another window of the host leaves it free for ours: skipping locked
    rows instead would refuse requests that compete for nothing.  Locking
    by primary key keeps MariaDB from locking every row a ranking query
    reads.  Requests locking in several rounds can deadlock; the database
    aborts one and the manager retries it (``db_api.retry_on_deadlock``).
    """
    if not host_ids:
        return
    session.execute(
        sa.select(H.id)
        .where(H.id.in_(list(host_ids)))
        .order_by(H.id)
        .with_for_update()
    )


def _candidates(
    condition, free, start, end, passed_over, dialect, prefer_powered_on
):
    """Free matching hosts, tightest fit first (see ``host_allocate``)."""
    prev_end = (
        sa.select(sa.func.max(A.end_date))
        .where(A.computehost_id == H.id, A.end_date <= start)
        .scalar_subquery()
    )
    next_start = (
        sa.select(sa.func.min(A.start_date))
        .where(A.computehost_id == H.id, A.start_date >= end)
        .scalar_subquery()
    )
    query = sa.select(H.id).where(condition, free)
    if passed_over:
        query = query.where(H.id.not_in(list(passed_over)))
    if dialect.name == "mysql":
        # MariaDB has no NULLS LAST; it sorts NULL below any date.
        order = [prev_end.desc(), next_start.is_(None), next_start]
    else:
        # Each key named once: SQLite and PostgreSQL evaluate a correlated
        # subquery again wherever the ORDER BY repeats it.
        order = [prev_end.desc().nulls_last(), next_start.nulls_last()]
    if prefer_powered_on:
        W = host_models.HostPower
        off = (
            sa.select(W.computehost_id)
            .where(
                W.computehost_id == H.id,
                W.state.in_(("off", "powering_off")),
            )
            .exists()
        )
        order = [off, *order]
    return query.order_by(*order, H.id)


def host_allocations_lock(reservation_id):
    """Lock the hosts a reservation holds, in id order (PostgreSQL and
    MariaDB), so no concurrent request allocates them while an update
    moves the reservation's window.  Call inside ``writer()``."""
    with engine.writer() as session:
        if session.bind.dialect.name == "sqlite":
            return
        held = sa.select(A.computehost_id).where(
            A.reservation_id == reservation_id
        )
        _lock_hosts(session, session.scalars(held).all())


def _not_enough(
    session, condition, start, end, count_min, ignore_reservation, held
):
    matching = session.scalar(sa.select(sa.func.count(H.id)).where(condition))
    free = session.scalar(
        sa.select(sa.func.count(H.id)).where(
            condition, sa.not_(_busy(start, end, ignore_reservation))
        )
    )
    needed = count_min + held
    kept = f" ({held} of them already held)" if held else ""
    window = f"from {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M}"
    if not matching:
        found = "no reservable host matches the request"
    else:
        count = {0: "none is", 1: "1 is"}.get(free, f"{free} are")
        found = (
            f"of the {_hosts(matching)} reservable and matching the "
            f"request, {count} free {window}"
        )
    return exceptions.NotEnoughResourcesAvailable(
        reason=f"{_hosts(needed)} needed{kept}; {found}"
    )


def _hosts(count):
    return f"{count} host{'' if count == 1 else 's'}"


def host_allocations_of(reservation_id):
    """The allocations of one reservation: id, host id and name, window."""
    with engine.reader() as session:
        rows = session.execute(
            sa.select(
                A.id,
                A.computehost_id,
                H.hypervisor_hostname,
                A.start_date,
                A.end_date,
            )
            .join(H, H.id == A.computehost_id)
            .where(A.reservation_id == reservation_id)
            .order_by(A.computehost_id)
        )
        return [row._asdict() for row in rows]


def host_allocations_conflicting(reservation_id, start, end):
    """Host ids of ``reservation_id`` that another allocation blocks in
    ``[start, end)``."""
    with engine.reader() as session:
        other = orm.aliased(A)
        return set(
            session.scalars(
                sa.select(A.computehost_id)
                .join(
                    other,
                    sa.and_(
                        other.computehost_id == A.computehost_id,
                        other.reservation_id != reservation_id,
                        _overlapping(start, end, other),
                    ),
                )
                .where(A.reservation_id == reservation_id)
            )
        )


def host_allocation_blockers(reservation_id, start, end):
    """What keeps a reservation's own hosts from ``[start, end)``: for each
    other allocation meeting it on one of them, the host's name, the
    blocking lease (id, name, project) and its window, earliest first."""
    with engine.reader() as session:
        other = orm.aliased(A)
        rows = session.execute(
            sa.select(
                H.hypervisor_hostname,
                models.Lease.id.label("lease_id"),
                models.Lease.name.label("lease_name"),
                models.Lease.project_id,
                other.start_date,
                other.end_date,
            )
            .select_from(A)
            .join(
                other,
                sa.and_(
                    other.computehost_id == A.computehost_id,
                    other.reservation_id != reservation_id,
                    _overlapping(start, end, other),
                ),
            )
            .join(H, H.id == A.computehost_id)
            .join(
                models.Reservation,
                models.Reservation.id == other.reservation_id,
            )
            .join(models.Lease, models.Lease.id == models.Reservation.lease_id)
            .where(A.reservation_id == reservation_id)
            .order_by(other.start_date, H.hypervisor_hostname)
        )
        return [row._asdict() for row in rows]


def host_previous_holders(reservation_id, since):
    """Leases whose allocations on this reservation's hosts ended at or
    before its own window starts, and after ``since``: those that must give
    the hosts back before it takes them.  Read from the (host, end, start)
    index, one query."""
    with engine.reader() as session:
        other = orm.aliased(A)
        return set(
            session.scalars(
                sa.select(models.Reservation.lease_id)
                .join(other, other.reservation_id == models.Reservation.id)
                .join(A, A.computehost_id == other.computehost_id)
                .where(
                    A.reservation_id == reservation_id,
                    other.reservation_id != reservation_id,
                    other.end_date <= A.start_date,
                    other.end_date > since,
                )
                .distinct()
            )
        )


def host_allocations_move(reservation_id, start, end):
    """Set the window of every allocation of a reservation."""
    with engine.writer() as session:
        session.execute(
            sa.update(A)
            .where(A.reservation_id == reservation_id)
            .values(start_date=start, end_date=end)
        )


def host_allocations_delete(reservation_id, host_ids=None):
    """Drop a reservation's allocations (or those on ``host_ids``)."""
    with engine.writer() as session:
        query = sa.delete(A).where(A.reservation_id == reservation_id)
        if host_ids is not None:
            query = query.where(A.computehost_id.in_(list(host_ids)))
        session.execute(query)


def host_allocations_list(
    host_id=None, lease_id=None, reservation_id=None, start=None, end=None
):
    """Allocations grouped by host, in the allocations API's shape.

    :returns: ``[{"resource_id": host id, "reservations": [{"id",
        "lease_id", "start_date", "end_date"}]}]``; hosts without a
        matching allocation are listed with an empty list.
    """
    with engine.reader() as session:
        query = (
            sa.select(
                A.computehost_id,
                models.Reservation.id,
                models.Lease.id,
                models.Lease.start_date,
                models.Lease.end_date,
            )
            .join(
                models.Reservation, models.Reservation.id == A.reservation_id
            )
            .join(models.Lease, models.Lease.id == models.Reservation.lease_id)
            .order_by(A.computehost_id, models.Lease.start_date)
        )
        hosts = sa.select(H.id).order_by(H.id)
        if host_id is not None:
            host_id = get_host(session, host_id).id
            query = query.where(A.computehost_id == host_id)
            hosts = hosts.where(H.id == host_id)
        if lease_id is not None:
            query = query.where(models.Lease.id == lease_id)
        if reservation_id is not None:
            query = query.where(models.Reservation.id == reservation_id)
        if start is not None:
            query = query.where(models.Lease.end_date > start)
        if end is not None:
            query = query.where(models.Lease.start_date < end)
        grouped = {h: [] for h in session.scalars(hosts)}
        for host, res_id, lease, lease_start, lease_end in session.execute(
            query
        ):
            grouped.setdefault(host, []).append(
                {
                    "id": res_id,
                    "lease_id": lease,
                    "start_date": lease_start,
                    "end_date": lease_end,
                }
            )
        if lease_id is not None or reservation_id is not None:
            grouped = {h: r for h, r in grouped.items() if r}
        return [
            {"resource_id": h, "reservations": r} for h, r in grouped.items()
        ]


def host_busy_windows(trees, where, start, end, ignore_reservations=()):
    """The matching reservable hosts and what holds them in a period.

    Two indexed queries, whatever the number of hosts: the hosts
    matching every query tree (and ``where``), each with its first
    allocation starting at or after ``end`` (a correlated MIN on the
    (host, start, end) index: one seek a host, where a GROUP BY would
    scan every later allocation); and the allocations on them meeting
    ``[start, end)``.  The availability search computes its windows
    from these boundaries.

    :param ignore_reservations: reservation ids whose allocations do not
        count (a lease asking where its own request would fit).
    :returns: ``({host id: [(start, end), ...]}, {host id: next start}``;
        each list in start order, hosts with nothing in the period with
        an empty list, hosts with nothing after it left out of the
        second.
    """
    with engine.reader() as session:
        condition = sa.and_(
            H.reservable.is_(True),
            *(compile_query(t) for t in trees),
            *([] if where is None else [where]),
        )
        others = (
            [A.reservation_id.not_in(list(ignore_reservations))]
            if ignore_reservations
            else []
        )
        following = (
            sa.select(sa.func.min(A.start_date))
            .where(A.computehost_id == H.id, A.start_date >= end, *others)
            .scalar_subquery()
        )
        # On the connection, not the ORM session: thousands of rows
        # without the ORM's per-row work.
        connection = session.connection()
        busy, next_starts = {}, {}
        # .all(): one fetch, not a fetchone a row.
        for host_id, next_start in connection.execute(
            sa.select(H.id, following).where(condition)
        ).all():
            busy[host_id] = []
            if next_start is not None:
                next_starts[host_id] = next_start
        if not busy:
            return busy, {}
        # A subquery, not the ids: a list of thousands of bound values
        # costs more than matching the hosts again.
        hosts = A.computehost_id.in_(sa.select(H.id).where(condition))
        for host_id, alloc_start, alloc_end in connection.execute(
            sa.select(A.computehost_id, A.start_date, A.end_date)
            .where(hosts, _overlapping(start, end), *others)
            .order_by(A.computehost_id, A.start_date)
        ).all():
            busy[host_id].append((alloc_start, alloc_end))
        return busy, next_starts


def host_next_allocation_start(host_ids, after, ignore_reservation):
    """The earliest start, at or after ``after``, of an allocation (not of
    ``ignore_reservation``) on any of ``host_ids``; None if there is none.
    One query on the (host, start, end) index."""
    if not host_ids:
        return None
    with engine.reader() as session:
        return session.scalar(
            sa.select(sa.func.min(A.start_date)).where(
                A.computehost_id.in_(list(host_ids)),
                A.start_date >= after,
                A.reservation_id != ignore_reservation,
            )
        )


def host_calendar(trees, start, end):
    """Every reservable host matching the queries, with what holds it in
    ``[start, end)``: the data of the web calendar, in three queries.

    :returns: ``[{"id", "name", "capabilities": {name: value},
        "busy": [{"start_date", "end_date", "lease_id", "lease_name",
        "project_id"}]}]``, hosts by name, allocations by start.
        Capabilities marked private are left out.
    """
    C = host_models.ComputeHostCapability
    P = host_models.HostProperty
    with engine.reader() as session:
        matching = sa.select(H.id).where(
            H.reservable.is_(True), *(compile_query(t) for t in trees)
        )
        hosts = {
            host_id: {
                "id": host_id,
                "name": name,
                "capabilities": {},
                "busy": [],
            }
            for host_id, name in session.execute(
                sa.select(H.id, H.hypervisor_hostname)
                .where(H.id.in_(matching))
                .order_by(H.hypervisor_hostname)
            )
        }
        if not hosts:
            return []
        private = sa.select(P.name).where(P.private.is_(True))
        for host_id, name, value in session.execute(
            sa.select(C.computehost_id, C.name, C.value)
            .where(C.computehost_id.in_(matching), C.name.not_in(private))
            .order_by(C.computehost_id, C.name)
        ):
            hosts[host_id]["capabilities"][name] = value
        rows = session.execute(
            sa.select(
                A.computehost_id,
                A.start_date,
                A.end_date,
                models.Lease.id,
                models.Lease.name,
                models.Lease.project_id,
            )
            .join(
                models.Reservation, models.Reservation.id == A.reservation_id
            )
            .join(models.Lease, models.Lease.id == models.Reservation.lease_id)
            .where(A.computehost_id.in_(matching), _overlapping(start, end))
            .order_by(A.computehost_id, A.start_date)
        )
        for host_id, alloc_start, alloc_end, lease_id, name, project in rows:
            hosts[host_id]["busy"].append(
                {
                    "start_date": alloc_start,
                    "end_date": alloc_end,
                    "lease_id": lease_id,
                    "lease_name": name,
                    "project_id": project,
                }
            )
        return list(hosts.values())

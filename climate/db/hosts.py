"""Physical hosts in the database: inventory, host reservations, allocations
and the local driver's pools.  Re-exported by ``climate.db.api``; callers
import that module, never this one.
"""

import json

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy import orm

from climate import exceptions
from climate.common import host_query
from climate.db import engine, models

H = models.ComputeHost
C = models.ComputeHostCapability
A = models.ComputeHostAllocation
HR = models.ComputeHostReservation

#: Host columns a query may name directly; anything else is a capability.
BASE_FIELDS = {
    "hypervisor_hostname": H.hypervisor_hostname,
    "service_name": H.service_name,
    "vcpus": H.vcpus,
    "memory_mb": H.memory_mb,
    "local_gb": H.local_gb,
    "hypervisor_type": H.hypervisor_type,
    "hypervisor_version": H.hypervisor_version,
    "cpu_info": H.cpu_info,
    "availability_zone": H.availability_zone,
}
_NUMERIC_BASE_FIELDS = {"vcpus", "memory_mb", "local_gb", "hypervisor_version"}


def _host_to_dict(host, capabilities):
    values = {c.key: getattr(host, c.key) for c in host.__table__.columns}
    values["capabilities"] = capabilities
    return values


def _load_hosts(session, query):
    hosts = session.scalars(query).all()
    if not hosts:
        return []
    caps = {}
    rows = session.execute(
        sa.select(C.computehost_id, C.name, C.value).where(
            C.computehost_id.in_([h.id for h in hosts])
        )
    )
    for host_id, name, value in rows:
        caps.setdefault(host_id, {})[name] = value
    return [_host_to_dict(h, caps.get(h.id, {})) for h in hosts]


def _get_host(session, host_id):
    # Ids are plain decimal digits: int() alone would also take "+1",
    # " 1", "1_0" or non-ASCII digits, which the SQL elsewhere would not.
    if isinstance(host_id, int) and not isinstance(host_id, bool):
        key = host_id
    elif isinstance(host_id, str) and host_id.isascii() and host_id.isdigit():
        key = int(host_id)
    else:
        key = None
    host = session.get(H, key) if key is not None else None
    if host is None:
        raise exceptions.HostNotFound(id=host_id)
    return host


# Inventory ------------------------------------------------------------------


def host_create(values, capabilities):
    """Insert a host with its capabilities; return it.

    :raises HostAlreadyExists: the hypervisor hostname is registered.
    """
    with engine.writer() as session:
        name = values["hypervisor_hostname"]
        if (
            session.scalar(
                sa.select(H.id).where(H.hypervisor_hostname == name)
            )
            is not None
        ):
            raise exceptions.HostAlreadyExists(name=name)
        host = H(**values)
        session.add(host)
        try:
            session.flush()
        except sa_exc.IntegrityError:
            raise exceptions.HostAlreadyExists(name=name)
        _set_capabilities(session, host.id, capabilities)
        return host_get(host.id)


def _set_capabilities(session, host_id, capabilities):
    for name, value in capabilities.items():
        session.execute(
            sa.delete(C).where(C.computehost_id == host_id, C.name == name)
        )
        if value is None:
            continue
        session.add(
            C(
                computehost_id=host_id,
                name=name,
                value=value,
                number=host_query.as_number(value),
            )
        )
    session.flush()


def host_get(host_id):
    """Return a host with ``capabilities`` (name → value).

    :raises HostNotFound:
    """
    with engine.reader() as session:
        host = _get_host(session, host_id)
        return _load_hosts(session, sa.select(H).where(H.id == host.id))[0]


def host_list():
    """Return every host, with its capabilities, by id."""
    with engine.reader() as session:
        return _load_hosts(session, sa.select(H).order_by(H.id))


def host_update(host_id, values, capabilities):
    """Change a host's columns and capabilities (None deletes one).

    :raises HostNotFound:
    """
    with engine.writer() as session:
        host = _get_host(session, host_id)
        for key, value in values.items():
            setattr(host, key, value)
        session.flush()
        _set_capabilities(session, host.id, capabilities)
        return host_get(host.id)


def host_destroy(host_id):
    """Delete a host, its capabilities and its past allocations.

    :raises HostNotFound:
    """
    with engine.writer() as session:
        host = _get_host(session, host_id)
        session.execute(sa.delete(A).where(A.computehost_id == host.id))
        session.delete(host)


def host_lock(host_id):
    """Lock a host's row until the enclosing writer transaction ends."""
    with engine.writer() as session:
        host = _get_host(session, host_id)
        session.execute(
            sa.select(H.id).where(H.id == host.id).with_for_update()
        )


def host_reservations_using(host_id, after):
    """Host reservations holding ``host_id`` at or after ``after``.

    :returns: list of dicts: ``reservation_id``, ``lease_id``,
        ``hypervisor_properties``, ``resource_properties``.
    """
    with engine.reader() as session:
        rows = session.execute(
            sa.select(
                HR.reservation_id,
                models.Reservation.lease_id,
                HR.hypervisor_properties,
                HR.resource_properties,
            )
            .join(A, A.reservation_id == HR.reservation_id)
            .join(
                models.Reservation, models.Reservation.id == HR.reservation_id
            )
            .where(A.computehost_id == host_id, A.end_date > after)
            .distinct()
        )
        return [row._asdict() for row in rows]


# Properties -----------------------------------------------------------------


def host_properties_list():
    """Every capability name in use: name, private flag, distinct values."""
    with engine.reader() as session:
        values = {}
        for name, value in session.execute(
            sa.select(C.name, C.value).distinct().order_by(C.name, C.value)
        ):
            values.setdefault(name, []).append(value)
        private = dict(
            session.execute(
                sa.select(
                    models.HostProperty.name, models.HostProperty.private
                )
            ).all()
        )
        return [
            {
                "property": name,
                "private": private.get(name, False),
                "values": vals,
            }
            for name, vals in values.items()
        ]


def host_property_update(name, private):
    """Set whether a capability name is private; return the property.

    :raises HostPropertyNotFound: no host has that capability.
    """
    with engine.writer() as session:
        exists = session.scalar(sa.select(C.id).where(C.name == name).limit(1))
        if exists is None:
            raise exceptions.HostPropertyNotFound(name=name)
        prop = session.get(models.HostProperty, name)
        if prop is None:
            prop = models.HostProperty(name=name)
            session.add(prop)
        prop.private = private
        session.flush()
    return next(p for p in host_properties_list() if p["property"] == name)


# Queries --------------------------------------------------------------------


def _compile(tree):
    """SQL for a parsed query over ``computehosts`` rows (bound values)."""
    if tree is None:
        return sa.true()
    if isinstance(tree, host_query.Logical):
        parts = [_compile(o) for o in tree.operands]
        if tree.op == "and":
            return sa.and_(*parts)
        if tree.op == "or":
            return sa.or_(*parts)
        return sa.not_(parts[0])
    column = BASE_FIELDS.get(tree.field)
    if column is not None:
        if tree.field in _NUMERIC_BASE_FIELDS:
            if tree.number is None:
                # A number is never equal to text that is not one.
                if tree.op == "!=":
                    return column.is_not(None)
                return sa.false()
            return sa.and_(
                column.is_not(None), column.op(_SQL_OPS[tree.op])(tree.number)
            )
        return sa.and_(
            column.is_not(None), column.op(_SQL_OPS[tree.op])(tree.value)
        )
    if tree.number is not None:
        condition = C.number.op(_SQL_OPS[tree.op])(tree.number)
        if tree.op == "!=":
            condition = sa.or_(C.number.is_(None), condition)
    else:
        condition = C.value.op(_SQL_OPS[tree.op])(tree.value)
    # A semi-join rather than an EXISTS per host: the matching capability
    # rows are read once, from the (name, value) or (name, number) index.
    return H.id.in_(
        sa.select(C.computehost_id).where(C.name == tree.field, condition)
    )


_SQL_OPS = {"==": "=", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


def host_query_check_fields(trees, field_name):
    """Raise InvalidInput if a query names a field no host has."""
    names = set().union(*(host_query.fields(t) for t in trees))
    names -= set(BASE_FIELDS)
    if not names:
        return
    with engine.reader() as session:
        known = set(
            session.scalars(
                sa.select(C.name).where(C.name.in_(names)).distinct()
            )
        )
    unknown = sorted(names - known)
    if unknown:
        raise exceptions.InvalidInput(
            reason=f"{field_name}: no host has "
            f"{'a field' if len(unknown) == 1 else 'fields'} named "
            f"{', '.join('$' + n for n in unknown)}"
        )


def host_ids_matching(host_ids, trees):
    """The subset of ``host_ids`` whose hosts satisfy every query tree."""
    host_ids = list(host_ids)
    if not host_ids:
        return set()
    with engine.reader() as session:
        condition = sa.and_(sa.true(), *(_compile(t) for t in trees))
        return set(
            session.scalars(
                sa.select(H.id).where(H.id.in_(host_ids), condition)
            )
        )


# Admission and allocations --------------------------------------------------


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
    :returns: the ids of the allocated hosts.
    :raises NotEnoughResourcesAvailable: fewer than ``count_min`` hosts.
    """
    if count_max <= 0:
        return []
    with engine.writer() as session:
        condition = sa.and_(
            H.reservable.is_(True), *(_compile(t) for t in trees)
        )
        locking = session.bind.dialect.name != "sqlite"
        free = sa.not_(_busy(start, end, ignore_reservation))
        chosen, passed_over = [], set(exclude)
        for _ in range(_MAX_ROUNDS):
            query = _candidates(
                condition, free, start, end, passed_over, session.bind.dialect
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
                session, condition, start, end, count_min, ignore_reservation
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


def _candidates(condition, free, start, end, passed_over, dialect):
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


def _not_enough(session, condition, start, end, count_min, ignore_reservation):
    matching = session.scalar(sa.select(sa.func.count(H.id)).where(condition))
    free = session.scalar(
        sa.select(sa.func.count(H.id)).where(
            condition, sa.not_(_busy(start, end, ignore_reservation))
        )
    )
    return exceptions.NotEnoughResourcesAvailable(
        reason=f"{count_min} host(s) needed; {matching} reservable host(s) "
        f"match the request and {free} of them are free from "
        f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M}"
    )


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
            host_id = _get_host(session, host_id).id
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


# Host reservations ----------------------------------------------------------


def host_reservation_create(values):
    with engine.writer() as session:
        row = HR(**values)
        session.add(row)
        session.flush()
        return {c.key: getattr(row, c.key) for c in HR.__table__.columns}


def host_reservation_update(reservation_id, values):
    with engine.writer() as session:
        session.execute(
            sa.update(HR)
            .where(HR.reservation_id == reservation_id)
            .values(**values)
        )


# Pools of the local driver --------------------------------------------------


def _pool(session, name):
    return session.scalar(
        sa.select(models.HostPool).where(models.HostPool.name == name)
    )


def host_pool_ensure(name, metadata):
    with engine.writer() as session:
        if _pool(session, name) is None:
            session.add(
                models.HostPool(
                    name=name,
                    pool_metadata=json.dumps(metadata, sort_keys=True),
                )
            )


def host_pool_delete(name):
    with engine.writer() as session:
        session.execute(
            sa.delete(models.HostPool).where(models.HostPool.name == name)
        )


def host_pool_add_hosts(name, hostnames):
    with engine.writer() as session:
        pool = _pool(session, name)
        if pool is None:
            raise exceptions.HostPoolNotFound(name=name)
        present = set(
            session.scalars(
                sa.select(models.HostPoolMember.hostname).where(
                    models.HostPoolMember.pool_id == pool.id
                )
            )
        )
        for hostname in hostnames:
            if hostname not in present:
                session.add(
                    models.HostPoolMember(pool_id=pool.id, hostname=hostname)
                )


def host_pool_remove_hosts(name, hostnames):
    with engine.writer() as session:
        pool = _pool(session, name)
        if pool is None:
            return
        session.execute(
            sa.delete(models.HostPoolMember).where(
                models.HostPoolMember.pool_id == pool.id,
                models.HostPoolMember.hostname.in_(list(hostnames)),
            )
        )


def host_pools_list():
    """Every pool: name, metadata and sorted member hostnames."""
    with engine.reader() as session:
        members = {}
        for pool_id, hostname in session.execute(
            sa.select(
                models.HostPoolMember.pool_id, models.HostPoolMember.hostname
            )
        ):
            members.setdefault(pool_id, []).append(hostname)
        return [
            {
                "name": p.name,
                "metadata": json.loads(p.pool_metadata),
                "hosts": sorted(members.get(p.id, [])),
            }
            for p in session.scalars(
                sa.select(models.HostPool).order_by(models.HostPool.name)
            )
        ]

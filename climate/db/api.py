"""The database facade: the only module callers import to reach the database.

Functions are verb-first, open (or join) a reader or writer transaction, take
and return plain dicts, and raise Climate's ``NotFound`` subclasses.  Nothing
outside this module sees a SQLAlchemy session or model instance.
"""

import functools
import random
import time

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy import orm

from climate import exceptions, states
from climate.db import engine, models

# The facade re-exports the host functions, kept in modules of their own.
from climate.db.allocations import (  # noqa: F401
    host_allocate,
    host_allocations_conflicting,
    host_allocations_delete,
    host_allocations_list,
    host_allocations_lock,
    host_allocations_move,
    host_allocations_of,
    host_reservation_create,
    host_reservation_update,
)
from climate.db.events import (  # noqa: F401
    event_create,
    event_destroy,
    event_finish,
    event_get,
    event_next_due_time,
    event_update,
    events_claim_due,
    events_create,
    events_release,
    events_renew,
    lease_transition,
    leases_with_unfinished_events,
    reservations_transition,
)
from climate.db.hosts import (  # noqa: F401
    host_create,
    host_destroy,
    host_get,
    host_ids_matching,
    host_list,
    host_lock,
    host_properties_list,
    host_property_update,
    host_query_check_fields,
    host_reservations_using,
    host_update,
)
from climate.db.pools import (  # noqa: F401
    host_pool_add_hosts,
    host_pool_delete,
    host_pool_ensure,
    host_pool_remove_hosts,
    host_pools_list,
)

writer = engine.writer
reader = engine.reader

# Deadlocks are rare (requests locking hosts in several rounds) and a
# retry after a short random pause resolves them.
_DEADLOCK_ATTEMPTS = 4


def retry_on_deadlock(func):
    """Run ``func`` again when the database aborts it to break a deadlock.

    For functions that open the outermost transaction (the manager's
    create and update): inside an enclosing transaction the abort spoils
    that transaction too, so the error is passed up instead.

    :raises ConcurrentUpdate: still deadlocking after a few attempts.
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        for attempt in range(1, _DEADLOCK_ATTEMPTS + 1):
            try:
                return func(*args, **kwargs)
            except sa_exc.DBAPIError as exc:
                if not engine.is_deadlock(exc) or engine.in_transaction():
                    raise
                if attempt == _DEADLOCK_ATTEMPTS:
                    raise exceptions.ConcurrentUpdate() from exc
                time.sleep(random.uniform(0.005, 0.05) * attempt)

    return wrapper


def dispose():
    """Close every pooled connection; the next call reconnects."""
    engine.ENGINES.dispose()


def backend_name():
    """``sqlite``, ``postgresql`` or ``mysql``."""
    return engine.backend_name()


def _to_dict(obj, *, exclude=()):
    return {
        column.key: getattr(obj, column.key)
        for column in obj.__table__.columns
        if column.key not in exclude
    }


def _reservation_to_dict(reservation):
    values = _to_dict(reservation)
    host = reservation.host_reservation
    if host is not None:
        values.update(
            min=host.count_min,
            max=host.count_max,
            hypervisor_properties=host.hypervisor_properties,
            resource_properties=host.resource_properties,
            before_end=host.before_end,
            on_end=host.on_end,
        )
    return values


def _lease_to_dict(lease):
    values = _to_dict(lease)
    values["reservations"] = [
        _reservation_to_dict(r) for r in lease.reservations
    ]
    values["events"] = [_to_dict(e) for e in lease.events]
    return values


def _session():
    """The session of the transaction open in this thread."""
    current = engine._current.get()
    if current is None:
        raise RuntimeError("no transaction is open")
    return current[0]


def _lease_query():
    return (
        sa.select(models.Lease)
        .options(
            orm.selectinload(models.Lease.reservations).selectinload(
                models.Reservation.host_reservation
            ),
            orm.selectinload(models.Lease.events),
        )
        .execution_options(populate_existing=True)
    )


def _get_lease(session, lease_id, project_id=None, *, for_update=False):
    query = _lease_query().where(models.Lease.id == lease_id)
    if project_id is not None:
        query = query.where(models.Lease.project_id == project_id)
    if for_update:
        query = query.with_for_update().execution_options(
            populate_existing=True
        )
    lease = session.scalars(query).first()
    if lease is None:
        raise exceptions.LeaseNotFound(id=lease_id)
    return lease


# Leases ---------------------------------------------------------------------


def lease_create(values, reservations=(), events=()):
    """Insert a lease with its reservations and events; return the lease.

    :param values: the lease's columns.
    :param reservations: dicts of reservation columns, without ``lease_id``.
    :param events: dicts of event columns, without ``lease_id``.
    :raises LeaseNameAlreadyExists: the project already has a lease so named.
    """
    with writer() as session:
        _check_name_free(session, values["project_id"], values["name"])
        lease = models.Lease(**values)
        lease.reservations = [models.Reservation(**r) for r in reservations]
        lease.events = [models.Event(**e) for e in events]
        session.add(lease)
        try:
            session.flush()
        except sa_exc.IntegrityError:
            raise exceptions.LeaseNameAlreadyExists(name=values["name"])
        return _lease_to_dict(lease)


def _check_name_free(session, project_id, name, lease_id=None):
    query = sa.select(models.Lease.id).where(
        models.Lease.project_id == project_id, models.Lease.name == name
    )
    if lease_id is not None:
        query = query.where(models.Lease.id != lease_id)
    if session.scalar(query.limit(1)) is not None:
        raise exceptions.LeaseNameAlreadyExists(name=name)


def lease_get(lease_id, project_id=None):
    """Return a lease with its reservations and events.

    :param project_id: if given, a lease of another project is not found.
    :raises LeaseNotFound:
    """
    with reader() as session:
        return _lease_to_dict(_get_lease(session, lease_id, project_id))


def lease_lock(lease_id, project_id=None):
    """Lock a lease's row until the enclosing transaction ends; return it.

    Call inside ``writer()``.  On SQLite the writer already holds the
    database lock; elsewhere this is ``SELECT ... FOR UPDATE``.

    :raises LeaseNotFound:
    """
    with writer() as session:
        return _lease_to_dict(
            _get_lease(session, lease_id, project_id, for_update=True)
        )


def lease_list(
    project_id=None, status=None, name=None, limit=None, marker=None
):
    """Return leases oldest first, with their reservations and events.

    :param marker: id of the last lease of the previous page.
    :raises InvalidMarker: the marker is not a lease of this listing.
    """
    with reader() as session:
        query = _lease_query()
        if project_id is not None:
            query = query.where(models.Lease.project_id == project_id)
        if status is not None:
            query = query.where(models.Lease.status == status)
        if name is not None:
            query = query.where(models.Lease.name == name)
        if marker is not None:
            last = session.get(models.Lease, marker)
            if last is None or (
                project_id is not None and last.project_id != project_id
            ):
                raise exceptions.InvalidMarker(marker=marker)
            query = query.where(
                sa.or_(
                    models.Lease.created_at > last.created_at,
                    sa.and_(
                        models.Lease.created_at == last.created_at,
                        models.Lease.id > last.id,
                    ),
                )
            )
        query = query.order_by(models.Lease.created_at, models.Lease.id)
        if limit is not None:
            query = query.limit(limit)
        return [_lease_to_dict(lease) for lease in session.scalars(query)]


def lease_usage(project_id, start, end):
    """What a project holds in ``[start, end)``, for its usage limits.

    Returns its leases overlapping the window that are not TERMINATED, as
    ``{"id", "start_date", "end_date", "hosts"}`` (``hosts``: how many
    hosts their reservations hold).  Inside ``writer()`` this first takes
    a lock on the project, held until the transaction ends, so two writes
    of one project's leases check their limits one after the other.
    """
    hosts = (
        sa.select(sa.func.count(models.ComputeHostAllocation.id))
        .join(
            models.Reservation,
            models.Reservation.id
            == models.ComputeHostAllocation.reservation_id,
        )
        .where(models.Reservation.lease_id == models.Lease.id)
        .scalar_subquery()
    )
    query = sa.select(
        models.Lease.id,
        models.Lease.start_date,
        models.Lease.end_date,
        hosts.label("hosts"),
    ).where(
        models.Lease.project_id == project_id,
        models.Lease.status != states.LeaseStatus.TERMINATED,
        models.Lease.start_date < end,
        models.Lease.end_date > start,
    )
    with reader() as session:
        engine.lock_key(session, f"climate-usage:{project_id}")
        return [row._asdict() for row in session.execute(query)]


def lease_update(lease_id, values):
    """Update a lease's columns; return the lease.

    :raises LeaseNotFound:
    :raises LeaseNameAlreadyExists: a rename collides within the project.
    """
    with writer() as session:
        lease = _get_lease(session, lease_id)
        if "name" in values and values["name"] != lease.name:
            _check_name_free(
                session, lease.project_id, values["name"], lease_id
            )
        for key, value in values.items():
            setattr(lease, key, value)
        session.flush()
        return _lease_to_dict(lease)


def lease_destroy(lease_id):
    """Delete a lease, its reservations and its events.

    :raises LeaseNotFound:
    """
    with writer() as session:
        session.delete(_get_lease(session, lease_id))


# Reservations ---------------------------------------------------------------


def reservation_get(reservation_id):
    """Return a reservation, with its type-specific fields.

    :raises ReservationNotFound:
    """
    with reader() as session:
        reservation = session.get(models.Reservation, reservation_id)
        if reservation is None:
            raise exceptions.ReservationNotFound(id=reservation_id)
        return _reservation_to_dict(reservation)


def reservation_update(reservation_id, values):
    """Update a reservation's columns other than its status; return it.

    :raises ReservationNotFound:
    """
    if "status" in values:
        raise ValueError(
            "a reservation's status changes only through "
            "reservations_transition"
        )
    with writer() as session:
        reservation = session.get(models.Reservation, reservation_id)
        if reservation is None:
            raise exceptions.ReservationNotFound(id=reservation_id)
        for key, value in values.items():
            setattr(reservation, key, value)
        session.flush()
        return _to_dict(reservation)

"""The database facade: the only module callers import to reach the core's
tables (a resource plugin reaches its own through its ``db`` package).

Functions are verb-first, open (or join) a reader or writer transaction, take
and return plain dicts, and raise Climate's ``NotFound`` subclasses.  Nothing
outside this module and the plugins' DB modules sees a SQLAlchemy session or
model instance.  Lease reads carry each reservation's type-specific fields,
read through what the plugin loader registered (``register_reservation_
fields``), one query per resource type.
"""

import functools
import random
import time

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy import orm

from climate import exceptions, states
from climate.db import engine, models
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

# The facade re-exports the compute layer's pool functions, kept in a
# module of their own.
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


# Resource types -------------------------------------------------------------
# The core names no resource type: the plugin loader registers, for each
# type, how to read its reservations' own fields and what its leases hold.

_field_loaders = {}
_usage_counters = {}


def register_reservation_fields(resource_type, loader):
    """Have lease reads carry the fields of ``resource_type``'s rows.

    :param loader: called as ``loader(reservation_ids)`` inside the read's
        transaction, once per read for every reservation of that type it
        returns; answers ``{reservation_id: {field: value}}`` (one query,
        not one per reservation).  Fields never replace a reservation's
        own columns.
    """
    _field_loaders[resource_type] = loader


def register_usage(resource_type, counter):
    """Have ``lease_usage`` count what leases hold of ``resource_type``.

    :param counter: called as ``counter(lease_ids)`` inside
        ``lease_usage``'s transaction; answers ``{lease_id: {name:
        amount}}``, such as ``{"hosts": 2}``, in one query.
    """
    _usage_counters[resource_type] = counter


def _add_type_fields(reservations):
    """Add each reservation's type-specific fields, one query per type."""
    by_type = {}
    for reservation in reservations:
        by_type.setdefault(reservation["resource_type"], []).append(
            reservation
        )
    for resource_type, rows in by_type.items():
        loader = _field_loaders.get(resource_type)
        if loader is None:
            continue
        fields = loader([r["id"] for r in rows])
        for reservation in rows:
            for key, value in fields.get(reservation["id"], {}).items():
                reservation.setdefault(key, value)
    return reservations


def _lease_to_dict(lease):
    values = _to_dict(lease)
    values["reservations"] = [_to_dict(r) for r in lease.reservations]
    values["events"] = [_to_dict(e) for e in lease.events]
    return values


def _leases_with_type_fields(leases):
    _add_type_fields([r for lease in leases for r in lease["reservations"]])
    return leases


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
            orm.selectinload(models.Lease.reservations),
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
        lease = _lease_to_dict(_get_lease(session, lease_id, project_id))
        return _leases_with_type_fields([lease])[0]


def lease_lock(lease_id, project_id=None):
    """Lock a lease's row until the enclosing transaction ends; return it.

    Call inside ``writer()``.  On SQLite the writer already holds the
    database lock; elsewhere this is ``SELECT ... FOR UPDATE``.

    :raises LeaseNotFound:
    """
    with writer() as session:
        lease = _lease_to_dict(
            _get_lease(session, lease_id, project_id, for_update=True)
        )
        return _leases_with_type_fields([lease])[0]


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
        leases = [_lease_to_dict(lease) for lease in session.scalars(query)]
        return _leases_with_type_fields(leases)


def lease_usage(project_id, start, end):
    """What a project holds in ``[start, end)``, for its usage limits.

    Returns its leases overlapping the window that are not TERMINATED, as
    ``{"id", "start_date", "end_date"}`` plus what the registered resource
    types count for each (``register_usage``), such as ``"hosts"``; an
    amount no type reports is absent.  Inside ``writer()`` this first
    takes a lock on the project, held until the transaction ends, so two
    writes of one project's leases check their limits one after the other.
    """
    query = sa.select(
        models.Lease.id, models.Lease.start_date, models.Lease.end_date
    ).where(
        models.Lease.project_id == project_id,
        models.Lease.status != states.LeaseStatus.TERMINATED,
        models.Lease.start_date < end,
        models.Lease.end_date > start,
    )
    with reader() as session:
        engine.lock_key(session, f"climate-usage:{project_id}")
        leases = [row._asdict() for row in session.execute(query)]
        ids = [lease["id"] for lease in leases]
        for counter in _usage_counters.values():
            if not ids:
                break
            counts = counter(ids)
            for lease in leases:
                for name, amount in counts.get(lease["id"], {}).items():
                    lease[name] = lease.get(name, 0) + amount
        return leases


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
        return _leases_with_type_fields([_lease_to_dict(lease)])[0]


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
        return _add_type_fields([_to_dict(reservation)])[0]


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

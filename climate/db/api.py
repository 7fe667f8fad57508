"""The database facade: the only module callers import to reach the core's
tables (a resource plugin reaches its own through its ``db`` package).

Functions are verb-first, open (or join) a reader or writer transaction, take
and return plain dicts, and raise Climate's ``NotFound`` subclasses.  Nothing
outside this module and the plugins' DB modules sees a SQLAlchemy session or
model instance.  Lease reads carry each reservation's type-specific fields,
read through what the plugin loader registered (``register_reservation_
fields``), one query per resource type.
"""

import contextlib
import functools
import random
import time

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from climate import exceptions, states
from climate.common import dates
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
from climate.db.idempotency import (  # noqa: F401
    idempotency_key_claim,
    idempotency_key_get,
    idempotency_key_record,
    idempotency_keys_expire,
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


# Leases ---------------------------------------------------------------------
# Read and written as plain rows (SQLAlchemy Core): a page of a thousand
# leases is three queries and a dict per row, no ORM objects.

_LEASES = models.Lease.__table__
_RESERVATIONS = models.Reservation.__table__
_EVENTS = models.Event.__table__


def _dicts(result):
    """The rows of ``result`` as dicts, fetched at once."""
    keys = list(result.keys())
    return [dict(zip(keys, row, strict=True)) for row in result.all()]


def _leases_from_rows(session, result, page=None):
    """Lease dicts, each with its ``reservations`` (oldest first) and
    ``events`` (by time), read in one query per table and per type.

    :param page: the query that selected the leases, to join their
        children to (a page of a thousand leases then costs no thousand
        bound parameters); default: by the leases' ids.
    """
    leases = _dicts(result)
    if not leases:
        return leases
    by_id = {}
    for lease in leases:
        lease["reservations"] = []
        lease["events"] = []
        by_id[lease["id"]] = lease
    if page is None:
        ids = sa.select(_LEASES.c.id).where(_LEASES.c.id.in_(list(by_id)))
    else:
        ids = page.with_only_columns(_LEASES.c.id)
    # A join to the page as a derived table: MariaDB refuses a LIMIT in
    # an IN subquery.
    ids = ids.subquery()
    for table, key in ((_RESERVATIONS, "reservations"), (_EVENTS, "events")):
        rows = _dicts(
            session.execute(
                sa.select(table).join(ids, table.c.lease_id == ids.c.id)
            )
        )
        for row in rows:
            by_id[row["lease_id"]][key].append(row)
    for lease in leases:
        lease["reservations"].sort(key=_by_creation)
        lease["events"].sort(key=_by_time)
    _add_type_fields([r for lease in leases for r in lease["reservations"]])
    return leases


def _by_creation(row):
    return row["created_at"], row["id"]


def _by_time(row):
    return row["time"], row["id"]


def _read_lease(session, lease_id, project_id=None, for_update=False):
    query = sa.select(_LEASES).where(_LEASES.c.id == lease_id)
    if project_id is not None:
        query = query.where(_LEASES.c.project_id == project_id)
    if for_update:
        query = query.with_for_update()
    leases = _leases_from_rows(session, session.execute(query))
    if not leases:
        raise exceptions.LeaseNotFound(id=lease_id)
    return leases[0]


def lease_create(values, reservations=(), events=()):
    """Insert a lease with its reservations and events; return the lease.

    :param values: the lease's columns.
    :param reservations: dicts of reservation columns, without
        ``lease_id``.
    :param events: dicts of event columns, without ``lease_id``.
    :raises LeaseNameAlreadyExists: the project already has a lease so named.
    """
    now = dates.utcnow()
    lease = {
        **{c.key: None for c in _LEASES.columns},
        "degraded": False,
        "kind": states.LeaseKind.ADVANCE,
        "requeue": False,
        "created_at": now,
        **values,
    }
    rows = [
        {
            **{c.key: None for c in _RESERVATIONS.columns},
            "missing_resources": False,
            "resources_changed": False,
            "created_at": now,
            **reservation,
            "lease_id": lease["id"],
        }
        for reservation in reservations
    ]
    with writer() as session:
        # The (project, name) unique constraint says whether the name is
        # free: no look-up first.  Nothing else of a new lease can clash.
        try:
            session.execute(sa.insert(_LEASES), [lease])
        except sa_exc.IntegrityError:
            raise exceptions.LeaseNameAlreadyExists(name=lease["name"])
        if rows:
            session.execute(sa.insert(_RESERVATIONS), rows)
        lease["reservations"] = rows
        lease["events"] = events_create(lease["id"], events)
        return lease


def reservations_create(lease_id, reservations):
    """Insert reservations of an existing lease (a queued lease being
    placed); return their rows.

    :param reservations: dicts of reservation columns, without
        ``lease_id``.
    """
    now = dates.utcnow()
    rows = [
        {
            **{c.key: None for c in _RESERVATIONS.columns},
            "missing_resources": False,
            "resources_changed": False,
            "created_at": now,
            **reservation,
            "lease_id": lease_id,
        }
        for reservation in reservations
    ]
    with writer() as session:
        if rows:
            session.execute(sa.insert(_RESERVATIONS), rows)
    return rows


def leases_queued():
    """The QUEUED leases, oldest first, without their children (a queued
    lease has neither reservations nor events yet)."""
    with reader() as session:
        return _dicts(
            session.execute(
                sa.select(_LEASES)
                .where(_LEASES.c.status == states.LeaseStatus.QUEUED)
                .order_by(_LEASES.c.created_at, _LEASES.c.id)
            )
        )


def lease_queue_note(lease_id, position, earliest_start):
    """Record a queued lease's place in the queue and its earliest
    possible start; a lease placed meanwhile is left alone."""
    with writer() as session:
        session.execute(
            sa.update(_LEASES)
            .where(
                _LEASES.c.id == lease_id,
                _LEASES.c.status == states.LeaseStatus.QUEUED,
            )
            .values(queue_position=position, earliest_start=earliest_start)
        )


@contextlib.contextmanager
def trial():
    """Run a block of writes inside the open writer's transaction, then
    undo them (a savepoint always rolled back): what the block raises
    still propagates, so "would this still be admitted?" can be asked
    without keeping the answer's rows."""
    with writer() as session:
        nested = session.begin_nested()
        try:
            yield
        finally:
            if nested.is_active:
                nested.rollback()


@contextlib.contextmanager
def savepoint():
    """Run a block of writes inside the open writer's transaction, kept
    if it succeeds and undone alone if it raises (the exception
    propagates)."""
    with writer() as session:
        with session.begin_nested():
            yield


def leases_preemptible(start, end):
    """Preemptible leases that may hold resources in ``[start, end)``
    (PENDING or ACTIVE, overlapping the window), latest start first, with
    their reservations and events."""
    with reader() as session:
        query = (
            sa.select(_LEASES)
            .where(
                _LEASES.c.kind == states.LeaseKind.PREEMPTIBLE,
                _LEASES.c.status.in_(
                    [states.LeaseStatus.PENDING, states.LeaseStatus.ACTIVE]
                ),
                _LEASES.c.start_date < end,
                _LEASES.c.end_date > start,
            )
            .order_by(_LEASES.c.start_date.desc(), _LEASES.c.id)
        )
        return _leases_from_rows(session, session.execute(query), query)


def reservations_with_type_fields(reservations):
    """Add to each reservation dict its type's own fields (one query per
    resource type); return them."""
    with reader():
        return _add_type_fields(reservations)


def _check_name_free(session, project_id, name, lease_id=None):
    query = sa.select(_LEASES.c.id).where(
        _LEASES.c.project_id == project_id, _LEASES.c.name == name
    )
    if lease_id is not None:
        query = query.where(_LEASES.c.id != lease_id)
    if session.scalar(query.limit(1)) is not None:
        raise exceptions.LeaseNameAlreadyExists(name=name)


def lease_get(lease_id, project_id=None):
    """Return a lease with its reservations and events.

    :param project_id: if given, a lease of another project is not found.
    :raises LeaseNotFound:
    """
    with reader() as session:
        return _read_lease(session, lease_id, project_id)


def lease_lock(lease_id, project_id=None):
    """Lock a lease's row until the enclosing transaction ends; return it.

    Call inside ``writer()``.  On SQLite the writer already holds the
    database lock; elsewhere this is ``SELECT ... FOR UPDATE``.

    :raises LeaseNotFound:
    """
    with writer() as session:
        return _read_lease(session, lease_id, project_id, for_update=True)


def lease_list(
    project_id=None, status=None, name=None, limit=None, marker=None
):
    """Return leases oldest first, with their reservations and events.

    :param marker: id of the last lease of the previous page.
    :raises InvalidMarker: the marker is not a lease of this listing.
    """
    with reader() as session:
        query = sa.select(_LEASES)
        if project_id is not None:
            query = query.where(_LEASES.c.project_id == project_id)
        if status is not None:
            query = query.where(_LEASES.c.status == status)
        if name is not None:
            query = query.where(_LEASES.c.name == name)
        if marker is not None:
            last = session.execute(
                sa.select(
                    _LEASES.c.id, _LEASES.c.created_at, _LEASES.c.project_id
                ).where(_LEASES.c.id == marker)
            ).first()
            if last is None or (
                project_id is not None and last.project_id != project_id
            ):
                raise exceptions.InvalidMarker(marker=marker)
            query = query.where(
                sa.or_(
                    _LEASES.c.created_at > last.created_at,
                    sa.and_(
                        _LEASES.c.created_at == last.created_at,
                        _LEASES.c.id > last.id,
                    ),
                )
            )
        query = query.order_by(_LEASES.c.created_at, _LEASES.c.id)
        if limit is not None:
            query = query.limit(limit)
        return _leases_from_rows(session, session.execute(query), query)


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
        lease = _read_lease(session, lease_id)
        if "name" in values and values["name"] != lease["name"]:
            _check_name_free(
                session, lease["project_id"], values["name"], lease_id
            )
        if values:
            session.execute(
                sa.update(_LEASES)
                .where(_LEASES.c.id == lease_id)
                .values(**values)
            )
            lease = _read_lease(session, lease_id)
        return lease


def lease_destroy(lease_id):
    """Delete a lease, its reservations and its events (and the rows
    plugins keep for its reservations, by the foreign keys' cascades).

    :raises LeaseNotFound:
    """
    with writer() as session:
        result = session.execute(
            sa.delete(_LEASES).where(_LEASES.c.id == lease_id)
        )
        if result.rowcount != 1:
            raise exceptions.LeaseNotFound(id=lease_id)


# Reservations ---------------------------------------------------------------


def reservation_get(reservation_id):
    """Return a reservation, with its type-specific fields.

    :raises ReservationNotFound:
    """
    with reader() as session:
        row = (
            session.execute(
                sa.select(_RESERVATIONS).where(
                    _RESERVATIONS.c.id == reservation_id
                )
            )
            .mappings()
            .first()
        )
        if row is None:
            raise exceptions.ReservationNotFound(id=reservation_id)
        return _add_type_fields([dict(row)])[0]


def reservation_update(reservation_id, values):
    """Update a reservation's columns other than its status; return the
    columns set (``updated_at`` among them).

    :raises ReservationNotFound:
    """
    if "status" in values:
        raise ValueError(
            "a reservation's status changes only through "
            "reservations_transition"
        )
    values = {**values, "updated_at": dates.utcnow()}
    with writer() as session:
        result = session.execute(
            sa.update(_RESERVATIONS)
            .where(_RESERVATIONS.c.id == reservation_id)
            .values(**values)
        )
        if result.rowcount != 1:
            raise exceptions.ReservationNotFound(id=reservation_id)
    return values

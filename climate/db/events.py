"""Events and status changes in the database.  Re-exported by
``climate.db.api``; callers import that module, never this one.

An event is claimed by one manager at a time.  A claim is a conditional
update that raises the event's ``claim_token`` (its fencing token) and
records who claimed it and when; the claimer's heartbeat renews
``claimed_at`` while its hook runs, and a claim not renewed for the
claim timeout is stale: another manager may take it over.  Every result
is recorded with a conditional update on (claimer, token), so a runner
whose claim was taken over, or that gave it up, changes nothing.

Status changes of leases, reservations and events all go through one
conditional update each, whose allowed sources come from the transition
tables (``climate.states``, and for leases ``climate.stages``).
"""

import uuid

import sqlalchemy as sa
from sqlalchemy import orm

from climate import exceptions, states
from climate.common import dates
from climate.db import engine, models

E = models.Event
_S = states.EventStatus


def _to_dict(obj):
    return {c.key: getattr(obj, c.key) for c in obj.__table__.columns}


# Leases and reservations ----------------------------------------------------


def lease_transition(lease_id, target, sources, reason=None, values=None):
    """Move a lease to ``target`` if it is in one of ``sources``.

    One conditional UPDATE: of two managers racing to move one lease,
    exactly one wins.  ``reason`` is recorded as ``status_reason`` (or
    cleared); ``values`` are other columns to set with the move.

    :param sources: the states the transition table allows the move from
        (``Lifecycle.lease_sources(target)``).
    :raises LeaseNotFound:
    :raises InvalidStateTransition: the lease's state forbids the move.
    """
    with engine.writer() as session:
        result = session.execute(
            sa.update(models.Lease)
            .where(
                models.Lease.id == lease_id,
                models.Lease.status.in_(sorted(sources)),
            )
            .values(
                status=target,
                status_reason=reason,
                updated_at=dates.utcnow(),
                **(values or {}),
            )
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:
            return
        current = session.scalar(
            sa.select(models.Lease.status).where(models.Lease.id == lease_id)
        )
        if current is None:
            raise exceptions.LeaseNotFound(id=lease_id)
        raise exceptions.InvalidStateTransition(
            kind="Lease", id=lease_id, current=current, target=target
        )


def reservations_transition(lease_id, target, reservation_ids=None):
    """Move a lease's reservations (or those of ``reservation_ids``) to
    ``target``; those already there stay.

    :raises InvalidStateTransition: one of them may not move there; none
        is changed then.
    """
    table = states.RESERVATION_TRANSITIONS
    allowed = states.sources(table, target) | {target}
    with engine.writer() as session:
        scope = [models.Reservation.lease_id == lease_id]
        if reservation_ids is not None:
            scope.append(models.Reservation.id.in_(list(reservation_ids)))
        stuck = session.execute(
            sa.select(models.Reservation.id, models.Reservation.status)
            .where(*scope, models.Reservation.status.not_in(sorted(allowed)))
            .limit(1)
        ).first()
        if stuck is not None:
            raise exceptions.InvalidStateTransition(
                kind="Reservation",
                id=stuck.id,
                current=stuck.status,
                target=target,
            )
        session.execute(
            sa.update(models.Reservation)
            .where(*scope, models.Reservation.status != target)
            .values(status=target, updated_at=dates.utcnow())
            .execution_options(synchronize_session=False)
        )


# Events ---------------------------------------------------------------------


def events_create(lease_id, events):
    """Insert events of a lease, each a dict of event columns; return
    them as stored, by time."""
    if not events:
        return []
    now = dates.utcnow()
    rows = [
        {
            **{c.key: None for c in E.__table__.columns},
            "id": str(uuid.uuid4()),
            "status": _S.UNDONE,
            "attempts": 0,
            "claim_token": 0,
            "created_at": now,
            **event,
            "lease_id": lease_id,
        }
        for event in events
    ]
    with engine.writer() as session:
        session.execute(sa.insert(E), rows)
    return sorted(rows, key=lambda row: (row["time"], row["id"]))


def event_create(values):
    """Insert one event; return it."""
    with engine.writer() as session:
        event = E(**{"claim_token": 0, **values})
        session.add(event)
        session.flush()
        return _to_dict(event)


def event_get(event_id):
    """Return an event.

    :raises EventNotFound:
    """
    with engine.reader() as session:
        event = session.get(E, event_id)
        if event is None:
            raise exceptions.EventNotFound(id=event_id)
        return _to_dict(event)


def event_update(event_id, values):
    """Update an event's columns other than its status; return it.

    :raises EventNotFound:
    """
    if "status" in values:
        raise ValueError("an event's status changes only through its claim")
    with engine.writer() as session:
        event = session.get(E, event_id)
        if event is None:
            raise exceptions.EventNotFound(id=event_id)
        for key, value in values.items():
            setattr(event, key, value)
        session.flush()
        return _to_dict(event)


def event_destroy(event_id):
    """Delete an event; deleting one that is gone is not an error."""
    with engine.writer() as session:
        session.execute(sa.delete(E).where(E.id == event_id))


def _due_clause(now, stale_before):
    undone = sa.and_(
        E.status == _S.UNDONE,
        E.time <= now,
        sa.or_(E.retry_at.is_(None), E.retry_at <= now),
    )
    stale = sa.and_(E.status == _S.IN_PROGRESS, E.claimed_at < stale_before)
    return sa.or_(undone, stale)


def _no_live_sibling(stale_before):
    """No other event of the same lease is held by a live claim: a
    lease's events run one at a time."""
    other = orm.aliased(E)
    return ~(
        sa.select(other.id)
        .where(
            other.lease_id == E.lease_id,
            other.id != E.id,
            other.status == _S.IN_PROGRESS,
            other.claimed_at >= stale_before,
        )
        .exists()
    )


def events_claim_due(now, claimer, stale_before, limit, rank=None):
    """Claim up to ``limit`` due events for ``claimer``; return them.

    An event is due when it is UNDONE, its time has come and its retry
    delay (if any) has passed, or when its claim went stale (not renewed
    since ``stale_before``: its manager died).  At most one event per
    lease is claimed, and none of a lease another live claim is working
    on.  Of each lease's due events the first by ``rank`` is claimed, and
    leases are served by ``rank`` too.

    :param rank: ``event -> sort key`` (see ``climate.stages``); default:
        by time.
    :returns: the claimed events as dicts, with their new
        ``claim_token``, in ``rank`` order.
    """
    if limit <= 0:
        return []
    rank = rank or (lambda event: (event["time"],))
    due = sa.and_(
        _due_clause(now, stale_before), _no_live_sibling(stale_before)
    )
    candidates_query = (
        sa.select(E.id, E.lease_id, E.event_type, E.time)
        .where(due)
        .order_by(E.time, E.id)
        .limit(max(4 * limit, 64))
    )
    # Most passes find nothing due: look first without taking SQLite's
    # single write lock, which lease writes wait for.
    with engine.reader() as session:
        if session.scalar(sa.select(E.id).where(due).limit(1)) is None:
            return []
    with engine.writer() as session:
        candidates = [
            row._asdict() for row in session.execute(candidates_query)
        ]
        first_per_lease = {}
        for candidate in sorted(candidates, key=rank):
            first_per_lease.setdefault(candidate["lease_id"], candidate)
        chosen = sorted(first_per_lease.values(), key=rank)[:limit]
        claimed = []
        for candidate in chosen:
            # The sibling test stays in the candidates' query: MariaDB
            # cannot read the table an UPDATE changes.  Two managers
            # racing for two events of one lease are kept apart by the
            # lease's busy state.
            result = session.execute(
                sa.update(E)
                .where(E.id == candidate["id"], _due_clause(now, stale_before))
                .values(
                    status=_S.IN_PROGRESS,
                    claimed_by=claimer,
                    claimed_at=now,
                    claim_token=E.claim_token + 1,
                    attempts=E.attempts + 1,
                )
                .execution_options(synchronize_session=False)
            )
            if result.rowcount == 1:
                claimed.append(candidate["id"])
        if not claimed:
            return []
        rows = {
            event.id: _to_dict(event)
            for event in session.scalars(
                sa.select(E)
                .where(E.id.in_(claimed))
                .execution_options(populate_existing=True)
            )
        }
        return [rows[event_id] for event_id in claimed]


def _held(event):
    """The event is still held by the claim ``event`` describes."""
    return sa.and_(
        E.id == event["id"],
        E.status == _S.IN_PROGRESS,
        E.claimed_by == event["claimed_by"],
        E.claim_token == event["claim_token"],
    )


def event_finish(event, status, error=None, retry_at=None, count_attempt=True):
    """Record the outcome of a claimed event, if the claim still holds.

    :param event: the event as claimed (``id``, ``claimed_by``,
        ``claim_token``).
    :param status: DONE, ERROR, or UNDONE: a retry at ``retry_at``, a run
        put off, or a claim given back.
    :param count_attempt: False to give back the attempt the claim
        counted (the hooks did not run).
    :returns: False when the claim no longer holds (taken over, or given
        up): nothing was changed.
    """
    if status == _S.IN_PROGRESS:
        raise ValueError("an event becomes IN_PROGRESS only by a claim")
    states.check_transition(
        states.EVENT_TRANSITIONS, "Event", event["id"], _S.IN_PROGRESS, status
    )
    values = {
        "status": status,
        "last_error": error,
        "retry_at": retry_at,
        "updated_at": dates.utcnow(),
    }
    if status == _S.UNDONE:
        values["claimed_by"] = None
    if not count_attempt:
        values["attempts"] = E.attempts - 1
    with engine.writer() as session:
        result = session.execute(
            sa.update(E)
            .where(_held(event))
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1


def events_renew(claimer, event_ids, now):
    """Heartbeat: renew ``claimer``'s claims on ``event_ids`` (the events
    it is running); return how many it still holds."""
    if not event_ids:
        return 0
    with engine.writer() as session:
        result = session.execute(
            sa.update(E)
            .where(
                E.id.in_(list(event_ids)),
                E.status == _S.IN_PROGRESS,
                E.claimed_by == claimer,
            )
            .values(claimed_at=now)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount


def events_release(claimer, event_ids):
    """Give back claims of ``claimer`` (a manager stopping cleanly): the
    events are due again at once for any manager, their attempt not
    counted.  Returns how many were given back."""
    if not event_ids:
        return 0
    with engine.writer() as session:
        result = session.execute(
            sa.update(E)
            .where(
                E.id.in_(list(event_ids)),
                E.status == _S.IN_PROGRESS,
                E.claimed_by == claimer,
            )
            .values(
                status=_S.UNDONE,
                claimed_by=None,
                attempts=E.attempts - 1,
                updated_at=dates.utcnow(),
            )
            .execution_options(synchronize_session=False)
        )
        return result.rowcount


def leases_with_unfinished_events(lease_ids, event_types, now):
    """Of ``lease_ids``, those with an event of ``event_types`` due at
    ``now`` that has not finished (UNDONE or IN_PROGRESS)."""
    lease_ids = list(lease_ids)
    if not lease_ids:
        return set()
    with engine.reader() as session:
        return set(
            session.scalars(
                sa.select(E.lease_id)
                .where(
                    E.lease_id.in_(lease_ids),
                    E.event_type.in_(list(event_types)),
                    E.status.in_([_S.UNDONE, _S.IN_PROGRESS]),
                    E.time <= now,
                )
                .distinct()
            )
        )


def event_next_due_time(stale_after):
    """When the next event becomes due, or None if no event is waiting.

    :param stale_after: how long a claim lasts without being renewed (a
        ``timedelta``).
    """
    undone_clause = E.status == _S.UNDONE
    with engine.reader() as session:
        # The runner asks often, so this must not read every waiting
        # event: a min() over an expression would.  The first event
        # without a retry comes from the (status, time) index; only events
        # waiting for a retry can be due before it, and those lie before
        # it on the same index.
        undone = session.scalar(
            sa.select(E.time)
            .where(undone_clause, E.retry_at.is_(None))
            .order_by(E.time)
            .limit(1)
        )
        retrying = sa.select(E.time, E.retry_at).where(
            undone_clause, E.retry_at.is_not(None)
        )
        if undone is not None:
            retrying = retrying.where(E.time < undone)
        for time, retry_at in session.execute(retrying):
            # Due once both its time and its retry delay have passed, as
            # _due_clause says (an event moved later keeps its retry_at).
            due = max(dates.as_datetime(time), dates.as_datetime(retry_at))
            if undone is None or due < dates.as_datetime(undone):
                undone = due
        running = session.scalar(
            sa.select(sa.func.min(E.claimed_at)).where(
                E.status == _S.IN_PROGRESS
            )
        )
    candidates = [undone, running and running + stale_after]
    candidates = [dates.as_datetime(c) for c in candidates if c is not None]
    return min(candidates) if candidates else None

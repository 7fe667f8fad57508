"""Lease, reservation and event states, and the transitions allowed between.

State is data.  The reservation and event tables are here; the lease table
is made from the lifecycle's stages (``climate.stages``), since the stages
decide which busy states a lease passes through.  Every status change goes
through one conditional update in ``climate.db.api`` that takes its
allowed sources from these tables, so a change the table forbids never
happens, and of two managers racing for one change exactly one wins.
"""

from climate import exceptions


class LeaseStatus:
    """Where a lease is in its life.

    Stable states are where a lease rests between operations; a
    transitional state is shown while a stage works on the lease, and
    locks it: another operation finds the lease busy.
    """

    PENDING = "PENDING"
    # A best-effort lease accepted but not yet placed by the scheduler.
    QUEUED = "QUEUED"
    ACTIVE = "ACTIVE"
    TERMINATED = "TERMINATED"
    ERROR = "ERROR"
    # A plugin takes hold, at once after the lease is committed, of what
    # it reserves (a reserved server is shelved until the start, say).
    RESERVING = "RESERVING"
    PREPARING = "PREPARING"
    STARTING = "STARTING"
    UPDATING = "UPDATING"
    TERMINATING = "TERMINATING"
    RECLAIMING = "RECLAIMING"
    DELETING = "DELETING"

    STABLE = frozenset({QUEUED, PENDING, ACTIVE, TERMINATED, ERROR})
    TRANSITIONAL = frozenset(
        {
            RESERVING,
            PREPARING,
            STARTING,
            UPDATING,
            TERMINATING,
            RECLAIMING,
            DELETING,
        }
    )
    ALL = STABLE | TRANSITIONAL


class LeaseKind:
    """How a lease gets its window.

    ``advance``: the window asked for, or a refusal (the default, and all
    a client that does not send ``kind`` knows).  ``best_effort``: a
    duration and an earliest start; queued at once, then placed by the
    scheduler on the earliest window that fits.  ``preemptible``: a window
    on capacity no advance lease needs, ended early with notice when one
    does.
    """

    ADVANCE = "advance"
    BEST_EFFORT = "best_effort"
    PREEMPTIBLE = "preemptible"

    ALL = (ADVANCE, BEST_EFFORT, PREEMPTIBLE)


class ReservationStatus:
    """Where a reservation is: waiting, in use, given back, failed."""

    PENDING = "pending"
    ACTIVE = "active"
    DELETED = "deleted"
    ERROR = "error"

    ALL = frozenset({PENDING, ACTIVE, DELETED, ERROR})


class EventStatus:
    """Where an event is: waiting, claimed by a manager, finished."""

    UNDONE = "UNDONE"
    IN_PROGRESS = "IN_PROGRESS"
    DONE = "DONE"
    ERROR = "ERROR"

    ALL = frozenset({UNDONE, IN_PROGRESS, DONE, ERROR})


_R = ReservationStatus
_E = EventStatus

# A reservation of a lease that failed is still given back at its end.
RESERVATION_TRANSITIONS = {
    _R.PENDING: frozenset({_R.ACTIVE, _R.DELETED, _R.ERROR}),
    _R.ACTIVE: frozenset({_R.DELETED, _R.ERROR}),
    _R.ERROR: frozenset({_R.DELETED}),
    _R.DELETED: frozenset(),
}

# IN_PROGRESS → IN_PROGRESS: a claim taken over from a manager that died.
# IN_PROGRESS → UNDONE: a failed attempt waiting for its retry, a run put
# off, or a claim given back when its manager stops.
EVENT_TRANSITIONS = {
    _E.UNDONE: frozenset({_E.IN_PROGRESS}),
    _E.IN_PROGRESS: frozenset({_E.IN_PROGRESS, _E.UNDONE, _E.DONE, _E.ERROR}),
    _E.DONE: frozenset(),
    _E.ERROR: frozenset(),
}


def sources(table, target):
    """The states from which ``table`` allows a move to ``target``."""
    return frozenset(src for src, dests in table.items() if target in dests)


def check_transition(table, kind, obj_id, current, target):
    """Raise ``InvalidStateTransition`` unless ``table`` allows it.

    :param kind: what moves, for the message (``"Reservation"``...).
    """
    if target not in table.get(current, ()):
        raise exceptions.InvalidStateTransition(
            kind=kind, id=obj_id, current=current, target=target
        )

"""Lease, reservation and event states, and the transitions allowed between.

State is data: each kind has its constants and one table mapping a state to
the states it may move to.  ``check_transition`` is the only place that reads
the tables.
"""

from climate import exceptions


class LeaseStatus:
    # Stable states: where a lease rests between operations.
    PENDING = "PENDING"
    ACTIVE = "ACTIVE"
    TERMINATED = "TERMINATED"
    ERROR = "ERROR"
    # Transitional states: an operation on the lease is under way.  They act
    # as the lease's lock: a second operation finds the lease busy.
    CREATING = "CREATING"
    STARTING = "STARTING"
    UPDATING = "UPDATING"
    TERMINATING = "TERMINATING"
    DELETING = "DELETING"

    STABLE = frozenset({PENDING, ACTIVE, TERMINATED, ERROR})
    TRANSITIONAL = frozenset(
        {CREATING, STARTING, UPDATING, TERMINATING, DELETING}
    )
    ALL = STABLE | TRANSITIONAL


class ReservationStatus:
    PENDING = "pending"
    ACTIVE = "active"
    DELETED = "deleted"
    ERROR = "error"

    ALL = frozenset({PENDING, ACTIVE, DELETED, ERROR})


class EventStatus:
    UNDONE = "UNDONE"
    IN_PROGRESS = "IN_PROGRESS"
    DONE = "DONE"
    ERROR = "ERROR"

    ALL = frozenset({UNDONE, IN_PROGRESS, DONE, ERROR})


class EventType:
    START_LEASE = "start_lease"
    END_LEASE = "end_lease"
    BEFORE_END_LEASE = "before_end_lease"

    # The order events run in when several are due in one pass: what ends
    # goes first, so back-to-back leases on one host hand over cleanly.
    # Plugin events (preparation and the like) run between ends and starts.
    _PRIORITY = {BEFORE_END_LEASE: 0, END_LEASE: 1, START_LEASE: 3}

    @classmethod
    def priority(cls, event_type):
        return cls._PRIORITY.get(event_type, 2)


_L = LeaseStatus
_R = ReservationStatus
_E = EventStatus

# A transitional state may be entered again from itself: an event whose
# manager died half-way is claimed again and resumes where it stopped.
LEASE_TRANSITIONS = {
    _L.CREATING: {_L.PENDING, _L.ACTIVE, _L.ERROR},
    _L.PENDING: {
        _L.STARTING,
        _L.UPDATING,
        _L.DELETING,
        _L.TERMINATING,
        _L.ERROR,
    },
    # A failed start or end goes back to where it came from until retried.
    # The end may come due while a start is left half done (its manager
    # died): it takes the resources back all the same.
    _L.STARTING: {
        _L.STARTING,
        _L.ACTIVE,
        _L.PENDING,
        _L.TERMINATING,
        _L.ERROR,
    },
    _L.ACTIVE: {_L.UPDATING, _L.TERMINATING, _L.DELETING, _L.ERROR},
    _L.UPDATING: {_L.PENDING, _L.ACTIVE, _L.TERMINATED, _L.ERROR},
    _L.TERMINATING: {
        _L.TERMINATING,
        _L.TERMINATED,
        _L.ACTIVE,
        _L.PENDING,
        _L.ERROR,
    },
    _L.TERMINATED: {_L.UPDATING, _L.DELETING},
    _L.ERROR: {_L.UPDATING, _L.DELETING, _L.TERMINATING, _L.STARTING},
    _L.DELETING: {_L.DELETING, _L.ERROR},
}

RESERVATION_TRANSITIONS = {
    _R.PENDING: {_R.ACTIVE, _R.DELETED, _R.ERROR},
    _R.ACTIVE: {_R.ACTIVE, _R.DELETED, _R.ERROR},
    _R.DELETED: {_R.DELETED},
    _R.ERROR: {_R.ERROR, _R.ACTIVE, _R.DELETED},
}

EVENT_TRANSITIONS = {
    _E.UNDONE: {_E.IN_PROGRESS},
    _E.IN_PROGRESS: {_E.IN_PROGRESS, _E.UNDONE, _E.DONE, _E.ERROR},
    _E.DONE: set(),
    _E.ERROR: set(),
}

_TABLES = {
    "Lease": LEASE_TRANSITIONS,
    "Reservation": RESERVATION_TRANSITIONS,
    "Event": EVENT_TRANSITIONS,
}


def allowed_sources(kind, target):
    """Return the states from which ``kind`` may move to ``target``."""
    table = _TABLES[kind]
    return frozenset(src for src, dests in table.items() if target in dests)


def check_transition(kind, obj_id, current, target):
    """Raise ``InvalidStateTransition`` unless current → target is allowed.

    :param kind: ``"Lease"``, ``"Reservation"`` or ``"Event"``.
    """
    if target not in _TABLES[kind].get(current, ()):
        raise exceptions.InvalidStateTransition(
            kind=kind, id=obj_id, current=current, target=target
        )


def lease_stable_status(events):
    """Derive a lease's stable state from its events' states.

    A failed event makes the lease ERROR; otherwise a done end makes it
    TERMINATED, a done start ACTIVE, and nothing done yet PENDING.
    """
    by_type = {e["event_type"]: e["status"] for e in events}
    if _E.ERROR in by_type.values():
        return _L.ERROR
    if by_type.get(EventType.END_LEASE) == _E.DONE:
        return _L.TERMINATED
    if by_type.get(EventType.START_LEASE) == _E.DONE:
        return _L.ACTIVE
    return _L.PENDING

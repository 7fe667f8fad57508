"""The state tables (climate.states, and the lease table the lifecycle
makes), walked pair by pair against the one function that changes each
status on the real database."""

import datetime
import itertools
import uuid

import pytest

from climate import exceptions, stages, states
from climate.db import api as db_api

L = states.LeaseStatus
R = states.ReservationStatus
E = states.EventStatus

LIFECYCLE = stages.Lifecycle()
_T0 = datetime.datetime(2030, 1, 1)


def test_lease_stable_and_transitional_states_partition_all():
    assert L.STABLE | L.TRANSITIONAL == L.ALL
    assert not L.STABLE & L.TRANSITIONAL


@pytest.mark.parametrize(
    "table,every",
    [
        (LIFECYCLE.lease_transitions, L.ALL),
        (states.RESERVATION_TRANSITIONS, R.ALL),
        (states.EVENT_TRANSITIONS, E.ALL),
    ],
)
def test_every_state_has_a_row_and_only_known_targets(table, every):
    assert set(table) == every
    for targets in table.values():
        assert targets <= every


def test_the_core_lease_table_is_tight():
    assert LIFECYCLE.lease_transitions == {
        L.QUEUED: {L.PENDING, L.TERMINATED},
        L.PENDING: {L.STARTING, L.TERMINATING, L.DELETING},
        L.STARTING: {L.STARTING, L.ACTIVE, L.PENDING, L.ERROR},
        L.ACTIVE: {L.UPDATING, L.TERMINATING, L.DELETING},
        L.UPDATING: {L.UPDATING, L.ACTIVE},
        L.TERMINATING: {L.TERMINATING, L.TERMINATED, L.ERROR},
        L.TERMINATED: {L.DELETING},
        L.ERROR: {L.TERMINATING, L.DELETING},
        L.DELETING: {L.DELETING, L.ERROR},
        # Only plugin stages pass through these.
        L.RESERVING: set(),
        L.PREPARING: set(),
        L.RECLAIMING: set(),
    }


def test_every_transitional_state_reached_leads_back_to_a_stable_one():
    for state, targets in LIFECYCLE.lease_transitions.items():
        if state in L.TRANSITIONAL and targets:
            assert targets & L.STABLE, state


def test_sources_read_the_table_backwards():
    table = LIFECYCLE.lease_transitions
    for target in L.ALL:
        assert LIFECYCLE.lease_sources(target) == {
            src for src, dests in table.items() if target in dests
        }


def test_check_transition_names_object_and_states():
    with pytest.raises(exceptions.InvalidStateTransition) as info:
        states.check_transition(
            states.RESERVATION_TRANSITIONS,
            "Reservation",
            "r",
            R.DELETED,
            R.ACTIVE,
        )
    assert info.value.code == 409
    assert info.value.message == (
        "Reservation r is deleted and cannot become active now"
    )
    with pytest.raises(exceptions.InvalidStateTransition):
        states.check_transition(
            states.EVENT_TRANSITIONS, "Event", "e", "BOGUS", E.DONE
        )


def _lease(status):
    lease_id = str(uuid.uuid4())
    return db_api.lease_create(
        {
            "id": lease_id,
            "name": lease_id,
            "project_id": "p",
            "user_id": "u",
            "start_date": _T0,
            "end_date": _T0,
            "status": status,
            "degraded": False,
        },
        [{"id": str(uuid.uuid4()), "resource_type": "x", "status": R.PENDING}],
        [
            {
                "id": str(uuid.uuid4()),
                "event_type": "start_lease",
                "time": _T0,
                "status": E.UNDONE,
                "attempts": 0,
            }
        ],
    )


def test_lease_table_and_code_agree_on_every_pair(database):
    table = LIFECYCLE.lease_transitions
    for current, target in itertools.product(sorted(L.ALL), repeat=2):
        lease = _lease(current)
        allowed = target in table[current]
        try:
            db_api.lease_transition(
                lease["id"], target, LIFECYCLE.lease_sources(target)
            )
        except exceptions.InvalidStateTransition:
            moved = False
        else:
            moved = True
        assert moved == allowed, (current, target)
        expected = target if allowed else current
        assert db_api.lease_get(lease["id"])["status"] == expected


def test_reservation_table_and_code_agree_on_every_pair(database):
    table = states.RESERVATION_TRANSITIONS
    for current, target in itertools.product(sorted(R.ALL), repeat=2):
        lease = _lease(L.PENDING)
        if current != R.PENDING:
            db_api.reservations_transition(lease["id"], current)
        allowed = target in table[current] or target == current
        try:
            db_api.reservations_transition(lease["id"], target)
        except exceptions.InvalidStateTransition:
            moved = False
        else:
            moved = True
        assert moved == allowed, (current, target)
        status = db_api.lease_get(lease["id"])["reservations"][0]["status"]
        assert status == (target if allowed else current)


def test_event_table_and_code_agree_on_every_pair(database):
    table = states.EVENT_TRANSITIONS
    # An event enters IN_PROGRESS only by a claim (from UNDONE, or from a
    # stale IN_PROGRESS), and leaves it only through its claim.
    for target in sorted(E.ALL):
        lease = _lease(L.PENDING)
        [claimed] = db_api.events_claim_due(
            _T0, "m", _T0.replace(year=2029), 1
        )
        assert claimed["lease_id"] == lease["id"]
        if target == E.IN_PROGRESS:
            with pytest.raises(ValueError):
                db_api.event_finish(claimed, target)
            [taken] = db_api.events_claim_due(
                _T0.replace(year=2031), "n", _T0.replace(year=2031), 1
            )
            assert taken["id"] == claimed["id"]
        elif target in table[E.IN_PROGRESS]:
            assert db_api.event_finish(claimed, target)
        else:
            with pytest.raises(exceptions.InvalidStateTransition):
                db_api.event_finish(claimed, target)
        db_api.lease_destroy(lease["id"])
    for final in (E.DONE, E.ERROR):
        assert table[final] == set()
        # A finished event is never claimed again.
    assert table[E.UNDONE] == {E.IN_PROGRESS}

"""The state tables of climate.states and the one function that reads them."""

import pytest

from climate import exceptions, states

L = states.LeaseStatus
R = states.ReservationStatus
E = states.EventStatus
ET = states.EventType

TABLES = {
    "Lease": (states.LEASE_TRANSITIONS, L.ALL),
    "Reservation": (states.RESERVATION_TRANSITIONS, R.ALL),
    "Event": (states.EVENT_TRANSITIONS, E.ALL),
}


def _pairs(kind):
    table, every = TABLES[kind]
    for current in sorted(every):
        for target in sorted(every):
            yield current, target, target in table.get(current, ())


@pytest.mark.parametrize("kind", sorted(TABLES))
def test_every_state_has_a_row_and_only_known_targets(kind):
    table, every = TABLES[kind]
    assert set(table) == set(every)
    for targets in table.values():
        assert set(targets) <= set(every)


def test_lease_stable_and_transitional_states_partition_all():
    assert L.STABLE.isdisjoint(L.TRANSITIONAL)
    assert L.STABLE | L.TRANSITIONAL == L.ALL
    assert L.STABLE == {"PENDING", "ACTIVE", "TERMINATED", "ERROR"}
    assert L.TRANSITIONAL == {
        "CREATING",
        "STARTING",
        "UPDATING",
        "TERMINATING",
        "DELETING",
    }


@pytest.mark.parametrize("kind", sorted(TABLES))
def test_check_transition_follows_the_table(kind):
    for current, target, allowed in _pairs(kind):
        if allowed:
            assert states.check_transition(kind, "x", current, target) is None
        else:
            with pytest.raises(exceptions.InvalidStateTransition) as info:
                states.check_transition(kind, "x", current, target)
            assert info.value.code == 409
            assert info.value.kwargs["current"] == current
            assert info.value.kwargs["target"] == target


def test_check_transition_message_names_object_and_states():
    with pytest.raises(exceptions.InvalidStateTransition) as info:
        states.check_transition("Lease", "abc", L.STARTING, L.DELETING)
    assert info.value.message == (
        "Lease abc is STARTING and cannot become DELETING now"
    )
    assert isinstance(info.value, exceptions.Conflict)


def test_check_transition_from_unknown_state_is_refused():
    with pytest.raises(exceptions.InvalidStateTransition):
        states.check_transition("Lease", "abc", "BOGUS", L.PENDING)


@pytest.mark.parametrize("kind", sorted(TABLES))
def test_allowed_sources_is_the_table_read_backwards(kind):
    table, every = TABLES[kind]
    for target in every:
        expected = {src for src, dests in table.items() if target in dests}
        assert states.allowed_sources(kind, target) == expected


def test_lease_lifecycle_transitions():
    # create, start, end, delete: each step is allowed in order.
    path = [
        L.CREATING,
        L.PENDING,
        L.STARTING,
        L.ACTIVE,
        L.TERMINATING,
        L.TERMINATED,
        L.DELETING,
    ]
    for current, target in zip(path, path[1:], strict=False):
        states.check_transition("Lease", "l", current, target)


@pytest.mark.parametrize(
    "current,target",
    [
        (L.STARTING, L.DELETING),
        (L.STARTING, L.UPDATING),
        (L.UPDATING, L.UPDATING),
        (L.DELETING, L.PENDING),
        (L.TERMINATED, L.ACTIVE),
        (L.TERMINATED, L.STARTING),
        (L.PENDING, L.ACTIVE),
        (L.PENDING, L.TERMINATED),
    ],
)
def test_lease_transitions_refused(current, target):
    with pytest.raises(exceptions.InvalidStateTransition):
        states.check_transition("Lease", "l", current, target)


def test_transitional_lease_states_can_reach_a_stable_state():
    for state in L.TRANSITIONAL:
        assert states.LEASE_TRANSITIONS[state] & L.STABLE, state


def test_a_claimed_again_event_may_resume_its_busy_state():
    # A manager that died half-way leaves the lease STARTING/TERMINATING.
    for state in (L.STARTING, L.TERMINATING, L.DELETING):
        states.check_transition("Lease", "l", state, state)


def test_reservation_transitions():
    states.check_transition("Reservation", "r", R.PENDING, R.ACTIVE)
    states.check_transition("Reservation", "r", R.ACTIVE, R.DELETED)
    # Anything still holding resources may fail; deleted is final.
    for state in R.ALL - {R.DELETED}:
        states.check_transition("Reservation", "r", state, R.ERROR)
    assert states.RESERVATION_TRANSITIONS[R.DELETED] == {R.DELETED}
    with pytest.raises(exceptions.InvalidStateTransition):
        states.check_transition("Reservation", "r", R.DELETED, R.ACTIVE)


def test_event_transitions():
    states.check_transition("Event", "e", E.UNDONE, E.IN_PROGRESS)
    states.check_transition("Event", "e", E.IN_PROGRESS, E.DONE)
    states.check_transition("Event", "e", E.IN_PROGRESS, E.ERROR)
    # A failed attempt waits for its retry.
    states.check_transition("Event", "e", E.IN_PROGRESS, E.UNDONE)
    for final in (E.DONE, E.ERROR):
        assert states.EVENT_TRANSITIONS[final] == set()
    with pytest.raises(exceptions.InvalidStateTransition):
        states.check_transition("Event", "e", E.UNDONE, E.DONE)


def test_event_priority_runs_ends_before_starts():
    order = sorted(
        [ET.START_LEASE, "prepare_hosts", ET.END_LEASE, ET.BEFORE_END_LEASE],
        key=ET.priority,
    )
    assert order == [
        ET.BEFORE_END_LEASE,
        ET.END_LEASE,
        "prepare_hosts",
        ET.START_LEASE,
    ]


def _events(**by_type):
    return [{"event_type": t, "status": s} for t, s in by_type.items()]


@pytest.mark.parametrize(
    "start,before_end,end,expected",
    [
        (E.UNDONE, E.UNDONE, E.UNDONE, L.PENDING),
        (E.IN_PROGRESS, E.UNDONE, E.UNDONE, L.PENDING),
        (E.DONE, E.UNDONE, E.UNDONE, L.ACTIVE),
        (E.DONE, E.DONE, E.UNDONE, L.ACTIVE),
        (E.DONE, E.DONE, E.IN_PROGRESS, L.ACTIVE),
        (E.DONE, E.DONE, E.DONE, L.TERMINATED),
        # The start was skipped (the manager was down for the window).
        (E.DONE, E.UNDONE, E.DONE, L.TERMINATED),
        (E.ERROR, E.UNDONE, E.UNDONE, L.ERROR),
        (E.DONE, E.ERROR, E.UNDONE, L.ERROR),
        (E.DONE, E.DONE, E.ERROR, L.ERROR),
    ],
)
def test_lease_stable_status(start, before_end, end, expected):
    events = _events(
        start_lease=start, before_end_lease=before_end, end_lease=end
    )
    assert states.lease_stable_status(events) == expected
    assert states.lease_stable_status(events) in L.STABLE


def test_lease_stable_status_without_events_is_pending():
    assert states.lease_stable_status([]) == L.PENDING


def test_an_end_may_take_over_a_start_left_half_done():
    # The start's manager died in on_start; the end comes due.
    states.check_transition("Lease", "l", L.STARTING, L.TERMINATING)

"""climate.db.events (through climate.db.api) on a real SQLite database:
status changes, claims with fencing tokens, heartbeats, take-overs."""

import datetime
import threading

import pytest

from climate import exceptions, states
from climate.db import api as db_api
from tests.unit.db.test_api import ET, T0, E, L, event, make_lease, minutes

R = states.ReservationStatus


def reservation(status=R.PENDING):
    from tests.unit.db.test_api import reservation as build

    return build(status)


# lease_transition ---------------------------------------------------------


def test_lease_transition_moves_and_records_the_reason(database):
    lease = make_lease()
    db_api.lease_transition(lease["id"], L.STARTING, {L.PENDING})
    assert db_api.lease_get(lease["id"])["status"] == L.STARTING
    db_api.lease_transition(
        lease["id"], L.PENDING, {L.STARTING}, "start failed"
    )
    got = db_api.lease_get(lease["id"])
    assert got["status"] == L.PENDING
    assert got["status_reason"] == "start failed"
    assert got["updated_at"] is not None
    # The next transition clears the reason; other columns may go along.
    db_api.lease_transition(
        lease["id"], L.STARTING, {L.PENDING}, values={"degraded": True}
    )
    got = db_api.lease_get(lease["id"])
    assert got["status_reason"] is None
    assert got["degraded"] is True


def test_lease_transition_refused_names_the_current_state(database):
    lease = make_lease(status=L.STARTING)
    with pytest.raises(exceptions.InvalidStateTransition) as info:
        db_api.lease_transition(lease["id"], L.DELETING, {L.ACTIVE})
    error = info.value
    assert error.code == 409
    assert error.kwargs["current"] == L.STARTING
    assert error.kwargs["target"] == L.DELETING
    assert "STARTING" in error.message
    assert db_api.lease_get(lease["id"])["status"] == L.STARTING


def test_lease_transition_unknown_lease_is_not_found(database):
    with pytest.raises(exceptions.LeaseNotFound):
        db_api.lease_transition("missing", L.STARTING, {L.PENDING})


def test_concurrent_transitions_have_one_winner(database):
    leases = [make_lease(name=f"l{i}") for i in range(5)]
    barrier = threading.Barrier(4)
    wins = []
    losses = []
    lock = threading.Lock()

    def race():
        barrier.wait(5)
        for lease in leases:
            try:
                db_api.lease_transition(lease["id"], L.STARTING, {L.PENDING})
            except exceptions.InvalidStateTransition:
                outcome = losses
            else:
                outcome = wins
            with lock:
                outcome.append(lease["id"])

    threads = [threading.Thread(target=race) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(wins) == sorted(lease["id"] for lease in leases)
    assert len(losses) == 3 * len(leases)


def test_lease_transition_rolls_back_with_the_enclosing_writer(database):
    lease = make_lease()
    with pytest.raises(RuntimeError):
        with db_api.writer():
            db_api.lease_transition(lease["id"], L.STARTING, {L.PENDING})
            raise RuntimeError("boom")
    assert db_api.lease_get(lease["id"])["status"] == L.PENDING


# reservations_transition --------------------------------------------------


def test_reservations_transition_follows_the_table(database):
    lease = make_lease(
        reservations=[reservation(), reservation(R.ACTIVE)],
    )
    first, second = (r["id"] for r in lease["reservations"])
    # Already there stays; pending moves.
    db_api.reservations_transition(lease["id"], R.ACTIVE)
    assert {
        r["status"] for r in db_api.lease_get(lease["id"])["reservations"]
    } == {R.ACTIVE}
    db_api.reservations_transition(lease["id"], R.DELETED, [first])
    got = {
        r["id"]: r["status"]
        for r in db_api.lease_get(lease["id"])["reservations"]
    }
    assert got == {first: R.DELETED, second: R.ACTIVE}
    # deleted → active is not in the table: nothing moves, not even the
    # reservation that could.
    with pytest.raises(exceptions.InvalidStateTransition) as info:
        db_api.reservations_transition(lease["id"], R.ACTIVE)
    assert info.value.kwargs["current"] == R.DELETED
    assert info.value.kwargs["kind"] == "Reservation"
    with pytest.raises(exceptions.InvalidStateTransition):
        db_api.reservations_transition(lease["id"], R.ERROR)
    got = {
        r["id"]: r["status"]
        for r in db_api.lease_get(lease["id"])["reservations"]
    }
    assert got == {first: R.DELETED, second: R.ACTIVE}


# event_create / event_update / event_destroy ------------------------------


def test_event_create_update_and_destroy(database):
    lease = make_lease()
    created = db_api.event_create(
        {**event("prepare_hosts", T0), "lease_id": lease["id"]}
    )
    assert created["claim_token"] == 0
    assert [e["id"] for e in db_api.lease_get(lease["id"])["events"]] == [
        created["id"]
    ]
    moved = db_api.event_update(created["id"], {"time": T0 + minutes(5)})
    assert moved["time"] == T0 + minutes(5)
    # A status changes only through a claim.
    with pytest.raises(ValueError):
        db_api.event_update(created["id"], {"status": E.DONE})
    with pytest.raises(exceptions.EventNotFound):
        db_api.event_update("missing", {"time": T0})
    db_api.event_destroy(created["id"])
    db_api.event_destroy(created["id"])  # already gone: not an error
    assert db_api.lease_get(lease["id"])["events"] == []


def test_events_create_writes_waiting_events(database):
    lease = make_lease()
    db_api.events_create(
        lease["id"],
        [
            {"event_type": ET.START_LEASE, "time": T0},
            {"event_type": "prepare", "time": T0, "reservation_id": None},
        ],
    )
    got = db_api.lease_get(lease["id"])["events"]
    assert {(e["status"], e["attempts"], e["claim_token"]) for e in got} == {
        (E.UNDONE, 0, 0)
    }


# events_claim_due ---------------------------------------------------------


def _claim(now, claimer="m1", stale_before=None, limit=10):
    stale_before = stale_before or now - minutes(10)
    return db_api.events_claim_due(now, claimer, stale_before, limit)


def test_claim_takes_due_undone_events_only(database):
    lease = make_lease(
        events=[
            event(ET.START_LEASE, T0),
            event(ET.END_LEASE, T0 + minutes(60)),
            event("done", T0 - minutes(5), status=E.DONE),
            event("failed", T0 - minutes(5), status=E.ERROR),
        ]
    )
    assert _claim(T0 - minutes(1)) == []
    [got] = _claim(T0)
    assert got["event_type"] == ET.START_LEASE
    assert got["status"] == E.IN_PROGRESS
    assert got["claimed_by"] == "m1"
    assert got["claimed_at"] == T0
    assert got["attempts"] == 1
    assert got["claim_token"] == 1
    assert got["lease_id"] == lease["id"]
    # Claimed events are not due again for anyone.
    assert _claim(T0, "m2") == []


def test_claim_takes_one_event_of_a_lease_at_a_time(database):
    make_lease(
        events=[event(ET.START_LEASE, T0), event(ET.END_LEASE, T0)],
    )
    [first] = _claim(T0 + minutes(1))
    # The other is due, but its lease is being worked on.
    assert _claim(T0 + minutes(1), "m2") == []
    assert db_api.event_finish(first, E.DONE)
    [second] = _claim(T0 + minutes(1), "m2")
    assert second["id"] != first["id"]


def test_claim_ranks_each_leases_events_and_the_leases(database):
    make_lease(
        name="a",
        events=[event(ET.START_LEASE, T0), event(ET.END_LEASE, T0)],
    )
    make_lease(name="b", events=[event(ET.START_LEASE, T0 - minutes(1))])
    rank = {ET.END_LEASE: 0, ET.START_LEASE: 1}
    claimed = db_api.events_claim_due(
        T0,
        "m1",
        T0 - minutes(10),
        10,
        rank=lambda e: (rank[e["event_type"]], e["time"]),
    )
    assert [e["event_type"] for e in claimed] == [
        ET.END_LEASE,
        ET.START_LEASE,
    ]


def test_claim_respects_the_limit_oldest_first(database):
    for i in range(5):
        make_lease(name=f"l{i}", events=[event(time=T0 + minutes(i))])
    first = _claim(T0 + minutes(10), limit=2)
    assert sorted(e["time"] for e in first) == [T0, T0 + minutes(1)]
    assert len(_claim(T0 + minutes(10), limit=10)) == 3
    assert _claim(T0 + minutes(10), limit=0) == []


def test_claim_honours_retry_at(database):
    make_lease(events=[event(time=T0, retry_at=T0 + minutes(5))])
    assert _claim(T0 + minutes(4)) == []
    assert len(_claim(T0 + minutes(5))) == 1


def test_an_event_moved_past_its_retry_at_waits_for_its_time(database):
    # An update moved the event later after a failed attempt.
    make_lease(events=[event(time=T0 + minutes(30), retry_at=T0)])
    assert db_api.event_next_due_time(minutes(10)) == T0 + minutes(30)
    assert _claim(T0 + minutes(29)) == []
    assert len(_claim(T0 + minutes(30))) == 1


def test_claim_takes_over_stale_claims_with_a_new_token(database):
    make_lease(
        events=[
            event(
                time=T0,
                status=E.IN_PROGRESS,
                claimed_by="dead",
                claimed_at=T0,
                attempts=1,
                claim_token=1,
            )
        ]
    )
    now = T0 + minutes(10)
    # Last renewed at T0, not stale before T0: still the other manager's.
    assert _claim(now, "m2", stale_before=T0) == []
    [claimed] = _claim(now, "m2", stale_before=T0 + minutes(1))
    assert claimed["claimed_by"] == "m2"
    assert claimed["claimed_at"] == now
    assert claimed["attempts"] == 2
    assert claimed["claim_token"] == 2


def test_concurrent_claimers_never_share_an_event(database):
    for i in range(30):
        make_lease(name=f"l{i}", events=[event(time=T0 + minutes(i))])
    barrier = threading.Barrier(4)
    results = {}

    def claim(name):
        barrier.wait(5)
        got = []
        while True:
            batch = _claim(T0 + minutes(60), name, limit=3)
            if not batch:
                break
            got.extend(e["id"] for e in batch)
        results[name] = got

    threads = [
        threading.Thread(target=claim, args=(f"m{i}",)) for i in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    every = [event_id for got in results.values() for event_id in got]
    assert len(every) == 30
    assert len(set(every)) == 30


# event_finish, events_renew, events_release --------------------------------


def test_event_finish_only_while_the_claim_holds(database):
    lease = make_lease(events=[event(time=T0)])
    [first] = _claim(T0, "m1")
    # m1 is thought dead; m2 takes over.
    [second] = _claim(T0 + minutes(20), "m2", stale_before=T0 + minutes(10))
    assert db_api.event_finish(first, E.DONE) is False
    assert db_api.event_finish(second, E.DONE) is True
    got = db_api.lease_get(lease["id"])["events"][0]
    assert got["status"] == E.DONE
    assert got["claimed_by"] == "m2"
    # Finished: nobody can finish it again.
    assert db_api.event_finish(second, E.ERROR) is False


def test_the_same_claimer_with_an_older_token_records_nothing(database):
    make_lease(events=[event(time=T0)])
    [first] = _claim(T0, "m1")
    assert db_api.event_finish(first, E.UNDONE, error="timed out")
    [again] = _claim(T0 + minutes(1), "m1")
    # The attempt that timed out finishes late: fenced off.
    assert db_api.event_finish(first, E.DONE) is False
    assert db_api.event_finish(again, E.DONE) is True


def test_event_finish_for_a_retry_records_error_and_retry_at(database):
    lease = make_lease(events=[event(time=T0)])
    [claimed] = _claim(T0)
    assert db_api.event_finish(
        claimed, E.UNDONE, error="boom", retry_at=T0 + minutes(1)
    )
    got = db_api.lease_get(lease["id"])["events"][0]
    assert got["status"] == E.UNDONE
    assert got["last_error"] == "boom"
    assert got["retry_at"] == T0 + minutes(1)
    assert got["attempts"] == 1
    assert got["claimed_by"] is None


def test_event_finish_may_give_the_attempt_back(database):
    lease = make_lease(events=[event(time=T0)])
    [claimed] = _claim(T0)
    assert db_api.event_finish(
        claimed, E.UNDONE, retry_at=T0, count_attempt=False
    )
    assert db_api.lease_get(lease["id"])["events"][0]["attempts"] == 0


def test_event_finish_follows_the_event_table(database):
    make_lease(events=[event(time=T0)])
    [claimed] = _claim(T0)
    with pytest.raises(exceptions.InvalidStateTransition):
        db_api.event_finish(claimed, E.IN_PROGRESS + "X")


def test_heartbeat_renews_only_the_claims_it_still_holds(database):
    make_lease(name="a", events=[event(time=T0)])
    make_lease(name="b", events=[event(time=T0)])
    first, second = _claim(T0, "m1")
    [taken] = _claim(
        T0 + minutes(20), "m2", stale_before=T0 + minutes(1), limit=1
    )
    assert taken["id"] in (first["id"], second["id"])
    renewed = db_api.events_renew(
        "m1", [first["id"], second["id"]], T0 + minutes(21)
    )
    assert renewed == 1
    assert db_api.events_renew("m1", [], T0) == 0


def test_release_gives_claims_back_without_counting_the_attempt(database):
    lease = make_lease(events=[event(time=T0)])
    [claimed] = _claim(T0, "m1")
    assert db_api.events_release("m2", [claimed["id"]]) == 0
    assert db_api.events_release("m1", [claimed["id"]]) == 1
    got = db_api.lease_get(lease["id"])["events"][0]
    assert (got["status"], got["attempts"], got["claimed_by"]) == (
        E.UNDONE,
        0,
        None,
    )
    assert len(_claim(T0, "m2")) == 1


def test_leases_with_unfinished_events(database):
    a = make_lease(name="a", events=[event(ET.END_LEASE, T0)])
    b = make_lease(name="b", events=[event(ET.END_LEASE, T0, status=E.DONE)])
    c = make_lease(name="c", events=[event(ET.END_LEASE, T0 + minutes(5))])
    ids = [a["id"], b["id"], c["id"]]
    assert db_api.leases_with_unfinished_events(ids, [ET.END_LEASE], T0) == {
        a["id"]
    }
    assert db_api.leases_with_unfinished_events(ids, ["other"], T0) == set()
    assert db_api.leases_with_unfinished_events([], [ET.END_LEASE], T0) == (
        set()
    )


def test_event_next_due_time(database):
    stale_after = minutes(10)
    assert db_api.event_next_due_time(stale_after) is None
    make_lease(
        events=[
            event(time=T0 - minutes(60), status=E.DONE),
            event(time=T0 + minutes(30)),
        ]
    )
    assert db_api.event_next_due_time(stale_after) == T0 + minutes(30)
    make_lease(
        name="retrying",
        events=[event(time=T0, retry_at=T0 + minutes(20))],
    )
    assert db_api.event_next_due_time(stale_after) == T0 + minutes(20)
    make_lease(
        name="running",
        events=[
            event(
                time=T0 - minutes(60),
                status=E.IN_PROGRESS,
                claimed_by="m1",
                claimed_at=T0,
            )
        ],
    )
    # A running event is due again once its claim has not been renewed
    # for the claim timeout.
    assert db_api.event_next_due_time(stale_after) == T0 + minutes(10)


def test_times_are_naive_utc(database):
    make_lease(events=[event(time=T0)])
    [claimed] = _claim(T0)
    assert claimed["time"].tzinfo is None
    assert isinstance(claimed["claimed_at"], datetime.datetime)

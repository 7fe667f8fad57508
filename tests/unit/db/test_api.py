"""climate.db.api on a real, migrated SQLite database."""

import datetime
import threading
import uuid

import pytest

from climate import exceptions, states
from climate.db import api as db_api

L = states.LeaseStatus
E = states.EventStatus
ET = states.EventType

T0 = datetime.datetime(2030, 1, 1, 12, 0)


def minutes(n):
    return datetime.timedelta(minutes=n)


def make_lease(
    name="lease",
    project_id="p1",
    status=L.PENDING,
    created_at=None,
    events=(),
    reservations=(),
):
    values = {
        "id": str(uuid.uuid4()),
        "name": name,
        "project_id": project_id,
        "user_id": "u1",
        "start_date": T0,
        "end_date": T0 + minutes(60),
        "before_end_date": T0 + minutes(30),
        "status": status,
        "degraded": False,
    }
    if created_at is not None:
        values["created_at"] = created_at
    return db_api.lease_create(values, reservations, events)


def event(event_type=ET.START_LEASE, time=T0, status=E.UNDONE, **extra):
    return {
        "id": str(uuid.uuid4()),
        "event_type": event_type,
        "time": time,
        "status": status,
        "attempts": 0,
        **extra,
    }


def reservation(status=states.ReservationStatus.PENDING):
    return {
        "id": str(uuid.uuid4()),
        "resource_type": "test:recorder",
        "status": status,
    }


# lease_create / lease_get --------------------------------------------------


def test_lease_create_returns_lease_with_reservations_and_events(database):
    lease = make_lease(
        reservations=[reservation()],
        events=[
            event(ET.END_LEASE, T0 + minutes(60)),
            event(ET.START_LEASE, T0),
        ],
    )
    assert lease["name"] == "lease"
    assert lease["status"] == L.PENDING
    assert lease["created_at"] is not None
    assert [r["lease_id"] for r in lease["reservations"]] == [lease["id"]]
    got = db_api.lease_get(lease["id"])
    # Events come ordered by time.
    assert [e["event_type"] for e in got["events"]] == [
        ET.START_LEASE,
        ET.END_LEASE,
    ]
    assert got["reservations"][0]["resource_type"] == "test:recorder"
    assert got["start_date"] == T0


def test_lease_get_unknown_or_other_project_is_not_found(database):
    lease = make_lease()
    assert db_api.lease_get(lease["id"], "p1")["id"] == lease["id"]
    with pytest.raises(exceptions.LeaseNotFound):
        db_api.lease_get(lease["id"], "p2")
    with pytest.raises(exceptions.LeaseNotFound) as info:
        db_api.lease_get("missing")
    assert info.value.code == 404
    assert "missing" in info.value.message


def test_lease_names_are_unique_per_project(database):
    make_lease(name="same", project_id="p1")
    make_lease(name="same", project_id="p2")
    with pytest.raises(exceptions.LeaseNameAlreadyExists) as info:
        make_lease(name="same", project_id="p1")
    assert info.value.code == 409
    assert len(db_api.lease_list()) == 2


def test_lease_create_rolls_back_with_the_enclosing_writer(database):
    lease_id = None
    with pytest.raises(RuntimeError, match="later step failed"):
        with db_api.writer():
            lease = make_lease(
                reservations=[reservation()], events=[event(), event()]
            )
            lease_id = lease["id"]
            # Visible inside the transaction...
            assert db_api.lease_get(lease_id)["id"] == lease_id
            raise RuntimeError("later step failed")
    # ...and gone entirely after it rolled back.
    with pytest.raises(exceptions.LeaseNotFound):
        db_api.lease_get(lease_id)
    assert db_api.lease_list() == []
    assert db_api.event_next_due_time(minutes(10)) is None
    with pytest.raises(exceptions.ReservationNotFound):
        db_api.reservation_update(lease["reservations"][0]["id"], {})


def test_lease_create_commits_with_the_enclosing_writer(database):
    with db_api.writer():
        lease = make_lease()
        db_api.lease_update(lease["id"], {"name": "renamed"})
    assert db_api.lease_get(lease["id"])["name"] == "renamed"


def test_writer_nested_in_reader_raises(database):
    with db_api.reader():
        with pytest.raises(RuntimeError, match="writer cannot be nested"):
            with db_api.writer():
                pass


def test_reader_nested_in_writer_sees_its_writes(database):
    with db_api.writer():
        lease = make_lease()
        with db_api.reader():
            assert db_api.lease_get(lease["id"])["id"] == lease["id"]


def test_a_reader_does_not_see_uncommitted_writes(database):
    seen = {}
    inside = threading.Event()
    checked = threading.Event()

    def read_in_other_thread():
        inside.wait(5)
        seen["leases"] = db_api.lease_list()
        checked.set()

    reader = threading.Thread(target=read_in_other_thread)
    reader.start()
    with db_api.writer():
        make_lease()
        inside.set()
        checked.wait(5)
    reader.join(5)
    assert seen["leases"] == []
    assert len(db_api.lease_list()) == 1


# lease_update / lease_destroy --------------------------------------------


def test_lease_update_and_rename_collision(database):
    first = make_lease(name="first")
    make_lease(name="second")
    updated = db_api.lease_update(first["id"], {"name": "third"})
    assert updated["name"] == "third"
    assert updated["updated_at"] is not None
    with pytest.raises(exceptions.LeaseNameAlreadyExists):
        db_api.lease_update(first["id"], {"name": "second"})
    # Keeping its own name is not a collision.
    db_api.lease_update(first["id"], {"name": "third"})
    with pytest.raises(exceptions.LeaseNotFound):
        db_api.lease_update("missing", {"name": "x"})


def test_lease_destroy_removes_reservations_and_events(database):
    lease = make_lease(reservations=[reservation()], events=[event()])
    db_api.lease_destroy(lease["id"])
    with pytest.raises(exceptions.LeaseNotFound):
        db_api.lease_get(lease["id"])
    with pytest.raises(exceptions.EventNotFound):
        db_api.event_update(lease["events"][0]["id"], {})
    with pytest.raises(exceptions.ReservationNotFound):
        db_api.reservation_update(lease["reservations"][0]["id"], {})
    with pytest.raises(exceptions.LeaseNotFound):
        db_api.lease_destroy(lease["id"])


def test_lease_lock_returns_the_lease_and_checks_the_project(database):
    lease = make_lease()
    with db_api.writer():
        assert db_api.lease_lock(lease["id"], "p1")["id"] == lease["id"]
    with pytest.raises(exceptions.LeaseNotFound):
        with db_api.writer():
            db_api.lease_lock(lease["id"], "p2")


# lease_transition -------------------------------------------------------


def test_lease_transition_moves_and_records_the_reason(database):
    lease = make_lease()
    db_api.lease_transition(lease["id"], L.STARTING)
    assert db_api.lease_get(lease["id"])["status"] == L.STARTING
    db_api.lease_transition(lease["id"], L.PENDING, "start failed")
    got = db_api.lease_get(lease["id"])
    assert got["status"] == L.PENDING
    assert got["status_reason"] == "start failed"
    assert got["updated_at"] is not None
    # The next transition clears the reason.
    db_api.lease_transition(lease["id"], L.STARTING)
    assert db_api.lease_get(lease["id"])["status_reason"] is None


def test_lease_transition_refused_names_the_current_state(database):
    lease = make_lease(status=L.STARTING)
    with pytest.raises(exceptions.InvalidStateTransition) as info:
        db_api.lease_transition(lease["id"], L.DELETING)
    error = info.value
    assert error.code == 409
    assert error.kwargs["current"] == L.STARTING
    assert error.kwargs["target"] == L.DELETING
    assert "STARTING" in error.message
    assert db_api.lease_get(lease["id"])["status"] == L.STARTING


def test_lease_transition_unknown_lease_is_not_found(database):
    with pytest.raises(exceptions.LeaseNotFound):
        db_api.lease_transition("missing", L.STARTING)


def test_lease_transition_is_compare_and_set(database):
    # UPDATING may not be entered from UPDATING: of two requests, one wins.
    lease = make_lease()
    db_api.lease_transition(lease["id"], L.UPDATING)
    with pytest.raises(exceptions.InvalidStateTransition) as info:
        db_api.lease_transition(lease["id"], L.UPDATING)
    assert info.value.kwargs["current"] == L.UPDATING


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
                db_api.lease_transition(lease["id"], L.UPDATING)
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
            db_api.lease_transition(lease["id"], L.UPDATING)
            raise RuntimeError("boom")
    assert db_api.lease_get(lease["id"])["status"] == L.PENDING


# lease_list ---------------------------------------------------------------


def _listing(database):
    """Five leases, created_at deliberately out of insertion order."""
    created = {
        "c": T0,
        "a": T0 + minutes(1),
        "b": T0 + minutes(1),  # same second as "a": id breaks the tie
        "d": T0 + minutes(2),
        "other": T0 + minutes(3),
    }
    ids = {}
    for name, when in created.items():
        project = "p2" if name == "other" else "p1"
        ids[name] = make_lease(name, project, created_at=when)["id"]
    return ids


def test_lease_list_oldest_first_then_by_id(database):
    ids = _listing(database)
    names = [lease["name"] for lease in db_api.lease_list()]
    tied = sorted(["a", "b"], key=lambda n: ids[n])
    assert names == ["c", *tied, "d", "other"]


def test_lease_list_project_status_and_name_filters(database):
    ids = _listing(database)
    assert {lease["name"] for lease in db_api.lease_list("p1")} == {
        "a",
        "b",
        "c",
        "d",
    }
    assert [lease["name"] for lease in db_api.lease_list("p2")] == ["other"]
    assert db_api.lease_list("p3") == []
    db_api.lease_transition(ids["d"], L.STARTING)
    assert [
        lease["name"] for lease in db_api.lease_list(status=L.STARTING)
    ] == ["d"]
    assert [lease["id"] for lease in db_api.lease_list(name="a")] == [ids["a"]]
    assert db_api.lease_list("p2", name="a") == []


def test_lease_list_pages_with_limit_and_marker(database):
    _listing(database)
    everything = [lease["id"] for lease in db_api.lease_list("p1")]
    pages = []
    marker = None
    while True:
        page = db_api.lease_list("p1", limit=2, marker=marker)
        if not page:
            break
        pages.append([lease["id"] for lease in page])
        marker = page[-1]["id"]
    assert pages == [everything[:2], everything[2:4]]
    assert db_api.lease_list(limit=0) == []


def test_lease_list_marker_on_a_tie_skips_neither_lease(database):
    ids = _listing(database)
    first, second = sorted([ids["a"], ids["b"]])
    after = [lease["id"] for lease in db_api.lease_list(marker=first)]
    assert after == [second, ids["d"], ids["other"]]


def test_lease_list_unknown_marker_is_invalid(database):
    _listing(database)
    with pytest.raises(exceptions.InvalidMarker) as info:
        db_api.lease_list(marker="missing")
    assert info.value.code == 400
    assert "missing" in info.value.message


def test_lease_list_marker_of_another_project_is_invalid(database):
    ids = _listing(database)
    with pytest.raises(exceptions.InvalidMarker):
        db_api.lease_list("p1", marker=ids["other"])
    # Without a project scope (an admin), any lease is a valid marker.
    assert db_api.lease_list(marker=ids["other"]) == []


# reservation_update / event_update / event_create / event_destroy ---------


def test_reservation_and_event_updates(database):
    lease = make_lease(reservations=[reservation()], events=[event()])
    res = db_api.reservation_update(
        lease["reservations"][0]["id"], {"status": "active"}
    )
    assert res["status"] == "active"
    ev = db_api.event_update(lease["events"][0]["id"], {"time": T0})
    assert ev["time"] == T0
    with pytest.raises(exceptions.ReservationNotFound):
        db_api.reservation_update("missing", {"status": "active"})
    with pytest.raises(exceptions.EventNotFound):
        db_api.event_update("missing", {"time": T0})


def test_event_create_and_destroy(database):
    lease = make_lease()
    created = db_api.event_create(
        {**event("prepare_hosts", T0), "lease_id": lease["id"]}
    )
    assert [e["id"] for e in db_api.lease_get(lease["id"])["events"]] == [
        created["id"]
    ]
    db_api.event_destroy(created["id"])
    db_api.event_destroy(created["id"])  # already gone: not an error
    assert db_api.lease_get(lease["id"])["events"] == []


# events_claim_due / event_finish / event_next_due_time ------------------


def _claim(now, claimer="m1", stale_before=None, **kwargs):
    stale_before = stale_before or now - minutes(10)
    return db_api.events_claim_due(now, claimer, stale_before, **kwargs)


def test_claim_takes_due_undone_events_only(database):
    lease = make_lease(
        events=[
            event(ET.START_LEASE, T0),
            event(ET.BEFORE_END_LEASE, T0 + minutes(30)),
            event(ET.END_LEASE, T0 + minutes(60)),
            event("done", T0 - minutes(5), status=E.DONE),
            event("failed", T0 - minutes(5), status=E.ERROR),
        ]
    )
    assert _claim(T0 - minutes(1)) == []
    claimed = _claim(T0)
    assert [e["event_type"] for e in claimed] == [ET.START_LEASE]
    got = claimed[0]
    assert got["status"] == E.IN_PROGRESS
    assert got["claimed_by"] == "m1"
    assert got["claimed_at"] == T0
    assert got["attempts"] == 1
    assert got["lease_id"] == lease["id"]
    # Claimed events are not due again for anyone.
    assert _claim(T0, "m2") == []
    later = _claim(T0 + minutes(60), "m2", stale_before=T0)
    assert sorted(e["event_type"] for e in later) == [
        ET.BEFORE_END_LEASE,
        ET.END_LEASE,
    ]
    assert {e["claimed_by"] for e in later} == {"m2"}


def test_claim_respects_the_limit_oldest_first(database):
    make_lease(
        events=[event(time=T0 + minutes(i)) for i in range(5)],
    )
    first = _claim(T0 + minutes(10), limit=2)
    assert sorted(e["time"] for e in first) == [T0, T0 + minutes(1)]
    assert len(_claim(T0 + minutes(10), limit=10)) == 3


def test_claim_honours_retry_at(database):
    make_lease(events=[event(time=T0, retry_at=T0 + minutes(5))])
    assert _claim(T0 + minutes(4)) == []
    claimed = _claim(T0 + minutes(5))
    assert len(claimed) == 1


def test_an_event_moved_past_its_retry_at_waits_for_its_time(database):
    # An update moved the event later after a failed attempt.
    make_lease(events=[event(time=T0 + minutes(30), retry_at=T0)])
    assert db_api.event_next_due_time(minutes(10)) == T0 + minutes(30)
    assert _claim(T0 + minutes(29)) == []
    assert len(_claim(T0 + minutes(30))) == 1


def test_claim_takes_back_stale_in_progress_events(database):
    make_lease(
        events=[
            event(
                time=T0,
                status=E.IN_PROGRESS,
                claimed_by="dead",
                claimed_at=T0,
                attempts=1,
            )
        ]
    )
    now = T0 + minutes(10)
    # Claimed at T0, not stale before T0: still the dead manager's.
    assert _claim(now, "m2", stale_before=T0) == []
    claimed = _claim(now, "m2", stale_before=T0 + minutes(1))
    assert len(claimed) == 1
    assert claimed[0]["claimed_by"] == "m2"
    assert claimed[0]["claimed_at"] == now
    assert claimed[0]["attempts"] == 2


def test_event_finish_only_for_the_current_claimer(database):
    lease = make_lease(events=[event(time=T0)])
    event_id = lease["events"][0]["id"]
    # Not claimed yet: nobody can finish it.
    assert db_api.event_finish(event_id, "m1", E.DONE) is False
    _claim(T0, "m1")
    # m1 is thought dead; m2 reclaims.
    _claim(T0 + minutes(20), "m2", stale_before=T0 + minutes(10))
    assert db_api.event_finish(event_id, "m1", E.DONE) is False
    assert db_api.event_finish(event_id, "m2", E.DONE) is True
    got = db_api.lease_get(lease["id"])["events"][0]
    assert got["status"] == E.DONE
    assert got["claimed_by"] == "m2"
    # Finished: nobody can finish it again.
    assert db_api.event_finish(event_id, "m2", E.ERROR) is False


def test_event_finish_for_a_retry_records_error_and_retry_at(database):
    lease = make_lease(events=[event(time=T0)])
    event_id = lease["events"][0]["id"]
    _claim(T0)
    assert db_api.event_finish(
        event_id, "m1", E.UNDONE, error="boom", retry_at=T0 + minutes(1)
    )
    got = db_api.lease_get(lease["id"])["events"][0]
    assert got["status"] == E.UNDONE
    assert got["last_error"] == "boom"
    assert got["retry_at"] == T0 + minutes(1)
    assert got["attempts"] == 1


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
    # A running event is due again once it has been claimed too long.
    assert db_api.event_next_due_time(stale_after) == T0 + minutes(10)


def test_concurrent_claimers_never_share_an_event(database):
    make_lease(events=[event(time=T0 + minutes(i)) for i in range(30)])
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


# Resource types' own fields and usage ----------------------------------------


class TypeFields:
    """A resource type's field loader and usage counter, as a plugin
    registers them, recording how it is called."""

    def __init__(self):
        suffix = uuid.uuid4().hex[:8]
        self.resource_type = f"test:fields-{suffix}"
        self.amount = f"widgets-{suffix}"
        self.field_calls = []
        self.usage_calls = []
        db_api.register_reservation_fields(self.resource_type, self.fields)
        db_api.register_usage(self.resource_type, self.usage)

    def reservation(self):
        return {**reservation(), "resource_type": self.resource_type}

    def fields(self, reservation_ids):
        self.field_calls.append(sorted(reservation_ids))
        # "status" is a column of the reservation: it must not win.
        return {
            rid: {"size": n, "status": "nope"}
            for n, rid in enumerate(sorted(reservation_ids))
        }

    def usage(self, lease_ids):
        self.usage_calls.append(sorted(lease_ids))
        return {lease_id: {self.amount: 2} for lease_id in lease_ids}


def test_lease_reads_carry_type_fields_with_one_call_per_type(database):
    typed = TypeFields()
    first = make_lease("a", reservations=[typed.reservation(), reservation()])
    second = make_lease("b", reservations=[typed.reservation()])
    typed_ids = sorted(
        r["id"]
        for lease in (first, second)
        for r in lease["reservations"]
        if r["resource_type"] == typed.resource_type
    )
    # A create has no type rows yet, and reads none.
    assert typed.field_calls == []

    listed = db_api.lease_list()

    assert typed.field_calls == [typed_ids]
    sizes = {
        r["id"]: r.get("size")
        for lease in listed
        for r in lease["reservations"]
    }
    assert {rid: sizes[rid] for rid in typed_ids} == {
        rid: n for n, rid in enumerate(typed_ids)
    }
    # Other types get nothing; a type field never replaces a column.
    assert [
        sizes[r["id"]]
        for r in first["reservations"]
        if r["resource_type"] == "test:recorder"
    ] == [None]
    assert {
        r["status"] for lease in listed for r in lease["reservations"]
    } == {states.ReservationStatus.PENDING}

    (first_typed,) = (
        r["id"]
        for r in first["reservations"]
        if r["resource_type"] == typed.resource_type
    )
    for read in (
        lambda: db_api.lease_get(first["id"]),
        lambda: db_api.lease_update(first["id"], {"name": "a2"}),
    ):
        typed.field_calls.clear()
        lease = read()
        assert typed.field_calls == [[first_typed]]
        assert {r["id"] for r in lease["reservations"] if "size" in r} == {
            first_typed
        }
    with db_api.writer():
        typed.field_calls.clear()
        db_api.lease_lock(second["id"])
        assert len(typed.field_calls) == 1
    assert "size" in db_api.reservation_get(second["reservations"][0]["id"])


def test_lease_usage_adds_what_each_type_counts(database):
    typed = TypeFields()
    held = make_lease("held", reservations=[typed.reservation()])
    plain = make_lease("plain")

    usage = db_api.lease_usage("p1", T0, T0 + minutes(60))

    assert typed.usage_calls == [sorted([held["id"], plain["id"]])]
    by_id = {u["id"]: u for u in usage}
    assert by_id[held["id"]][typed.amount] == 2
    assert set(by_id[held["id"]]) >= {"id", "start_date", "end_date"}
    # A counter is asked about every lease, and its answer is taken as is.
    assert by_id[plain["id"]][typed.amount] == 2
    assert db_api.lease_usage("nobody", T0, T0 + minutes(60)) == []

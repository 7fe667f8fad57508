"""climate.db.api on a real, migrated SQLite database."""

import datetime
import threading
import types
import uuid

import pytest

from climate import exceptions, states
from climate.db import api as db_api

L = states.LeaseStatus
E = states.EventStatus
ET = types.SimpleNamespace(
    START_LEASE="start_lease",
    END_LEASE="end_lease",
    BEFORE_END_LEASE="before_end_lease",
)

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
    db_api.lease_transition(ids["d"], L.STARTING, {L.PENDING})
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
        lease["reservations"][0]["id"], {"resource_id": "r1"}
    )
    assert res["resource_id"] == "r1"
    # A status changes only through reservations_transition.
    with pytest.raises(ValueError):
        db_api.reservation_update(
            lease["reservations"][0]["id"], {"status": "active"}
        )
    ev = db_api.event_update(lease["events"][0]["id"], {"time": T0})
    assert ev["time"] == T0
    with pytest.raises(exceptions.ReservationNotFound):
        db_api.reservation_update("missing", {"resource_id": "r1"})
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

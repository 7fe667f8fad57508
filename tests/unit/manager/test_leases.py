"""LeaseManager: validation, admission, persistence, on the real database.

The recorder plugin (tests/plugins) stands in for a resource plugin and
writes every hook call to ``record_file``; the clock is virtual (see
conftest.py).
"""

import datetime

import pytest

from climate import context, exceptions, states
from climate.common import dates
from climate.db import api as db_api
from tests import helpers
from tests.unit.manager.conftest import (
    END,
    ET,
    RECORDER,
    START,
    E,
    L,
    force_status,
    user,
)


def wire(moment):
    return moment.strftime("%Y-%m-%d %H:%M")


def body(name="lease", start=START, end=END, reservations=None, **extra):
    values = {
        "name": name,
        "start_date": start if isinstance(start, str) else wire(start),
        "end_date": end if isinstance(end, str) else wire(end),
        "reservations": (
            [{"resource_type": RECORDER}]
            if reservations is None
            else reservations
        ),
    }
    values.update(extra)
    return values


@pytest.fixture
def manager(lease_manager):
    return lease_manager


def records(record_file, hook=None):
    return [
        (r["hook"], r["lease_id"])
        for r in helpers.read_records(record_file)
        if hook is None or r["hook"] == hook
    ]


def by_type(lease):
    return {e["event_type"]: e for e in lease["events"]}


# Create -------------------------------------------------------------------


def test_create_stores_lease_reservations_and_events(
    manager, record_file, changes
):
    lease = manager.create(
        user(),
        body(reservations=[{"resource_type": RECORDER, "note": "n"}]),
    )
    assert lease["status"] == L.PENDING
    assert lease["project_id"] == "p1"
    assert lease["user_id"] == "u1"
    assert lease["start_date"] == START
    assert lease["end_date"] == END
    assert lease["before_end_date"] == END - datetime.timedelta(minutes=60)
    assert lease["degraded"] is False
    [reservation] = lease["reservations"]
    assert reservation["status"] == states.ReservationStatus.PENDING
    assert reservation["resource_type"] == RECORDER
    # The recorder plugin answers with the reservation's id.
    assert reservation["resource_id"] == reservation["id"]
    event_times = {t: e["time"] for t, e in by_type(lease).items()}
    assert event_times == {
        ET.START_LEASE: START,
        ET.BEFORE_END_LEASE: END - datetime.timedelta(minutes=60),
        ET.END_LEASE: END,
    }
    assert {e["status"] for e in lease["events"]} == {E.UNDONE}
    assert {e["attempts"] for e in lease["events"]} == {0}
    assert records(record_file) == [("reserve", lease["id"])]
    assert changes.count == 1
    assert manager.get(user(), lease["id"]) == lease


def test_create_without_reservations(manager, record_file):
    lease = manager.create(user(), body(reservations=[]))
    assert lease["reservations"] == []
    assert len(lease["events"]) == 3
    assert records(record_file) == []
    lease = manager.create(user(), {**body("other"), "reservations": None})
    assert lease["reservations"] == []


def test_create_now_starts_at_the_current_second(manager):
    before = dates.utcnow()
    lease = manager.create(user(), body(start="now"))
    after = dates.utcnow()
    assert before <= lease["start_date"] <= after
    assert by_type(lease)[ET.START_LEASE]["time"] == lease["start_date"]


def test_create_within_the_current_minute_is_not_in_the_past(manager):
    # "YYYY-MM-DD HH:MM" cannot name a time within the current minute.
    this_minute = dates.utcnow().replace(second=0)
    lease = manager.create(user(), body(start=this_minute))
    assert lease["start_date"] == this_minute


@pytest.mark.parametrize(
    "minutes_before,length,expected_offset",
    [
        (30, datetime.timedelta(days=1), datetime.timedelta(minutes=-30)),
        (0, datetime.timedelta(days=1), datetime.timedelta(0)),
        # A lease shorter than the gap: before_end is clamped to its start.
        (60, datetime.timedelta(minutes=10), datetime.timedelta(minutes=-10)),
        (60, datetime.timedelta(minutes=60), datetime.timedelta(minutes=-60)),
    ],
)
def test_before_end_defaults_to_end_minus_gap_clamped_to_start(
    manager, config, minutes_before, length, expected_offset
):
    config.config(minutes_before_end_lease=minutes_before, group="manager")
    end = START + length
    lease = manager.create(user(), body(end=end))
    assert lease["before_end_date"] == end + expected_offset
    assert lease["before_end_date"] >= lease["start_date"]
    assert (
        by_type(lease)[ET.BEFORE_END_LEASE]["time"]
        == (lease["before_end_date"])
    )


def test_explicit_before_end_date(manager):
    before_end = START + datetime.timedelta(hours=3)
    lease = manager.create(user(), body(before_end_date=wire(before_end)))
    assert lease["before_end_date"] == before_end
    assert by_type(lease)[ET.BEFORE_END_LEASE]["time"] == before_end


@pytest.mark.parametrize(
    "before_end",
    [START - datetime.timedelta(minutes=1), END + datetime.timedelta(1)],
)
def test_before_end_date_outside_the_window_is_refused(manager, before_end):
    with pytest.raises(exceptions.InvalidPeriod):
        manager.create(user(), body(before_end_date=wire(before_end)))


PAST = "2000-01-01 00:00"


@pytest.mark.parametrize(
    "overrides,error",
    [
        ({"name": None}, exceptions.InvalidInput),
        ({"name": ""}, exceptions.InvalidInput),
        ({"name": "   "}, exceptions.InvalidInput),
        ({"name": 5}, exceptions.InvalidInput),
        ({"name": "x" * 81}, exceptions.InvalidInput),
        ({"start_date": None}, exceptions.InvalidInput),
        ({"end_date": None}, exceptions.InvalidInput),
        ({"start_date": "soon"}, exceptions.InvalidDate),
        ({"end_date": 20350101}, exceptions.InvalidDate),
        ({"before_end_date": "later"}, exceptions.InvalidDate),
        ({"start_date": PAST}, exceptions.InvalidPeriod),
        ({"end_date": wire(START)}, exceptions.InvalidPeriod),
        ({"end_date": "2034-12-31 12:00"}, exceptions.InvalidPeriod),
        # Shorter than [manager] min_lease_duration (1 minute).
        (
            {
                "start_date": "2035-01-01T12:00:00",
                "end_date": "2035-01-01T12:00:30",
            },
            exceptions.InvalidPeriod,
        ),
        ({"reservations": "test:recorder"}, exceptions.InvalidInput),
        ({"reservations": [RECORDER]}, exceptions.InvalidInput),
        ({"reservations": [{}]}, exceptions.InvalidInput),
        ({"reservations": [{"resource_type": 3}]}, exceptions.InvalidInput),
        (
            {"reservations": [{"resource_type": "physical:nothing"}]},
            exceptions.UnsupportedResourceType,
        ),
        ({"events": [{"event_type": "start_lease"}]}, exceptions.InvalidInput),
        # The plugin's own validation.
        (
            {"reservations": [{"resource_type": RECORDER, "bogus": 1}]},
            exceptions.InvalidInput,
        ),
    ],
)
def test_invalid_create_is_refused_and_stores_nothing(
    manager, record_file, changes, overrides, error
):
    values = body()
    for key, value in overrides.items():
        if value is None:
            values.pop(key)
        else:
            values[key] = value
    with pytest.raises(error) as info:
        manager.create(user(), values)
    assert info.value.code == 400
    assert db_api.lease_list() == []
    assert records(record_file) == []
    assert changes.count == 0


def test_invalid_date_names_the_field(manager):
    with pytest.raises(exceptions.InvalidDate) as info:
        manager.create(user(), body(end="tomorrow"))
    assert "end_date" in info.value.message


def test_unsupported_resource_type_lists_the_supported(manager):
    with pytest.raises(exceptions.UnsupportedResourceType) as info:
        manager.create(user(), body(reservations=[{"resource_type": "x:y"}]))
    assert RECORDER in info.value.message


def test_longest_lease(manager, config):
    config.config(max_lease_duration=60, group="manager")
    with pytest.raises(exceptions.InvalidPeriod) as info:
        manager.create(user(), body(end=START + datetime.timedelta(hours=2)))
    assert "60 minutes" in info.value.message
    manager.create(user(), body(end=START + datetime.timedelta(hours=1)))


def test_min_lease_duration_zero_accepts_any_positive_length(manager, config):
    config.config(min_lease_duration=0, group="manager")
    lease = manager.create(
        user(),
        body(start="2035-01-01T12:00:00", end="2035-01-01T12:00:01"),
    )
    assert lease["end_date"] - lease["start_date"] == datetime.timedelta(
        seconds=1
    )


def test_not_enough_resources_is_a_conflict_and_stores_nothing(manager):
    with pytest.raises(exceptions.NotEnoughResourcesAvailable) as info:
        manager.create(user(), body("full-house"))
    assert info.value.code == 409
    assert db_api.lease_list() == []


def test_a_failing_second_reservation_rolls_back_the_first(
    manager, record_file
):
    values = body(
        reservations=[
            {"resource_type": RECORDER},
            {"resource_type": RECORDER, "bogus": True},
        ]
    )
    with pytest.raises(exceptions.InvalidInput):
        manager.create(user(), values)
    # The first reservation was admitted, then everything rolled back.
    assert [hook for hook, _ in records(record_file)] == ["reserve"]
    assert db_api.lease_list() == []
    # The name is free again.
    manager.create(user(), body())


def test_lease_names_are_unique_per_project(manager):
    manager.create(user("p1"), body("same"))
    manager.create(user("p2"), body("same"))
    with pytest.raises(exceptions.LeaseNameAlreadyExists) as info:
        manager.create(user("p1"), body("same"))
    assert info.value.code == 409
    assert len(db_api.lease_list()) == 2


# Reads --------------------------------------------------------------------


def test_reads_are_scoped_to_the_project(manager):
    mine = manager.create(user("p1"), body("mine"))
    theirs = manager.create(user("p2"), body("theirs"))
    assert manager.get(user("p1"), mine["id"])["name"] == "mine"
    with pytest.raises(exceptions.LeaseNotFound):
        manager.get(user("p1"), theirs["id"])
    assert [x["id"] for x in manager.list(user("p1"))] == [mine["id"]]
    admin = context.RequestContext.admin()
    assert manager.get(admin, theirs["id"])["name"] == "theirs"
    assert {x["id"] for x in manager.list(admin)} == {
        mine["id"],
        theirs["id"],
    }
    assert manager.list(user("p1"), name="theirs") == []


# Update -------------------------------------------------------------------


def test_update_renames(manager, record_file, changes):
    lease = manager.create(user(), body())
    updated = manager.update(user(), lease["id"], {"name": "renamed"})
    assert updated["name"] == "renamed"
    assert updated["status"] == L.PENDING
    assert updated["events"] == lease["events"]
    # Nothing about the reservations changed: the plugin is not asked.
    assert [hook for hook, _ in records(record_file)] == ["reserve"]
    # No event moved: the event runner is not woken.
    assert changes.count == 1


def test_update_prolong_moves_end_before_end_and_their_events(
    manager, record_file
):
    lease = manager.create(user(), body())
    updated = manager.update(user(), lease["id"], {"prolong_for": "2h"})
    new_end = END + datetime.timedelta(hours=2)
    assert updated["end_date"] == new_end
    assert updated["start_date"] == START
    assert updated["before_end_date"] == new_end - datetime.timedelta(hours=1)
    times = {t: e["time"] for t, e in by_type(updated).items()}
    assert times == {
        ET.START_LEASE: START,
        ET.BEFORE_END_LEASE: new_end - datetime.timedelta(hours=1),
        ET.END_LEASE: new_end,
    }
    # Event ids are kept: the events are moved, not replaced.
    assert {e["id"] for e in updated["events"]} == {
        e["id"] for e in lease["events"]
    }
    # The window moved: every reservation is fitted to it.
    assert records(record_file, "update") == [("update", lease["id"])]


def test_update_keeps_a_chosen_before_end_at_its_distance_to_the_end(
    manager,
):
    chosen = END - datetime.timedelta(hours=5)
    lease = manager.create(user(), body(before_end_date=wire(chosen)))
    updated = manager.update(user(), lease["id"], {"prolong_for": "1d"})
    new_end = END + datetime.timedelta(days=1)
    assert updated["before_end_date"] == new_end - datetime.timedelta(hours=5)
    assert (
        by_type(updated)[ET.BEFORE_END_LEASE]["time"]
        == updated["before_end_date"]
    )


def test_update_recomputes_a_default_before_end_clamped_to_start(manager):
    # 30 minutes long: the default before_end is clamped to the start.
    short_end = START + datetime.timedelta(minutes=30)
    lease = manager.create(user(), body(end=short_end))
    assert lease["before_end_date"] == START
    updated = manager.update(user(), lease["id"], {"prolong_for": "1d"})
    new_end = short_end + datetime.timedelta(days=1)
    assert updated["before_end_date"] == new_end - datetime.timedelta(hours=1)


HOUR = datetime.timedelta(hours=1)


@pytest.mark.parametrize(
    "values,start,end",
    [
        ({"reduce_by": "2h"}, START, END - 2 * HOUR),
        ({"defer_by": "30m"}, START + HOUR / 2, END),
        ({"advance_by": "1h"}, START - HOUR, END),
        ({"defer_by": "1h", "prolong_for": "1h"}, START + HOUR, END + HOUR),
        (
            {"start_date": "2035-01-01 08:00", "end_date": "2035-01-03 00:00"},
            datetime.datetime(2035, 1, 1, 8, 0),
            datetime.datetime(2035, 1, 3, 0, 0),
        ),
        ({"start_date": wire(START), "end_date": wire(END)}, START, END),
    ],
)
def test_update_moves_the_window(manager, record_file, values, start, end):
    lease = manager.create(user(), body())
    updated = manager.update(user(), lease["id"], values)
    assert (updated["start_date"], updated["end_date"]) == (start, end)
    assert updated["status"] == L.PENDING
    times = {t: e["time"] for t, e in by_type(updated).items()}
    assert times == {
        ET.START_LEASE: start,
        ET.BEFORE_END_LEASE: end - HOUR,
        ET.END_LEASE: end,
    }
    moved = (start, end) != (START, END)
    assert len(records(record_file, "update")) == (1 if moved else 0)


def test_update_reservation_values_asks_the_plugin(manager, record_file):
    lease = manager.create(
        user(),
        body(reservations=[{"resource_type": RECORDER}] * 2),
    )
    first = lease["reservations"][0]["id"]
    manager.update(
        user(), lease["id"], {"reservations": [{"id": first, "note": "x"}]}
    )
    updates = [
        r["reservation_id"]
        for r in helpers.read_records(record_file)
        if r["hook"] == "update"
    ]
    assert updates == [first]


@pytest.mark.parametrize(
    "values,error",
    [
        ({"reservations": [{"id": "nope"}]}, exceptions.ReservationNotFound),
        ({"reservations": [{"note": "x"}]}, exceptions.InvalidInput),
        ({"reservations": {"id": "x"}}, exceptions.InvalidInput),
        ({"end_date": "2035-01-05 00:00", "prolong_for": "1h"}, None),
        ({"prolong_for": "a while"}, exceptions.InvalidInput),
        ({"name": ""}, exceptions.InvalidInput),
        ({"start_date": PAST}, exceptions.InvalidPeriod),
        ({"advance_by": "1000w"}, exceptions.InvalidPeriod),
        ({"reduce_by": "1d"}, exceptions.InvalidPeriod),
        ({"end_date": "garbage"}, exceptions.InvalidDate),
        (
            {"before_end_date": "2036-01-01 00:00"},
            exceptions.InvalidPeriod,
        ),
    ],
)
def test_invalid_update_changes_nothing(manager, changes, values, error):
    lease = manager.create(user(), body())
    error = error or exceptions.InvalidInput
    with pytest.raises(error):
        manager.update(user(), lease["id"], values)
    # Rolled back entirely.
    assert db_api.lease_get(lease["id"]) == lease
    assert changes.count == 1


def test_update_rename_collision(manager):
    manager.create(user(), body("taken"))
    lease = manager.create(user(), body("mine"))
    with pytest.raises(exceptions.LeaseNameAlreadyExists):
        manager.update(user(), lease["id"], {"name": "taken"})
    assert db_api.lease_get(lease["id"])["status"] == L.PENDING


def test_update_of_another_projects_lease_is_not_found(manager):
    lease = manager.create(user("p1"), body())
    with pytest.raises(exceptions.LeaseNotFound):
        manager.update(user("p2"), lease["id"], {"name": "mine now"})


def test_update_reschedules_undone_events_only(manager, at):
    lease = manager.create(user(), body())
    events_before = by_type(lease)
    assert at(START) == 1
    before_end = events_before[ET.BEFORE_END_LEASE]["time"]
    assert at(before_end) == 1
    active = db_api.lease_get(lease["id"])
    assert active["status"] == L.ACTIVE
    updated = manager.update(user(), lease["id"], {"prolong_for": "1d"})
    assert updated["status"] == L.ACTIVE
    after = by_type(updated)
    # Done events stay as history; the end, still to come, moves.
    assert after[ET.START_LEASE]["time"] == START
    assert after[ET.START_LEASE]["status"] == E.DONE
    assert after[ET.BEFORE_END_LEASE]["time"] == before_end
    assert after[ET.BEFORE_END_LEASE]["status"] == E.DONE
    assert after[ET.END_LEASE]["time"] == END + datetime.timedelta(days=1)
    assert after[ET.END_LEASE]["status"] == E.UNDONE


def test_update_of_an_active_lease_cannot_move_its_start(manager, at):
    lease = manager.create(user(), body())
    at(START)
    with pytest.raises(exceptions.InvalidState) as info:
        manager.update(user(), lease["id"], {"defer_by": "1h"})
    assert info.value.code == 409
    assert db_api.lease_get(lease["id"])["status"] == L.ACTIVE


def test_update_of_a_terminated_lease_cannot_move_its_dates(manager, at):
    lease = manager.create(user(), body())
    at(START)
    at(END)
    assert db_api.lease_get(lease["id"])["status"] == L.TERMINATED
    with pytest.raises(exceptions.InvalidState):
        manager.update(user(), lease["id"], {"prolong_for": "1h"})
    # A rename is still fine, and the lease stays TERMINATED.
    renamed = manager.update(user(), lease["id"], {"name": "old"})
    assert renamed["status"] == L.TERMINATED


def test_growing_an_active_lease_hands_over_through_an_event(
    manager, at, record_file
):
    lease = manager.create(user(), body())
    at(START)
    [reservation] = lease["reservations"]
    updated = manager.update(
        user(),
        lease["id"],
        {"reservations": [{"id": reservation["id"], "note": "more"}]},
    )
    # The update event ran (the runner was woken) before the answer.
    assert updated["status"] == L.ACTIVE
    event = by_type(updated)[ET.UPDATE_LEASE]
    assert (event["status"], event["attempts"]) == (E.DONE, 1)
    assert [hook for hook, _ in records(record_file)] == [
        "reserve",
        "on_start",
        "update",
        "on_start",
    ]


def test_a_hand_over_that_fails_for_good_degrades_but_keeps_the_lease(
    manager, at, changes, config, record_file
):
    config.config(event_max_attempts=2, group="manager")
    lease = manager.create(user(), body("grows"))
    at(START)
    assert db_api.lease_get(lease["id"])["status"] == L.ACTIVE
    # From now on every hand-over fails (the recorder plugin fails the
    # hooks of leases so named).
    db_api.lease_update(lease["id"], {"name": "fail-on_start-now"})
    changes.drive = None
    [reservation] = lease["reservations"]
    config.config(act_now_wait=0, group="manager")
    manager.update(
        user(),
        lease["id"],
        {"reservations": [{"id": reservation["id"], "note": "x"}]},
    )
    event = by_type(db_api.lease_get(lease["id"]))[ET.UPDATE_LEASE]
    at(event["time"])
    waiting = db_api.lease_get(lease["id"])
    # Back to ACTIVE while the retry waits: it keeps what it held.
    assert waiting["status"] == L.ACTIVE
    assert "on_start failed on purpose" in waiting["status_reason"]
    retry_at = by_type(waiting)[ET.UPDATE_LEASE]["retry_at"]
    at(retry_at)
    failed = db_api.lease_get(lease["id"])
    assert failed["status"] == L.ACTIVE
    assert failed["degraded"] is True
    assert "after 2 attempts" in failed["status_reason"]
    assert by_type(failed)[ET.UPDATE_LEASE]["status"] == E.ERROR
    assert {r["status"] for r in failed["reservations"]} == {"active"}


# Delete -------------------------------------------------------------------


def test_delete_pending_lease_releases_without_on_end(manager, record_file):
    lease = manager.create(user(), body())
    assert manager.delete(user(), lease["id"]) is None
    with pytest.raises(exceptions.LeaseNotFound):
        db_api.lease_get(lease["id"])
    assert [hook for hook, _ in records(record_file)] == [
        "reserve",
        "release",
    ]


def test_delete_active_lease_takes_resources_back_first(
    manager, at, record_file
):
    lease = manager.create(user(), body())
    at(START)
    # The delete event ran at once (the runner was woken): gone.
    assert manager.delete(user(), lease["id"]) is None
    assert [hook for hook, _ in records(record_file)] == [
        "reserve",
        "on_start",
        "on_end",
        "release",
    ]
    assert db_api.lease_list() == []


def test_delete_terminated_lease_does_not_end_it_again(
    manager, at, record_file
):
    lease = manager.create(user(), body())
    at(START)
    at(END)
    manager.delete(user(), lease["id"])
    assert records(record_file, "on_end") == [("on_end", lease["id"])]


def test_delete_after_a_failed_start_attempt_takes_resources_back(
    manager, at, record_file
):
    # on_start failed half-way and waits for its retry: it may hold part of
    # the resources, so deleting the lease must run on_end.
    lease = manager.create(user(), body("flaky-on_start"))
    at(START)
    waiting = db_api.lease_get(lease["id"])
    assert waiting["status"] == L.PENDING
    start = by_type(waiting)[ET.START_LEASE]
    assert (start["status"], start["attempts"]) == (E.UNDONE, 1)
    manager.delete(user(), lease["id"])
    assert [hook for hook, _ in records(record_file)] == [
        "reserve",
        "on_start",
        "on_end",
        "release",
    ]


def test_a_failed_take_back_keeps_the_lease_deleting_then_in_error(
    manager, at, config, record_file
):
    config.config(event_max_attempts=2, group="manager")
    lease = manager.create(user(), body("fail-on_end"))
    at(START)
    # The first attempt failed: the answer is the lease, still DELETING,
    # saying why; the runner retries.
    answer = manager.delete(user(), lease["id"])
    assert answer["status"] == L.DELETING
    assert "on_end failed on purpose" in answer["status_reason"]
    # A second delete while it waits changes nothing and says the same.
    again = manager.delete(user(), lease["id"])
    assert again["status"] == L.DELETING
    retry_at = by_type(again)[ET.DELETE_LEASE]["retry_at"]
    at(retry_at)
    failed = db_api.lease_get(lease["id"])
    assert failed["status"] == L.ERROR
    assert "after 2 attempts" in failed["status_reason"]
    assert records(record_file, "release") == []
    assert records(record_file, "on_end") == [("on_end", lease["id"])] * 2


def test_delete_of_another_projects_lease_is_not_found(manager):
    lease = manager.create(user("p1"), body())
    with pytest.raises(exceptions.LeaseNotFound):
        manager.delete(user("p2"), lease["id"])
    manager.delete(context.RequestContext.admin(), lease["id"])
    assert db_api.lease_list() == []


def test_delete_of_a_starting_lease_is_refused(manager, record_file):
    lease = manager.create(user(), body())
    force_status(lease["id"], L.STARTING)
    with pytest.raises(exceptions.LeaseBusy) as info:
        manager.delete(user(), lease["id"])
    assert info.value.code == 409
    assert info.value.kwargs["status"] == L.STARTING
    assert db_api.lease_get(lease["id"])["status"] == L.STARTING
    assert [hook for hook, _ in records(record_file)] == ["reserve"]


@pytest.mark.parametrize(
    "busy", [L.STARTING, L.TERMINATING, L.UPDATING, L.PREPARING]
)
@pytest.mark.parametrize(
    "operation",
    [
        lambda manager, lease_id: manager.update(
            user(), lease_id, {"name": "other"}
        ),
        lambda manager, lease_id: manager.update(
            user(), lease_id, {"prolong_for": "1h"}
        ),
        lambda manager, lease_id: manager.delete(user(), lease_id),
    ],
    ids=["rename", "prolong", "delete"],
)
def test_a_busy_lease_refuses_a_second_operation(
    manager, record_file, busy, operation
):
    lease = manager.create(user(), body())
    force_status(lease["id"], busy)
    before = db_api.lease_get(lease["id"])
    with pytest.raises(exceptions.LeaseBusy) as info:
        operation(manager, lease["id"])
    assert info.value.kwargs["status"] == busy
    assert "once that is over" in info.value.message
    assert db_api.lease_get(lease["id"]) == before
    assert [hook for hook, _ in records(record_file)] == ["reserve"]


def test_a_deleting_lease_refuses_an_update(manager):
    lease = manager.create(user(), body())
    force_status(lease["id"], L.DELETING)
    with pytest.raises(exceptions.LeaseBusy):
        manager.update(user(), lease["id"], {"name": "other"})

"""PUT /v1/leases/{id}: renames, new dates, shifts, and their events."""

import datetime

import pytest

from tests import helpers
from tests.unit.api.asserts import check_error

START = "2030-12-26 12:00"
END = "2030-12-27 12:00"
API_DATE = "%Y-%m-%dT%H:%M:%S.%f"


def _times(lease):
    """The lease's dates and its events' times, by name."""
    times = {e["event_type"]: e["time"] for e in lease["events"]}
    for field in ("start_date", "before_end_date", "end_date"):
        times[field] = lease[field]
    return times


def _put(api, lease, **values):
    return api.put(f"/v1/leases/{lease['id']}", json=values)


def _updated(api, lease, **values):
    response = _put(api, lease, **values)
    assert response.status_code == 200, response.json
    assert list(response.json) == ["lease"]
    return response.json["lease"]


def test_rename(api, create, get_lease):
    lease = create("old-name", start=START, end=END)

    updated = _updated(api, lease, name="new-name")

    assert updated["name"] == "new-name"
    assert updated["status"] == "PENDING"
    assert _times(updated) == _times(lease)
    assert get_lease(lease["id"])["name"] == "new-name"
    assert updated["updated_at"] is not None


def test_rename_to_a_name_in_use_is_a_conflict(api, create, get_lease):
    create("first", start=START, end=END)
    second = create("second", start=START, end=END)

    check_error(
        _put(api, second, name="first"),
        409,
        "LeaseNameAlreadyExists",
        "'first'",
    )
    assert get_lease(second["id"])["name"] == "second"


def test_update_accepts_the_lease_wrapped_in_an_envelope(api, create):
    lease = create("wrapped", start=START, end=END)

    response = api.put(
        f"/v1/leases/{lease['id']}", json={"lease": {"name": "unwrapped"}}
    )

    assert response.status_code == 200, response.json
    assert response.json["lease"]["name"] == "unwrapped"


@pytest.mark.parametrize(
    ("values", "start", "end"),
    [
        ({"end_date": "2030-12-28 18:30"}, START, "2030-12-28 18:30"),
        ({"prolong_for": "1d"}, START, "2030-12-28 12:00"),
        ({"prolong_for": "90m"}, START, "2030-12-27 13:30"),
        ({"reduce_by": "2h"}, START, "2030-12-27 10:00"),
        ({"defer_by": "3h"}, "2030-12-26 15:00", END),
        ({"advance_by": "30m"}, "2030-12-26 11:30", END),
        (
            {"start_date": "2030-12-26 06:00", "end_date": "2030-12-26 18:00"},
            "2030-12-26 06:00",
            "2030-12-26 18:00",
        ),
        (
            {"defer_by": "1w", "prolong_for": "1w"},
            "2031-01-02 12:00",
            "2031-01-03 12:00",
        ),
        (
            {"start_date": "2030-12-26T10:00:00-02:00"},
            "2030-12-26 12:00",
            END,
        ),
    ],
)
def test_new_dates_reschedule_the_events(
    api, create, get_lease, values, start, end
):
    lease = create("moved", start=START, end=END)
    start = datetime.datetime.fromisoformat(start).strftime(API_DATE)
    end = datetime.datetime.fromisoformat(end)
    # The default: [manager] minutes_before_end_lease (60) before the end.
    before_end = (end - datetime.timedelta(minutes=60)).strftime(API_DATE)
    end = end.strftime(API_DATE)

    updated = _updated(api, lease, **values)

    expected = {
        "start_date": start,
        "start_lease": start,
        "end_date": end,
        "end_lease": end,
        "before_end_date": before_end,
        "before_end_lease": before_end,
    }
    assert _times(updated) == expected
    assert _times(get_lease(lease["id"])) == expected
    assert updated["status"] == "PENDING"
    # The same events, moved: none added or replaced.
    assert sorted(e["id"] for e in updated["events"]) == sorted(
        e["id"] for e in lease["events"]
    )


def test_before_end_follows_minutes_before_end_lease(api, config, create):
    config.config(minutes_before_end_lease=15, group="manager")
    lease = create("warned", start=START, end=END)

    updated = _updated(api, lease, prolong_for="1h")

    assert updated["before_end_date"] == "2030-12-27T12:45:00.000000"
    assert _times(updated)["before_end_lease"] == "2030-12-27T12:45:00.000000"


def test_explicit_before_end_date(api, create):
    lease = create("warned", start=START, end=END)

    updated = _updated(api, lease, before_end_date="2030-12-27 02:00")

    assert _times(updated)["before_end_lease"] == "2030-12-27T02:00:00.000000"
    assert updated["end_date"] == lease["end_date"]


@pytest.mark.parametrize(
    ("values", "error", "fragments"),
    [
        (
            {"end_date": "2030-12-28 12:00", "prolong_for": "1d"},
            "InvalidInput",
            [
                "give at most one of end_date, prolong_for, reduce_by; "
                "this update gives end_date and prolong_for"
            ],
        ),
        (
            {"end_date": "2030-12-28 12:00", "reduce_by": "1h"},
            "InvalidInput",
            ["this update gives end_date and reduce_by"],
        ),
        (
            {"prolong_for": "1d", "reduce_by": "1h"},
            "InvalidInput",
            ["this update gives prolong_for and reduce_by"],
        ),
        (
            {"start_date": "2030-12-26 13:00", "defer_by": "1h"},
            "InvalidInput",
            [
                "give at most one of start_date, defer_by, advance_by; "
                "this update gives start_date and defer_by"
            ],
        ),
        (
            {"prolong_for": "2 days"},
            "InvalidInput",
            ["invalid prolong_for '2 days'", "such as '2h'"],
        ),
        ({"defer_by": "-1h"}, "InvalidInput", ["invalid defer_by '-1h'"]),
        (
            {"prolong_for": "99999999999d"},
            "InvalidInput",
            ["invalid prolong_for '99999999999d'", "too long"],
        ),
        (
            {"advance_by": "99999999w"},
            "InvalidPeriod",
            ["advance_by 99999999w moves start_date out of the supported"],
        ),
        (
            {"reduce_by": "1d"},
            "InvalidPeriod",
            ["must be later than start_date"],
        ),
        (
            {"advance_by": "300w"},
            "InvalidPeriod",
            ["start_date 2025-03-27 12:00 is in the past"],
        ),
        (
            {"start_date": "2020-01-01 00:00"},
            "InvalidPeriod",
            ["is in the past"],
        ),
        ({"end_date": "someday"}, "InvalidDate", ["end_date", "'someday'"]),
        (
            {"before_end_date": "2030-12-25 12:00"},
            "InvalidPeriod",
            ["before_end_date must lie between"],
        ),
        ({"name": ""}, "InvalidInput", ["name must be a non-empty string"]),
        (
            {"reservations": [{"id": "nope"}]},
            "ReservationNotFound",
            ["reservation nope"],
        ),
        (
            {"reservations": [{"resource_type": "test:recorder"}]},
            "InvalidInput",
            ["reservations[0] must be an object with the id"],
        ),
    ],
)
def test_bad_updates_change_nothing(
    api, create, get_lease, values, error, fragments
):
    lease = create("steady", start=START, end=END)

    response = _put(api, lease, **values)

    code = 404 if error == "ReservationNotFound" else 400
    check_error(response, code, error, *fragments)
    # The failed request left the lease as it was, not UPDATING.
    after = get_lease(lease["id"])
    assert after["status"] == "PENDING"
    assert after["name"] == "steady"
    assert _times(after) == _times(lease)


def test_shifting_past_the_last_supported_year_is_400(api, create):
    lease = create("last", start="9999-12-30 12:00", end="9999-12-31 12:00")

    check_error(
        _put(api, lease, prolong_for="1d"),
        400,
        "InvalidPeriod",
        "prolong_for 1d moves end_date out of the supported years",
    )
    check_error(
        _put(api, lease, defer_by="2d"),
        400,
        "InvalidPeriod",
        "defer_by 2d moves start_date",
    )


def test_duration_limits_apply_to_updates(api, config, create):
    config.config(max_lease_duration=24 * 60, group="manager")
    lease = create("capped", start=START, end=END)

    check_error(
        _put(api, lease, prolong_for="1m"),
        400,
        "InvalidPeriod",
        "more than the maximum of 1440 minutes",
    )
    assert _updated(api, lease, reduce_by="1h")["end_date"] == (
        "2030-12-27T11:00:00.000000"
    )


def test_reservation_values_reach_the_plugin(api, create, record_file):
    lease = create(
        "noted",
        start=START,
        end=END,
        reservations=[{"resource_type": "test:recorder", "note": "a"}],
    )
    [reservation] = lease["reservations"]

    updated = _updated(
        api, lease, reservations=[{"id": reservation["id"], "note": "b"}]
    )

    assert updated["reservations"][0]["id"] == reservation["id"]
    hooks = [r["hook"] for r in helpers.read_records(record_file)]
    assert hooks == ["reserve", "update"]


def test_moving_the_window_asks_the_plugin_to_fit(api, create, record_file):
    lease = create(
        "refit",
        start=START,
        end=END,
        reservations=[{"resource_type": "test:recorder"}],
    )

    _updated(api, lease, defer_by="1h")
    _updated(api, lease, name="renamed-only")

    hooks = [r["hook"] for r in helpers.read_records(record_file)]
    assert hooks == ["reserve", "update"]


# Started and finished leases ------------------------------------------------


def test_active_lease_can_end_later_but_not_start_elsewhere(
    api, create, wait_status
):
    lease = create("running", start="now", end=helpers.future(days=1))
    active = wait_status(lease["id"], "ACTIVE")
    times = _times(active)

    check_error(
        _put(api, lease, start_date=helpers.future(hours=1)),
        409,
        "InvalidState",
        "has started",
        "start_date can no longer change",
    )
    check_error(
        _put(api, lease, defer_by="1h"), 409, "InvalidState", "has started"
    )
    updated = _updated(api, lease, prolong_for="1d")

    assert updated["status"] == "ACTIVE"
    end = datetime.datetime.strptime(times["end_date"], API_DATE)
    new_end = (end + datetime.timedelta(days=1)).strftime(API_DATE)
    assert updated["end_date"] == new_end
    assert _times(updated)["end_lease"] == new_end
    # The start already ran; its event stays as history.
    assert _times(updated)["start_lease"] == times["start_lease"]
    starts = [e for e in updated["events"] if e["event_type"] == "start_lease"]
    assert starts[0]["status"] == "DONE"


def test_active_lease_cannot_end_in_the_past(api, create, wait_status):
    lease = create("running", start="now", end=helpers.future(days=1))
    active = wait_status(lease["id"], "ACTIVE")
    start = datetime.datetime.strptime(active["start_date"], API_DATE)
    # After the start, but already gone (the manager's clock counts whole
    # seconds, so wait for the next one).
    end = start + datetime.timedelta(milliseconds=1)
    next_second = start + datetime.timedelta(seconds=1)
    helpers.wait_for(lambda: helpers.utcnow() > next_second, timeout=2)

    check_error(
        _put(api, lease, end_date=end.isoformat()),
        400,
        "InvalidPeriod",
        "end_date of a started lease must be in the future",
    )
    check_error(
        _put(api, lease, reduce_by="2d"),
        400,
        "InvalidPeriod",
        "must be later than start_date",
    )


def test_terminated_lease_dates_cannot_change(
    api, config, create, wait_status
):
    config.config(min_lease_duration=0, group="manager")
    end = helpers.utcnow() + datetime.timedelta(seconds=0.5)
    lease = create("brief", start="now", end=end.isoformat())
    wait_status(lease["id"], "TERMINATED")

    for values in (
        {"prolong_for": "1h"},
        {"end_date": helpers.future(days=1)},
    ):
        check_error(
            _put(api, lease, **values),
            409,
            "InvalidState",
            f"lease {lease['id']} is TERMINATED",
            "dates can no longer change",
        )
    # A rename is still allowed and keeps the lease TERMINATED.
    renamed = _updated(api, lease, name="brief-renamed")
    assert renamed["status"] == "TERMINATED"

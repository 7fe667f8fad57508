"""Leases living through their events, seen through the API, with the
recorder plugin standing in for real resources."""

import datetime

import pytest
import sqlalchemy as sa

from climate.db import api as db_api
from climate.db import models
from tests import helpers
from tests.unit.api.asserts import check_error

RECORDER = {"resource_type": "test:recorder"}


@pytest.fixture(autouse=True)
def _short_leases(config):
    config.config(min_lease_duration=0, group="manager")


def _soon(seconds):
    """An ISO 8601 date ``seconds`` from now, with an offset."""
    moment = datetime.datetime.now(datetime.UTC)
    return (moment + datetime.timedelta(seconds=seconds)).isoformat()


def _hooks(record_file, lease):
    return [
        r["hook"]
        for r in helpers.read_records(record_file)
        if r["lease_id"] == lease["id"]
    ]


def _events(lease):
    return {e["event_type"]: e["status"] for e in lease["events"]}


def test_now_lease_becomes_active_at_once(api, create, wait_status):
    lease = create("now-lease", start="now")
    assert lease["status"] == "PENDING"
    assert [e["event_type"] for e in lease["events"]] == [
        "start_lease",
        "before_end_lease",
        "end_lease",
    ]

    active = wait_status(lease["id"], "ACTIVE", timeout=15)

    assert _events(active)["start_lease"] == "DONE"
    assert _events(active)["end_lease"] == "UNDONE"


def test_short_lease_runs_pending_active_terminated(
    create, get_lease, wait_status, record_file
):
    lease = create("short", start="now", end=_soon(1), reservations=[RECORDER])
    assert lease["status"] == "PENDING"

    active = wait_status(lease["id"], "ACTIVE", timeout=15)
    assert active["reservations"][0]["status"] == "active"
    done = wait_status(lease["id"], "TERMINATED", timeout=15)

    assert done["reservations"][0]["status"] == "deleted"
    assert _events(done) == {
        "start_lease": "DONE",
        "before_end_lease": "DONE",
        "end_lease": "DONE",
    }
    assert done["status_reason"] is None
    # Each hook ran once, in order.
    assert _hooks(record_file, lease) == [
        "reserve",
        "on_start",
        "before_end",
        "on_end",
    ]
    assert get_lease(lease["id"]) == done


def test_lease_without_reservations_runs_through_too(create, wait_status):
    lease = create("empty", start="now", end=_soon(0.4))

    done = wait_status(lease["id"], "TERMINATED", timeout=15)

    assert set(_events(done).values()) == {"DONE"}


def test_future_lease_waits_for_its_start(create, wait_status, get_lease):
    lease = create(
        "later", start=_soon(0.5), end=_soon(60), reservations=[RECORDER]
    )

    assert get_lease(lease["id"])["status"] == "PENDING"
    active = wait_status(lease["id"], "ACTIVE", timeout=15)
    assert active["reservations"][0]["status"] == "active"


def test_deleting_an_active_lease_ends_then_releases(
    api, create, wait_status, record_file
):
    lease = create("busy", start="now", reservations=[RECORDER])
    wait_status(lease["id"], "ACTIVE")

    response = api.delete(f"/v1/leases/{lease['id']}")

    assert response.status_code == 204
    check_error(api.get(f"/v1/leases/{lease['id']}"), 404, "LeaseNotFound")
    assert api.get("/v1/leases").json == {"leases": []}
    assert db_api.lease_list() == []
    with db_api.reader() as session:
        for model in (models.Reservation, models.Event):
            count = sa.select(sa.func.count()).select_from(model)
            assert session.scalar(count) == 0
    hooks = _hooks(record_file, lease)
    assert hooks[:2] == ["reserve", "on_start"]
    assert hooks[-2:] == ["on_end", "release"]
    assert hooks.count("on_end") == 1


def test_deleting_a_terminated_lease_only_releases(
    api, create, wait_status, record_file
):
    lease = create(
        "over", start="now", end=_soon(0.3), reservations=[RECORDER]
    )
    wait_status(lease["id"], "TERMINATED", timeout=15)

    assert api.delete(f"/v1/leases/{lease['id']}").status_code == 204

    hooks = _hooks(record_file, lease)
    assert hooks.count("on_end") == 1
    assert hooks[-1] == "release"


def test_start_that_keeps_failing_puts_the_lease_in_error(
    config, create, wait_status, record_file
):
    config.config(event_max_attempts=2, group="manager")
    lease = create("fail-on_start-lease", start="now", reservations=[RECORDER])

    failed = wait_status(lease["id"], "ERROR", timeout=15)

    assert "on_start failed on purpose" in failed["status_reason"]
    assert "after 2 attempts" in failed["status_reason"]
    assert failed["reservations"][0]["status"] == "error"
    assert _events(failed)["start_lease"] == "ERROR"
    assert _hooks(record_file, lease).count("on_start") == 2


def test_lease_in_error_can_still_be_deleted(
    api, config, create, wait_status, record_file
):
    config.config(event_max_attempts=1, group="manager")
    lease = create("fail-on_start-gone", start="now", reservations=[RECORDER])
    wait_status(lease["id"], "ERROR", timeout=15)

    assert api.delete(f"/v1/leases/{lease['id']}").status_code == 204

    check_error(api.get(f"/v1/leases/{lease['id']}"), 404, "LeaseNotFound")
    # The half-run start is undone before the release.
    assert _hooks(record_file, lease)[-2:] == ["on_end", "release"]


def test_start_that_fails_once_is_retried(create, wait_status, record_file):
    lease = create(
        "flaky-on_start-lease", start="now", reservations=[RECORDER]
    )

    active = wait_status(lease["id"], "ACTIVE", timeout=15)

    assert active["reservations"][0]["status"] == "active"
    assert _events(active)["start_lease"] == "DONE"
    assert _hooks(record_file, lease).count("on_start") == 2

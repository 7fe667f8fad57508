"""A queued best-effort lease over the real API and manager: the usage
limits and the booking horizon refuse it up front as they refuse an
advance lease, and while QUEUED it may change its duration, earliest start
and reservations (checked again; it stays queued, the scheduler woken).

The manager has the physical:host plugin without any host, so a lease
asking for a host waits in the queue, and the recorder plugin, which
always fits.
"""

import pytest

from tests import helpers
from tests.unit.api import asserts

HOST = [{"resource_type": "physical:host", "min": 1, "max": 1}]
RECORDER = [{"resource_type": "test:recorder"}]


@pytest.fixture
def manager(database, config):
    from climate.manager import service

    config.config(
        plugins=["physical.host.plugin", "test.recorder.plugin"],
        group="manager",
    )
    config.config(enabled_filters=["max_lease_duration"], group="enforcement")
    manager = service.ManagerService()
    manager.start()
    yield manager
    manager.stop()


def _queue(api, name, duration, reservations=HOST, **extra):
    return api.post(
        "/v1/leases",
        json={
            "lease": {
                "name": name,
                "kind": "best_effort",
                "duration": duration,
                "reservations": reservations,
                **extra,
            }
        },
    )


def test_the_limits_and_the_horizon_refuse_a_queued_lease_up_front(
    api, config
):
    config.config(max_lease_duration=120, group="enforcement")
    response = _queue(api, "long", "3h")
    asserts.check_error(
        response, 403, "MaxLeaseDurationExceeded", "would last 3h"
    )
    # As an advance lease beyond the same limit.
    response = api.post(
        "/v1/leases",
        json=helpers.lease_body(
            "adv", start=helpers.future(hours=1), end=helpers.future(hours=4)
        ),
    )
    asserts.check_error(response, 403, "MaxLeaseDurationExceeded")
    config.config(booking_horizon=1, group="manager")
    response = _queue(api, "far", "1h", start_date=helpers.future(hours=24))
    asserts.check_error(
        response, 400, "InvalidPeriod", "beyond the booking horizon of 1 days"
    )
    assert api.get("/v1/leases").json["leases"] == []


def test_a_queued_lease_changes_its_request_over_the_api(
    api, config, get_lease
):
    response = _queue(api, "batch", "2h")
    assert response.status_code == 201, response.json
    lease = response.json["lease"]
    url = f"/v1/leases/{lease['id']}"
    later = helpers.future(hours=3)
    response = api.put(
        url, json={"lease": {"duration": "1h", "start_date": later}}
    )
    assert response.status_code == 200, response.json
    changed = response.json["lease"]
    assert (changed["status"], changed["duration"]) == ("QUEUED", "1h")
    assert changed["not_before"].startswith(later.replace(" ", "T"))
    # Still checked: the limits, the horizon, what only the scheduler sets.
    config.config(max_lease_duration=90, group="enforcement")
    asserts.check_error(
        api.put(url, json={"lease": {"duration": "2h"}}),
        403,
        "MaxLeaseDurationExceeded",
    )
    config.config(booking_horizon=1, group="manager")
    asserts.check_error(
        api.put(url, json={"start_date": helpers.future(hours=30)}),
        400,
        "InvalidPeriod",
        "booking horizon",
    )
    asserts.check_error(
        api.put(url, json={"end_date": helpers.future(hours=9)}),
        409,
        "InvalidState",
        "also gives end_date",
    )
    asserts.check_error(
        api.put(url, json={"kind": "advance"}),
        409,
        "InvalidState",
        "kind cannot become advance",
    )
    assert get_lease(lease["id"])["duration"] == "1h"
    # New reservations that fit: the scheduler, woken, places it.
    response = api.put(
        url, json={"reservations": RECORDER, "start_date": "now"}
    )
    assert response.status_code == 200, response.json

    def placed():
        current = get_lease(lease["id"])
        return current["status"] != "QUEUED" and current

    current = helpers.wait_for(placed, 5, message="placed")
    assert [r["resource_type"] for r in current["reservations"]] == [
        "test:recorder"
    ]
    # Placed, it is a lease like the others: its kind still cannot change.
    helpers.wait_for(
        lambda: get_lease(lease["id"])["status"] == "ACTIVE",
        5,
        message="started",
    )
    asserts.check_error(
        api.put(url, json={"kind": "advance"}),
        409,
        "InvalidState",
        "kind cannot become advance",
    )
    asserts.check_error(
        api.put(url, json={"kind": "preemptible"}),
        409,
        "InvalidState",
        "kind cannot become preemptible",
    )

"""The usage filters Climate ships, through the real API and manager: each
limit holds on create and on every kind of update, and a refusal leaves
nothing behind."""

import datetime

import pytest

from climate import exceptions
from climate.enforcement import UsageEnforcer
from climate.enforcement.filters import project_limits
from tests import helpers
from tests.unit.api.asserts import check_error

ALICE = {"X-Project-Id": "project-a", "X-User-Id": "alice"}
BOB = {"X-Project-Id": "project-b", "X-User-Id": "bob"}
ADMIN = {"X-Project-Id": "ops", "X-User-Id": "root", "X-Roles": "admin"}


@pytest.fixture(autouse=True)
def filters(config):
    """Every shipped filter but the external one, with no limits set:
    each test sets the limits it checks (they are read on every request)."""
    config.config(
        enabled_filters=[
            "max_lease_duration",
            "extension_window",
            "project_limits",
        ],
        group="enforcement",
    )


def _lease(api, name, start, end, headers=ALICE, **extra):
    return api.post(
        "/v1/leases",
        json=helpers.lease_body(name, start=start, end=end, **extra),
        headers=headers,
    )


def _created(response):
    assert response.status_code == 201, response.json
    return response.json["lease"]


def _names(api, headers=ALICE):
    leases = api.get("/v1/leases", headers=headers).json["leases"]
    return sorted(lease["name"] for lease in leases)


def _day(day, hour=12):
    return f"2030-12-{day:02d} {hour:02d}:00"


# max_lease_duration ---------------------------------------------------------


def test_a_lease_longer_than_the_limit_is_refused(api, config):
    config.config(max_lease_duration=24 * 60, group="enforcement")

    response = _lease(api, "long", _day(1), _day(3))

    check_error(
        response,
        403,
        "MaxLeaseDurationExceeded",
        "would last 2d",
        "more than the 1d",
    )
    assert _names(api) == []
    _created(_lease(api, "day", _day(1), _day(2)))


@pytest.mark.parametrize(
    "update",
    [
        {"prolong_for": "1h"},
        {"end_date": _day(2, 13)},
        {"advance_by": "1h"},
        {"start_date": _day(1, 11)},
    ],
)
def test_no_update_takes_a_lease_past_the_limit(api, config, update):
    config.config(max_lease_duration=24 * 60, group="enforcement")
    lease = _created(_lease(api, "day", _day(1), _day(2)))

    response = api.put(f"/v1/leases/{lease['id']}", json=update, headers=ALICE)

    check_error(response, 403, "MaxLeaseDurationExceeded", "1d 1h")
    after = api.get(f"/v1/leases/{lease['id']}", headers=ALICE).json["lease"]
    assert (after["start_date"], after["end_date"], after["status"]) == (
        lease["start_date"],
        lease["end_date"],
        "PENDING",
    )
    # Moving the whole window is no extension.
    response = api.put(
        f"/v1/leases/{lease['id']}",
        json={"start_date": _day(5), "end_date": _day(6)},
        headers=ALICE,
    )
    assert response.status_code == 200, response.json


def test_exempt_projects_have_no_duration_limit(api, config):
    config.config(
        max_lease_duration=60,
        max_lease_duration_exempt_project_ids=["project-b"],
        group="enforcement",
    )

    _created(_lease(api, "long", _day(1), _day(9), headers=BOB))
    check_error(
        _lease(api, "long", _day(1), _day(9)), 403, "MaxLeaseDurationExceeded"
    )


# extension_window -----------------------------------------------------------


@pytest.fixture
def wait_status(api):
    def wait(lease_id, status):
        def reached():
            lease = api.get(f"/v1/leases/{lease_id}", headers=ALICE).json
            return lease["lease"]["status"] == status and lease["lease"]

        return helpers.wait_for(reached, 5, message=f"{lease_id} {status}")

    return wait


def _active(api, wait_status, end, headers=ALICE):
    lease = _created(_lease(api, "running", "now", end, headers=headers))
    return wait_status(lease["id"], "ACTIVE")


def test_a_running_lease_is_extended_only_in_its_last_window(
    api, config, wait_status
):
    config.config(extension_window=60, group="enforcement")
    lease = _active(api, wait_status, helpers.future(hours=3))
    url = f"/v1/leases/{lease['id']}"

    response = api.put(url, json={"prolong_for": "1h"}, headers=ALICE)

    check_error(
        response,
        403,
        "ExtensionNotAllowed",
        "can be extended only in its last 1h",
    )
    after = api.get(url, headers=ALICE).json["lease"]
    assert after["end_date"] == lease["end_date"]
    assert after["status"] == "ACTIVE"
    # Shortening is always fine.
    response = api.put(url, json={"reduce_by": "1h"}, headers=ALICE)
    assert response.status_code == 200, response.json


def test_within_its_window_a_lease_grows_by_at_most_the_maximum(
    api, config, wait_status
):
    config.config(extension_window=60, max_extension=120, group="enforcement")
    lease = _active(api, wait_status, helpers.future(minutes=30))
    url = f"/v1/leases/{lease['id']}"

    check_error(
        api.put(url, json={"prolong_for": "3h"}, headers=ALICE),
        403,
        "ExtensionNotAllowed",
        "at most 2h at a time, not 3h",
    )
    response = api.put(url, json={"prolong_for": "2h"}, headers=ALICE)
    assert response.status_code == 200, response.json


def test_a_lease_that_has_not_started_is_not_an_extension(api, config):
    config.config(extension_window=60, max_extension=60, group="enforcement")
    lease = _created(_lease(api, "later", _day(1), _day(2)))

    response = api.put(
        f"/v1/leases/{lease['id']}", json={"prolong_for": "1d"}, headers=ALICE
    )

    assert response.status_code == 200, response.json


# project_limits -------------------------------------------------------------


def test_concurrent_leases_per_project(api, config):
    config.config(max_leases_per_project=2, group="enforcement")
    _created(_lease(api, "one", _day(1), _day(3)))
    _created(_lease(api, "two", _day(2), _day(4)))

    check_error(
        _lease(api, "three", _day(2, 18), _day(2, 20)),
        403,
        "ProjectLimitExceeded",
        "project-a would hold 3 leases at once",
        "limit of 2",
    )
    # Back to back is not at once; another project has its own count.
    _created(_lease(api, "after", _day(4), _day(5)))
    _created(_lease(api, "theirs", _day(2, 18), _day(2, 20), headers=BOB))
    assert _names(api) == ["after", "one", "two"]


def test_moving_a_lease_cannot_get_round_the_limit(api, config):
    config.config(max_leases_per_project=1, group="enforcement")
    _created(_lease(api, "first", _day(1), _day(2)))
    second = _created(_lease(api, "second", _day(3), _day(4)))
    url = f"/v1/leases/{second['id']}"

    for update in (
        {"start_date": _day(1, 18)},
        {"advance_by": "25h"},
    ):
        check_error(
            api.put(url, json=update, headers=ALICE),
            403,
            "ProjectLimitExceeded",
        )
    after = api.get(url, headers=ALICE).json["lease"]
    assert after["start_date"] == second["start_date"]
    # An update that does not grow the lease passes.
    response = api.put(url, json={"name": "renamed"}, headers=ALICE)
    assert response.status_code == 200, response.json


def test_terminated_leases_do_not_count(api, config, wait_status):
    config.config(max_leases_per_project=1, group="enforcement")
    config.config(min_lease_duration=0, group="manager")
    end = helpers.utcnow() + datetime.timedelta(seconds=1)
    lease = _created(_lease(api, "short", "now", end.isoformat()))
    wait_status(lease["id"], "TERMINATED")

    _created(_lease(api, "next", "now", helpers.future(hours=1)))


@pytest.fixture
def hosts(api):
    for n in range(4):
        response = api.post(
            "/v1/os-hosts", json={"name": f"h{n}"}, headers=ADMIN
        )
        assert response.status_code == 201


def _hosts(count, max_count=None):
    return [
        {
            "resource_type": "physical:host",
            "min": count,
            "max": max_count or count,
        }
    ]


def test_hosts_per_project(api, config, hosts):
    config.config(max_hosts_per_project=2, group="enforcement")
    _created(_lease(api, "pair", _day(1), _day(3), reservations=_hosts(2)))

    check_error(
        _lease(api, "third", _day(2), _day(4), reservations=_hosts(1)),
        403,
        "ProjectLimitExceeded",
        "would hold 3 hosts at once",
    )
    # The refused lease's hosts were given back with it.
    allocations = api.get("/v1/os-hosts/allocations", headers=ADMIN).json
    assert sum(len(a["reservations"]) for a in allocations["allocations"]) == 2
    _created(_lease(api, "later", _day(3), _day(4), reservations=_hosts(2)))


def test_growing_a_reservation_cannot_get_round_the_host_limit(
    api, config, hosts
):
    config.config(max_hosts_per_project=2, group="enforcement")
    lease = _created(
        _lease(api, "one", _day(1), _day(2), reservations=_hosts(1))
    )
    reservation = lease["reservations"][0]["id"]

    response = api.put(
        f"/v1/leases/{lease['id']}",
        json={"reservations": [{"id": reservation, "min": 3, "max": 3}]},
        headers=ALICE,
    )

    check_error(response, 403, "ProjectLimitExceeded", "3 hosts")
    after = api.get(f"/v1/leases/{lease['id']}", headers=ALICE).json["lease"]
    assert after["reservations"][0]["min"] == 1
    allocations = api.get(
        f"/v1/os-hosts/allocations?lease_id={lease['id']}", headers=ADMIN
    ).json["allocations"]
    assert len(allocations) == 1


@pytest.mark.parametrize(
    ("intervals", "peak"),
    [
        ([], 0),
        ([(1, 3, 1), (3, 5, 1)], 1),  # half-open: back to back
        ([(1, 4, 1), (2, 3, 2), (2, 5, 1)], 4),
        ([(1, 2, 0), (1, 2, 3)], 3),
    ],
)
def test_peak(intervals, peak):
    assert project_limits._peak(intervals) == peak


# Loading --------------------------------------------------------------------


def test_an_unknown_filter_stops_the_manager(config):
    config.config(
        enabled_filters=["max_lease_duration", "no_such_filter"],
        group="enforcement",
    )

    with pytest.raises(exceptions.ConfigurationError) as caught:
        UsageEnforcer.from_config()

    assert "no_such_filter, which is not installed" in caught.value.message
    assert "external_service" in caught.value.message


def test_the_external_filter_needs_its_url(config):
    config.config(enabled_filters=["external_service"], group="enforcement")

    with pytest.raises(exceptions.ConfigurationError) as caught:
        UsageEnforcer.from_config()

    assert "external_service_url is not set" in caught.value.message

"""Answers a new user can act on (issue 15, items 3-5): what a refusal
names, messages that say what an option does, and input that used to be
accepted silently."""

import pytest

from climate.manager import service
from tests import helpers
from tests.unit.api.asserts import check_error

ADMIN = {"X-Roles": "admin", "X-Project-Id": "ops", "X-User-Id": "root"}
ALICE = {"X-Project-Id": "alice-project", "X-User-Id": "alice"}
BOB = {"X-Project-Id": "bob-project", "X-User-Id": "bob"}


@pytest.fixture
def manager(database, config):
    config.config(plugins=["physical.host.plugin"], group="manager")
    manager = service.ManagerService()
    manager.start()
    yield manager
    manager.stop()


@pytest.fixture
def one_host(api):
    response = api.post("/v1/os-hosts", json={"name": "h1"}, headers=ADMIN)
    assert response.status_code == 201, response.json


def _lease(api, name, start, end, headers, count=1):
    return api.post(
        "/v1/leases",
        json=helpers.lease_body(
            name,
            start=start,
            end=end,
            reservations=[
                {
                    "resource_type": "physical:host",
                    "min": count,
                    "max": count,
                }
            ],
        ),
        headers=headers,
    )


def test_a_refused_update_names_the_lease_in_the_way_and_when(api, one_host):
    first = _lease(
        api, "first", "2030-12-26 12:00", "2030-12-26 14:00", ALICE
    ).json["lease"]
    assert (
        _lease(
            api, "second", "2030-12-26 15:00", "2030-12-26 16:00", ALICE
        ).status_code
        == 201
    )
    response = api.put(
        f"/v1/leases/{first['id']}", json={"prolong_for": "2h"}, headers=ALICE
    )
    check_error(
        response,
        409,
        "NotEnoughResourcesAvailable",
        "host h1 is taken from 2030-12-26 15:00 to 2030-12-26 16:00 by "
        "your lease 'second'",
    )
    # Another project's lease is named as such, not by its name.
    bobs = _lease(
        api, "bobs", "2030-12-27 12:00", "2030-12-27 14:00", BOB
    ).json["lease"]
    response = api.put(
        f"/v1/leases/{bobs['id']}", json={"advance_by": "26h"}, headers=BOB
    )
    check_error(
        response,
        409,
        "NotEnoughResourcesAvailable",
        "host h1 is taken from 2030-12-26 12:00 to 2030-12-26 14:00 by "
        "another project's lease",
    )
    assert "first" not in response.json["error_message"]


def test_one_free_host_is_one(api, one_host):
    response = _lease(
        api, "two", "2030-12-26 12:00", "2030-12-26 14:00", ALICE, count=2
    )
    check_error(
        response,
        409,
        "NotEnoughResourcesAvailable",
        "2 hosts needed; of the 1 host reservable and matching the request, "
        "1 is free",
    )


def test_raising_min_counts_the_hosts_held(api, one_host):
    lease = _lease(
        api, "one", "2030-12-26 12:00", "2030-12-26 14:00", ALICE
    ).json["lease"]
    reservation = lease["reservations"][0]["id"]
    response = api.put(
        f"/v1/leases/{lease['id']}",
        json={"reservations": [{"id": reservation, "min": 3, "max": 3}]},
        headers=ALICE,
    )
    check_error(
        response,
        409,
        "NotEnoughResourcesAvailable",
        "3 hosts needed (1 of them already held)",
    )


def test_defer_by_says_it_moves_the_start(api):
    lease = api.post(
        "/v1/leases",
        json=helpers.lease_body(
            "day", start="2030-12-26 12:00", end="2030-12-27 12:00"
        ),
        headers=ALICE,
    ).json["lease"]
    response = api.put(
        f"/v1/leases/{lease['id']}", json={"defer_by": "1d"}, headers=ALICE
    )
    check_error(
        response,
        400,
        "InvalidPeriod",
        "defer_by moves the start only; to move the whole lease, also send "
        "prolong_for 1d",
    )
    both = api.put(
        f"/v1/leases/{lease['id']}",
        json={"defer_by": "1d", "prolong_for": "1d"},
        headers=ALICE,
    )
    assert both.status_code == 200, both.json
    assert both.json["lease"]["start_date"].startswith("2030-12-27T12:00")
    assert both.json["lease"]["end_date"].startswith("2030-12-28T12:00")


def test_a_reservation_keeps_its_resource_type(api, one_host):
    lease = _lease(
        api, "typed", "2030-12-26 12:00", "2030-12-26 14:00", ALICE
    ).json["lease"]
    reservation = lease["reservations"][0]["id"]
    response = api.put(
        f"/v1/leases/{lease['id']}",
        json={
            "reservations": [
                {"id": reservation, "resource_type": "virtual:instance"}
            ]
        },
        headers=ALICE,
    )
    check_error(
        response,
        400,
        "InvalidInput",
        "its resource_type cannot become 'virtual:instance'",
    )


@pytest.mark.parametrize("name", ["two\nlines", "tab\there", "bell\x07"])
def test_a_name_with_control_characters_is_refused(api, name):
    response = api.post(
        "/v1/leases", json=helpers.lease_body(name), headers=ALICE
    )
    check_error(response, 400, "InvalidInput", "control characters")


def test_a_date_without_a_time_is_refused(api):
    response = api.post(
        "/v1/leases",
        json=helpers.lease_body("d", start="2030-12-26", end="2030-12-27"),
        headers=ALICE,
    )
    check_error(
        response,
        400,
        "InvalidDate",
        "give a time too, such as '2030-12-26 12:00' (UTC)",
    )


def test_the_booking_horizon(api, config):
    config.config(booking_horizon=365, group="manager")
    response = api.post(
        "/v1/leases",
        json=helpers.lease_body("far", end="9999-12-31 00:00"),
        headers=ALICE,
    )
    check_error(
        response,
        400,
        "InvalidPeriod",
        "is beyond the booking horizon of 365 days",
    )
    # Starting tomorrow: a lease starting now may be STARTING (busy) when
    # the updates below reach it.
    near = helpers.lease_body(
        "near", start=helpers.future(days=1), end=helpers.future(days=2)
    )
    lease = api.post("/v1/leases", json=near, headers=ALICE).json["lease"]
    for change in ({"prolong_for": "100000w"}, {"prolong_for": "53w"}):
        response = api.put(
            f"/v1/leases/{lease['id']}", json=change, headers=ALICE
        )
        assert response.status_code == 400, response.json
        assert "booking horizon" in response.json["error_message"] or (
            "supported years" in response.json["error_message"]
        )
    config.config(booking_horizon=0, group="manager")
    response = api.put(
        f"/v1/leases/{lease['id']}", json={"prolong_for": "53w"}, headers=ALICE
    )
    assert response.status_code == 200, response.json

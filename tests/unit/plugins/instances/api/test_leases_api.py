"""Instance reservations through the real API application, with the
manager in process running both plugins (the default ``[manager]
plugins``) and the local compute driver on a migrated SQLite database."""

import pytest

from climate.manager import service
from tests import helpers
from tests.unit.api.asserts import check_error

START = "2030-12-26 12:00"
END = "2030-12-27 12:00"


@pytest.fixture
def manager(database, config):
    """The in-process manager with the default plugins."""
    config.config(noauth_roles=["admin"], group="api")
    manager = service.ManagerService()
    manager.start()
    yield manager
    manager.stop()


@pytest.fixture
def hosts(api):
    for name, vcpus in (("h1", 8), ("h2", 4)):
        response = api.post(
            "/v1/os-hosts",
            json={
                "name": name,
                "vcpus": vcpus,
                "memory_mb": 8192,
                "local_gb": 100,
            },
        )
        assert response.status_code == 201, response.json


def instance(**fields):
    return {
        "resource_type": "virtual:instance",
        "amount": 2,
        "vcpus": 1,
        "memory_mb": 512,
        "disk_gb": 10,
        **fields,
    }


def post(api, *reservations, name="lease", start=START, end=END):
    return api.post(
        "/v1/leases",
        json=helpers.lease_body(
            name, start=start, end=end, reservations=list(reservations)
        ),
    )


def test_an_instance_reservation_is_shown_with_its_fields(api, hosts):
    response = post(api, instance(affinity=False))

    assert response.status_code == 201, response.json
    reservation = response.json["lease"]["reservations"][0]
    assert reservation["resource_type"] == "virtual:instance"
    assert reservation["status"] == "pending"
    assert {
        k: reservation[k]
        for k in (
            "amount",
            "vcpus",
            "memory_mb",
            "disk_gb",
            "affinity",
            "resource_properties",
            "on_end",
            "flavor_id",
        )
    } == {
        "amount": 2,
        "vcpus": 1,
        "memory_mb": 512,
        "disk_gb": 10,
        "affinity": False,
        "resource_properties": "",
        "on_end": "delete",
        "flavor_id": None,
    }
    assert reservation["hosts"] == [
        {"name": "h1", "instances": 1},
        {"name": "h2", "instances": 1},
    ]


def test_the_flavor_is_shown_once_the_lease_is_active(api, hosts, wait_status):
    response = post(api, instance(), start="now", end=helpers.future(days=1))
    assert response.status_code == 201, response.json
    lease_id = response.json["lease"]["id"]

    lease = wait_status(lease_id, "ACTIVE")

    assert lease["reservations"][0]["flavor_id"]
    assert lease["reservations"][0]["status"] == "active"


def test_mixed_leases_of_hosts_and_instances(api, hosts):
    whole = post(api, {"resource_type": "physical:host", "min": 1, "max": 1})
    assert whole.status_code == 201, whole.json

    # One host left: 4 vCPUs at most (h2) or 8 (h1), whichever is free.
    held = whole.json["lease"]["reservations"][0]["hosts"][0]["name"]
    room = {"h1": 4, "h2": 8}[held]
    check_error(
        post(api, instance(amount=room + 1), name="more"),
        409,
        "NotEnoughResourcesAvailable",
        f"{room} fit from 2030-12-26 12:00",
    )
    assert post(api, instance(amount=room), name="fits").status_code == 201
    check_error(
        post(
            api,
            {"resource_type": "physical:host", "min": 1, "max": 1},
            name="no host",
        ),
        409,
        "NotEnoughResourcesAvailable",
        "none is free",
    )


@pytest.mark.parametrize(
    "fields, fragments",
    [
        ({"vcpus": 0}, ["vcpus must be a positive integer"]),
        ({"memory_mb": "big"}, ["memory_mb must be a positive integer"]),
        ({"vcpus": 9}, ["vcpus (9) is larger than", "(8)"]),
        ({"disk_gb": 101}, ["disk_gb (101) is larger than", "(100)"]),
        ({"affinity": "maybe"}, ["affinity must be true"]),
        ({"on_end": "keep"}, ["on_end must be one of delete, shelve"]),
        ({"server_id": "abc"}, ["needs a compute service"]),
    ],
)
def test_bad_input_is_a_400_naming_the_field(api, hosts, fields, fragments):
    check_error(post(api, instance(**fields)), 400, "InvalidInput", *fragments)


def test_an_amount_that_never_fits_is_a_409_saying_how_many_do(api, hosts):
    check_error(
        post(api, instance(amount=13, vcpus=1)),
        409,
        "NotEnoughResourcesAvailable",
        "at most 12 fit",
    )
    check_error(
        post(api, instance(amount=9, affinity=True)),
        409,
        "NotEnoughResourcesAvailable",
        "at most 8 fit (all on one host)",
    )


def test_deleting_an_instance_lease_gives_the_room_back(api, hosts):
    first = post(api, instance(amount=12))
    assert first.status_code == 201, first.json
    check_error(
        post(api, instance(amount=1), name="second"),
        409,
        "NotEnoughResourcesAvailable",
    )

    deleted = api.delete(f"/v1/leases/{first.json['lease']['id']}")

    assert deleted.status_code == 204
    assert post(api, instance(amount=12), name="third").status_code == 201

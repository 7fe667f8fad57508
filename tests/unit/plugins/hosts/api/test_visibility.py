"""What a tenant sees of the hosts: those its lease holds (names and
capabilities that are not private) and the capability names and values
it may write queries on."""

import pytest

from climate.manager import service

ADMIN = {"X-Roles": "admin", "X-Project-Id": "ops", "X-User-Id": "root"}
ALICE = {
    "X-Project-Id": "alice-project",
    "X-User-Id": "alice",
    "X-Roles": "member",
}


@pytest.fixture
def manager(database, config):
    config.config(plugins=["physical.host.plugin"], group="manager")
    manager = service.ManagerService()
    manager.start()
    yield manager
    manager.stop()


@pytest.fixture
def hosts(api):
    for name, gpu, rack in (("h1", "a100", "r1"), ("h2", "h100", "r2")):
        response = api.post(
            "/v1/os-hosts",
            json={"name": name, "gpu": gpu, "rack": rack},
            headers=ADMIN,
        )
        assert response.status_code == 201, response.json
    response = api.patch(
        "/v1/os-hosts/properties/rack",
        json={"resource_property": {"private": True}},
        headers=ADMIN,
    )
    assert response.status_code == 200, response.json


def test_the_owner_sees_the_hosts_of_its_lease(api, hosts):
    response = api.post(
        "/v1/leases",
        json={
            "name": "mine",
            "start_date": "2030-12-26 12:00",
            "end_date": "2030-12-26 14:00",
            "reservations": [
                {
                    "resource_type": "physical:host",
                    "min": 1,
                    "max": 1,
                    "resource_properties": '["==", "$gpu", "h100"]',
                }
            ],
        },
        headers=ALICE,
    )
    assert response.status_code == 201, response.json
    lease_id = response.json["lease"]["id"]
    expected = [{"name": "h2", "capabilities": {"gpu": "h100"}}]
    assert response.json["lease"]["reservations"][0]["hosts"] == expected
    shown = api.get(f"/v1/leases/{lease_id}", headers=ALICE).json["lease"]
    assert shown["reservations"][0]["hosts"] == expected
    listed = api.get("/v1/leases", headers=ALICE).json["leases"]
    assert listed[0]["reservations"][0]["hosts"] == expected


def test_members_list_the_properties_that_are_not_private(api, hosts):
    response = api.get("/v1/os-hosts/properties?detail=1", headers=ALICE)
    assert response.status_code == 200, response.json
    assert response.json["resource_properties"] == [
        {"property": "gpu", "values": ["a100", "h100"]}
    ]
    short = api.get("/v1/os-hosts/properties", headers=ALICE).json
    assert short["resource_properties"] == [{"property": "gpu"}]
    admin = api.get("/v1/os-hosts/properties?detail=1", headers=ADMIN).json
    assert admin["resource_properties"] == [
        {"property": "gpu", "private": False, "values": ["a100", "h100"]},
        {"property": "rack", "private": True, "values": ["r1", "r2"]},
    ]

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


BOB = {"X-Project-Id": "bob-project", "X-User-Id": "bob", "X-Roles": "member"}


def _lease(api, name, start, end, gpu, headers):
    response = api.post(
        "/v1/leases",
        json={
            "name": name,
            "start_date": start,
            "end_date": end,
            "reservations": [
                {
                    "resource_type": "physical:host",
                    "min": 1,
                    "max": 1,
                    "resource_properties": f'["==", "$gpu", "{gpu}"]',
                }
            ],
        },
        headers=headers,
    )
    assert response.status_code == 201, response.json
    return response.json["lease"]


def test_the_calendar_names_only_the_callers_leases(api, hosts):
    mine = _lease(
        api, "mine", "2030-12-26 12:00", "2030-12-26 14:00", "a100", ALICE
    )
    _lease(api, "bobs", "2030-12-27 12:00", "2030-12-27 14:00", "h100", BOB)
    _lease(api, "later", "2031-01-27 12:00", "2031-01-27 14:00", "h100", BOB)
    response = api.get(
        "/v1/os-hosts/calendar?start=2030-12-25 00:00&end=2031-01-01 00:00",
        headers=ALICE,
    )
    assert response.status_code == 200, response.json
    calendar = response.json["calendar"]
    assert calendar["start"] == "2030-12-25T00:00:00.000000"
    assert calendar["hosts"] == [
        {
            "name": "h1",
            "capabilities": {"gpu": "a100"},
            "busy": [
                {
                    "start_date": "2030-12-26T12:00:00.000000",
                    "end_date": "2030-12-26T14:00:00.000000",
                    "own": True,
                    "lease_id": mine["id"],
                    "lease_name": "mine",
                }
            ],
        },
        {
            "name": "h2",
            "capabilities": {"gpu": "h100"},
            "busy": [
                {
                    "start_date": "2030-12-27T12:00:00.000000",
                    "end_date": "2030-12-27T14:00:00.000000",
                    "own": False,
                }
            ],
        },
    ]
    filtered = api.get(
        "/v1/os-hosts/calendar",
        query_string={
            "start": "2030-12-25 00:00",
            "resource_properties": '["==", "$gpu", "h100"]',
        },
        headers=ALICE,
    ).json["calendar"]
    assert [h["name"] for h in filtered["hosts"]] == ["h2"]


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("start=2030-12-25 00:00&end=2030-12-24 00:00", "must be later"),
        ("start=2030-12-25 00:00&end=2031-03-24 00:00", "at most 62 days"),
        ("start=soon", "start"),
        ("start=9999-12-31 23:59", "start must be before 9999-01-01"),
        ("resource_properties=[oops", "resource_properties"),
        ('resource_properties=["==", "$colour", "red"]', "$colour"),
        ("colour=red", "unknown query parameter"),
    ],
)
def test_bad_calendar_reads_are_400s(api, hosts, query, fragment):
    response = api.get(f"/v1/os-hosts/calendar?{query}", headers=ALICE)
    assert response.status_code == 400, response.json
    assert fragment in response.json["error_message"]

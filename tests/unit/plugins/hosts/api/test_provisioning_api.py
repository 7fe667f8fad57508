"""``/v1/images`` and ``/v1/blocks`` through the real API application and
an in-process manager, with the simulated provisioning driver (the
embedded default)."""

import pytest

from climate.plugins.hosts.db import api as host_db

MEMBER = {"X-Roles": "member,reader", "X-Project-Id": "p1"}
ADMIN = {"X-Roles": "admin", "X-Project-Id": "ops"}


@pytest.fixture
def manager(database, config):
    from climate.manager import service

    config.config(plugins=["physical.host.plugin"], group="manager")
    manager = service.ManagerService()
    manager.start()
    yield manager
    manager.stop()


@pytest.fixture
def hosts(api):
    names = []
    for index in range(3):
        response = api.post(
            "/v1/os-hosts",
            json={"name": f"lab-{index}", "address": f"10.0.0.{index}"},
            headers=ADMIN,
        )
        assert response.status_code == 201, response.json
        names.append(response.json["host"]["hypervisor_hostname"])
    return names


@pytest.fixture
def image(api):
    response = api.post(
        "/v1/images",
        json={
            "image": {
                "name": "centos",
                "reference": "http://images.example/centos.qcow2",
                "default_load_time": 900,
            }
        },
        headers=ADMIN,
    )
    assert response.status_code == 201, response.json
    return response.json["image"]


def test_an_image_is_registered_by_the_operator_and_read_by_anyone(api, image):
    assert image["name"] == "centos"
    assert image["default_load_time"] == 900
    assert image["estimated_load_time"] == 900
    assert image["estimates"] == {"simulated": {"seconds": 900, "samples": 0}}
    listed = api.get("/v1/images", headers=MEMBER)
    assert listed.status_code == 200
    assert [i["name"] for i in listed.json["images"]] == ["centos"]
    shown = api.get("/v1/images/centos", headers=MEMBER)
    assert shown.json["image"]["id"] == image["id"]
    refused = api.post(
        "/v1/images",
        json={"name": "x", "reference": "y"},
        headers=MEMBER,
    )
    assert refused.status_code == 403


def test_image_bad_input(api, image):
    assert api.get("/v1/images/nope", headers=MEMBER).status_code == 404
    for body, code in (
        ({"name": "centos", "reference": "r"}, 409),
        ({"name": "", "reference": "r"}, 400),
        ({"name": "x"}, 400),
        ({"name": "x", "reference": "r", "default_load_time": 0}, 400),
        ({"name": "x", "reference": "r", "colour": "blue"}, 400),
    ):
        response = api.post("/v1/images", json=body, headers=ADMIN)
        assert response.status_code == code, (body, response.json)


def test_a_lease_shows_its_hosts_with_their_addresses(api, hosts, image):
    response = api.post(
        "/v1/leases",
        json={
            "name": "lab",
            "start_date": "2030-12-26 12:00",
            "end_date": "2030-12-26 16:00",
            "reservations": [
                {
                    "resource_type": "physical:host",
                    "min": 2,
                    "max": 2,
                    "image": "centos",
                }
            ],
        },
        headers=MEMBER,
    )
    assert response.status_code == 201, response.json
    (reservation,) = response.json["lease"]["reservations"]
    assert reservation["image"] == "centos"
    # 900 s of load, then a 5-minute margin.
    assert reservation["ready_at"] == "2030-12-26T11:55:00.000000"
    assert [
        (h["name"], h["address"], h["status"]) for h in reservation["hosts"]
    ] == [("lab-0", "10.0.0.0", "planned"), ("lab-1", "10.0.0.1", "planned")]
    events = {
        e["event_type"]: e["time"] for e in response.json["lease"]["events"]
    }
    assert events["prepare_hosts"] == "2030-12-26T11:40:00.000000"


def test_an_unknown_image_on_a_lease_is_404(api, hosts):
    response = api.post(
        "/v1/leases",
        json={
            "name": "lab",
            "start_date": "2030-12-26 12:00",
            "end_date": "2030-12-26 16:00",
            "reservations": [
                {
                    "resource_type": "physical:host",
                    "min": 1,
                    "max": 1,
                    "image": "windows",
                }
            ],
        },
        headers=MEMBER,
    )
    assert response.status_code == 404
    assert response.json["error_name"] == "ImageNotFound"


# Blocks ----------


def _block(api, **fields):
    body = {
        "image": "centos",
        "machine_count": 2,
        "project": "class-101",
        "slots": [
            {"start_date": "2030-12-26 12:00", "end_date": "2030-12-26 14:00"}
        ],
        **fields,
    }
    return api.post("/v1/blocks", json={"block": body}, headers=ADMIN)


def test_a_block_makes_one_lease_per_slot_for_its_project(api, hosts, image):
    response = _block(
        api,
        slots=[
            {"start_date": "2030-12-26 12:00", "end_date": "2030-12-26 14:00"},
            {"start_date": "2030-12-27 12:00", "end_date": "2030-12-27 14:00"},
        ],
    )
    assert response.status_code == 201, response.json
    block = response.json["block"]
    assert [s["allocated"] for s in block["slots"]] == [2, 2]
    assert [s["warning"] for s in block["slots"]] == [None, None]
    lease_id = block["slots"][0]["lease_id"]
    owner = {"X-Roles": "member,reader", "X-Project-Id": "class-101"}
    lease = api.get(f"/v1/leases/{lease_id}", headers=owner).json["lease"]
    (reservation,) = lease["reservations"]
    assert reservation["block"] == block["id"]
    assert (reservation["min"], reservation["max"]) == (0, 2)
    assert (
        api.get("/v1/blocks", headers=ADMIN).json["blocks"][0]["id"]
        == (block["id"])
    )


def test_a_block_accepts_fewer_machines_and_says_so(api, hosts, image):
    first = _block(api, machine_count=3)
    assert first.json["block"]["slots"][0]["allocated"] == 3
    second = _block(api, machine_count=2, project="class-102")
    assert second.status_code == 201, second.json
    (slot,) = second.json["block"]["slots"]
    assert slot["allocated"] == 0
    assert "0 of 2 machine(s) were free" in slot["warning"]


def test_a_weekly_block_repeats_until_its_end(api, hosts, image):
    response = _block(
        api,
        slots=None,
        weekly={
            "start_date": "2030-12-02 09:00",
            "end_date": "2030-12-02 11:00",
            "until": "2030-12-24 00:00",
        },
    )
    assert response.status_code == 201, response.json
    starts = [s["start_date"][:10] for s in response.json["block"]["slots"]]
    assert starts == ["2030-12-02", "2030-12-09", "2030-12-16", "2030-12-23"]


def test_a_slot_too_soon_to_load_warns(api, hosts, image):
    from climate.common import dates

    soon = dates.utcnow().replace(second=0, microsecond=0)
    response = _block(
        api,
        machine_count=1,
        slots=[
            {
                "start_date": "now",
                "end_date": f"{soon.year + 1}-01-01 00:00",
            }
        ],
    )
    assert response.status_code == 201, response.json
    (slot,) = response.json["block"]["slots"]
    assert slot["allocated"] == 1
    assert "begins too soon" in slot["warning"]


def test_deleting_a_block_cancels_its_future_slots(api, hosts, image):
    block = _block(api).json["block"]
    lease_id = block["slots"][0]["lease_id"]
    response = api.delete(f"/v1/blocks/{block['id']}", headers=ADMIN)
    assert response.status_code == 204
    assert api.get(f"/v1/blocks/{block['id']}", headers=ADMIN).status_code == (
        404
    )
    assert api.get(f"/v1/leases/{lease_id}", headers=ADMIN).status_code == 404


@pytest.mark.parametrize(
    "fields, message",
    [
        (
            {
                "slots": [
                    {
                        "start_date": "2020-01-01 00:00",
                        "end_date": "2020-01-02 00:00",
                    }
                ]
            },
            "in the past",
        ),
        (
            {
                "slots": [
                    {
                        "start_date": "2030-12-26 12:00",
                        "end_date": "2030-12-26 15:00",
                    },
                    {
                        "start_date": "2030-12-26 14:00",
                        "end_date": "2030-12-26 16:00",
                    },
                ]
            },
            "slots overlap",
        ),
        ({"machine_count": 0}, "machine_count must be an integer from 1"),
        ({"machine_count": 4}, "to 3 (the reservable hosts)"),
        (
            {
                "slots": None,
                "weekly": {
                    "start_date": "2030-12-02 09:00",
                    "end_date": "2030-12-02 11:00",
                },
            },
            "weekly recurrence needs an end",
        ),
        ({"slots": []}, "slots must be a non-empty list"),
        ({"project": ""}, "project"),
    ],
)
def test_block_bad_input_is_400(api, hosts, image, fields, message):
    response = _block(api, **fields)
    assert response.status_code == 400, response.json
    assert message in response.json["error_message"]
    assert host_db.block_list() == []


def test_a_block_of_an_unknown_image_is_404(api, hosts, image):
    assert _block(api, image="nope").status_code == 404


def test_blocks_are_for_operators(api, hosts, image):
    response = api.post(
        "/v1/blocks",
        json={
            "image": "centos",
            "machine_count": 1,
            "project": "p1",
            "slots": [],
        },
        headers=MEMBER,
    )
    assert response.status_code == 403


def test_a_restricted_host_goes_to_a_block_only_when_privileges_are_ignored(
    api, image
):
    response = api.post(
        "/v1/os-hosts",
        json={"name": "private", "projects": ["research"]},
        headers=ADMIN,
    )
    assert response.status_code == 201, response.json
    assert response.json["host"]["projects"] == ["research"]
    strict = _block(api, machine_count=1)
    assert strict.json["block"]["slots"][0]["allocated"] == 0
    ignoring = _block(
        api, machine_count=1, project="class-102", ignore_privileges=True
    )
    assert ignoring.json["block"]["slots"][0]["allocated"] == 1
